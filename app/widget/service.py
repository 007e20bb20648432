"""Visitor sessions: who a widget token belongs to, and which conversations are theirs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Role
from app.contacts.models import Contact
from app.contacts.service import resolve_contact
from app.crypto import SecretBox, new_token, token_digest
from app.db import utcnow
from app.inboxes.models import Inbox, InboxKind, inbox_agents
from app.inboxes.service import channel_config
from app.tickets.messages import newest_messages
from app.tickets.models import Attachment, Conversation, Direction, Message
from app.tickets.service import follow_merges
from app.widget.models import VisitorSession
from connectors.base import Address, AddressKind, Party
from connectors.webchat.config import WebchatConfig


async def open_visitor_session(
    session: AsyncSession,
    *,
    inbox_id: int,
    contact_id: int,
    ttl: timedelta,
    token: str | None = None,
) -> tuple[str, VisitorSession]:
    """A new session for a contact in an inbox; the token (new unless given) is returned
    once, never stored."""
    token = token or new_token()
    visitor = VisitorSession(
        token_hash=token_digest(token),
        inbox_id=inbox_id,
        contact_id=contact_id,
        expires_at=utcnow() + ttl,
    )
    session.add(visitor)
    await session.flush()
    return token, visitor


async def visitor_for_token(session: AsyncSession, token: str) -> VisitorSession | None:
    return await session.scalar(
        select(VisitorSession).where(
            VisitorSession.token_hash == token_digest(token), VisitorSession.expires_at > utcnow()
        )
    )


async def visitor_conversation_ids(session: AsyncSession, visitor: VisitorSession) -> set[int]:
    """The visitor's conversations in this inbox, and those they were merged into (which
    hold their messages now)."""
    own = list(
        (
            await session.scalars(
                select(Conversation).where(
                    Conversation.contact_id == visitor.contact_id,
                    Conversation.inbox_id == visitor.inbox_id,
                )
            )
        ).all()
    )
    return {c.id for c in own} | {c.id for c in (await follow_merges(session, own)).values()}


def visitor_address(token_hash: str) -> Address:
    """The visitor's own webchat address, and the thread key of their conversation: derived
    from the token's digest (not the token), so it is stable for the session and reveals
    nothing that opens it."""
    return Address(AddressKind.webchat, f"visitor-{token_hash[:24]}")


def webchat_config(inbox: Inbox, box: SecretBox) -> WebchatConfig:
    config = channel_config(inbox, box)
    if not isinstance(config, WebchatConfig):  # pragma: no cover - the kind decides
        raise TypeError(type(config))
    return config


def page_origins(inbox: Inbox, box: SecretBox) -> list[str]:
    """The sites whose pages may use this inbox's visitor sessions: a webchat inbox's
    allowed_origins. Another kind's (a session opened by a tool, never by the widget)
    are used from no page at all."""
    if inbox.kind != InboxKind.webchat:
        return []
    return webchat_config(inbox, box).allowed_origins


async def webchat_inbox(session: AsyncSession, public_token: str) -> Inbox | None:
    return await session.scalar(
        select(Inbox).where(
            Inbox.public_token == public_token,
            Inbox.kind == InboxKind.webchat,
            Inbox.enabled.is_(True),
        )
    )


async def start_visitor(
    session: AsyncSession,
    *,
    inbox_id: int,
    name: str | None,
    email: str | None,
    ttl: timedelta,
) -> tuple[str, VisitorSession]:
    """A new visitor: their own contact, with the e-mail they gave as another identity.

    An e-mail typed into a form proves nothing, so it never takes over an existing contact
    (`add_identity` never steals an address): the visitor stays a contact of their own, and
    an agent merges the two after checking. Otherwise anyone could type a customer's address
    and read that customer's chats."""
    token = new_token()
    also_known_as = (Address(AddressKind.email, email),) if email else ()
    resolved = await resolve_contact(
        session,
        Party(
            address=visitor_address(token_digest(token)),
            name=name,
            also_known_as=also_known_as,
            attributes={"email_given": email} if email else {},
        ),
    )
    return await open_visitor_session(
        session, inbox_id=inbox_id, contact_id=resolved.contact_id, ttl=ttl, token=token
    )


async def visitor_messages(
    session: AsyncSession,
    visitor: VisitorSession,
    *,
    after: int | None,
    before: int | None,
    limit: int,
) -> tuple[list[Message], bool]:
    """The latest `limit` of the visitor's own conversations' messages the customer may see
    (never notes or internal activity) between the message ids `after` and `before`, oldest
    first; and whether there are older ones."""
    conversations = await visitor_conversation_ids(session, visitor)
    if not conversations:
        return [], False
    stmt = select(Message).where(
        Message.conversation_id.in_(conversations),
        # A conversation merged with the customer's on other channels shows here only what
        # was said in this chat.
        Message.inbox_id == visitor.inbox_id,
        Message.direction.in_((Direction.inbound, Direction.outbound)),
    )
    if after is not None:
        stmt = stmt.where(Message.id > after)
    return await newest_messages(session, stmt, before=before, limit=limit)


async def visitor_attachment(
    session: AsyncSession, visitor: VisitorSession, attachment_id: int
) -> Attachment | None:
    """The attachment if it belongs to a public message of the visitor's own conversations."""
    conversations = await visitor_conversation_ids(session, visitor)
    return await session.scalar(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(
            Attachment.id == attachment_id,
            Message.conversation_id.in_(conversations),
            Message.inbox_id == visitor.inbox_id,
            Message.direction.in_((Direction.inbound, Direction.outbound)),
        )
    )


async def agent_online(session: AsyncSession, inbox_id: int, online: set[int]) -> bool:
    """Whether any of the agents who work in this inbox (its members, or an administrator)
    is among `online`."""
    if not online:
        return False
    members = select(inbox_agents.c.agent_id).where(inbox_agents.c.inbox_id == inbox_id)
    found = await session.scalar(
        select(Agent.id)
        .where(
            Agent.id.in_(online),
            Agent.is_active.is_(True),
            or_(Agent.role == Role.admin, Agent.id.in_(members)),
        )
        .limit(1)
    )
    return found is not None


async def contact_name(session: AsyncSession, contact_id: int) -> str | None:
    return await session.scalar(select(Contact.name).where(Contact.id == contact_id))
