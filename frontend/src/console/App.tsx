import { lazy, Suspense, useEffect, useState, type ReactElement } from "react";
import { api, auth, ok, type Conversation } from "../api/client";
import { Admin } from "./Admin";
import { Callbacks } from "./Callbacks";
import { RingingCalls } from "./Calls";
import { ConversationList } from "./ConversationList";
import { ConversationPane } from "./ConversationPane";
import { useNow, useT } from "./hooks";
import { formatNumber } from "./i18n";
import { Glyph } from "./icons";
import { sendPresence, stopLive } from "./live";
import { LanguageSwitch, Login, start } from "./Login";
import { ProfileName } from "./Profile";
import { setNotify } from "./notify";
import { ShortcutHelp, useKeyboard } from "./Shortcuts";
import { Sidebar } from "./Sidebar";
import { getState, loadCallbacks, setState, signOut, useStore } from "./store";
import { WebhookNotice } from "./Webhooks";

// The reports page and its chart library load when first opened.
const Reports = lazy(() => import("./Reports").then((m) => ({ default: m.Reports })));

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

  const tabs: { key: "inbox" | "callbacks" | "reports" | "admin"; label: string; badge?: number }[] = [
    { key: "inbox", label: t("conversations"), badge: unread },
    { key: "callbacks", label: t("callbacks"), badge: due },
    { key: "reports", label: t("reports") },
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
        <ProfileName />
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
      <RingingCalls />
      {connection === "offline" && (
        <div className="banner" role="status" data-testid="offline-banner">
          {t("offline")}
        </div>
      )}
      <WebhookNotice />
      {screen === "inbox" && <InboxScreen />}
      {screen === "callbacks" && <Callbacks />}
      {screen === "reports" && (
        <Suspense fallback={<div className="splash" aria-busy="true" />}>
          <Reports />
        </Suspense>
      )}
      {screen === "admin" && <Admin />}
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

function InboxScreen(): ReactElement {
  const selectedId = useStore((s) => s.selectedId);
  // On a phone one column shows at a time: the views when asked for (until one is chosen),
  // else the list, or the open conversation (its header has the way back).
  const [viewsOpen, setViewsOpen] = useState(false);
  const classes = ["inbox", selectedId !== null ? "has-selection" : "", viewsOpen ? "views-open" : ""];
  return (
    <div
      className={classes.filter(Boolean).join(" ")}
      onClick={(e) => {
        if (viewsOpen && (e.target as HTMLElement).closest(".sidebar button")) setViewsOpen(false);
      }}
    >
      <Sidebar />
      <ConversationList onViews={() => setViewsOpen((open) => !open)} />
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
