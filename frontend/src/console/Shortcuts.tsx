import { useEffect, useRef, type ReactElement } from "react";
import { useT } from "./hooks";
import type { Key } from "./i18n";
import { getState, updateConversation } from "./store";

function typingInField(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export function useKeyboard(toggleHelp: () => void): void {
  const toggle = useRef(toggleHelp);
  toggle.current = toggleHelp;
  useEffect(() => {
    function onKey(e: KeyboardEvent): void {
      if (e.ctrlKey || e.metaKey || e.altKey || typingInField(e)) return;
      const s = getState();
      if (e.key === "?") {
        e.preventDefault();
        toggle.current();
        return;
      }
      if (s.screen !== "inbox") return;
      if (e.key === "j" || e.key === "k") {
        e.preventDefault();
        const rows = [...document.querySelectorAll<HTMLButtonElement>(".conv-row")];
        if (!rows.length) return;
        let at = rows.findIndex((r) => r === document.activeElement);
        if (at < 0) at = rows.findIndex((r) => r.dataset.id === String(s.selectedId));
        const next = e.key === "j" ? Math.min(rows.length - 1, at + 1) : Math.max(0, at - 1);
        rows[at < 0 ? 0 : next]?.focus();
        rows[at < 0 ? 0 : next]?.scrollIntoView({ block: "nearest" });
        return;
      }
      if (s.selectedId === null) return;
      if (e.key === "r" || e.key === "n") {
        e.preventDefault();
        window.dispatchEvent(new CustomEvent("panjereh:compose", { detail: e.key === "r" ? "reply" : "note" }));
      } else if (e.key === "e") {
        e.preventDefault();
        void updateConversation(s.selectedId, { status: "resolved" });
      } else if (e.key === "a") {
        e.preventDefault();
        document.getElementById("assign-select")?.focus();
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

const SHORTCUTS: [string, Key][] = [
  ["j", "kNext"],
  ["k", "kPrev"],
  ["Enter", "kOpen"],
  ["r", "kReply"],
  ["n", "kNote"],
  ["e", "kResolve"],
  ["a", "kAssign"],
  ["Ctrl/⌘ + Enter", "kSend"],
  ["Esc", "kEscape"],
  ["?", "kHelp"],
];

export function ShortcutHelp({ onClose }: { onClose: () => void }): ReactElement {
  const t = useT();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">{t("shortcuts")}</h2>
      <table>
        <tbody>
          {SHORTCUTS.map(([key, label]) => (
            <tr key={key}>
              <td>
                <kbd>{key}</kbd>
              </td>
              <td>{t(label)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="primary" onClick={onClose} autoFocus>
        {t("close")}
      </button>
    </dialog>
  );
}
