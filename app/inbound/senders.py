"""Who sent each message of a batch: the contacts behind the senders' addresses, found or
created with a fixed number of statements, and the per-contact locks that make deciding
"which conversation" safe under concurrency."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, ContactIdentity
from app.contacts.schemas import ContactOut, IdentityOut
from app.contacts.service import party_facts, record_contact_created, resolve_contact
from app.db import table
from app.tickets.models import Conversation
from connectors.base import Address, AddressKind, Party


@dataclass(frozen=True, slots=True)
class Sender:
    contact_id: int
    identity_id: int
    name: str | None
    attributes: dict[str, Any]

    def learns_from(self, party: Party) -> bool:
        """Whether this message tells us something new about the person."""
        if party.also_known_as or (self.name is None and party.name):
            return True
        return any(self.attributes.get(k) != v for k, v in party_facts(party).items())


async def resolve_senders(
    session: AsyncSession, parties: Sequence[Party], now: datetime
) -> list[Sender]:
    """The contact of each party, in order, creating the ones never seen, each of them
    locked until commit (see `lock_contacts`).

    Known senders cost one query for the whole batch, which also locks their contacts, and
    first-time senders two multi-row INSERTs. Only a message that tells something new about
    its sender (another address to link, a new fact, a first name) goes through
    `resolve_contact` on its own, as does a first-time sender that a concurrent transaction
    created meanwhile: the unique (kind, address) of an identity decides who creates it, so
    no contact is made twice.
    """
    # A party with other addresses may lead to contacts the query does not find: then all
    # are locked at once afterwards, so that locks are still taken in id order. (One case
    # still locks after the query: a first-time sender another transaction created that
    # very moment. A cycle it could close is broken by PostgreSQL, failing one batch,
    # whose messages the group commit then stores one by one.)
    lock_found = not any(party.also_known_as for party in parties)
    known = await _known_senders(
        session,
        {party.address for party in parties},
        with_attributes=any(party_facts(party) for party in parties),
        lock=lock_found,
    )
    locked = {sender.contact_id for sender in known.values()} if lock_found else set()
    first_time: dict[Address, Party] = {}
    for party in parties:
        if party.address not in known and not party.also_known_as:
            first_time.setdefault(party.address, party)
    if first_time:
        created = await _create_contacts(session, list(first_time.values()), now)
        known |= created
        # Rows this transaction inserted: no other one sees them before the commit.
        locked |= {sender.contact_id for sender in created.values()}
    senders = []
    for party in parties:
        sender = known.get(party.address)
        if sender is None or sender.learns_from(party):
            resolved = await resolve_contact(session, party)
            sender = Sender(
                resolved.contact_id,
                resolved.identity_id,
                resolved.contact_name,
                {**(sender.attributes if sender else {}), **party_facts(party)},
            )
            known[party.address] = sender
        senders.append(sender)
    await lock_contacts(session, {sender.contact_id for sender in senders} - locked)
    return senders


async def lock_contacts(session: AsyncSession, contact_ids: Collection[int]) -> bool:
    """Serialise everything that decides "which conversation" per contact, until commit, so
    concurrent first messages from one sender open one conversation, not two. Locked in id
    order, so two batches never wait on each other in a cycle. Returns whether it locked:
    on SQLite the write transaction already holds the only write lock, and there is
    nothing to do."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    if contact_ids:
        await session.execute(_LOCK_CONTACTS, {"ids": sorted(contact_ids)})
    return True


