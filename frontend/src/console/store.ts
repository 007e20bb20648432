// The console's state in one small store (useSyncExternalStore), fed by the REST API and
// the live event stream. Conversations are kept by id; the list shown is the current view
// applied to them, so an event moves a row into, out of or up the list with no refetch.
import { useSyncExternalStore } from "react";
import {
  api,
  auth,
  ok,
  type Agent,
  type Callback,
  type Canned,
  type Contact,
  type Conversation,
  type Inbox,
  type Message,
  type Schemas,
  type Team,
} from "../api/client";
import type { Lang } from "./i18n";

export type ViewKey = string;
export interface View {
  key: ViewKey;
  status?: "open" | "pending" | "snoozed" | "resolved";
  assignee?: "me" | "unassigned" | number;
  inbox_id?: number;
  channel?: string;
  label?: string;
  sla?: "breaching_soon" | "breached";
  q?: string; // words searched for (the server reads them; events cannot be judged by them)
}

export type Connection = "connecting" | "live" | "offline";

export interface State {
  me: Agent | null;
  lang: Lang;
  presence: "online" | "away";
  inboxes: Inbox[];
  agents: Agent[];
  teams: Team[];
  canned: Canned[];
  view: View;
  conversations: Record<number, Conversation>;
  listIds: number[];
  nextCursor: string | null;
  listLoading: boolean;
  selectedId: number | null;
  checked: number[];
  messages: Record<number, Message[]>;
  hasOlder: Record<number, boolean>;
  contacts: Record<number, Contact>;
  typing: Record<number, { name: string; until: number }>;
  presenceOf: Record<number, string>;
  callbacks: Callback[];
  connection: Connection;
  notify: boolean;
  labelsSeen: string[];
  screen: "inbox" | "callbacks" | "reports" | "admin";
  error: string | null;
  counts: { open: number; mine: number; unassigned: number } | null;
  publicUrl: string; // PANJEREH_PUBLIC_URL, from the bootstrap
}

const initialLang = (localStorage.getItem("panjereh.lang") as Lang | null) ?? "en";

let state: State = {
  me: null,
  lang: initialLang,
  presence: "online",
  inboxes: [],
  agents: [],
  teams: [],
  canned: [],
  view: { key: "mine", assignee: "me", status: "open" },
  conversations: {},
  listIds: [],
  nextCursor: null,
  listLoading: false,
  selectedId: null,
  checked: [],
  messages: {},
  hasOlder: {},
  contacts: {},
  typing: {},
  presenceOf: {},
  callbacks: [],
  connection: "connecting",
  notify: localStorage.getItem("panjereh.notify") === "1",
  labelsSeen: [],
  screen: "inbox",
  error: null,
  counts: null,
  publicUrl: location.origin,
};

const listeners = new Set<() => void>();

export function getState(): State {
  return state;
}

export function setState(patch: Partial<State> | ((s: State) => Partial<State>)): void {
  const next = typeof patch === "function" ? patch(state) : patch;
  state = { ...state, ...next };
  for (const l of listeners) l();
}

export function useStore<T>(select: (s: State) => T): T {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => select(state),
  );
}

// ---- the view: which conversations the middle pane shows --------------------------------

export function matches(view: View, c: Conversation, me: Agent | null): boolean {
  if (view.status && c.status !== view.status) return false;
  if (view.inbox_id !== undefined && c.inbox_id !== view.inbox_id) return false;
  if (view.channel && c.channel !== view.channel) return false;
  if (view.label && !c.labels.includes(view.label)) return false;
  if (view.assignee === "me" && c.assignee?.id !== me?.id) return false;
  if (view.assignee === "unassigned" && c.assignee) return false;
  if (typeof view.assignee === "number" && c.assignee?.id !== view.assignee) return false;
  if (view.sla && c.sla_state !== (view.sla === "breached" ? "breached" : "warning")) return false;
  return true;
}

