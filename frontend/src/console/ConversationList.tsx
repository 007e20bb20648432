import { useEffect, useRef, useState, type ReactElement } from "react";
import { useNow, useT } from "./hooks";
import { channelName, formatAge, formatNumber, formatShort, type Lang } from "./i18n";
import { ChannelIcon, Glyph } from "./icons";
import { getState, loadList, openConversation, setState, updateConversation, useContactLabel, useStore, type View } from "./store";
import { SlaBadge } from "./SlaBadge";

function viewTitle(t: ReturnType<typeof useT>, lang: Lang, view: View, inboxes: { id: number; name: string }[]): string {
  if (view.q) return t("searchResults", { q: view.q });
  if (view.key === "mine") return t("mine");
  if (view.key === "unassigned") return t("unassigned");
  if (view.key === "all") return t("all");
  if (view.channel) return channelName(lang, view.channel);
  if (view.inbox_id !== undefined) return inboxes.find((i) => i.id === view.inbox_id)?.name ?? "";
  if (view.status) return t(view.status);
  if (view.label) return `# ${view.label}`;
  return t("conversations");
}

export function ConversationList({ onViews }: { onViews: () => void }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const view = useStore((s) => s.view);
  const ids = useStore((s) => s.listIds);
  const conversations = useStore((s) => s.conversations);
  const selectedId = useStore((s) => s.selectedId);
  const checked = useStore((s) => s.checked);
  const nextCursor = useStore((s) => s.nextCursor);
  const loading = useStore((s) => s.listLoading);
  const inboxes = useStore((s) => s.inboxes);
  const typing = useStore((s) => s.typing);
  const now = useNow();
  const sentinel = useRef<HTMLLIElement>(null);
  const [query, setQuery] = useState("");
  // The view a search was started from, to go back to when the search is cleared.
  const before = useRef<View>(view);
  if (!view.q) before.current = view;

  useEffect(() => {
    if (!view.q) setQuery(""); // another view was chosen: the search is over
  }, [view.q]);

  function search(words: string): void {
    const q = words.trim();
    void loadList(q ? { key: "search", q } : before.current);
  }

  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !getState().listLoading) {
        void loadList(getState().view, true);
      }
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [nextCursor]);

  return (
    <section className="list" aria-label={t("conversations")}>
      <header className="list-head">
        <form
          role="search"
          className="list-search"
          onSubmit={(e) => {
            e.preventDefault();
            search(query);
          }}
        >
          <input
            type="search"
            dir="auto"
            aria-label={t("searchConversations")}
            placeholder={t("searchConversations")}
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              if (!e.target.value && view.q) search(""); // cleared: back to the view
            }}
          />
        </form>
        <button type="button" className="ghost small phone-only" onClick={onViews}>
          {t("views")}
        </button>
        <h2>{viewTitle(t, lang, view, inboxes)}</h2>
      </header>
      {checked.length > 0 && <BulkBar />}
      <ul className="rows" data-testid="conversation-list">
        {ids.map((id) => {
          const c = conversations[id];
          if (!c) return null;
          const isTyping = typing[id] && typing[id].until > now;
          return (
            <li key={id} className={id === selectedId ? "selected" : undefined}>
              <input
                type="checkbox"
                className="check"
                aria-label={`${t("selected", { n: "" }).trim()}: ${c.contact.name ?? `#${id}`}`}
                checked={checked.includes(id)}
                onChange={(e) =>
                  setState((s) => ({
                    checked: e.target.checked ? [...s.checked, id] : s.checked.filter((x) => x !== id),
                  }))
                }
              />
              <button
                type="button"
                className="conv-row"
                data-id={id}
                aria-current={id === selectedId ? "true" : undefined}
                onClick={() => void openConversation(id)}
              >
                <span className="row-top">
                  <ChannelIcon kind={c.channel} label={channelName(lang, c.channel)} />
                  <ContactLabel contact={c.contact} />
                  <time dateTime={c.last_activity_at}>{formatShort(lang, c.last_message_at ?? c.last_activity_at)}</time>
                </span>
                <span className="preview" dir="auto">
                  {isTyping ? <em>{t("typing", { name: typing[id]!.name })}</em> : c.subject ? <strong>{c.subject} · </strong> : null}
                  {!isTyping && c.last_message.preview}
                </span>
                <span className="row-meta">
                  {c.waiting_since && (
                    <span className="waiting" title={t("waiting")}>
                      <Glyph name="clock" size={12} /> {formatAge(lang, c.waiting_since, now)}
                    </span>
                  )}
                  <SlaBadge c={c} />
                  {c.priority !== "none" && <span className={`prio prio-${c.priority}`}>{t(c.priority)}</span>}
                  {c.labels.slice(0, 2).map((l) => (
                    <span key={l} className="label">
                      {l}
                    </span>
                  ))}
                  <span className="assignee">{c.assignee?.name ?? ""}</span>
                  {c.unread_count > 0 && (
                    <span className="badge" aria-label={`${c.unread_count} ${t("unread")}`}>
                      {formatNumber(lang, c.unread_count)}
                    </span>
                  )}
                </span>
              </button>
            </li>
          );
        })}
        {ids.length === 0 && !loading && <li className="empty-list">{t("noConversations")}</li>}
        {nextCursor && (
          <li ref={sentinel} className="more">
            {t("loadingMore")}
          </li>
        )}
      </ul>
    </section>
  );
}

function ContactLabel({ contact }: { contact: { id: number; name: string | null } }): ReactElement {
  const t = useT();
  const label = useContactLabel(contact);
  return (
    // Without a name, the label is an address (a phone number): an LTR island, `+` first.
    <span className="contact-name" dir={contact.name ? "auto" : "ltr"}>
      {label ?? t("unknown")}
    </span>
  );
}

function BulkBar(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const checked = useStore((s) => s.checked);
  const me = useStore((s) => s.me)!;
  const agents = useStore((s) => s.agents);
  const [action, setAction] = useState("resolve");

  async function apply(): Promise<void> {
    const [kind, arg] = action.split(":");
    const body =
      kind === "resolve"
        ? { status: "resolved" as const }
        : kind === "open"
          ? { status: "open" as const }
          : kind === "pending"
            ? { status: "pending" as const }
            : kind === "assign"
              ? { assignee_id: arg === "none" ? null : Number(arg) }
              : {};
    await Promise.all(checked.map((id) => updateConversation(id, body).catch(() => undefined)));
    setState({ checked: [] });
  }

  return (
    <div className="bulk" role="region" aria-label={t("selected", { n: checked.length })}>
      <span>{t("selected", { n: formatNumber(lang, checked.length) })}</span>
      <select aria-label={t("bulkApply")} value={action} onChange={(e) => setAction(e.target.value)}>
        <option value="resolve">{t("resolve")}</option>
        <option value="open">{t("reopen")}</option>
        <option value="pending">{t("pending")}</option>
        <option value={`assign:${me.id}`}>{t("assignToMe")}</option>
        {agents
          .filter((a) => a.id !== me.id && a.is_active)
          .map((a) => (
            <option key={a.id} value={`assign:${a.id}`}>
              {t("assign")}: {a.name}
            </option>
          ))}
        <option value="assign:none">
          {t("assign")}: {t("nobody")}
        </option>
      </select>
      <button type="button" className="primary" onClick={() => void apply()}>
        {t("bulkApply")}
      </button>
      <button type="button" className="ghost" onClick={() => setState({ checked: [] })}>
        {t("clearSelection")}
      </button>
    </div>
  );
}
