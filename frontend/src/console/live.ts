// Live events: WS /ws/agent?token=…&last_event_id=N&protocol=2. Frames {id, type, data, at};
// protocol 2 sends them as JSON arrays (every frame queued at the server at once). The
// console resumes from the last id it saw after any drop (with backoff), re-bootstraps on
// resync_required, and goes back to the login on 4401. While the socket is down it polls
// `updated_since`, so nothing is missed even when live events are unavailable.
import { handleMergeEvent } from "./merge";
import { api, auth, ok, type Callback, type Contact, type Conversation, type Message } from "../api/client";
import {
  getState,
  loadCallbacks,
  loadList,
  loadMessages,
  markReadSoon,
  setState,
  signOut,
  upsertCallback,
  upsertConversation,
  upsertMessage,
} from "./store";
import { onCallEvent, type Call } from "./Calls";
import { alertAgent } from "./notify";
import { WEBHOOK_DISABLED } from "./Webhooks";

interface Frame {
  id?: number;
  type: string;
  data?: Record<string, unknown>;
  at?: string;
}

let socket: WebSocket | null = null;
let lastEventId: number | null = null;
let attempts = 0;
let retryTimer: number | undefined;
let pollTimer: number | undefined;
let offlineTimer: number | undefined;
let lastPoll = new Date().toISOString();
let stopped = true;

/** The starting point: GET /api/v1/bootstrap gives the last_event_id to resume from
 * (and who is online). Without it, the socket starts from now. */
async function bootstrap(): Promise<void> {
  try {
    const body = await ok(api.GET("/api/v1/bootstrap"));
    lastEventId = body.last_event_id;
    const presenceOf: Record<number, string> = {};
    for (const p of body.presence) presenceOf[p.agent_id] = p.status;
    setState({ presenceOf, inboxes: body.inboxes, counts: body.counts, publicUrl: body.public_url });
  } catch {
    /* the socket then starts from now; polling covers the gap */
  }
}

async function resync(): Promise<void> {
  lastEventId = null;
  await bootstrap();
  const s = getState();
  await loadList(s.view);
  if (s.selectedId !== null) await loadMessages(s.selectedId);
  await loadCallbacks().catch(() => undefined);
}

export async function startLive(): Promise<void> {
  if (!stopped) return; // already running (React's development mode starts effects twice)
  stopped = false;
  await bootstrap();
  connect();
  startPolling();
}

export function stopLive(): void {
  stopped = true;
  window.clearTimeout(retryTimer);
  window.clearInterval(pollTimer);
  window.clearTimeout(offlineTimer);
  socket?.close(1000);
  socket = null;
  lastEventId = null;
}

function wsUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ token: auth.token ?? "", protocol: "2" });
  if (lastEventId !== null) params.set("last_event_id", String(lastEventId));
  return `${scheme}://${location.host}/ws/agent?${params}`;
}

function markDown(): void {
  // A blip shorter than a second and a half shows no banner.
  window.clearTimeout(offlineTimer);
  offlineTimer = window.setTimeout(() => {
    if (socket?.readyState !== WebSocket.OPEN) setState({ connection: "offline" });
  }, 1500);
}

function connect(): void {
  if (stopped || !auth.token) return;
  const ws = new WebSocket(wsUrl());
  socket = ws;
  ws.onopen = () => {
    attempts = 0;
    window.clearTimeout(offlineTimer);
    setState({ connection: "live" });
    sendPresence(getState().presence);
  };
  ws.onmessage = (e) => {
    let body: Frame | Frame[];
    try {
      body = JSON.parse(String(e.data)) as Frame | Frame[];
    } catch {
      return;
    }
    for (const frame of Array.isArray(body) ? body : [body]) handle(frame);
  };
  ws.onclose = (e) => {
    if (socket !== ws) return;
    socket = null;
    if (stopped) return;
    if (e.code === 4401) {
      stopLive();
      signOut();
      return;
    }
    markDown();
    // Capped low: the banner shows until the socket is back (polls also try it early).
    const delay = e.code === 4001 ? 0 : Math.min(5000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2);
    attempts += 1;
    retryTimer = window.setTimeout(connect, delay);
  };
}

