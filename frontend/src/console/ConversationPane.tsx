import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactElement } from "react";
import { api, attachmentUrl, ok, uploadAttachment, type Attachment, type Canned, type Conversation, type Message } from "../api/client";
import { activitySentence } from "./activity";
import { ContactPanel } from "./ContactPanel";
import { useNow, useT } from "./hooks";
import { channelName, formatDateTime, formatShort } from "./i18n";
import { ChannelIcon, Glyph } from "./icons";
import { sendTyping } from "./live";
import { loadMessages, updateConversation, upsertConversation, upsertMessage, useContactLabel, useStore } from "./store";

/** Which identity a reply on this channel goes to. */
export const ADDRESS_OF_CHANNEL: Record<string, string> = {
  sms: "phone",
  callback: "phone",
  email: "email",
  telegram: "telegram",
  webchat: "webchat",
  api: "api",
};

export function ConversationPane({ id }: { id: number }): ReactElement {
  const t = useT();
  const c = useStore((s) => s.conversations[id]);
  if (!c) {
    return (
      <section className="pane" aria-busy="true">
        <p className="muted">{t("loadingMore")}</p>
      </section>
    );
  }
  return (
    <div className="pane-wrap">
      <section className="pane" aria-label={c.contact.name ?? t("conversations")} data-testid="conversation">
        <ConversationHeader c={c} />
        <Thread c={c} />
        <Composer c={c} />
      </section>
      <ContactPanel contactId={c.contact.id} />
    </div>
  );
}

function isoIn(hours: number): string {
  return new Date(Date.now() + hours * 3600_000).toISOString();
}

function tomorrowAt9(): string {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return d.toISOString();
}

function ConversationHeader({ c }: { c: Conversation }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me)!;
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const inbox = useStore((s) => s.inboxes.find((i) => i.id === c.inbox_id));
  const presenceOf = useStore((s) => s.presenceOf);
  const contactLabel = useContactLabel(c.contact);
  const [label, setLabel] = useState("");
  const [customSnooze, setCustomSnooze] = useState(false);
  const [snoozeAt, setSnoozeAt] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function run(body: Parameters<typeof updateConversation>[1]): Promise<void> {
    setError(null);
    try {
      await updateConversation(c.id, body);
    } catch (e) {
      setError(e instanceof Error ? e.message : t("error"));
    }
  }

  const assignValue = c.assignee ? `agent:${c.assignee.id}` : c.team_id ? `team:${c.team_id}` : "none";

  return (
    <header className="conv-head">
      <div className="conv-title">
        <ChannelIcon kind={c.channel} label={channelName(lang, c.channel)} />
        <h2 dir="auto">{contactLabel ?? t("unknown")}</h2>
        <span className="muted">
          {channelName(lang, c.channel)}
          {inbox ? ` · ${inbox.name}` : ""}
        </span>
        <span className={`status status-${c.status}`}>{t(c.status)}</span>
        {c.status === "snoozed" && c.snoozed_until && (
          <span className="muted">→ {formatDateTime(lang, c.snoozed_until)}</span>
        )}
      </div>
      {c.subject && (
        <p className="conv-subject" dir="auto">
          {c.subject}
        </p>
      )}
      <div className="actions" role="toolbar" aria-label={t("assign")}>
        <label className="inline">
          <span>{t("assignee")}</span>
          <select
            id="assign-select"
            value={assignValue}
            onChange={(e) => {
              const [kind, value] = e.target.value.split(":");
              if (kind === "agent") void run({ assignee_id: Number(value) });
              else if (kind === "team") void run({ team_id: Number(value), assignee_id: null });
              else void run({ assignee_id: null, team_id: null });
            }}
          >
            <option value="none">{t("nobody")}</option>
            <option value={`agent:${me.id}`}>
              {t("assignToMe")} ({me.name})
            </option>
            {agents
              .filter((a) => a.id !== me.id && a.is_active)
              .map((a) => (
                <option key={a.id} value={`agent:${a.id}`}>
                  {a.name}
                  {presenceOf[a.id] === "online" ? ` · ${t("online")}` : presenceOf[a.id] === "away" ? ` · ${t("away")}` : ""}
                </option>
              ))}
            {teams.map((team) => (
              <option key={`t${team.id}`} value={`team:${team.id}`}>
                {t("team")}: {team.name}
              </option>
            ))}
          </select>
        </label>
        {c.assignee?.id !== me.id && (
          <button type="button" className="ghost" onClick={() => void run({ assignee_id: me.id })}>
            {t("assignToMe")}
          </button>
        )}
        <label className="inline">
          <span>{t("priority")}</span>
          <select value={c.priority} onChange={(e) => void run({ priority: e.target.value as Conversation["priority"] })}>
            {(["none", "low", "medium", "high", "urgent"] as const).map((p) => (
              <option key={p} value={p}>
                {t(p)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <span>{t("snooze")}</span>
          <select
            aria-label={t("snoozeUntil")}
            value=""
            onChange={(e) => {
              const v = e.target.value;
              if (v === "custom") setCustomSnooze(true);
              const until = v === "1h" ? isoIn(1) : v === "tomorrow" ? tomorrowAt9() : v === "week" ? isoIn(24 * 7) : null;
              if (until) void run({ status: "snoozed", snoozed_until: until });
            }}
          >
            <option value="">—</option>
            <option value="1h">{t("snoozeHour")}</option>
            <option value="tomorrow">{t("snoozeTomorrow")}</option>
            <option value="week">{t("snoozeWeek")}</option>
            <option value="custom">{t("snoozeUntil")}…</option>
          </select>
        </label>
        {customSnooze && (
          <form
            className="row-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (!snoozeAt) return;
              setCustomSnooze(false);
              void run({ status: "snoozed", snoozed_until: new Date(snoozeAt).toISOString() });
            }}
          >
            <input type="datetime-local" aria-label={t("snoozeUntil")} value={snoozeAt} onChange={(e) => setSnoozeAt(e.target.value)} required />
            <button type="submit" className="ghost small">
              {t("snooze")}
            </button>
          </form>
        )}
        {c.status !== "pending" && c.status !== "resolved" && (
          <button type="button" className="ghost" onClick={() => void run({ status: "pending" })}>
            {t("pending")}
          </button>
        )}
        {c.status === "resolved" || c.status === "snoozed" || c.status === "pending" ? (
          <button type="button" className="ghost" onClick={() => void run({ status: "open" })}>
            {t("reopen")}
          </button>
        ) : null}
        {c.status !== "resolved" && (
          <button type="button" className="primary" onClick={() => void run({ status: "resolved" })}>
            ✓ {t("resolve")}
          </button>
        )}
      </div>
      <div className="labels">
        {c.labels.map((l) => (
          <span key={l} className="label">
            {l}
            <button
              type="button"
              className="x"
              aria-label={`${t("delete")} ${l}`}
              onClick={() => void run({ labels: c.labels.filter((x) => x !== l) })}
            >
              ×
            </button>
          </span>
        ))}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const value = label.trim();
            if (value && !c.labels.includes(value)) void run({ labels: [...c.labels, value] });
            setLabel("");
          }}
        >
          <input
            className="label-input"
            aria-label={t("addLabel")}
            placeholder={`+ ${t("addLabel")}`}
            value={label}
            onChange={(e) => setLabel(e.target.value)}
          />
        </form>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </header>
  );
}

