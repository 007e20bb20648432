"""Live events: `GET /api/v1/bootstrap`, `WS /ws/agent`, `WS /ws/widget`.

The protocol (frames, resuming, close codes) is described in docs/live-events.md.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from app.agents import service as agents
from app.agents.schemas import AgentOut
from app.context import Context
from app.crypto import token_digest
from app.deps import ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import Forbidden
from app.events import log as event_log
from app.fields import MAX_ID
from app.inboxes import service as inboxes
from app.inboxes.models import Inbox
from app.public import allowed_origin
from app.realtime.connection import reject, serve_socket
from app.realtime.hub import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_UNAUTHORIZED,
    PROTOCOLS,
    AgentSocket,
    VisitorSocket,
)
from app.realtime.presence import presence_out
from app.realtime.schemas import Bootstrap, Counts, PresenceOut
from app.tickets import service as tickets
from app.tickets.models import Conversation
from app.tickets.schemas import ConversationPage
from app.tickets.shapes import conversation_views
from app.widget import service as widget

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

BOOTSTRAP_PAGE = 25
BAD_QUERY = "last_event_id must be an event id, protocol 1 or 2"


@router.get("/api/v1/bootstrap")
async def bootstrap(agent: CurrentAgent, session: ReadSession, ctx: ContextDep) -> Bootstrap:
    """The console's starting state and the `last_event_id` to connect `/ws/agent` with."""
    # First, so that anything committed while the rest is read is replayed as an event.
    last_event_id = await event_log.last_seq(session)
    visible = await visible_inbox_ids(session, agent)
    inbox_rows = await inboxes.list_inboxes(session, visible)
    members = await inboxes.agent_ids_by_inbox(session, [i.id for i in inbox_rows])
    page, next_cursor = await tickets.list_conversations(
        session,
        agent,
        tickets.ConversationFilter(),
        visible=visible,
        cursor=None,
        limit=BOOTSTRAP_PAGE,
    )

    open_, mine, unassigned = await tickets.count_open(session, agent, visible=visible)
    try:
        presence = [
            PresenceOut.model_validate(presence_out(p))
            for p in (await ctx.presence.snapshot()).values()
        ]
    except Exception:  # presence lives in Redis when configured; its outage must not stop this
        log.warning("presence unavailable for bootstrap", exc_info=True)
        presence = []
    return Bootstrap(
        agent=AgentOut.model_validate(agent),
        inboxes=[
            inboxes.inbox_out(
                i, ctx.secret_box, public_url=ctx.settings.public_url, agent_ids=members[i.id]
            )
            for i in inbox_rows
        ],
        conversations=ConversationPage(
            items=await conversation_views(session, page), next_cursor=next_cursor
        ),
        counts=Counts(open=open_, mine=mine, unassigned=unassigned),
        presence=presence,
        last_event_id=last_event_id,
        public_url=ctx.settings.public_url.rstrip("/"),
    )


def _context(websocket: WebSocket) -> Context:
    ctx: Context = websocket.app.state.ctx
    return ctx


def _last_event_id(websocket: WebSocket) -> int | None:
    """The query's `last_event_id`, None when absent; ValueError when not a seq."""
    raw = websocket.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    value = int(raw)
    if not 0 <= value < 2**63:
        raise ValueError(raw)
    return value


def _protocol(websocket: WebSocket) -> int:
    """The query's `protocol` (1 when absent: clients that predate protocol 2); ValueError
    when it is not one this server speaks."""
    raw = websocket.query_params.get("protocol") or "1"
    value = int(raw)
    if value not in PROTOCOLS:
        raise ValueError(raw)
    return value