async def lock_contacts_of(
    session: AsyncSession, conversation_ids: Collection[int], contact_ids: Collection[int] = ()
) -> bool:
    """For work that changes several conversations in one transaction beside ingest (log
    consumers): lock their contacts first, in id order, as ingest does before it changes
    their conversations, so the two never wait on each other in a cycle (PostgreSQL breaks
    one after a second by failing a side, say a whole ingest batch). The contacts of
    `conversation_ids` are looked up; `contact_ids` are known already. Returns whether it
    locked (see `lock_contacts`)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    ids = set(contact_ids)
    if conversation_ids:
        ids.update(
            await session.scalars(
                select(Conversation.contact_id).where(Conversation.id.in_(conversation_ids))
            )
        )
    return await lock_contacts(session, ids)


def _known_senders_query(*, with_attributes: bool, lock: bool) -> Select[Any]:
    """The identities of these kinds with one of these addresses (a superset of the pairs
    asked for when a batch mixes kinds, filtered in Python), and their contacts, which
    `lock` locks in id order (on PostgreSQL; SQLite has its one writer lock)."""
    identities, contacts = table(ContactIdentity), table(Contact)
    query = (
        select(
            identities.c.kind,
            identities.c.address,
            identities.c.id,
            identities.c.contact_id,
            contacts.c.name,
            contacts.c.attributes if with_attributes else null(),
        )
        .join(contacts, contacts.c.id == identities.c.contact_id)
        .where(
            identities.c.kind.in_(bindparam("kinds", expanding=True)),
            identities.c.address.in_(bindparam("addresses", expanding=True)),
        )
    )
    return query.order_by(contacts.c.id).with_for_update(of=contacts) if lock else query


# Built once (see app.inbound.ingest): with the contacts' attributes or without, locking or not.
_KNOWN_SENDERS = {
    (attributes, lock): _known_senders_query(with_attributes=attributes, lock=lock)
    for attributes in (True, False)
    for lock in (True, False)
}
_CONTACT_ID = table(Contact).c.id
_LOCK_CONTACTS = (
    select(_CONTACT_ID)
    .where(_CONTACT_ID.in_(bindparam("ids", expanding=True)))
    .order_by(_CONTACT_ID)
    .with_for_update()
)


async def _known_senders(
    session: AsyncSession, addresses: set[Address], *, with_attributes: bool, lock: bool
) -> dict[Address, Sender]:
    """The contacts behind these addresses; their attributes only when asked (decoding
    every sender's JSON costs, and most channels tell nothing new about a person)."""
    rows = await session.execute(
        _KNOWN_SENDERS[(with_attributes, lock)],
        {
            "kinds": sorted({str(address.kind) for address in addresses}),
            "addresses": sorted({address.value for address in addresses}),
        },
    )
    found = ((Address(AddressKind(r[0]), r[1]), r) for r in rows)
    return {a: Sender(r[3], r[2], r[4], r[5] or {}) for a, r in found if a in addresses}


async def _create_contacts(
    session: AsyncSession, parties: list[Party], now: datetime
) -> dict[Address, Sender]:
    """A contact and identity for each of these first-time senders, in two multi-row
    INSERTs. If another transaction created one of them meanwhile, nothing is created here
    ({}), and the caller resolves them one by one."""
    facts = [party_facts(p) for p in parties]
    try:
        async with session.begin_nested():
            # RETURNING order is not guaranteed (and asking SQLAlchemy to sort makes SQLite
            # insert row by row), so the new ids are matched by content: new contacts with
            # the same name and facts are interchangeable.
            contact_ids: dict[tuple[str | None, str], list[int]] = defaultdict(list)
            for row in await session.execute(
                insert(table(Contact)).returning(
                    table(Contact).c.id, table(Contact).c.name, table(Contact).c.attributes
                ),
                [
                    {"name": p.name, "attributes": f, "created_at": now, "updated_at": now}
                    for p, f in zip(parties, facts, strict=True)
                ],
            ):
                contact_ids[(row[1], _fact_key(row[2]))].append(row[0])
            contacts = [
                contact_ids[(p.name, _fact_key(f))].pop()
                for p, f in zip(parties, facts, strict=True)
            ]
            identity_ids = {
                (row[1], row[2]): row[0]
                for row in await session.execute(
                    insert(table(ContactIdentity)).returning(
                        table(ContactIdentity).c.id,
                        table(ContactIdentity).c.kind,
                        table(ContactIdentity).c.address,
                    ),
                    [
                        {
                            "contact_id": contact_id,
                            "kind": p.address.kind,
                            "address": p.address.value,
                            "reachable": True,
                            "created_at": now,
                        }
                        for p, contact_id in zip(parties, contacts, strict=True)
                    ],
                )
            }
    except IntegrityError:
        return {}
    created = {}
    for p, contact_id, f in zip(parties, contacts, facts, strict=True):
        identity = IdentityOut(
            id=identity_ids[(p.address.kind, p.address.value)],
            kind=p.address.kind,
            address=p.address.value,
            reachable=True,
            unreachable_reason=None,
        )
        created[p.address] = Sender(contact_id, identity.id, p.name, f)
        record_contact_created(
            session,
            ContactOut(
                id=contact_id,
                name=p.name,
                attributes=f,
                identities=[identity],
                created_at=now,
                updated_at=now,
            ),
        )
    return created


def _fact_key(facts: dict[str, Any] | None) -> str:
    return json.dumps(facts or {}, sort_keys=True)