function Thread({ c }: { c: Conversation }): ReactElement {
  const t = useT();
  const messages = useStore((s) => s.messages[c.id]);
  const hasOlder = useStore((s) => s.hasOlder[c.id]);
  const typing = useStore((s) => s.typing[c.id]);
  const now = useNow(2000);
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const count = messages?.length ?? 0;

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [count]);

  return (
    <div
      className="thread"
      ref={ref}
      data-testid="thread"
      aria-live="polite"
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
      }}
    >
      {hasOlder && (
        <button type="button" className="ghost older" onClick={() => void loadMessages(c.id, true)}>
          {t("olderMessages")}
        </button>
      )}
      {(messages ?? []).map((m) => (
        <MessageItem key={m.id} m={m} />
      ))}
      {typing && typing.until > now && <p className="typing">{t("typing", { name: typing.name })}</p>}
    </div>
  );
}

function MessageItem({ m }: { m: Message }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [showQuoted, setShowQuoted] = useState(false);
  if (m.direction === "activity") {
    const said = activitySentence(lang, m.sender?.name ?? "", m.sender?.id ?? null, m.metadata);
    return (
      // A sentence of ours reads in the console's direction, even when it starts with a
      // Latin agent name; a stored line in its own.
      <p className="activity" dir={said === null ? "auto" : lang === "fa" ? "rtl" : "ltr"} data-testid="activity">
        {said ?? m.body_text} · <time dateTime={m.created_at}>{formatShort(lang, m.created_at)}</time>
      </p>
    );
  }
  const quoted = typeof m.metadata?.quoted === "string" ? m.metadata.quoted : null;
  const who = m.sender?.name ?? (m.direction === "inbound" ? t("inbound") : "");
  return (
    <article className={`msg msg-${m.direction}${m.body_html ? " msg-html" : ""}`} data-testid={`message-${m.direction}`} data-message-id={m.id}>
      <header>
        <span className="who" dir="auto">
          {who}
        </span>
        {m.direction === "note" && <span className="note-tag">{t("note")}</span>}
        <time dateTime={m.created_at} title={formatDateTime(lang, m.created_at)}>
          {formatShort(lang, m.created_at)}
        </time>
      </header>
      {m.subject && m.direction !== "note" && (
        <p className="msg-subject" dir="auto">
          {m.subject}
        </p>
      )}
      {m.body_html ? (
        <EmailFrame html={m.body_html} attachments={m.attachments} />
      ) : (
        <div className="body" dir="auto">
          {m.body_text}
        </div>
      )}
      {quoted && (
        <div className="quoted">
          <button type="button" className="link" aria-expanded={showQuoted} onClick={() => setShowQuoted(!showQuoted)}>
            {showQuoted ? t("hideQuoted") : t("showQuoted")} ···
          </button>
          {showQuoted && (
            <pre dir="auto" className="quoted-text">
              {quoted}
            </pre>
          )}
        </div>
      )}
      {m.attachments.length > 0 && (
        <div className="attachments">
          {m.attachments.map((a) => (
            <AttachmentView key={a.id} a={a} />
          ))}
        </div>
      )}
      {m.direction === "outbound" && m.delivery_status && <DeliveryLine m={m} />}
    </article>
  );
}

