import { useEffect, useLayoutEffect, useRef, useState, type ReactElement } from "react";
import { api, attachmentUrl, ok, type Attachment, type Conversation, type Message } from "../api/client";
import { activitySentence, callbackSummary } from "./activity";
import { CallItem } from "./Calls";
import { Composer } from "./Composer";
import { ContactPanel } from "./ContactPanel";
import { ConversationHeader } from "./ConversationHeader";
import { EmailFrame } from "./EmailFrame";
import { MergeBar } from "./Merge";
import { useNow, useT } from "./hooks";
import { formatDateTime, formatShort } from "./i18n";
import { Glyph } from "./icons";
import { loadMessages, upsertMessage, useStore } from "./store";
import { SurveyAnswer } from "./Surveys";

export function ConversationPane({ id }: { id: number }): ReactElement {
  const t = useT();
  const c = useStore((s) => s.conversations[id]);
  // Where the screen is too narrow for the customer's panel beside the conversation, it
  // opens over it on request.
  const [customerOpen, setCustomerOpen] = useState(false);
  if (!c) {
    return (
      <section className="pane" aria-busy="true">
        <p className="muted">{t("loadingMore")}</p>
      </section>
    );
  }
  return (
    <div className={customerOpen ? "pane-wrap customer-open" : "pane-wrap"}>
      <section className="pane" aria-label={c.contact.name ?? t("conversations")} data-testid="conversation">
        <ConversationHeader c={c} onCustomer={() => setCustomerOpen((open) => !open)} />
        <MergeBar c={c} />
        <Thread c={c} />
        {c.status !== "merged" && <Composer c={c} />}
      </section>
      <ContactPanel contactId={c.contact.id} />
    </div>
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
  if (m.metadata?.call) return <CallItem m={m} />;
  if (m.direction === "activity") {
    const said = activitySentence(lang, m.sender?.name ?? "", m.sender?.id ?? null, m.metadata);
    return (
      // A sentence of ours reads in the console's direction, even when it starts with a
      // Latin agent name; a stored line in its own.
      <p className="activity" dir={said === null ? "auto" : lang === "fa" ? "rtl" : "ltr"} data-testid="activity">
        {/* Isolated: a Persian label ending an English line would pull the time into it. */}
        <bdi>{said ?? m.body_text}</bdi> · <time dateTime={m.created_at}>{formatShort(lang, m.created_at)}</time>
      </p>
    );
  }
  const quoted = typeof m.metadata?.quoted === "string" ? m.metadata.quoted : null;
  const summary = callbackSummary(lang, m.metadata);
  const who = m.sender?.name ?? (m.direction === "inbound" ? t("inbound") : "");
  // Mail whose answers go to its Reply-To (a contact form's visitor) names who sent it.
  const via = Array.isArray(m.metadata?.from) && typeof m.metadata.from[0] === "string" ? m.metadata.from[0] : null;
  return (
    <article className={`msg msg-${m.direction}${m.body_html ? " msg-html" : ""}`} data-testid={`message-${m.direction}`} data-message-id={m.id}>
      <header>
        <span className="who" dir="auto">
          {who}
        </span>
        {via && (
          <bdi className="via" data-testid="sent-via">
            {t("sentVia", { address: via })}
          </bdi>
        )}
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
        <div className="body" dir={summary ? (lang === "fa" ? "rtl" : "ltr") : "auto"}>
          {summary ?? m.body_text}
        </div>
      )}
      <SurveyAnswer metadata={m.metadata} />
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
