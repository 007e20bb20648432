// Desktop notifications and a short chime for new conversations and customer replies,
// when the agent has turned them on (kept per browser). The chime is synthesized: no file.
import type { Conversation, Message } from "../api/client";
import { getState, setState } from "./store";

let audio: AudioContext | null = null;

function chime(): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.15, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch {
    /* no audio device */
  }
}

export async function setNotify(on: boolean): Promise<void> {
  if (on && "Notification" in window && Notification.permission === "default") {
    await Notification.requestPermission();
  }
  localStorage.setItem("panjereh.notify", on ? "1" : "0");
  setState({ notify: on });
}

export function alertAgent(kind: "conversation" | "message", c: Conversation, m?: Message): void {
  const s = getState();
  if (!s.notify) return;
  const mine = !c.assignee || c.assignee.id === s.me?.id;
  if (!mine) return;
  if (kind === "message" && c.id === s.selectedId && document.hasFocus()) return;
  chime();
  if ("Notification" in window && Notification.permission === "granted") {
    const title = c.contact.name ?? c.subject ?? "Panjereh";
    const body = m?.body_text ?? c.last_message.preview ?? "";
    const n = new Notification(title, { body: body.slice(0, 140), tag: `conversation-${c.id}` });
    n.onclick = () => {
      window.focus();
      location.hash = `#/c/${c.id}`;
    };
  }
}
