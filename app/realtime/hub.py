"""The hub: one per `serve` process, between the event log and this process's sockets.

When the bus says events were committed (or every `event_poll_seconds`, in case a
notification was lost), the hub reads the new rows once, turns each into its frame text
once, and offers it to the sockets allowed to see it. Events committed in this process come
with the notice, which reaches the hub before the committing request is answered: when they
follow on from the last event sent, they are offered at once, without reading them back.

Each socket has a bounded queue and its own sender task, so a slow socket never delays the
others; a socket whose queue is full is closed with 4001 and resumes from its last id.

Protocol 2 (a client that connects with `protocol=2`): each websocket message is a JSON
array of frames, every frame queued for the socket when its sender wakes. The frames of one
commit (a message's `message.created` and `conversation.updated`) are queued together, so
they cost one send and one syscall per socket, and a socket that fell behind catches up in
a few large sends instead of one per frame. Protocol 1 (no announcement) sends one frame per
websocket message, as the first clients expect.

Who sees what: an event for one agent (`agent_id`) goes to that agent only; an event of an
inbox goes to administrators and the inbox's agents; an event of no inbox (a contact's
change, a webhook switched off) to administrators only: an agent sees a contact only
through their inboxes' conversations.
A visitor's widget gets public message events of its own conversations, in a visitor's
view (see app.realtime.frames). Sockets are indexed by inbox, agent and conversation, so
fan-out never tests every socket against every event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import ColumnElement, and_, false, or_, select

from app.agents.models import Agent, AgentSession, Role
from app.db import Database, log_failed_round, utcnow
from app.events import log as event_log
from app.events.log import Logged, Published, Scope
from app.events.models import EventRow
from app.inboxes.models import inbox_agents
from app.realtime.bus import Bus, Notice, Signal
from app.realtime.frames import WIDGET_EVENT_TYPES, agent_frame, frame, widget_frame
from app.realtime.presence import Presence, SocketStatus, presence_out
from app.settings import Settings
from app.widget.models import VisitorSession

log = logging.getLogger(__name__)

READ_BATCH = 1000  # events per query, when the hub or a replaying socket reads the log
PRESENCE_DEBOUNCE = 0.1  # seconds: a burst of connects costs one presence read
TYPING_INTERVAL = 1.0  # seconds between relayed typing signals of one socket and conversation
GAP_WAIT = 0.02  # seconds a carried event waits for an earlier one before the log is read
# Protocol 2: frames are joined into one message until it holds this many characters; large
# enough that a burst is a few sends, small enough that one message is no burden to parse.
BATCH_CHARS = 64 * 1024
PROTOCOLS = (1, 2)

# Close codes (documented in docs/live-events.md).
CLOSE_RESYNC = 4000  # last_event_id is older than the log (or newer than it): re-bootstrap
CLOSE_TOO_SLOW = 4001  # the socket's queue overflowed: reconnect with the last id seen
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401  # missing, invalid or expired token (also when revoked later)
CLOSE_FORBIDDEN_ORIGIN = 4403

CONNECTIONS = Gauge("panjereh_ws_connections", "Open websockets", ["kind"])
OVERFLOWS = Counter(
    "panjereh_ws_overflow_closes_total", "Sockets closed with 4001: they could not keep up"
)

SendText = Callable[[str], Awaitable[None]]
CloseSocket = Callable[[int], Awaitable[None]]


class Socket(ABC):
    """One websocket's side of the hub: a bounded queue of `(seq, frame text)` and the
    task that sends it. `seq` is None for ephemeral frames."""

    kind = "socket"

    def __init__(
        self, send: SendText, close: CloseSocket, *, queue_size: int, protocol: int = 1
    ) -> None:
        self.id = uuid.uuid4().hex
        self.batched = protocol >= 2
        # A deque and one waiter rather than an asyncio.Queue: every commit wakes every
        # socket's sender, and the Queue's bookkeeping was a third of that wake's cost.
        self.queue_size = queue_size
        self._queue: deque[tuple[int | None, str]] = deque()
        self._queued: asyncio.Future[None] | None = None  # set when the sender waits
        self.last_id = 0  # the last event seq sent; anything at or below it is a duplicate
        self.close_code: int | None = None
        self.pump_task: asyncio.Task[None] | None = None
        self.closing: asyncio.Task[None] | None = None
        self._typing_at: dict[int, float] = {}
        self._send = send
        self._close = close

    def offer(self, seq: int | None, text: str) -> bool:
        """Queue a frame without waiting; False if the queue is full."""
        if len(self._queue) >= self.queue_size:
            return False
        self._queue.append((seq, text))
        if self._queued is not None and not self._queued.done():
            self._queued.set_result(None)
        return True

    def close(self, code: int) -> None:
        """End the socket with `code`, from any task: its sender stops, and the close frame
        goes out once the client has read what was already written."""
        if self.close_code is not None:
            return
        self.close_code = code
        if self.pump_task is not None:
            self.pump_task.cancel()
            self.closing = asyncio.create_task(self._deliver_close())

    def start(self) -> None:
        """Start sending the queue (after the replay); at once closing if closed meanwhile."""
        if self.close_code is not None:
            self.closing = asyncio.create_task(self._deliver_close())
        else:
            self.pump_task = asyncio.create_task(self._pump(), name=f"ws-{self.kind}-{self.id}")

    async def stop(self) -> None:
        """End the sender and a close in progress: the connection is over (the client left,
        or the close frame went out), or the server is shutting down."""
        for task in (self.pump_task, self.closing):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def may_type(self, conversation_id: int) -> bool:
        """At most one typing signal per conversation and second from one socket."""
        now = time.monotonic()
        if now - self._typing_at.get(conversation_id, -TYPING_INTERVAL) < TYPING_INTERVAL:
            return False
        if len(self._typing_at) > 100:
            self._typing_at.clear()
        self._typing_at[conversation_id] = now
        return True

    async def send_frames(self, texts: Sequence[str]) -> None:
        """Send frames in order: one websocket message each (protocol 1), or as JSON arrays
        of up to about BATCH_CHARS (protocol 2)."""
        if not self.batched:
            for text in texts:
                await self._send(text)
            return
        start = size = 0
        for end, text in enumerate(texts, 1):
            size += len(text)
            if size >= BATCH_CHARS or end == len(texts):
                await self._send("[" + ",".join(texts[start:end]) + "]")
                start, size = end, 0

    async def _pump(self) -> None:
        # Protocol 1 takes one fresh frame at a time; protocol 2 whatever is queued (up to
        # BATCH_CHARS), without waiting for more: batching costs nothing when idle.
        limit = BATCH_CHARS if self.batched else 0
        queue = self._queue
        while True:
            while not queue:
                self._queued = asyncio.get_running_loop().create_future()
                await self._queued
            texts: list[str] = []
            size = 0
            while queue and (size < limit or not texts):
                seq, text = queue.popleft()
                if seq is None or seq > self.last_id:  # else already replayed
                    if seq is not None:
                        self.last_id = seq
                    texts.append(text)
                    size += len(text)
            if texts:
                await self.send_frames(texts)

    async def _deliver_close(self) -> None:
        # No time limit: the close frame goes out behind what the client has yet to read,
        # however long it stalls (given up on, the client would later read everything and
        # then wait on a socket that sends nothing more). A client that never reads again
        # is dropped by the server's keepalive pings, which it cannot answer.
        with contextlib.suppress(Exception):
            await self._close(self.close_code or 1000)

    @abstractmethod
    def replay_clause(self) -> ColumnElement[bool]:
        """The log rows this socket may see, as a WHERE clause (for replays)."""

    @abstractmethod
    def frame_for(self, event: Logged) -> str | None:
        """This socket's frame for an event it may see (None: nothing to send)."""