function DeliveryLine({ m }: { m: Message }): ReactElement {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const status = m.delivery_status!;
  const marks: Record<string, string> = { queued: "◷", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
  return (
    <footer className={`delivery delivery-${status}`} data-testid="delivery" data-status={status}>
      <span aria-hidden="true">{marks[status]}</span> {t(status)}
      {status === "failed" && (
        <>
          {m.error && <span className="reason">: {m.error}</span>}
          <button
            type="button"
            className="ghost small"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              void ok(api.POST("/api/v1/messages/{message_id}/retry", { params: { path: { message_id: m.id } } }))
                .then((updated) => upsertMessage(updated, true))
                .finally(() => setBusy(false));
            }}
          >
            {t("retry")}
          </button>
        </>
      )}
    </footer>
  );
}

// Customer HTML (already sanitized by the server) in a sandboxed frame: no allow-scripts, so
// nothing in it can run even if sanitizing missed something; a CSP inside the document too.
// allow-same-origin (without scripts) only lets the console measure its height. Remote
// images (tracking pixels among them) load only when the agent asks for them.
function frameCsp(remoteImages: boolean): string {
  const images = remoteImages ? "data: blob: https: http:" : "data: blob:";
  return `default-src 'none'; img-src ${images}; style-src 'unsafe-inline'; font-src data:; script-src 'none'`;
}

export function emailDocument(html: string, remoteImages = false): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${frameCsp(remoteImages)}">` +
    `<base target="_blank"><style>body{margin:0;font:14px/1.5 system-ui,sans-serif;color:#1f2933;` +
    `overflow-wrap:anywhere}img{max-width:100%;height:auto}</style></head><body>${html}</body></html>`
  );
}

/** The HTML with its inline images (`cid:` sources) pointing at their attachments' blob
 * URLs (the frame allows blob: images and nothing remote, so no tracking pixel loads). */
function withInlineImages(html: string, urls: Map<string, string>): string {
  if (urls.size === 0) return html;
  const doc = new DOMParser().parseFromString(html, "text/html"); // inert: nothing runs
  for (const img of Array.from(doc.querySelectorAll<HTMLImageElement>('img[src^="cid:"]'))) {
    const url = urls.get((img.getAttribute("src") ?? "").slice(4).replace(/^<|>$/g, ""));
    if (url) img.setAttribute("src", url);
  }
  return doc.body.innerHTML;
}

