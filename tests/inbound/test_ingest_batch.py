"""Group commit: a batch decides its messages in order and isolates a bad one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select, update

from app.events import log as event_log
from app.inbound.ingest import InboxRef, ingest_many
from app.tickets.models import Conversation, Message, Status
from connectors.base import Address, AddressKind, InboundMessage, Party
from tests.support.api import Api, create_api_inbox
from tests.support.app import Running


def message(inbox_id: int, external_id: str, sender: str, **extra: object) -> InboundMessage:
    return InboundMessage(
        external_id=external_id,
        sender=Party(Address(AddressKind.api, f"{inbox_id}:{sender}"), name=sender.title()),
        sent_at=extra.pop("sent_at", datetime.now(UTC)),  # type: ignore[arg-type]
        text=f"text of {external_id}",
        **extra,  # type: ignore[arg-type]
    )


async def test_a_batch_sees_what_earlier_messages_in_it_created(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    ref = InboxRef(inbox.id, "api")
    batch = [
        (ref, message(inbox.id, "a1", "new-person")),
        (ref, message(inbox.id, "a2", "new-person")),
        (ref, message(inbox.id, "a1", "new-person")),  # a repeat inside the batch
        (ref, message(inbox.id, "b1", "other", thread_key="t-1")),
        (ref, message(inbox.id, "c1", "third", in_reply_to="b1")),  # answers b1, same batch
    ]
    async with running.ctx.db.write() as session:
        results = await ingest_many(session, batch, running.ctx.ingest_policy)

    a1, a2, a1_again, b1, c1 = results
    assert (a1.duplicate, a2.duplicate, a1_again.duplicate) == (False, False, True)
    assert a1.conversation_id == a2.conversation_id
    assert a1_again.message_id == a1.message_id
    assert a1.new_conversation
    assert not a2.new_conversation
    assert c1.conversation_id == b1.conversation_id != a1.conversation_id
    async with running.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 4


async def test_a_batch_across_inboxes_and_kinds_keeps_each_pair_apart(
    running: Running, admin: Api
) -> None:
    """Ingest asks for stored ids by inboxes × ids and for senders by kinds × addresses, one
    query each: a batch that crosses them must still match exact pairs only."""
    first, second = await create_api_inbox(admin), await create_api_inbox(admin)

    def sent(external_id: str, kind: AddressKind, value: str) -> InboundMessage:
        party = Party(Address(kind, value), name=f"{kind} {value}")
        return InboundMessage(external_id, party, datetime.now(UTC), f"text of {external_id}")

    async def ingest(*items: tuple[int, InboundMessage]) -> list[tuple[int, bool]]:
        async with running.ctx.db.write() as session:
            results = await ingest_many(
                session, [(InboxRef(i, "api"), m) for i, m in items], running.ctx.ingest_policy
            )
        return [(r.message_id, r.duplicate) for r in results]

    shared = "someone@example.com"
    ((stored, _),) = await ingest((first.id, sent("x", AddressKind.email, shared)))
    # The same id in the other inbox is new; the same address of another kind is someone else.
    again, (new, new_is_duplicate) = await ingest(
        (first.id, sent("x", AddressKind.email, shared)),
        (second.id, sent("x", AddressKind.api, shared)),
    )
    assert again == (stored, True)
    assert not new_is_duplicate
    assert new != stored
    async with running.ctx.db.read() as session:
        rows = (await session.execute(select(Message.inbox_id, Message.sender_contact_id))).all()
    assert len(rows) == 2
    assert rows[0][1] != rows[1][1]  # two contacts: an address counts with its kind


async def test_one_bad_message_does_not_take_its_batch_down(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    ref = InboxRef(inbox.id, "api")
    naive = datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001 - the connector bug under test
    good_before = running.ctx.inbound.submit(ref, message(inbox.id, "g1", "x"))
    bad = running.ctx.inbound.submit(ref, message(inbox.id, "bad", "x", sent_at=naive))
    good_after = running.ctx.inbound.submit(ref, message(inbox.id, "g2", "y"))
    first, failed, last = await asyncio.gather(good_before, bad, good_after, return_exceptions=True)

    assert isinstance(failed, Exception)
    assert not isinstance(first, BaseException)
    assert not isinstance(last, BaseException)
    assert (first.duplicate, last.duplicate) == (False, False)
    async with running.ctx.db.read() as session:
        stored = (await session.scalars(select(Message.external_id).order_by(Message.id))).all()
    assert sorted(stored) == ["g1", "g2"]


async def test_a_reused_id_with_other_content_is_another_message(
    running: Running, admin: Api
) -> None:
    """Ids that the sender's software writes (an e-mail's Message-ID) can be reused for a
    different message: the fingerprint tells a repeat from a newcomer, in a batch and
    against what is stored."""
    inbox = await create_api_inbox(admin)
    ref = InboxRef(inbox.id, "api")

    def version(fingerprint: str | None) -> InboundMessage:
        return message(inbox.id, "reused", "sender", fingerprint=fingerprint)

    async def ingest(*messages: InboundMessage) -> list[tuple[int, bool]]:
        async with running.ctx.db.write() as session:
            results = await ingest_many(
                session, [(ref, m) for m in messages], running.ctx.ingest_policy
            )
        return [(r.message_id, r.duplicate) for r in results]

    (a, a_dup), (b, b_dup), (a_again, a_again_dup) = await ingest(
        version("fp-a"), version("fp-b"), version("fp-a")
    )
    assert (a_dup, b_dup, a_again_dup) == (False, False, True)
    assert a != b
    assert a_again == a
    # Later batches: both are repeats, a third content is a third message.
    assert await ingest(version("fp-b"), version("fp-a")) == [(b, True), (a, True)]
    ((c, c_dup),) = await ingest(version("fp-c"))
    assert not c_dup
    assert c not in (a, b)
    async with running.ctx.db.read() as session:
        rows = (await session.execute(select(Message.external_id, Message.meta))).all()
    assert sorted((external_id, meta["fingerprint"]) for external_id, meta in rows) == [
        ("reused", "fp-a"),
        ("reused#fp-b", "fp-b"),
        ("reused#fp-c", "fp-c"),
    ]


async def test_a_message_stored_without_a_fingerprint_matches_any(
    running: Running, admin: Api
) -> None:
    """Mail stored before fingerprints were kept is not stored again when re-scanned."""
    inbox = await create_api_inbox(admin)
    ref = InboxRef(inbox.id, "api")
    async with running.ctx.db.write() as session:
        (old,) = await ingest_many(
            session, [(ref, message(inbox.id, "old", "x"))], running.ctx.ingest_policy
        )
        (again,) = await ingest_many(
            session,
            [(ref, message(inbox.id, "old", "x", fingerprint="fp-new"))],
            running.ctx.ingest_policy,
        )
    assert again.duplicate
    assert again.message_id == old.message_id


async def test_a_batch_costs_the_same_statements_whatever_its_size(
    running: Running, admin: Api
) -> None:
    """Group commit pays off only if a batch from known senders into their conversations
    costs a fixed number of SQL statements: a query added per message fails here."""
    inbox = await create_api_inbox(admin)
    ref = InboxRef(inbox.id, "api")
    senders = [f"sender-{i}" for i in range(10)]

    async def statements(batch: list[InboundMessage]) -> int:
        executed: list[str] = []

        def count(*args: Any) -> None:
            executed.append(args[2])  # the statement's SQL

        async with running.ctx.db.write() as session:
            # The session's own connection: the server's background jobs share the engine.
            connection = (await session.connection()).sync_connection
            assert connection is not None
            event.listen(connection, "before_cursor_execute", count)
            try:
                await ingest_many(session, [(ref, m) for m in batch], running.ctx.ingest_policy)
            finally:
                event.remove(connection, "before_cursor_execute", count)
        return len(executed)

    await statements([message(inbox.id, f"first-{s}", s) for s in senders])
    small = await statements([message(inbox.id, f"small-{s}", s) for s in senders[:2]])
    large = await statements(
        [message(inbox.id, f"large-{i}", senders[i % len(senders)]) for i in range(40)]
    )
    assert small == large


async def test_two_transactions_bringing_one_known_sender_open_one_conversation(
    running: Running, admin: Api
) -> None:
    """Which conversation a message opens is decided under a lock on its sender's contact:
    two transactions that each bring a message from a known sender with nothing to continue
    open one conversation between them (the second waits for the first), not two."""
    inbox = await create_api_inbox(admin)
    ref, policy = InboxRef(inbox.id, "api"), running.ctx.ingest_policy
    async with running.ctx.db.write() as session:
        (first,) = await ingest_many(session, [(ref, message(inbox.id, "m0", "ali"))], policy)
        await session.execute(
            update(Conversation)
            .where(Conversation.id == first.conversation_id)
            .values(status=Status.resolved, resolved_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    holding, release = asyncio.Event(), asyncio.Event()

    async def ingest_one(external_id: str, *, hold: bool) -> int:
        async with running.ctx.db.write() as session:
            (result,) = await ingest_many(
                session, [(ref, message(inbox.id, external_id, "ali"))], policy
            )
            if hold:
                holding.set()
                await release.wait()
        return result.conversation_id

    held = asyncio.create_task(ingest_one("m1", hold=True))
    await holding.wait()
    waiting = asyncio.create_task(ingest_one("m2", hold=False))
    await asyncio.sleep(0.2)  # the second transaction reaches the lock meanwhile
    release.set()
    assert await held == await waiting != first.conversation_id


async def test_a_message_announces_its_conversations_labels(running: Running, admin: Api) -> None:
    """The `conversation.updated` of each message shows its conversation's labels, however
    the message found that conversation: by its sender, its thread, the message it answers,
    or through a conversation merged into another."""
    inbox = await create_api_inbox(admin)
    ref, policy, db = InboxRef(inbox.id, "api"), running.ctx.ingest_policy, running.ctx.db

    async def ingest(*batch: InboundMessage) -> list[list[str]]:
        """The labels each `conversation.updated` of this batch shows."""
        async with db.read() as session:
            after = await event_log.last_seq(session)
        async with db.write() as session:
            await ingest_many(session, [(ref, m) for m in batch], policy)
        async with db.read() as session:
            events = await event_log.read_after(session, after, limit=100)
        updated = [e.data["conversation"] for e in events if e.type == "conversation.updated"]
        return [conversation["labels"] for conversation in updated]

    async with db.write() as session:
        ali, ali_order, sara = await ingest_many(
            session,
            [
                (ref, message(inbox.id, "a", "ali")),
                (ref, message(inbox.id, "o", "ali", thread_key="order-1")),
                (ref, message(inbox.id, "s", "sara", thread_key="order-9")),
            ],
            policy,
        )
    for result in (ali, sara):
        labelled = await admin.patch(
            f"/api/v1/conversations/{result.conversation_id}", json={"labels": ["vip", "شکایت"]}
        )
        assert labelled.status_code == 200
    merged = await admin.post(
        f"/api/v1/conversations/{ali.conversation_id}/merge",
        json={"conversation_ids": [ali_order.conversation_id]},
    )
    assert merged.status_code == 200
    labels = ["vip", "شکایت"]
    assert (
        await ingest(
            message(inbox.id, "a2", "ali"),
            message(inbox.id, "s2", "sara", thread_key="order-9"),
            message(inbox.id, "r", "reza", in_reply_to="s"),
        )
        == [labels] * 3
    )
    assert await ingest(message(inbox.id, "o2", "ali", thread_key="order-1")) == [labels]