def _conversation_id(body: dict[str, Any]) -> int | None:
    """A client frame's `conversation_id`, if it is one a conversation can have (not a
    boolean, nor a number the database cannot compare)."""
    value = body.get("conversation_id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def _same_origin(websocket: WebSocket, public_url: str) -> bool:
    """A browser page may open the agent socket only from this server's own origin (a token
    in a query string is no cookie, but a page elsewhere has no business here either).
    Clients that are not browsers send no Origin."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc
    return netloc in (urlsplit(public_url).netloc, websocket.headers.get("host"))


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    ctx = _context(websocket)
    if not _same_origin(websocket, ctx.settings.public_url):
        await reject(websocket, CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    try:
        last_event_id = _last_event_id(websocket)
        protocol = _protocol(websocket)
    except ValueError:
        await reject(websocket, CLOSE_BAD_REQUEST, BAD_QUERY)
        return
    token = websocket.query_params.get("token") or ""
    async with ctx.db.read() as session:
        agent = await agents.agent_for_token(session, token) if token else None
        visible = await visible_inbox_ids(session, agent) if agent is not None else None
    if agent is None:
        await reject(websocket, CLOSE_UNAUTHORIZED, "invalid or expired token")
        return
    socket = AgentSocket(
        websocket.send_text,
        websocket.close,
        queue_size=ctx.settings.socket_queue_frames,
        protocol=protocol,
        agent_id=agent.id,
        name=agent.name,
        token_digest=token_digest(token),
        visible=visible,
    )
    hub = ctx.hub

    async def on_frame(body: dict[str, Any]) -> None:
        kind = body.get("type")
        if kind == "typing":
            conversation_id = _conversation_id(body)
            if conversation_id is None or not socket.may_type(conversation_id):
                return
            async with ctx.db.read() as session:
                inbox_id = await session.scalar(
                    select(Conversation.inbox_id).where(Conversation.id == conversation_id)
                )
            if inbox_id is not None and socket.may_see_inbox(inbox_id):
                # A private note being written: the other agents may know, the visitor not.
                note = body.get("private") is True
                await hub.typing(socket, conversation_id, inbox_id, private=note)
                await hub.set_presence(socket)
        elif kind == "presence" and body.get("status") in ("online", "away"):
            await hub.set_presence(socket, body["status"])

    await serve_socket(
        websocket,
        hub,
        socket,
        last_event_id,
        on_frame,
        on_live=lambda: hub.set_presence(socket, "online"),
        on_end=lambda: hub.drop_presence(socket),
    )


@router.websocket("/ws/widget")
async def widget_socket(websocket: WebSocket) -> None:
    ctx = _context(websocket)
    try:
        last_event_id = _last_event_id(websocket)
        protocol = _protocol(websocket)
    except ValueError:
        await reject(websocket, CLOSE_BAD_REQUEST, BAD_QUERY)
        return
    token = websocket.query_params.get("token") or ""
    async with ctx.db.read() as session:
        visitor = await widget.visitor_for_token(session, token) if token else None
        conversations = (
            await widget.visitor_conversation_ids(session, visitor)
            if visitor is not None
            else set()
        )
        inbox = await session.get(Inbox, visitor.inbox_id) if visitor is not None else None
    if visitor is None or inbox is None:
        await reject(websocket, CLOSE_UNAUTHORIZED, "invalid or expired visitor token")
        return
    try:
        # The page's Origin, as for the widget's HTTP calls: a token copied to another site
        # does not open the socket there.
        allowed_origin(websocket, widget.page_origins(inbox, ctx.secret_box))
    except Forbidden:
        await reject(websocket, CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    socket = VisitorSocket(
        websocket.send_text,
        websocket.close,
        queue_size=ctx.settings.socket_queue_frames,
        protocol=protocol,
        visitor_id=visitor.id,
        inbox_id=visitor.inbox_id,
        contact_id=visitor.contact_id,
        conversations=conversations,
    )

    async def on_frame(body: dict[str, Any]) -> None:
        if body.get("type") != "typing" or not socket.conversations:
            return
        # Without one, the visitor's newest conversation; one that is no id is ignored.
        named = "conversation_id" in body
        conversation_id = _conversation_id(body) if named else max(socket.conversations)
        if conversation_id in socket.conversations and socket.may_type(conversation_id):
            await ctx.hub.typing(socket, conversation_id, socket.inbox_id)

    await serve_socket(websocket, ctx.hub, socket, last_event_id, on_frame)