/** The rows of `ids` that `view` holds, by what is known of them. */
function held(view: View, ids: number[], convs: Record<number, Conversation>, me: Agent | null): number[] {
  if (view.q) return []; // only the server knows what the words find
  return ids.filter((id) => convs[id] && matches(view, convs[id]!, me));
}

function newestFirst(a: Conversation, b: Conversation): number {
  const d = b.last_activity_at.localeCompare(a.last_activity_at);
  return d !== 0 ? d : b.id - a.id;
}

function sortIds(ids: number[], convs: Record<number, Conversation>): number[] {
  return [...new Set(ids)]
    .filter((id) => convs[id])
    .sort((a, b) => newestFirst(convs[a]!, convs[b]!));
}

function collectLabels(seen: string[], items: Conversation[]): string[] {
  const all = new Set(seen);
  for (const c of items) for (const l of c.labels) all.add(l);
  return all.size === seen.length ? seen : [...all].sort();
}

let listRequest = 0;
/** The agent's last view is kept per agent (a shared computer). */
function viewKey(): string {
  return `panjereh.view.${getState().me?.id ?? 0}`;
}
export const MINE: View = { key: "mine", assignee: "me", status: "open" };
export const UNASSIGNED: View = { key: "unassigned", assignee: "unassigned", status: "open" };

/** Open where the work is: the agent's last view; on a first visit, Mine when it has
 * anything, else Unassigned (where a new team's first visitors wait). */
export async function loadStartingView(): Promise<void> {
  let saved: View | null = null;
  try {
    saved = JSON.parse(localStorage.getItem(viewKey()) ?? "null") as View | null;
  } catch {
    /* an unreadable entry counts as a first visit */
  }
  if (saved && typeof saved.key === "string") return loadList(saved);
  await loadList(MINE);
  if (getState().listIds.length === 0 && getState().view.key === MINE.key) await loadList(UNASSIGNED);
}

export async function loadList(view: View, more = false): Promise<void> {
  const request = ++listRequest;
  const cursor = more ? getState().nextCursor : null;
  if (more && !cursor) return;
  // A new view shows at once only the rows it holds of those already known: a row left from
  // the previous view would sit under the new heading until the page comes.
  setState((s) => (more ? { listLoading: true } : { listLoading: true, view, listIds: held(view, s.listIds, s.conversations, s.me) }));
  if (!more && !view.q) localStorage.setItem(viewKey(), JSON.stringify(view));
  try {
    const page = await ok(
      api.GET("/api/v1/conversations", {
        params: {
          query: {
            status: view.status,
            inbox_id: view.inbox_id,
            channel: view.channel as never,
            assignee: view.assignee === undefined ? undefined : String(view.assignee),
            label: view.label,
            sla: view.sla,
            q: view.q,
            cursor: cursor ?? undefined,
            limit: 30,
          },
        },
      }),
    );
    if (request !== listRequest) return;
    setState((s) => {
      const conversations = { ...s.conversations };
      for (const c of page.items) conversations[c.id] = c;
      // Rows that events placed in this view while the page was on its way stay.
      const kept = held(view, s.listIds, conversations, s.me);
      const ids = [...kept, ...page.items.map((c) => c.id)];
      return {
        conversations,
        listIds: sortIds(ids, conversations),
        nextCursor: page.next_cursor,
        listLoading: false,
        labelsSeen: collectLabels(s.labelsSeen, page.items),
      };
    });
  } catch (e) {
    if (request === listRequest) setState({ listLoading: false, error: String(e) });
  }
}

