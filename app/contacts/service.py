from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.callbacks.models import CallbackRequest
from app.contacts.models import Contact, ContactIdentity
from app.db import utcnow
from app.errors import Invalid, NotFound
from app.tickets.models import Conversation, Message
from app.widget.models import VisitorSession
from connectors.base import Address, Party


@dataclass(frozen=True, slots=True)
class ResolvedContact:
    contact_id: int
    contact_name: str | None
    identity_id: int
    created: bool


async def _find_identity(
    session: AsyncSession, address: Address
) -> tuple[int, int, str | None] | None:
    row = (
        await session.execute(
            select(ContactIdentity.id, ContactIdentity.contact_id, Contact.name)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(ContactIdentity.kind == address.kind, ContactIdentity.address == address.value)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def resolve_contact(session: AsyncSession, party: Party) -> ResolvedContact:
    """The contact behind an address, created on first contact.

    Safe under concurrency: the unique (kind, address) constraint decides which of two
    simultaneous first messages creates the contact; the other finds it.
    """
    found = await _find_identity(session, party.address)
    created = False
    if found is None:
        try:
            async with session.begin_nested():
                contact = Contact(name=party.name, attributes={})
                session.add(contact)
                await session.flush()
                identity = ContactIdentity(
                    contact_id=contact.id, kind=party.address.kind, address=party.address.value
                )
                session.add(identity)
                await session.flush()
            found = (identity.id, contact.id, contact.name)
            created = True
        except IntegrityError:
            found = await _find_identity(session, party.address)
            if found is None:  # pragma: no cover - the conflicting row must exist
                raise
    identity_id, contact_id, name = found
    if not created and name is None and party.name:
        await session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(name=party.name, updated_at=utcnow())
        )
        name = party.name
    for extra in party.also_known_as:
        await add_identity(session, contact_id, extra)
    return ResolvedContact(contact_id, name, identity_id, created)


async def add_identity(session: AsyncSession, contact_id: int, address: Address) -> None:
    """Attach an address to a contact unless it already belongs to someone (never steal it:
    two people may share a phone; merging is an agent's decision)."""
    if await _find_identity(session, address) is not None:
        return
    try:
        async with session.begin_nested():
            session.add(
                ContactIdentity(contact_id=contact_id, kind=address.kind, address=address.value)
            )
            await session.flush()
    except IntegrityError:
        return


async def get_contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await session.scalar(
        select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.identities))
    )
    if contact is None:
        raise NotFound("contact not found")
    return contact


async def search(
    session: AsyncSession,
    *,
    q: str | None,
    after_id: int | None,
    limit: int,
    visible: set[int] | None,
) -> list[Contact]:
    stmt = select(Contact).options(selectinload(Contact.identities)).order_by(Contact.id.desc())
    if visible is not None:
        stmt = stmt.where(
            Contact.id.in_(
                select(Conversation.contact_id).where(Conversation.inbox_id.in_(visible))
            )
        )
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                Contact.name.ilike(pattern),
                Contact.id.in_(
                    select(ContactIdentity.contact_id).where(ContactIdentity.address.ilike(pattern))
                ),
            )
        )
    if after_id is not None:
        stmt = stmt.where(Contact.id < after_id)
    return list((await session.scalars(stmt.limit(limit))).all())


async def merge(session: AsyncSession, *, keep_id: int, other_id: int) -> Contact:
    """Move everything of `other` to `keep`, then delete `other`. Nothing is lost."""
    if keep_id == other_id:
        raise Invalid("a contact cannot be merged with itself", code="merge_self")
    contacts = (
        await session.scalars(
            select(Contact).where(Contact.id.in_((keep_id, other_id))).with_for_update()
        )
    ).all()
    by_id = {c.id: c for c in contacts}
    if keep_id not in by_id or other_id not in by_id:
        raise NotFound("contact not found")
    keep, other = by_id[keep_id], by_id[other_id]
    await session.execute(
        update(ContactIdentity)
        .where(ContactIdentity.contact_id == other_id)
        .values(contact_id=keep_id)
    )
    await session.execute(
        update(Conversation).where(Conversation.contact_id == other_id).values(contact_id=keep_id)
    )
    await session.execute(
        update(Message)
        .where(Message.sender_contact_id == other_id)
        .values(sender_contact_id=keep_id)
    )
    await session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.contact_id == other_id)
        .values(contact_id=keep_id)
    )
    await session.execute(
        update(VisitorSession)
        .where(VisitorSession.contact_id == other_id)
        .values(contact_id=keep_id)
    )
    keep.name = keep.name or other.name
    keep.attributes = {**(other.attributes or {}), **(keep.attributes or {})}
    keep.updated_at = utcnow()
    await session.flush()
    await session.delete(other)
    await session.flush()
    session.expire(keep)
    return await get_contact(session, keep_id)
