import { useEffect, useRef, useState, type FormEvent, type ReactElement } from "react";
import { api, auth, ok, type Conversation } from "../api/client";
import { Admin } from "./Admin";
import { Callbacks } from "./Callbacks";
import { ConversationPane } from "./ConversationPane";
import { useNow, useT } from "./hooks";
import { channelName, formatAge, formatNumber, formatShort, type Key, type Lang } from "./i18n";
import { ChannelIcon, Glyph } from "./icons";
import { sendPresence, startLive, stopLive } from "./live";
import { setNotify } from "./notify";
import {
  getState,
  loadCallbacks,
  loadDirectory,
  loadList,
  openConversation,
  watchDirectory,
  setLang,
  setState,
  signOut,
  updateConversation,
  useContactLabel,
  useStore,
  type View,
} from "./store";

export function App(): ReactElement {
  const me = useStore((s) => s.me);
  const [checking, setChecking] = useState(() => auth.token !== null);

  useEffect(() => {
    auth.onUnauthorized = () => {
      stopLive();
      signOut();
    };
    if (!auth.token) return;
    ok(api.GET("/api/v1/auth/me"))
      .then((agent) => start(agent))
      .catch(() => auth.set(null))
      .finally(() => setChecking(false));
  }, []);

  const lang = useStore((s) => s.lang);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  }, [lang]);

  if (checking) return <div className="splash" aria-busy="true" />;
  return me ? <Shell /> : <Login />;
}

async function start(agent: NonNullable<ReturnType<typeof getState>["me"]>): Promise<void> {
  setLang((agent.language as Lang) === "fa" ? "fa" : "en");
  setState({ me: agent });
  const match = /^#\/c\/(\d+)$/.exec(location.hash);
  await Promise.all([
    loadDirectory().catch(() => undefined),
    loadList(getState().view),
    loadCallbacks().catch(() => undefined),
  ]);
  if (match) void openConversation(Number(match[1]));
  void startLive();
  watchDirectory();
}