/** A conversation changed (an event, or our own action): store it and place it in the list. */
export function upsertConversation(c: Conversation): void {
  setState((s) => {
    const conversations = { ...s.conversations, [c.id]: c };
    const listed = s.listIds.includes(c.id);
    // A search's results stay as the server found them: a change updates a row, adds none.
    const inView = s.view.q ? listed : matches(s.view, c, s.me);
    let listIds = s.listIds;
    if (inView) listIds = sortIds(listed ? s.listIds : [c.id, ...s.listIds], conversations);
    else if (listed && c.id !== s.selectedId) listIds = s.listIds.filter((id) => id !== c.id);
    else if (listed) listIds = sortIds(s.listIds, conversations);
    return { conversations, listIds, labelsSeen: collectLabels(s.labelsSeen, [c]) };
  });
}

/** A message changed. `ours` marks the answer to the agent's own request (send, retry): the
 * live events about the same message may have overtaken it (the worker is quick), and a
 * stale answer must not turn a sent or failed reply back into a queued one. Each delivery
 * attempt counts up `attempts` (a retry keeps it), so the one with more is newer. */
export function upsertMessage(m: Message, ours = false): void {
  setState((s) => {
    const current = s.messages[m.conversation_id];
    if (!current) return {};
    const at = current.findIndex((x) => x.id === m.id);
    if (ours && at >= 0 && current[at]!.attempts > m.attempts) return {};
    const next = at >= 0 ? current.map((x) => (x.id === m.id ? m : x)) : [...current, m];
    next.sort((a, b) => a.id - b.id);
    return { messages: { ...s.messages, [m.conversation_id]: next } };
  });
}

export async function loadMessages(conversationId: number, older = false): Promise<void> {
  const current = getState().messages[conversationId];
  const before = older && current && current.length ? current[0]!.id : undefined;
  const page = await ok(
    api.GET("/api/v1/conversations/{conversation_id}/messages", {
      params: { path: { conversation_id: conversationId }, query: { before, limit: 50 } },
    }),
  );
  setState((s) => {
    const have = older ? (s.messages[conversationId] ?? []) : [];
    const byId = new Map<number, Message>();
    for (const m of [...page.items, ...have]) byId.set(m.id, m);
    // Keep messages that arrived live while the page loaded.
    if (!older) for (const m of s.messages[conversationId] ?? []) if (!byId.has(m.id)) byId.set(m.id, m);
    const list = [...byId.values()].sort((a, b) => a.id - b.id);
    return {
      messages: { ...s.messages, [conversationId]: list },
      hasOlder: { ...s.hasOlder, [conversationId]: page.has_more },
    };
  });
}

