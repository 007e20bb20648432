"""Visitor sessions: who a widget token belongs to, and which conversations are theirs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import new_token, token_digest
from app.db import utcnow
from app.tickets.models import Conversation
from app.widget.models import VisitorSession


async def open_visitor_session(
    session: AsyncSession, *, inbox_id: int, contact_id: int, ttl: timedelta
) -> tuple[str, VisitorSession]:
    """A new session for a contact in an inbox; the token is returned once, never stored."""
    token = new_token()
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
    rows = await session.scalars(
        select(Conversation.id).where(
            Conversation.contact_id == visitor.contact_id,
            Conversation.inbox_id == visitor.inbox_id,
        )
    )
    return set(rows.all())