function handle(frame: Frame): void {
  if (typeof frame.id === "number") lastEventId = Math.max(lastEventId ?? 0, frame.id);
  const data = frame.data ?? {};
  const me = getState().me;
  switch (frame.type) {
    case "conversation.created": {
      const c = data.conversation as Conversation;
      upsertConversation(c);
      refreshCountsSoon();
      alertAgent("conversation", c);
      break;
    }
    case "conversation.updated": {
      const c = data.conversation as Conversation;
      upsertConversation(c);
      const changes = (data.changes as string[] | undefined) ?? [];
      if (changes.some((k) => k === "status" || k === "assignee" || k === "assignee_id")) refreshCountsSoon();
      if (c.id === getState().selectedId && c.unread_count > 0) markReadSoon(c.id);
      break;
    }
    case "message.created": {
      const m = data.message as Message;
      upsertMessage(m);
      const c = getState().conversations[m.conversation_id];
      if (m.direction === "inbound") {
        clearTyping(m.conversation_id);
        if (c) alertAgent("message", c, m);
      }
      break;
    }
    case "message.updated":
      upsertMessage(data.message as Message);
      break;
    case "contact.updated": {
      const contact = data.contact as Contact;
      setState((s) => {
        const contacts = { ...s.contacts };
        const old = contacts[contact.id];
        contacts[contact.id] = { ...contact, conversations: old?.conversations ?? [] };
        for (const id of (data.merged_ids as number[] | undefined) ?? []) delete contacts[id];
        return { contacts };
      });
      break;
    }
    case "callback.created":
    case "callback.updated":
    case "callback.due":
      upsertCallback(data.callback as Callback);
      break;
    case "call.ringing":
    case "call.answered":
    case "call.ended":
    case "call.missed":
      onCallEvent(frame.type, data.call as Call);
      break;
    case "typing": {
      const conversationId = Number(data.conversation_id);
      const agent = (data.agent ?? {}) as { id?: number; name?: string };
      const agentId = Number(data.agent_id ?? agent.id);
      if (me && agentId === me.id) break;
      const name = String(data.agent_name ?? agent.name ?? data.name ?? "");
      setState((s) => ({
        typing: { ...s.typing, [conversationId]: { name, until: Date.now() + 6000 } },
      }));
      break;
    }
    case "presence": {
      const agentId = Number(data.agent_id ?? (data.agent as { id?: number } | undefined)?.id);
      const status = String(data.status ?? data.presence ?? "");
      if (agentId) setState((s) => ({ presenceOf: { ...s.presenceOf, [agentId]: status } }));
      break;
    }
    case "conversation.merged":
    case "conversation.unmerged":
    case "conversation.split":
      handleMergeEvent(frame.type, data);
      refreshCountsSoon();
      break;
    case "resync_required":
      void resync();
      break;
    case "webhook.disabled":
      window.dispatchEvent(new CustomEvent(WEBHOOK_DISABLED, { detail: data }));
      break;
    default:
      break; // heartbeat and anything newer than this console
  }
}

let countsTimer: number | undefined;
/** The view counts (open, mine, unassigned) come from the server: read them again a few
 * seconds after conversations change, once for a whole burst. */
function refreshCountsSoon(): void {
  if (countsTimer !== undefined) return;
  countsTimer = window.setTimeout(() => {
    countsTimer = undefined;
    void ok(api.GET("/api/v1/bootstrap"))
      .then((body) => setState({ counts: body.counts }))
      .catch(() => undefined);
  }, 3000);
}

function clearTyping(conversationId: number): void {
  setState((s) => {
    if (!s.typing[conversationId]) return {};
    const typing = { ...s.typing };
    delete typing[conversationId];
    return { typing };
  });
}

function send(frame: Record<string, unknown>): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

let lastTypingSent = 0;
let lastTypingConversation = 0;
/** Tell other agents we are composing: at most one frame every three seconds. */
/** The agent is typing a reply, or a private note (which the visitor must not hear of). */
export function sendTyping(conversationId: number, note = false): void {
  const now = Date.now();
  if (conversationId === lastTypingConversation && now - lastTypingSent < 3000) return;
  lastTypingSent = now;
  lastTypingConversation = conversationId;
  send({ type: "typing", conversation_id: conversationId, ...(note ? { private: true } : {}) });
}

export function sendPresence(status: "online" | "away"): void {
  send({ type: "presence", status });
}

/** A poll went through while the socket is down: the server is back, so try the socket
 * now rather than at the end of its backoff (the banner showing meanwhile). */
function reconnectNow(): void {
  if (socket || stopped) return;
  window.clearTimeout(retryTimer);
  attempts = 0;
  connect();
}

/** The safety net: while the socket is down, ask for what changed every few seconds. */
function startPolling(): void {
  window.clearInterval(pollTimer);
  lastPoll = new Date(Date.now() - 5000).toISOString();
  pollTimer = window.setInterval(() => void poll(), 4000);
}

async function poll(): Promise<void> {
  if (stopped || getState().connection === "live" || !auth.token) return;
  const since = lastPoll;
  const started = new Date(Date.now() - 2000).toISOString();
  try {
    const page = await ok(
      api.GET("/api/v1/conversations", { params: { query: { updated_since: since, limit: 100 } } }),
    );
    lastPoll = started;
    reconnectNow();
    const selected = getState().selectedId;
    let reload = false;
    for (const c of page.items) {
      upsertConversation(c);
      if (c.id === selected) reload = true;
    }
    // A delivery status changes the message, not the conversation: look again while any
    // reply in the open conversation is still on its way.
    const open = selected === null ? [] : (getState().messages[selected] ?? []);
    if (open.some((m) => m.delivery_status === "queued")) reload = true;
    if (selected !== null && reload) await loadMessages(selected);
    if (getState().screen === "callbacks") await loadCallbacks();
  } catch {
    /* still unreachable; the next tick tries again */
  }
}