function Login(): ReactElement {
  const t = useT();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = await ok(api.POST("/api/v1/auth/login", { body: { email, password } }));
      auth.set(body.access_token);
      await start(body.agent);
    } catch (err) {
      setError(err instanceof Error ? err.message : t("loginFailed"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">{t("appName")}</h1>
        <label>
          {t("email")}
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          {t("password")}
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {t("loginFailed")}: {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {t("signIn")}
        </button>
        <LanguageSwitch />
      </form>
    </main>
  );
}

function LanguageSwitch(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  return (
    <label className="inline">
      <span className="sr-only">{t("language")}</span>
      <select
        aria-label={t("language")}
        value={lang}
        onChange={(e) => {
          const next = e.target.value as Lang;
          setLang(next);
          if (me) {
            void ok(api.PATCH("/api/v1/auth/me", { body: { language: next } })).then((agent) =>
              setState({ me: agent }),
            );
          }
        }}
      >
        <option value="en">English</option>
        <option value="fa">فارسی</option>
      </select>
    </label>
  );
}

function unreadTotal(convs: Record<number, Conversation>, meId: number | undefined): number {
  let n = 0;
  for (const c of Object.values(convs)) {
    if (c.status !== "open") continue;
    if (c.assignee && c.assignee.id !== meId) continue;
    n += c.unread_count;
  }
  return n;
}

function Shell(): ReactElement {
  const t = useT();
  const me = useStore((s) => s.me)!;
  const screen = useStore((s) => s.screen);
  const connection = useStore((s) => s.connection);
  const presence = useStore((s) => s.presence);
  const notify = useStore((s) => s.notify);
  const conversations = useStore((s) => s.conversations);
  const callbacks = useStore((s) => s.callbacks);
  const [help, setHelp] = useState(false);
  const now = useNow();
  const due = callbacks.filter((c) => new Date(c.due_at).getTime() <= now).length;
  const unread = unreadTotal(conversations, me.id);

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${t("appName")}` : t("appName");
  }, [unread, t]);

  useKeyboard(() => setHelp((h) => !h));

  const tabs: { key: "inbox" | "callbacks" | "admin"; label: string; badge?: number }[] = [
    { key: "inbox", label: t("conversations"), badge: unread },
    { key: "callbacks", label: t("callbacks"), badge: due },
  ];
  if (me.role === "admin") tabs.push({ key: "admin", label: t("admin") });

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">{t("appName")}</span>
        <nav aria-label={t("sections")} className="tabs">
          {tabs.map((tab) => (
            <button
              key={tab.key}
              type="button"
              className={screen === tab.key ? "tab active" : "tab"}
              aria-current={screen === tab.key ? "page" : undefined}
              onClick={() => {
                setState({ screen: tab.key });
                if (tab.key === "callbacks") void loadCallbacks();
              }}
            >
              {tab.label}
              {tab.badge ? <span className="badge">{formatNumber(getState().lang, tab.badge)}</span> : null}
            </button>
          ))}
        </nav>
        <div className="spacer" />
        <label className="inline presence">
          <span className={`dot ${presence}`} aria-hidden="true" />
          <select
            aria-label={t("online") + " / " + t("away")}
            value={presence}
            onChange={(e) => {
              const value = e.target.value as "online" | "away";
              setState({ presence: value });
              sendPresence(value);
            }}
          >
            <option value="online">{t("online")}</option>
            <option value="away">{t("away")}</option>
          </select>
        </label>
        <button
          type="button"
          className="ghost"
          aria-pressed={notify}
          title={notify ? t("notificationsOn") : t("notificationsOff")}
          onClick={() => void setNotify(!notify)}
        >
          <Glyph name={notify ? "bell" : "bellOff"} /> <span className="sr-only">{t("notifications")}</span>
        </button>
        <LanguageSwitch />
        <button type="button" className="ghost" onClick={() => setHelp(true)} aria-label={t("shortcuts")}>
          ?
        </button>
        <span className="me" title={me.email}>
          {me.name}
        </span>
        <button
          type="button"
          className="ghost"
          onClick={() => {
            stopLive();
            signOut();
          }}
        >
          {t("signOut")}
        </button>
      </header>
      {connection === "offline" && (
        <div className="banner" role="status" data-testid="offline-banner">
          {t("offline")}
        </div>
      )}
      {screen === "inbox" && <InboxScreen />}
      {screen === "callbacks" && <Callbacks />}
      {screen === "admin" && <Admin />}
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

function typingInField(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function useKeyboard(toggleHelp: () => void): void {
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

function ShortcutHelp({ onClose }: { onClose: () => void }): ReactElement {
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

// ---- the inbox: views, list, conversation ------------------------------------------------

function InboxScreen(): ReactElement {
  const selectedId = useStore((s) => s.selectedId);
  return (
    <div className="inbox">
      <Sidebar />
      <ConversationList />
      {selectedId !== null ? <ConversationPane key={selectedId} id={selectedId} /> : <EmptyPane />}
    </div>
  );
}

function EmptyPane(): ReactElement {
  const t = useT();
  return (
    <section className="pane empty" aria-label={t("selectConversation")}>
      <p>{t("selectConversation")}</p>
    </section>
  );
}

const STATUSES = ["open", "pending", "snoozed", "resolved"] as const;

function Sidebar(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const view = useStore((s) => s.view);
  const inboxes = useStore((s) => s.inboxes);
  const labels = useStore((s) => s.labelsSeen);
  const callbacks = useStore((s) => s.callbacks);
  const now = useNow();
  const kinds = [...new Set(inboxes.map((i) => i.kind))];
  const due = callbacks.filter((c) => new Date(c.due_at).getTime() <= now).length;

  const counts = useStore((s) => s.counts);
  function item(v: View, label: string, icon?: ReactElement, count?: number): ReactElement {
    const active = view.key === v.key;
    return (
      <li key={v.key}>
        <button
          type="button"
          className={active ? "view active" : "view"}
          aria-current={active ? "true" : undefined}
          onClick={() => {
            setState({ checked: [] });
            void loadList(v);
          }}
        >
          {icon}
          <span>{label}</span>
          {count !== undefined && count > 0 && <span className="count">{formatNumber(lang, count)}</span>}
        </button>
      </li>
    );
  }

  return (
    <nav className="sidebar" aria-label={t("views")}>
      <ul>
        {item({ key: "mine", assignee: "me", status: "open" }, t("mine"), undefined, counts?.mine)}
        {item({ key: "unassigned", assignee: "unassigned", status: "open" }, t("unassigned"), undefined, counts?.unassigned)}
        {item({ key: "all", status: "open" }, t("all"), undefined, counts?.open)}
      </ul>
      <h3>{t("channels")}</h3>
      <ul>
        {kinds.map((k) =>
          item({ key: `channel:${k}`, channel: k }, channelName(lang, k), <ChannelIcon kind={k} label={channelName(lang, k)} />),
        )}
      </ul>
      <h3>{t("inboxes")}</h3>
      <ul>
        {inboxes.map((i) =>
          item({ key: `inbox:${i.id}`, inbox_id: i.id }, i.name, <ChannelIcon kind={i.kind} label={channelName(lang, i.kind)} />),
        )}
      </ul>
      <h3>{t("statuses")}</h3>
      <ul>{STATUSES.map((s) => item({ key: `status:${s}`, status: s }, t(s)))}</ul>
      {labels.length > 0 && (
        <>
          <h3>{t("labels")}</h3>
          <ul>{labels.map((l) => item({ key: `label:${l}`, label: l }, `# ${l}`))}</ul>
        </>
      )}
      <ul className="callbacks-link">
        <li>
          <button type="button" className="view" onClick={() => setState({ screen: "callbacks" })}>
            <ChannelIcon kind="callback" />
            <span>{t("callbacksDue")}</span>
            {due > 0 && <span className="badge">{formatNumber(lang, due)}</span>}
          </button>
        </li>
      </ul>
    </nav>
  );
}

function viewTitle(t: ReturnType<typeof useT>, lang: Lang, view: View, inboxes: { id: number; name: string }[]): string {
  if (view.key === "mine") return t("mine");
  if (view.key === "unassigned") return t("unassigned");
  if (view.key === "all") return t("all");
  if (view.channel) return channelName(lang, view.channel);
  if (view.inbox_id !== undefined) return inboxes.find((i) => i.id === view.inbox_id)?.name ?? "";
  if (view.status) return t(view.status);
  if (view.label) return `# ${view.label}`;
  return t("conversations");
}

function ConversationList(): ReactElement {
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
    <span className="contact-name" dir="auto">
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
