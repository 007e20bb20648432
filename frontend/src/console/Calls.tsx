// Phone calls in the console: the call item on a conversation's timeline (with its
// recording), the banner of calls ringing right now, and the click-to-call button.
import { useEffect, useState, useSyncExternalStore, type ReactElement } from "react";
import { api, ApiError, attachmentUrl, ok, type Attachment, type Message, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { errorText, formatNumber, formatShort } from "./i18n";
import { ChannelIcon } from "./icons";
import { openConversation, setState, useStore } from "./store";

export type Call = Schemas["CallOut"];

// Inbound calls ringing now, from the live events (a tiny store of its own).
let ringing: Call[] = [];
const listeners = new Set<() => void>();

export function onCallEvent(type: string, call: Call): void {
  const others = ringing.filter((c) => c.id !== call.id);
  ringing = type === "call.ringing" && call.direction === "inbound" && call.state === "ringing" ? [...others, call] : others;
  for (const listener of listeners) listener();
}

function useRinging(): Call[] {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => ringing,
  );
}

export function RingingCalls(): ReactElement | null {
  const t = useT();
  const calls = useRinging();
  if (calls.length === 0) return null;
  return (
    <div className="ringing" role="status" aria-live="assertive">
      {calls.map((call) => (
        <button
          key={call.id}
          type="button"
          className="ringing-call"
          data-testid="ringing-call"
          onClick={() => {
            setState({ screen: "inbox" });
            void openConversation(call.conversation_id);
          }}
        >
          <ChannelIcon kind="voice" decorative /> {t("callRinging", { name: call.contact.name ?? call.customer_number })}{" "}
          <span dir="ltr">{call.customer_number}</span>
        </button>
      ))}
    </div>
  );
}

function seconds(lang: "en" | "fa", n: number): string {
  const minutes = Math.floor(n / 60);
  const rest = n % 60;
  return minutes ? `${formatNumber(lang, minutes)}:${formatNumber(lang, rest).padStart(2, formatNumber(lang, 0))}` : `${formatNumber(lang, rest)}″`;
}

export function CallItem({ m }: { m: Message }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const call = m.metadata?.call as Call;
  const name = call.contact.name ?? call.customer_number;
  const agent = call.agent?.name ?? call.agent_number ?? "";
  const inbound = call.direction === "inbound";
  const title =
    call.state === "ringing"
      ? t(inbound ? "callIncoming" : "callOutgoing", { name })
      : call.state === "missed"
        ? t(inbound ? "callMissed" : "callNotAnswered", { name })
        : t(call.state === "in_progress" ? "callInProgress" : "callWith", { agent });
  const audio = m.attachments.filter((a) => a.stored && a.content_type.startsWith("audio/"));
  const transcript = m.metadata?.transcript as { status: string; text: string | null } | undefined;
  return (
    <article className={`msg msg-call call-${call.state}`} data-testid="call-item" data-call-state={call.state} data-message-id={m.id}>
      <header>
        <span className="who">
          <ChannelIcon kind="voice" decorative /> {title}
        </span>
        <time dateTime={m.created_at}>{formatShort(lang, m.created_at)}</time>
      </header>
      <p className="muted call-facts">
        {call.ringing_seconds !== null && t("callRang", { time: seconds(lang, call.ringing_seconds) })}
        {call.talk_seconds !== null && ` · ${t("callTalked", { time: seconds(lang, call.talk_seconds) })}`}
        {call.voicemail && ` · ${t("callVoicemail")}`}
      </p>
      {audio.map((a) => (
        <Recording key={a.id} a={a} />
      ))}
      {transcript && (
        <figure className="call-transcript" data-testid="call-transcript">
          <figcaption className="muted">{t("callTranscript")}</figcaption>
          {transcript.text ? <blockquote dir="auto">{transcript.text}</blockquote> : <p className="muted">{t("callTranscriptFailed")}</p>}
        </figure>
      )}
      {m.attachments
        .filter((a) => !a.stored)
        .map((a) => (
          <p key={a.id} className="muted">
            {a.note}
          </p>
        ))}
    </article>
  );
}

function Recording({ a }: { a: Attachment }): ReactElement {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let made: string | null = null;
    let gone = false;
    attachmentUrl(a.id)
      .then((u) => {
        made = u;
        if (!gone) setUrl(u);
      })
      .catch(() => undefined);
    return () => {
      gone = true;
      if (made) URL.revokeObjectURL(made);
    };
  }, [a.id]);
  return url ? <audio controls preload="none" src={url} data-testid="call-recording" /> : <span className="muted">{a.filename}</span>;
}

/** Click-to-call: the agent's own phone rings first, then the customer (after "1"). */
export function CallButton({ conversationId, callbackId }: { conversationId?: number; callbackId?: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [said, setSaid] = useState<string | null>(null);
  // Asked for when the agent has no phone of their own yet: the call rings it first.
  const [phone, setPhone] = useState<string | null>(null);
  // Calls go out through a voice inbox: a conversation offers one only when the desk has
  // one (a callback request is there to be called; the server says if it cannot be).
  const canCall = useStore((s) => callbackId !== undefined || s.inboxes.some((i) => i.kind === "voice" && i.enabled));
  async function place(): Promise<void> {
    setSaid(null);
    try {
      if (phone) {
        await ok(api.PATCH("/api/v1/auth/me", { body: { phone } }));
        setPhone(null);
      }
      await ok(api.POST("/api/v1/calls", { body: { conversation_id: conversationId ?? null, callback_id: callbackId ?? null } }));
      setSaid(t("callPlaced"));
    } catch (e) {
      if (e instanceof ApiError && e.code === "agent_phone_missing") setPhone("");
      setSaid(errorText(lang, e));
    }
  }
  if (!canCall) return <></>;
  return (
    <span className="call-button">
      {phone !== null && (
        <input
          type="tel"
          dir="ltr"
          aria-label={t("callMyPhone")}
          placeholder="+98912…"
          value={phone}
          onChange={(e) => setPhone(e.target.value)}
        />
      )}
      <button type="button" className="ghost small" data-testid="call-button" onClick={() => void place()}>
        <ChannelIcon kind="voice" decorative /> {t("callBack")}
      </button>
      {said && (
        <span className="muted small" role="status">
          {said}
        </span>
      )}
    </span>
  );
}
