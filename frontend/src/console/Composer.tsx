import { useEffect, useRef, useState, type KeyboardEvent, type ReactElement } from "react";
import { api, ok, uploadAttachment, type Attachment, type Canned, type Conversation } from "../api/client";
import { useT } from "./hooks";
import { channelName, errorText } from "./i18n";
import { CallbackActions } from "./Callbacks";
import { ChannelIcon, Glyph } from "./icons";
import { sendTyping } from "./live";
import { ReplyChannelPicker } from "./Merge";
import { getState, upsertConversation, upsertMessage, useStore } from "./store";

/** Which identity a reply on this channel goes to. */
export const ADDRESS_OF_CHANNEL: Record<string, string> = {
  sms: "phone",
  callback: "phone",
  email: "email",
  telegram: "telegram",
  webchat: "webchat",
  api: "api",
};

type Mode = "reply" | "note";

function draftKey(id: number, mode: Mode): string {
  return `panjereh.draft.${id}.${mode}`;
}

export function Composer({ c }: { c: Conversation }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const canned = useStore((s) => s.canned);
  const contact = useStore((s) => s.contacts[c.contact.id]);
  // A callback is answered by phone: its conversation opens on the private note, with the
  // callback's outcome at hand (a reply has no channel to go out on).
  const callback = useStore((s) => (c.channel === "callback" ? s.callbacks.find((cb) => cb.conversation_id === c.id) : undefined));
  // Nor is a reply offered: the server refuses one (there is nothing to send text on).
  const canReply = c.channel !== "callback";
  const firstMode: Mode = canReply ? "reply" : "note";
  const [mode, setMode] = useState<Mode>(firstMode);
  const [text, setText] = useState(() => localStorage.getItem(draftKey(c.id, firstMode)) ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState(0);
  const [files, setFiles] = useState<Attachment[]>([]);
  const [via, setVia] = useState<number | null>(null); // a merged conversation's channel
  const [uploading, setUploading] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);

  async function attach(list: FileList | null): Promise<void> {
    if (!list) return;
    setError(null);
    for (const file of Array.from(list)) {
      setUploading((n) => n + 1);
      try {
        const uploaded = await uploadAttachment(c.id, file);
        setFiles((f) => [...f, uploaded]);
      } catch (e) {
        setError(errorText(lang, e));
      } finally {
        setUploading((n) => n - 1);
      }
    }
  }

  useEffect(() => {
    function onCompose(e: Event): void {
      const next = (e as CustomEvent<Mode>).detail;
      switchMode(canReply ? next : "note");
      area.current?.focus();
    }
    window.addEventListener("panjereh:compose", onCompose);
    return () => window.removeEventListener("panjereh:compose", onCompose);
  });

  function switchMode(next: Mode): void {
    if (next === mode) return;
    localStorage.setItem(draftKey(c.id, mode), text);
    setMode(next);
    setText(localStorage.getItem(draftKey(c.id, next)) ?? "");
  }

  function change(value: string): void {
    setText(value);
    setPick(0);
    if (value) localStorage.setItem(draftKey(c.id, mode), value);
    else localStorage.removeItem(draftKey(c.id, mode));
    if (value) sendTyping(c.id, mode === "note");
  }

  // `/word` at the end of the text offers canned responses.
  const slash = /(?:^|\s)\/([\w-]*)$/.exec(text);
  const suggestions: Canned[] = slash
    ? canned.filter((r) => r.shortcut.startsWith(slash[1]!.toLowerCase()) || r.title.toLowerCase().includes(slash[1]!.toLowerCase())).slice(0, 6)
    : [];

  function insert(r: Canned): void {
    const cut = text.length - (slash ? slash[0].trimStart().length : 0);
    change(text.slice(0, cut) + r.body);
    area.current?.focus();
  }

  async function submit(): Promise<void> {
    const body = text.trim();
    if ((!body && files.length === 0) || busy || uploading > 0) return;
    setBusy(true);
    setError(null);
    try {
      const m = await ok(
        api.POST("/api/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: c.id } },
          body: {
            body,
            private: mode === "note",
            attachment_ids: files.map((f) => f.id),
            via_conversation_id: mode === "reply" ? via : null,
          },
        }),
      );
      upsertMessage(m, true);
      change("");
      setFiles([]);
      if (mode === "reply") {
        // From the store, not `c`: the reply's live events (say, its assignment) may be in already.
        const now = getState().conversations[c.id] ?? c;
        upsertConversation({ ...now, waiting_since: null, unread_count: 0, last_activity_at: m.created_at });
      }
    } catch (e) {
      setError(errorText(lang, e));
    } finally {
      setBusy(false);
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>): void {
    if (suggestions.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        setPick((p) => (p + (e.key === "ArrowDown" ? 1 : suggestions.length - 1)) % suggestions.length);
        return;
      }
      if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
        e.preventDefault();
        insert(suggestions[pick] ?? suggestions[0]!);
        return;
      }
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void submit();
    } else if (e.key === "Escape") {
      e.currentTarget.blur();
    }
  }

  const addressKind = ADDRESS_OF_CHANNEL[c.channel];
  const identity = contact?.identities.find((i) => i.kind === addressKind);
  // API identities are namespaced by inbox ("3:cust-1"); the agent knows them without it.
  const address = identity && c.channel === "api" ? identity.address.replace(/^\d+:/, "") : identity?.address;
  // A web chat visitor's address is an opaque id: their name says more.
  const to = (c.channel === "webchat" ? c.contact.name : null) ?? address ?? c.contact.name ?? t("unknown");
  const replyLabel = t("replyBy", { channel: channelName(lang, c.channel), to });
  // On screen, the address is an LTR island, so a phone number's `+` stays at its start.
  const [before, after] = t("replyBy", { channel: channelName(lang, c.channel), to: "\u0000" }).split("\u0000");

  return (
    <div className={`composer composer-${mode}`}>
      {callback && <CallbackActions cb={callback} />}
      <div className="composer-tabs" role="group" aria-label={t("reply")}>
        {canReply && (
          <button type="button" aria-pressed={mode === "reply"} onClick={() => switchMode("reply")}>
            {t("reply")}
          </button>
        )}
        <button type="button" aria-pressed={mode === "note"} onClick={() => switchMode("note")}>
          {t("note")}
        </button>
        <span className="composer-label" data-testid="composer-label">
          {mode === "reply" ? (
            <>
              <ChannelIcon kind={c.channel} decorative />{" "}
              <bdi>
                {before}
                <bdi dir="ltr">{to}</bdi>
                {after}
              </bdi>
            </>
          ) : (
            t("noteHint")
          )}
        </span>
        {mode === "reply" && <ReplyChannelPicker c={c} value={via} onChange={setVia} />}
      </div>
      {suggestions.length > 0 && (
        <ul className="canned" role="listbox" aria-label={t("canned")}>
          {suggestions.map((r, i) => (
            <li
              key={r.id}
              role="option"
              aria-selected={i === pick}
              onMouseDown={(e) => {
                e.preventDefault();
                insert(r);
              }}
            >
              <strong>/{r.shortcut}</strong> {r.title}
              <span className="muted"> — {r.body.slice(0, 60)}</span>
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={area}
        aria-label={mode === "reply" ? replyLabel : t("note")}
        // An empty box takes the console's direction, so the placeholder reads right.
        dir={text ? "auto" : lang === "fa" ? "rtl" : "ltr"}
        rows={3}
        value={text}
        placeholder={mode === "reply" ? t("composerPlaceholder") : t("notePlaceholder")}
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKey}
      />
      {files.length > 0 && (
        <ul className="uploads" aria-label={t("attach")}>
          {files.map((f) => (
            <li key={f.id} className="label">
              <Glyph name="clip" /> {f.filename}
              <button
                type="button"
                className="x"
                aria-label={`${t("delete")} ${f.filename}`}
                onClick={() => setFiles((all) => all.filter((x) => x.id !== f.id))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-foot">
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          aria-label={t("attach")}
          onChange={(e) => {
            void attach(e.target.files);
            e.target.value = "";
          }}
        />
        <button type="button" className="ghost" onClick={() => picker.current?.click()} disabled={uploading > 0}>
          <Glyph name="clip" /> {uploading > 0 ? t("loadingMore") : t("attach")}
        </button>
        {error && (
          <span className="error" role="alert">
            {error}
          </span>
        )}
        <span className="spacer" />
        <kbd className="hint">Ctrl+Enter</kbd>
        <button
          type="button"
          className="primary"
          disabled={busy || uploading > 0 || (!text.trim() && files.length === 0)}
          onClick={() => void submit()}
        >
          {mode === "reply" ? t("send") : t("addNote")}
        </button>
      </div>
    </div>
  );
}
