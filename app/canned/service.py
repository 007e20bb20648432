from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.canned.models import CannedResponse
from app.db import utcnow
from app.errors import Conflict, NotFound


async def list_canned(session: AsyncSession) -> list[CannedResponse]:
    stmt = select(CannedResponse).order_by(CannedResponse.shortcut)
    return list((await session.scalars(stmt)).all())


async def get_canned(session: AsyncSession, canned_id: int) -> CannedResponse:
    canned = await session.get(CannedResponse, canned_id)
    if canned is None:
        raise NotFound("canned response not found")
    return canned


async def _shortcut_free(session: AsyncSession, shortcut: str, *, except_id: int | None) -> None:
    found = await session.scalar(
        select(CannedResponse.id).where(CannedResponse.shortcut == shortcut)
    )
    if found is not None and found != except_id:
        raise Conflict(f"the shortcut /{shortcut} is taken", code="shortcut_taken")


async def create_canned(
    session: AsyncSession, *, shortcut: str, title: str, body: str, created_by_id: int
) -> CannedResponse:
    shortcut = shortcut.lower()
    await _shortcut_free(session, shortcut, except_id=None)
    canned = CannedResponse(shortcut=shortcut, title=title, body=body, created_by_id=created_by_id)
    session.add(canned)
    await session.flush()
    return canned


async def update_canned(
    session: AsyncSession,
    canned: CannedResponse,
    *,
    shortcut: str | None,
    title: str | None,
    body: str | None,
) -> CannedResponse:
    if shortcut is not None:
        shortcut = shortcut.lower()
        await _shortcut_free(session, shortcut, except_id=canned.id)
        canned.shortcut = shortcut
    if title is not None:
        canned.title = title
    if body is not None:
        canned.body = body
    canned.updated_at = utcnow()
    await session.flush()
    return canned


async def delete_canned(session: AsyncSession, canned: CannedResponse) -> None:
    await session.delete(canned)
    await session.flush()