/** Blob URLs of the message's stored inline images, by Content-ID, once fetched. */
function useInlineImages(html: string, attachments: Attachment[]): Map<string, string> {
  const [urls, setUrls] = useState<Map<string, string>>(new Map());
  const inline = attachments.filter((a) => a.stored && a.content_id && html.includes(`cid:${a.content_id}`));
  const key = inline.map((a) => a.id).join(",");
  useEffect(() => {
    if (!key) return;
    let live = true;
    let made: (readonly [string, string])[] = [];
    void Promise.all(
      inline.map(async (a) => [a.content_id ?? "", await attachmentUrl(a.id).catch(() => "")] as const),
    ).then((pairs) => {
      made = pairs.filter(([, url]) => url !== "");
      if (live) setUrls(new Map(made));
      else made.forEach(([, url]) => URL.revokeObjectURL(url));
    });
    return () => {
      live = false;
      made.forEach(([, url]) => URL.revokeObjectURL(url));
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` names the attachments
  }, [key]);
  return urls;
}

// The sanitizer keeps no style attributes, so an <img> is the only way HTML loads a file.
const REMOTE_IMAGE = /<img\b[^>]*\ssrc="https?:/i;

function EmailFrame({ html, attachments }: { html: string; attachments: Attachment[] }): ReactElement {
  const t = useT();
  const ref = useRef<HTMLIFrameElement>(null);
  const [height, setHeight] = useState(60);
  const [remoteImages, setRemoteImages] = useState(false);
  const images = useInlineImages(html, attachments);
  return (
    <>
      {!remoteImages && REMOTE_IMAGE.test(html) && (
        <p className="remote-images" data-testid="remote-images">
          {t("remoteImagesHidden")}{" "}
          <button type="button" className="link" onClick={() => setRemoteImages(true)}>
            {t("showImages")}
          </button>
        </p>
      )}
      <iframe
        ref={ref}
        className="email-frame"
        title="email"
        sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"
        referrerPolicy="no-referrer"
        srcDoc={emailDocument(withInlineImages(html, images), remoteImages)}
        style={{ height }}
        onLoad={() => {
          const doc = ref.current?.contentDocument;
          if (doc?.body) setHeight(Math.min(2000, doc.documentElement.scrollHeight + 4));
        }}
      />
    </>
  );
}

function humanSize(n: number | null): string {
  if (n === null) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function AttachmentView({ a }: { a: Attachment }): ReactElement {
  const t = useT();
  const [url, setUrl] = useState<string | null>(null);
  const image = a.stored && a.content_type.startsWith("image/") && a.content_type !== "image/svg+xml";

  useEffect(() => {
    if (!image) return;
    let revoked = false;
    let made: string | null = null;
    attachmentUrl(a.id)
      .then((u) => {
        made = u;
        if (!revoked) setUrl(u);
      })
      .catch(() => undefined);
    return () => {
      revoked = true;
      if (made) URL.revokeObjectURL(made);
    };
  }, [a.id, image]);

  if (!a.stored) {
    return (
      <span className="attachment missing" title={a.note ?? ""}>
        <Glyph name="clip" /> {a.filename} {a.note ? `(${a.note})` : ""}
      </span>
    );
  }
  async function download(): Promise<void> {
    const u = await attachmentUrl(a.id);
    const link = document.createElement("a");
    link.href = u;
    link.download = a.filename;
    link.click();
    window.setTimeout(() => URL.revokeObjectURL(u), 10000);
  }
  return (
    <span className="attachment">
      {image && url && <img src={url} alt={a.filename} />}
      <button type="button" className="link" onClick={() => void download()}>
        <Glyph name="clip" /> {a.filename} <span className="muted">{humanSize(a.size)}</span> · {t("download")}
      </button>
    </span>
  );
}

// ---- the composer -----------------------------------------------------------------------

type Mode = "reply" | "note";

function draftKey(id: number, mode: Mode): string {
  return `panjereh.draft.${id}.${mode}`;
}

function Composer({ c }: { c: Conversation }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const canned = useStore((s) => s.canned);
  const contact = useStore((s) => s.contacts[c.contact.id]);
  const [mode, setMode] = useState<Mode>("reply");
  const [text, setText] = useState(() => localStorage.getItem(draftKey(c.id, "reply")) ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState(0);
  const [files, setFiles] = useState<Attachment[]>([]);
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
        setError(e instanceof Error ? e.message : t("error"));
      } finally {
        setUploading((n) => n - 1);
      }
    }
  }

  useEffect(() => {
    function onCompose(e: Event): void {
      const next = (e as CustomEvent<Mode>).detail;
      switchMode(next);
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
    if (value) sendTyping(c.id);
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
          body: { body, private: mode === "note", attachment_ids: files.map((f) => f.id) },
        }),
      );
      upsertMessage(m, true);
      change("");
      setFiles([]);
      if (mode === "reply") {
        upsertConversation({ ...c, waiting_since: null, unread_count: 0, last_activity_at: m.created_at });
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : t("error"));
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
  const to = address ?? c.contact.name ?? t("unknown");
  const replyLabel = t("replyBy", { channel: channelName(lang, c.channel), to });

  return (
    <div className={`composer composer-${mode}`}>
      <div className="composer-tabs" role="group" aria-label={t("reply")}>
        <button type="button" aria-pressed={mode === "reply"} onClick={() => switchMode("reply")}>
          {t("reply")}
        </button>
        <button type="button" aria-pressed={mode === "note"} onClick={() => switchMode("note")}>
          {t("note")}
        </button>
        <span className="composer-label" data-testid="composer-label">
          {mode === "reply" ? (
            <>
              <ChannelIcon kind={c.channel} decorative /> <bdi>{replyLabel}</bdi>
            </>
          ) : (
            t("noteHint")
          )}
        </span>
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
        dir="auto"
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