export async function refreshConversation(id: number): Promise<void> {
  const c = await ok(
    api.GET("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } }),
  );
  upsertConversation(c);
}

export async function openConversation(id: number | null): Promise<void> {
  setState({ selectedId: id });
  if (id === null) {
    history.replaceState(null, "", "#");
    return;
  }
  history.replaceState(null, "", `#/c/${id}`);
  const conv = getState().conversations[id];
  await Promise.all([
    loadMessages(id),
    conv ? Promise.resolve() : refreshConversation(id).catch(() => undefined),
  ]);
  const c = getState().conversations[id];
  if (c && c.unread_count > 0) {
    upsertConversation({ ...c, unread_count: 0 });
    await api.POST("/api/v1/conversations/{conversation_id}/read", {
      params: { path: { conversation_id: id } },
    });
  }
  if (c) void loadContact(c.contact.id);
}

let readTimer: number | undefined;
/** The agent is looking at this conversation: whatever arrives in it counts as read. */
export function markReadSoon(id: number): void {
  window.clearTimeout(readTimer);
  readTimer = window.setTimeout(() => {
    const c = getState().conversations[id];
    if (!c || c.unread_count === 0 || getState().selectedId !== id || !document.hasFocus()) return;
    upsertConversation({ ...c, unread_count: 0 });
    void api.POST("/api/v1/conversations/{conversation_id}/read", {
      params: { path: { conversation_id: id } },
    });
  }, 800);
}

const contactsAsked = new Set<number>();
/** What to call a contact: their name, else an address (an SMS customer is a number). The
 * address needs the contact's details: they are fetched once, in the background. */
export function useContactLabel(ref: { id: number; name: string | null }): string | null {
  const contact = useStore((s) => (ref.name ? undefined : s.contacts[ref.id]));
  if (ref.name) return ref.name;
  if (contact) return contact.identities[0]?.address.replace(/^\d+:/, "") ?? null;
  if (!contactsAsked.has(ref.id)) {
    contactsAsked.add(ref.id);
    queueMicrotask(() => void loadContact(ref.id));
  }
  return null;
}

export async function loadContact(id: number): Promise<void> {
  try {
    const contact = await ok(
      api.GET("/api/v1/contacts/{contact_id}", { params: { path: { contact_id: id } } }),
    );
    setState((s) => ({ contacts: { ...s.contacts, [id]: contact } }));
  } catch {
    /* a contact merged away: the conversation's next update points at the survivor */
  }
}

export async function updateConversation(
  id: number,
  body: Schemas["ConversationUpdate"],
): Promise<void> {
  const c = await ok(
    api.PATCH("/api/v1/conversations/{conversation_id}", {
      params: { path: { conversation_id: id } },
      body,
    }),
  );
  upsertConversation(c);
}


/** When a callback is to be made: its suggested retry after no answer, else when it falls due. */
function callbackTime(cb: Callback): string {
  return cb.retry_suggested_at ?? cb.due_at;
}

// Requests still to be called: an unanswered one stays until someone reaches the customer,
// gives up (cancelled) or reschedules it.
const CALLBACKS_TO_MAKE: readonly string[] = ["requested", "scheduled", "no_answer"];

export async function loadCallbacks(): Promise<void> {
  const statuses = ["requested", "scheduled", "no_answer"] as const;
  const pages = await Promise.all(
    statuses.map((status) =>
      ok(api.GET("/api/v1/callbacks", { params: { query: { status, limit: 100 } } })),
    ),
  );
  const items = pages.flatMap((p) => p.items).sort((a, b) => callbackTime(a).localeCompare(callbackTime(b)));
  setState({ callbacks: items });
}

export function upsertCallback(cb: Callback): void {
  setState((s) => {
    const others = s.callbacks.filter((c) => c.id !== cb.id);
    const open = CALLBACKS_TO_MAKE.includes(cb.status);
    const callbacks = (open ? [...others, cb] : others).sort((a, b) =>
      callbackTime(a).localeCompare(callbackTime(b)),
    );
    return { callbacks };
  });
}

export async function loadDirectory(): Promise<void> {
  const [inboxes, agents, teams, canned] = await Promise.all([
    ok(api.GET("/api/v1/inboxes")),
    ok(api.GET("/api/v1/agents")),
    ok(api.GET("/api/v1/teams")),
    ok(api.GET("/api/v1/canned-responses")),
  ]);
  setState({ inboxes, agents, teams, canned });
}

let directoryWatched = false;
let directoryAt = 0;
/** Inboxes, agents and teams change rarely and send no events: refresh them when the
 * window regains focus (at most once a minute) and every five minutes. */
export function watchDirectory(): void {
  directoryAt = Date.now();
  if (directoryWatched) return;
  directoryWatched = true;
  const refresh = (): void => {
    if (!getState().me || Date.now() - directoryAt < 60_000) return;
    directoryAt = Date.now();
    void loadDirectory().catch(() => undefined);
  };
  window.addEventListener("focus", refresh);
  window.setInterval(refresh, 300_000);
}

export function setLang(lang: Lang): void {
  localStorage.setItem("panjereh.lang", lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  setState({ lang });
}

export function signOut(): void {
  const token = auth.token;
  auth.set(null);
  if (token) {
    void fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
  }
  setState({
    me: null,
    conversations: {},
    listIds: [],
    messages: {},
    contacts: {},
    selectedId: null,
    callbacks: [],
    screen: "inbox",
  });
}