class AgentSocket(Socket):
    kind = "agent"

    def __init__(
        self,
        send: SendText,
        close: CloseSocket,
        *,
        queue_size: int,
        protocol: int = 1,
        agent_id: int,
        name: str,
        token_digest: str,
        visible: set[int] | None,
    ) -> None:
        super().__init__(send, close, queue_size=queue_size, protocol=protocol)
        self.agent_id = agent_id
        self.name = name
        self.token_digest = token_digest
        self.visible = visible  # inbox ids; None: all (administrator)

    def replay_clause(self) -> ColumnElement[bool]:
        shared: ColumnElement[bool] = EventRow.agent_id.is_(None)
        if self.visible is not None:
            shared = and_(shared, EventRow.inbox_id.in_(self.visible))
        return or_(EventRow.agent_id == self.agent_id, shared)

    def frame_for(self, event: Logged) -> str | None:
        return agent_frame(event)

    def may_see_inbox(self, inbox_id: int) -> bool:
        return self.visible is None or inbox_id in self.visible


def said_in(event: Logged, inbox_id: int) -> bool:
    """Whether a message event belongs to this chat: a conversation that the customer's
    other channels were merged into holds their messages too, which the chat never shows."""
    message = event.data.get("message")
    return not isinstance(message, dict) or message.get("inbox_id") in (None, inbox_id)


