from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import models
from app.contacts.models import Contact, ContactIdentity
from app.contacts.schemas import ContactOut
from app.db import utcnow
from app.errors import Invalid, NotFound
from app.events import log as event_log
from app.events.types import ContactCreated, ContactUpdated
from app.search import contact_match
from app.tickets.models import Conversation
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
        # Someone the desk knows under another address (an integration's customer whose
        # phone an SMS came from): their channels meet on that contact.
        owner = await _sole_owner(session, party.also_known_as) if party.identifies else None
        try:
            async with session.begin_nested():
                if owner is None:
                    contact = Contact(name=party.name, attributes={})
                    session.add(contact)
                    await session.flush()
                    owner = (contact.id, contact.name)
                    created = True
                identity = ContactIdentity(
                    contact_id=owner[0], kind=party.address.kind, address=party.address.value
                )
                session.add(identity)
                await session.flush()
            found = (identity.id, *owner)
        except IntegrityError:  # a concurrent first message created it: theirs stands
            created = False
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
    if facts := party_facts(party):
        await _learn(session, contact_id, facts)
    for extra in party.also_known_as:
        await add_identity(session, contact_id, extra)
    if created:
        contact = await get_contact(session, contact_id)
        record_contact_created(session, ContactOut.model_validate(contact))
    return ResolvedContact(contact_id, name, identity_id, created)


async def _sole_owner(
    session: AsyncSession, addresses: Sequence[Address]
) -> tuple[int, str | None] | None:
    """The one contact (id, name) that these addresses belong to; None when none of them
    is known, or they belong to several contacts (merging is an agent's decision)."""
    owners = set()
    for address in addresses:
        if (found := await _find_identity(session, address)) is not None:
            owners.add((found[1], found[2]))
    return owners.pop() if len(owners) == 1 else None


def party_facts(party: Party) -> dict[str, str]:
    """What a message says about the person, to keep on the contact."""
    facts = dict(party.attributes)
    if party.language:
        facts["language"] = party.language
    return facts


async def _learn(session: AsyncSession, contact_id: int, facts: dict[str, str]) -> None:
    """Merge what a channel learned about the person into their attributes (the newest
    value of a fact wins)."""
    contact = await session.get(Contact, contact_id)
    if contact is not None and any(contact.attributes.get(k) != v for k, v in facts.items()):
        contact.attributes = {**contact.attributes, **facts}
        contact.updated_at = utcnow()
        await session.flush()


async def set_reachability(
    session: AsyncSession, address: Address, *, reachable: bool, reason: str | None
) -> Contact | None:
    """Mark an address (un)reachable, e.g. an SMS opt-out or a bot the user blocked. Replies
    to an unreachable address fail at once with `reason`. None for an unknown address."""
    identity = await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.kind == address.kind, ContactIdentity.address == address.value
        )
    )
    if identity is None:
        return None
    new_reason = None if reachable else reason
    if identity.reachable == reachable and identity.unreachable_reason == new_reason:
        return None
    identity.reachable = reachable
    identity.unreachable_reason = new_reason
    await session.flush()
    contact = await get_contact(session, identity.contact_id)
    record_contact_updated(session, contact, [])
    return contact


def record_contact_created(session: AsyncSession, contact: ContactOut) -> None:
    event_log.record(session, ContactCreated(contact=contact), event_log.Scope())


def record_contact_updated(session: AsyncSession, contact: Contact, merged_ids: list[int]) -> None:
    event_log.record(
        session,
        ContactUpdated(contact=ContactOut.model_validate(contact), merged_ids=merged_ids),
        event_log.Scope(),
    )


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
    if q and q.strip():
        stmt = stmt.where(contact_match(session, q))
    if after_id is not None:
        stmt = stmt.where(Contact.id < after_id)
    return list((await session.scalars(stmt.limit(limit))).all())


def contact_references() -> list[Column[Any]]:
    """Every column that refers to a contact: a table added later is merged without being
    named here."""
    target = Contact.__table__.c.id
    return [
        fk.parent
        for table in models.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column is target
    ]


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
    for column in contact_references():
        await session.execute(
            update(column.table).where(column == other_id).values({column.name: keep_id})
        )
    keep.name = keep.name or other.name
    keep.attributes = {**(other.attributes or {}), **(keep.attributes or {})}
    keep.updated_at = utcnow()
    await session.flush()
    await session.delete(other)
    await session.flush()
    session.expire(keep)
    return await get_contact(session, keep_id)