class VisitorSocket(Socket):
    kind = "widget"

    def __init__(
        self,
        send: SendText,
        close: CloseSocket,
        *,
        queue_size: int,
        protocol: int = 1,
        visitor_id: int,
        inbox_id: int,
        contact_id: int,
        conversations: set[int],
    ) -> None:
        super().__init__(send, close, queue_size=queue_size, protocol=protocol)
        self.visitor_id = visitor_id
        self.inbox_id = inbox_id
        self.contact_id = contact_id
        self.conversations = conversations

    def replay_clause(self) -> ColumnElement[bool]:
        if not self.conversations:
            return false()
        return and_(
            EventRow.public.is_(True),
            EventRow.type.in_(WIDGET_EVENT_TYPES),
            EventRow.conversation_id.in_(self.conversations),
        )

    def frame_for(self, event: Logged) -> str | None:
        return widget_frame(event) if said_in(event, self.inbox_id) else None


class Hub:
    def __init__(self, db: Database, bus: Bus, presence: Presence, settings: Settings) -> None:
        self.db = db
        self.bus = bus
        self.presence = presence
        self.settings = settings
        self.last_seq = 0  # every event up to here has been offered to the sockets
        self._wake = asyncio.Event()
        self._reading = False  # the reader is between its read of the log and its dispatch
        self._early: dict[int, Logged] = {}  # carried events waiting for an earlier one
        self._gap_timer: asyncio.TimerHandle | None = None
        self._presence_dirty = asyncio.Event()
        self._presence_seen: dict[int, str] = {}
        self._agents: set[AgentSocket] = set()
        self._admins: set[AgentSocket] = set()
        self._by_agent: defaultdict[int, set[AgentSocket]] = defaultdict(set)
        self._by_inbox: defaultdict[int, set[AgentSocket]] = defaultdict(set)
        self._visitors: set[VisitorSocket] = set()
        self._by_conversation: defaultdict[int, set[VisitorSocket]] = defaultdict(set)
        self._by_contact: defaultdict[tuple[int, int], set[VisitorSocket]] = defaultdict(set)

    # ------------------------------------------------------------------ lifecycle

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.db.read() as session:
            self.last_seq = await event_log.last_seq(session)
        with contextlib.suppress(Exception):  # presence is best-effort: Redis may be down
            self._presence_seen = {a: p.status for a, p in (await self.presence.snapshot()).items()}
        s = self.settings
        with self.bus.listen(self._on_notice):
            tasks = [
                asyncio.create_task(self._read_loop(), name="hub-read"),
                asyncio.create_task(self._presence_loop(), name="hub-presence"),
                asyncio.create_task(self._every(s.event_poll_seconds, self._poll), name="hub-poll"),
                asyncio.create_task(self._every(s.heartbeat_seconds, self._beat), name="hub-beat"),
                asyncio.create_task(
                    self._every(s.socket_recheck_seconds, self._recheck), name="hub-recheck"
                ),
            ]
            try:
                yield
            finally:
                if self._gap_timer is not None:
                    self._gap_timer.cancel()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception as exc:
                log_failed_round(log, f"hub job {getattr(job, '__name__', job)}", exc)

    # ------------------------------------------------------------------ sockets

    def add(self, socket: Socket) -> None:
        if isinstance(socket, AgentSocket):
            self._agents.add(socket)
            self._by_agent[socket.agent_id].add(socket)
            self._index_agent(socket)
        elif isinstance(socket, VisitorSocket):
            self._visitors.add(socket)
            self._by_contact[(socket.inbox_id, socket.contact_id)].add(socket)
            for conversation_id in socket.conversations:
                self._by_conversation[conversation_id].add(socket)
        CONNECTIONS.labels(socket.kind).inc()

    def remove(self, socket: Socket) -> None:
        if isinstance(socket, AgentSocket) and socket in self._agents:
            self._agents.discard(socket)
            _discard(self._by_agent, socket.agent_id, socket)
            self._unindex_agent(socket)
        elif isinstance(socket, VisitorSocket) and socket in self._visitors:
            self._visitors.discard(socket)
            _discard(self._by_contact, (socket.inbox_id, socket.contact_id), socket)
            for conversation_id in socket.conversations:
                _discard(self._by_conversation, conversation_id, socket)
        else:
            return
        CONNECTIONS.labels(socket.kind).dec()

    def _index_agent(self, socket: AgentSocket) -> None:
        if socket.visible is None:
            self._admins.add(socket)
        else:
            for inbox_id in socket.visible:
                self._by_inbox[inbox_id].add(socket)

    def _unindex_agent(self, socket: AgentSocket) -> None:
        self._admins.discard(socket)
        for inbox_id in socket.visible or ():
            _discard(self._by_inbox, inbox_id, socket)

    def _agents_for(self, scope_agent: int | None, inbox_id: int | None) -> list[AgentSocket]:
        if scope_agent is not None:
            return list(self._by_agent.get(scope_agent, ()))
        if inbox_id is None:
            return list(self._admins)
        return [*self._admins, *self._by_inbox.get(inbox_id, ())]

    def _offer_all(self, sockets: Iterable[Socket], seq: int | None, text: str) -> None:
        for socket in sockets:
            if not socket.offer(seq, text):
                OVERFLOWS.inc()
                log.info(
                    "closing a %s socket that fell %d frames behind",
                    socket.kind,
                    socket.queue_size,
                )
                self.remove(socket)
                socket.close(CLOSE_TOO_SLOW)

    # ------------------------------------------------------------------ resuming

    async def resume_point(self, last_event_id: int | None) -> int | None:
        """The seq to replay after, or None when the client must re-bootstrap: its id is
        older than the retained log (events it missed were trimmed) or newer than the log."""
        async with self.db.read() as session:
            head = await event_log.last_seq(session)
            if last_event_id is None:
                return head
            if last_event_id > head or last_event_id < await event_log.retained_from(session) - 1:
                return None
        return last_event_id

    async def replay(self, socket: Socket, after: int) -> int:
        """Send `socket` its events after `after`, page by page; the last seq sent."""
        while True:
            async with self.db.read() as session:
                events = await event_log.read_after(
                    session, after, limit=READ_BATCH, where=socket.replay_clause()
                )
            await socket.send_frames(
                [text for event in events if (text := socket.frame_for(event)) is not None]
            )
            if events:
                after = events[-1].seq
            if len(events) < READ_BATCH:
                return after

    # ------------------------------------------------------------------ events

    def _on_notice(self, notice: Notice) -> None:
        if isinstance(notice, Signal):
            self._on_signal(notice)
        elif not notice:
            self._wake.set()
        elif (newest := max(p.seq for p in notice)) > self.last_seq:
            if not self._agents and not self._visitors:  # nobody to tell (see _read_new)
                self.last_seq = newest
                return
            try:
                self._take_carried(notice)
            except Exception:  # called by a committing request: it must not fail it
                log.exception("could not send carried events; reading them from the log")
                self._early.clear()
                self._wake.set()

    def _take_carried(self, notice: tuple[Published, ...]) -> None:
        """Send the events a notice carries once every earlier one was sent: at once for
        this process's own commits; another process's may arrive out of order and wait
        GAP_WAIT for the missing ones. Anything else is read from the log."""
        for published in notice:
            if published.seq <= self.last_seq:
                continue
            if published.event is None or len(self._early) >= READ_BATCH:
                self._early.clear()
                self._wake.set()
                return
            self._early[published.seq] = published.event
        if not self._reading:
            self._send_early()
        if self._early and self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(
                GAP_WAIT, self._gap_waited, self.last_seq + 1
            )

    def _send_early(self) -> None:
        """Dispatch the held events that follow on from the last one sent."""
        while (event := self._early.pop(self.last_seq + 1, None)) is not None:
            self._dispatch(event)
            self.last_seq = event.seq
        for seq in [seq for seq in self._early if seq <= self.last_seq]:
            del self._early[seq]

    def _gap_waited(self, missing: int) -> None:
        self._gap_timer = None
        if self.last_seq < missing:  # still missing: read it
            self._wake.set()
        elif self._early:
            self._gap_timer = asyncio.get_running_loop().call_later(
                GAP_WAIT, self._gap_waited, self.last_seq + 1
            )

    async def _poll(self) -> None:
        self._wake.set()

    async def _read_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._reading = True
            try:
                await self._read_new()
                failed = False
            except Exception as exc:
                log_failed_round(log, "reading the event log", exc)
                failed = True
            finally:
                self._reading = False
            self._send_early()
            if failed:
                await asyncio.sleep(self.settings.event_poll_seconds)

    async def _read_new(self) -> None:
        if not self._agents and not self._visitors:
            # Nobody to tell: skip the rows. A socket that connects replays from its own
            # last id up to the head, so moving past them here leaves no gap.
            async with self.db.read() as session:
                self.last_seq = max(self.last_seq, await event_log.last_seq(session))
            return
        while True:
            async with self.db.read() as session:
                events = await event_log.read_after(session, self.last_seq, limit=READ_BATCH)
            for event in events:
                self._dispatch(event)
                self.last_seq = event.seq
            if len(events) < READ_BATCH:
                return

    def _dispatch(self, event: Logged) -> None:
        agents = self._agents_for(event.agent_id, event.inbox_id)
        if agents:
            self._offer_all(agents, event.seq, agent_frame(event))
        if event.conversation_id is None:
            return
        if event.type == "conversation.created" and event.inbox_id is not None:
            self._adopt(event.inbox_id, event.conversation_id, event.data)
        if event.type == "conversation.merged":
            self._follow_merge(event.conversation_id, event.data)
        visitors = [
            v
            for v in self._by_conversation.get(event.conversation_id, ())
            if said_in(event, v.inbox_id)
        ]
        if visitors and (text := widget_frame(event)) is not None:
            self._offer_all(visitors, event.seq, text)

    def _follow_merge(self, survivor_id: int, data: dict[str, Any]) -> None:
        """A visitor of a conversation merged into another watches that one too: their
        chat's messages are there now (`said_in` keeps the other channels' out)."""
        for merged in data.get("merged") or ():
            for socket in list(self._by_conversation.get(merged.get("id") or 0, ())):
                socket.conversations.add(survivor_id)
                self._by_conversation[survivor_id].add(socket)

    def _adopt(self, inbox_id: int, conversation_id: int, data: dict[str, Any]) -> None:
        """A new conversation of a connected visitor's contact becomes theirs."""
        contact = (data.get("conversation") or {}).get("contact") or {}
        for socket in self._by_contact.get((inbox_id, contact.get("id") or 0), ()):
            socket.conversations.add(conversation_id)
            self._by_conversation[conversation_id].add(socket)

    # ------------------------------------------------------------------ typing

    async def typing(
        self, socket: Socket, conversation_id: int, inbox_id: int, *, private: bool = False
    ) -> None:
        """Relay that `socket`'s person is typing in a conversation, to every process.
        Agents' typing reaches the inbox's other agents and, unless it is a `private` note,
        the conversation's visitor; a visitor's reaches the agents."""
        if isinstance(socket, AgentSocket):
            data: dict[str, Any] = {
                "conversation_id": conversation_id,
                "sender_type": "agent",
                "agent_id": socket.agent_id,
                "name": socket.name,
            }
            if private:
                data["private"] = True
            public = not private
        else:
            data = {"conversation_id": conversation_id, "sender_type": "contact"}
            public = False
        scope = Scope(inbox_id=inbox_id, conversation_id=conversation_id, public=public)
        await self.bus.signal(Signal("typing", scope, data))

    def _on_signal(self, signal: Signal) -> None:
        if signal.kind == "presence":
            self._presence_dirty.set()
            return
        scope, data = signal.scope, signal.data
        sender = data.get("agent_id")
        agents = [a for a in self._agents_for(None, scope.inbox_id) if a.agent_id != sender]
        self._offer_all(agents, None, frame("typing", data))
        if scope.public and scope.conversation_id is not None:
            visitors = self._by_conversation.get(scope.conversation_id)
            if visitors:
                shown = {k: data[k] for k in ("conversation_id", "sender_type", "name")}
                self._offer_all(list(visitors), None, frame("typing", shown))

    # ------------------------------------------------------------------ presence

    async def set_presence(self, socket: AgentSocket, status: SocketStatus | None = None) -> None:
        """The agent is active on this socket now (optionally with a new status)."""
        try:
            await self.presence.update(socket.id, socket.agent_id, status)
            await self.bus.signal(Signal("presence", Scope()))
        except Exception:
            log.warning("could not record presence", exc_info=True)

    async def drop_presence(self, socket: AgentSocket) -> None:
        try:
            await self.presence.drop(socket.id)
            await self.bus.signal(Signal("presence", Scope()))
        except Exception:
            log.warning("could not record presence", exc_info=True)

    async def _presence_loop(self) -> None:
        """Broadcast each agent whose status changed (in any process) to the local agents."""
        while True:
            await self._presence_dirty.wait()
            self._presence_dirty.clear()
            try:
                snapshot = await self.presence.snapshot()
            except Exception:
                log.warning("could not read presence", exc_info=True)
            else:
                for agent_id, current in snapshot.items():
                    if self._presence_seen.get(agent_id, "offline") != current.status:
                        text = frame("presence", presence_out(current))
                        self._offer_all(list(self._agents), None, text)
                self._presence_seen = {a: p.status for a, p in snapshot.items()}
            await asyncio.sleep(PRESENCE_DEBOUNCE)

    async def _beat(self) -> None:
        text = frame("heartbeat", {})
        self._offer_all([*self._agents, *self._visitors], None, text)
        await self.presence.refresh()
        self._presence_dirty.set()  # notices agents whose process died (their entries expired)

    # ------------------------------------------------------------------ rechecks

    async def _recheck(self) -> None:
        """Close sockets whose login ended (logout, deactivation, expiry) with 4401, and
        apply inbox membership changes."""
        agents = list(self._agents)
        visitors = list(self._visitors)
        now = utcnow()
        async with self.db.read() as session:
            valid: dict[str, tuple[int, Role]] = {}
            members: defaultdict[int, set[int]] = defaultdict(set)
            if agents:
                rows = await session.execute(
                    select(AgentSession.token_hash, Agent.id, Agent.role)
                    .join(Agent, Agent.id == AgentSession.agent_id)
                    .where(
                        AgentSession.token_hash.in_({a.token_digest for a in agents}),
                        AgentSession.expires_at > now,
                        Agent.is_active.is_(True),
                    )
                )
                valid = {digest: (agent_id, role) for digest, agent_id, role in rows}
                for inbox_id, agent_id in await session.execute(
                    select(inbox_agents.c.inbox_id, inbox_agents.c.agent_id).where(
                        inbox_agents.c.agent_id.in_({a.agent_id for a in agents})
                    )
                ):
                    members[agent_id].add(inbox_id)
            live_visitors: set[int] = set()
            if visitors:
                live_visitors = set(
                    (
                        await session.scalars(
                            select(VisitorSession.id).where(
                                VisitorSession.id.in_({v.visitor_id for v in visitors}),
                                VisitorSession.expires_at > now,
                            )
                        )
                    ).all()
                )
        for agent in agents:
            if agent not in self._agents:
                continue
            if agent.token_digest not in valid:
                self.remove(agent)
                agent.close(CLOSE_UNAUTHORIZED)
                continue
            visible = (
                None if valid[agent.token_digest][1] == Role.admin else members[agent.agent_id]
            )
            if visible != agent.visible:
                self._unindex_agent(agent)
                agent.visible = visible
                self._index_agent(agent)
        for visitor in visitors:
            if visitor in self._visitors and visitor.visitor_id not in live_visitors:
                self.remove(visitor)
                visitor.close(CLOSE_UNAUTHORIZED)


def _discard(index: dict[Any, set[Any]], key: Any, socket: Socket) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(socket)
        if not members:
            del index[key]
