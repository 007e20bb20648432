"""The delivery worker: claims queued replies, hands each to its channel's connector, records
the outcome, and retries transient failures with capped exponential backoff.

A claim is a short lease (`claimed_until`), taken in its own short transaction with SKIP LOCKED
on PostgreSQL, and renewed while its sends run, however long they take: so several workers never
send one message twice, and a worker that dies mid-send holds its messages for at most one lease.
They are then sent again (at-least-once) under the same delivery id, the message id, which the
receiver can dedupe on (the api channel's `X-Panjereh-Delivery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.agents.models import Agent
from app.contacts import service as contacts
from app.contacts.models import ContactIdentity
from app.context import Context
from app.db import log_failed_round, unavailable, utcnow
from app.inboxes.models import Inbox
from app.leases import Lease, backoff, first, renew
from app.tickets.messages import record_message_updated
from app.tickets.models import (
    Attachment,
    Conversation,
    DeliveryAttempt,
    DeliveryStatus,
    Direction,
    Message,
)
from connectors.base import (
    Address,
    Button,
    OutboundAttachment,
    OutboundMessage,
    PermanentSendError,
    RecipientUnreachable,
    SendError,
    SendProgress,
    SendResult,
)

log = logging.getLogger(__name__)

# Renewed every third of itself: a claim outlives two failed renewals, and a crashed worker's
# replies wait this long, at most, to be sent again.
LEASE = timedelta(seconds=15)
# Where a message keeps the provider ids of the parts an unfinished send delivered.
PARTS_SENT = "parts_sent"


_Earlier = aliased(Message)
# An automatic message (a survey, an acknowledgement, a rule's message: no agent sent it)
# waits while an earlier outbound message of its conversation is still to be sent: queued,
# in flight or waiting for a retry. The customer then reads the agent's reply before the
# survey about it, on any channel, however the sends are batched or retried; a reply that
# finally fails lets it go.
_earlier_unsent = (
    exists()
    .where(
        _Earlier.conversation_id == Message.conversation_id,
        _Earlier.id < Message.id,
        _Earlier.direction == Direction.outbound,
        _Earlier.delivery_status == DeliveryStatus.queued,
    )
    .correlate(Message)
)


@dataclass(frozen=True, slots=True)
class Job:
    message_id: int
    conversation_id: int
    attempt: int
    started_at: datetime
    inbox: Inbox | None
    outbound: OutboundMessage | None
    refusal: str | None  # why it cannot be sent at all


class DeliveryWorker:
    def __init__(self, ctx: Context, *, batch_size: int = 50, lease: timedelta = LEASE) -> None:
        self.ctx = ctx
        self.batch_size = batch_size
        self.lease = lease
        # run()'s stop: it also ends a wait for the database to record an outcome.
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; wake at once when this process queues a reply."""
        settings = self.ctx.settings
        self._stop = stop
        while not stop.is_set():
            # Cleared before the claim, so a reply queued during this round wakes the next.
            self.ctx.outbox_ready.clear()
            try:
                sent = await self.run_once()
            except Exception as exc:
                log_failed_round(log, "delivery round", exc)
                sent = 0
            if sent:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    first(self.ctx.outbox_ready.wait(), stop.wait()),
                    settings.delivery_poll_seconds,
                )

    async def run_once(self) -> int:
        """Claim and deliver one batch of due messages; returns how many were handled."""
        jobs, lease = await self._claim()
        if not jobs:
            return 0
        renewing = asyncio.create_task(self._renew(lease))
        # Conversations in parallel; within one, one message after the other, oldest first,
        # so that two replies reach the customer in the order they were written.
        by_conversation: defaultdict[int, list[Job]] = defaultdict(list)
        for job in sorted(jobs, key=lambda job: job.message_id):
            by_conversation[job.conversation_id].append(job)
        try:
            await asyncio.gather(
                *(self._deliver_in_order(run, lease) for run in by_conversation.values())
            )
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        return len(jobs)

    async def _claim(self) -> tuple[list[Job], Lease]:
        now = utcnow()
        lease = Lease(now + self.lease)
        async with self.ctx.db.write() as session:
            messages = list(
                (
                    await session.scalars(
                        select(Message)
                        .where(
                            Message.direction == Direction.outbound,
                            Message.delivery_status == DeliveryStatus.queued,
                            Message.next_attempt_at <= now,
                            or_(Message.claimed_until.is_(None), Message.claimed_until < now),
                            or_(Message.sender_agent_id.is_not(None), ~_earlier_unsent),
                        )
                        .order_by(Message.next_attempt_at, Message.id)
                        .limit(self.batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            for message in messages:
                message.claimed_until = lease.until
                message.attempts += 1
                lease.held.add(message.id)
        # The lease is committed: what the send needs is read outside the write lock.
        return (await self._jobs(messages, now) if messages else []), lease

    async def _renew(self, lease: Lease) -> None:
        await renew(self.ctx.db, Message.id, Message.claimed_until, lease, self.lease)

    async def _jobs(self, messages: list[Message], now: datetime) -> list[Job]:
        """What each claimed message needs to be sent, in a fixed number of queries."""
        async with self.ctx.db.read() as session:
            # A reply in a merged conversation may go out on the channel of one merged into
            # it (`via`): that one's address and thread.
            conversations = await _by_id(
                session,
                Conversation,
                {m.conversation_id for m in messages} | {_via(m) for m in messages},
            )
            inboxes = await _by_id(session, Inbox, {m.inbox_id for m in messages})
            identities = await _by_id(
                session,
                ContactIdentity,
                {c.identity_id for c in conversations.values() if c.identity_id is not None},
            )
            agent_ids = {m.sender_agent_id for m in messages if m.sender_agent_id is not None}
            sender_names = {
                row[0]: row[1]
                for row in await session.execute(
                    select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids))
                )
            }
            # The customer's latest message in each conversation on each channel: the one a
            # reply answers.
            latest = (
                select(func.max(Message.id))
                .where(
                    Message.conversation_id.in_({m.conversation_id for m in messages}),
                    Message.direction == Direction.inbound,
                    Message.external_id.is_not(None),
                )
                .group_by(Message.conversation_id, Message.inbox_id)
            )
            answered = {
                (row[0], row[1]): row[2]
                for row in await session.execute(
                    select(Message.conversation_id, Message.inbox_id, Message.external_id).where(
                        Message.id.in_(latest)
                    )
                )
            }
            threads = await _thread_ids(session, {m.conversation_id for m in messages})
            files = await self._files(session, [m.id for m in messages])
        jobs = []
        for message in messages:
            conversation = conversations.get(message.conversation_id)
            channel = conversations.get(_via(message))
            inbox = inboxes.get(message.inbox_id)
            identity = (
                identities.get(channel.identity_id)
                if channel is not None and channel.identity_id is not None
                else None
            )
            refusal = _refusal(conversation, inbox, identity)
            outbound = None
            if refusal is None and conversation is not None and identity is not None:
                on_channel = (conversation.id, message.inbox_id)
                outbound = OutboundMessage(
                    id=message.id,
                    conversation_id=conversation.id,
                    to=Address(identity.kind, identity.address),
                    text=message.body_text,
                    html=message.body_html,
                    subject=message.subject or conversation.subject,
                    thread_key=channel.thread_key if channel is not None else None,
                    in_reply_to=answered.get(on_channel),
                    references=threads.get(on_channel, ()),
                    attachments=files.get(message.id, ()),
                    sender_name=sender_names.get(message.sender_agent_id or 0),
                    automatic=bool(message.meta.get("automatic")),
                    progress=SendProgress(_parts_sent(message.meta)),
                    buttons=_buttons(message.meta),
                    payload=_payload(message.meta),
                )
            jobs.append(
                Job(
                    message.id,
                    message.conversation_id,
                    message.attempts,
                    now,
                    inbox,
                    outbound,
                    refusal,
                )
            )
        return jobs

    async def _files(
        self, session: AsyncSession, message_ids: list[int]
    ) -> dict[int, tuple[OutboundAttachment, ...]]:
        """The stored files of each message, read off the event loop."""
        rows = (
            await session.scalars(
                select(Attachment)
                .where(Attachment.message_id.in_(message_ids), Attachment.sha256.is_not(None))
                .order_by(Attachment.id)
            )
        ).all()
        files: dict[int, list[OutboundAttachment]] = defaultdict(list)
        for row in rows:
            if row.message_id is None or row.sha256 is None:  # pragma: no cover - filtered
                continue
            data = await asyncio.to_thread(self.ctx.files.read, row.sha256)
            files[row.message_id].append(OutboundAttachment(row.filename, row.content_type, data))
        return {message_id: tuple(items) for message_id, items in files.items()}

    async def _send(self, job: Job) -> SendResult:
        if job.refusal is not None or job.inbox is None or job.outbound is None:
            raise PermanentSendError(job.refusal or "nothing to send")
        try:
            connector = self.ctx.connector(job.inbox)
        except ValueError as exc:
            raise PermanentSendError(f"the inbox settings cannot be read: {exc}") from exc
        if connector is None:
            raise PermanentSendError(f"replies on {job.inbox.kind} inboxes are not supported yet")
        try:
            return await asyncio.wait_for(
                connector.send(job.outbound), self.ctx.settings.delivery_timeout_seconds
            )
        except TimeoutError as exc:
            raise SendError("the provider did not answer in time") from exc
        finally:
            await connector.aclose()

    async def _deliver_in_order(self, jobs: list[Job], lease: Lease) -> None:
        for job in jobs:
            await self._deliver(job, lease)

    async def _deliver(self, job: Job, lease: Lease) -> None:
        try:
            result: SendResult | SendError = await self._send(job)
        except SendError as exc:
            result = exc
        except Exception as exc:  # a connector bug must not stop the worker
            log.exception("connector failed on message %s", job.message_id)
            result = SendError(f"unexpected error: {exc!r}")
        try:
            await self._record(job, lease, result)
        finally:
            lease.held.discard(job.message_id)

    async def _record(self, job: Job, lease: Lease, result: SendResult | SendError) -> None:
        """Record what the send did. It has happened: while the database is away, the
        outcome waits here until it can be written, for as long as the claim holds, rather
        than leave the message claimed and unrecorded, to be sent again when the claim ends."""
        while True:
            try:
                await self._write_outcome(job, result)
                return
            except OperationalError as exc:
                if self._stop.is_set() or utcnow() >= lease.until:
                    log.error(
                        "message %s: outcome not recorded; it is sent again once its claim "
                        "runs out",
                        job.message_id,
                    )
                    raise
                log.warning(
                    "message %s: %s; recording it waits for the database: %s",
                    job.message_id,
                    "sent" if isinstance(result, SendResult) else f"not sent ({result.reason})",
                    unavailable(exc),
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.ctx.settings.delivery_poll_seconds)

    async def _write_outcome(self, job: Job, result: SendResult | SendError) -> None:
        settings = self.ctx.settings
        now = utcnow()
        async with self.ctx.db.write() as session:
            message = await session.get(Message, job.message_id)
            if message is None:
                return
            message.claimed_until = None
            message.updated_at = now
            if isinstance(result, SendResult):
                outcome, error = "sent", None
                if message.delivery_status == DeliveryStatus.queued:
                    # (A provider's report may have arrived first and said more.)
                    message.delivery_status = DeliveryStatus.sent
                message.sent_at = message.sent_at or now
                message.external_id = result.external_id
                message.error = None
                message.next_attempt_at = None
                meta = {k: v for k, v in message.meta.items() if k != PARTS_SENT}
                message.meta = {**meta, **result.metadata}
            elif result.permanent or job.attempt >= settings.delivery_max_attempts:
                outcome, error = "failed", result.reason
                message.delivery_status = DeliveryStatus.failed
                message.error = result.reason
                message.next_attempt_at = None
                if isinstance(result, RecipientUnreachable) and job.outbound is not None:
                    # Later replies to this address fail at once, with the same reason.
                    await contacts.set_reachability(
                        session, job.outbound.to, reachable=False, reason=result.reason
                    )
            else:
                outcome, error = "retry", result.reason
                delay = result.retry_after or backoff(
                    job.attempt,
                    base=settings.delivery_backoff_base_seconds,
                    cap=settings.delivery_backoff_cap_seconds,
                )
                message.error = f"{result.reason} (attempt {job.attempt}; retrying)"
                message.next_attempt_at = now + timedelta(seconds=delay)
            if not isinstance(result, SendResult) and job.outbound and job.outbound.progress.parts:
                # Kept until the reply is sent, so neither a retry nor an agent's re-queue of a
                # failed reply sends these parts again.
                message.meta = {**message.meta, PARTS_SENT: list(job.outbound.progress.parts)}
            session.add(
                DeliveryAttempt(
                    message_id=message.id,
                    attempt=job.attempt,
                    outcome=outcome,
                    error=error,
                    external_id=result.external_id if isinstance(result, SendResult) else None,
                    started_at=job.started_at,
                    finished_at=now,
                )
            )
            await session.flush()
            await record_message_updated(session, message)
        log.info("message %s: %s%s", job.message_id, outcome, f" ({error})" if error else "")


def _parts_sent(meta: dict[str, Any]) -> list[str]:
    """The parts an earlier attempt delivered (see SendProgress)."""
    parts = meta.get(PARTS_SENT)
    return [p for p in parts if isinstance(p, str)] if isinstance(parts, list) else []


def _buttons(meta: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    """The rows of buttons a message's metadata asks for (`[[{"label", "data"}]]`)."""
    rows = meta.get("buttons")
    if not isinstance(rows, list):
        return ()
    return tuple(
        tuple(Button(str(b["label"]), str(b["data"])) for b in row if isinstance(b, dict))
        for row in rows
        if isinstance(row, list)
    )


def _payload(meta: dict[str, Any]) -> dict[str, Any]:
    payload = meta.get("payload")
    return payload if isinstance(payload, dict) else {}


M = TypeVar("M", Conversation, Inbox, ContactIdentity)

# Provider ids of a conversation handed to a reply (e-mail References): the first and the
# most recent, as RFC 5322 suggests for long threads.
THREAD_IDS = 20


async def _thread_ids(
    session: AsyncSession, conversation_ids: set[int]
) -> dict[tuple[int, int], tuple[str, ...]]:
    """Each conversation's provider message ids (both directions) on each of its channels
    (inboxes; more than one after a merge), oldest first, capped."""
    channel = (Message.conversation_id, Message.inbox_id)
    numbered = (
        select(
            Message.conversation_id,
            Message.inbox_id,
            Message.external_id,
            Message.id,
            func.row_number().over(partition_by=channel, order_by=Message.id).label("first"),
            func.row_number().over(partition_by=channel, order_by=Message.id.desc()).label("last"),
        )
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.external_id.is_not(None),
            Message.direction.in_((Direction.inbound, Direction.outbound)),
        )
        .subquery()
    )
    rows = await session.execute(
        select(numbered.c.conversation_id, numbered.c.inbox_id, numbered.c.external_id)
        .where(or_(numbered.c.first == 1, numbered.c.last < THREAD_IDS))
        .order_by(numbered.c.conversation_id, numbered.c.inbox_id, numbered.c.id)
    )
    threads: dict[tuple[int, int], list[str]] = {}
    for conversation_id, inbox_id, external_id in rows:
        threads.setdefault((conversation_id, inbox_id), []).append(external_id)
    return {k: tuple(v) for k, v in threads.items()}


def _via(message: Message) -> int:
    """The conversation whose channel (address, thread) a reply goes out on."""
    via = message.meta.get("via") if message.meta else None
    return via if isinstance(via, int) else message.conversation_id


async def _by_id(session: AsyncSession, model: type[M], ids: set[int]) -> dict[int, M]:
    rows = await session.scalars(select(model).where(model.id.in_(ids)))
    return {row.id: row for row in rows}


def _refusal(
    conversation: Conversation | None, inbox: Inbox | None, identity: ContactIdentity | None
) -> str | None:
    """Why this reply cannot be sent at all, if it cannot."""
    if conversation is None or inbox is None:
        return "the conversation or inbox of this message no longer exists"
    if not inbox.enabled:
        return f"the inbox “{inbox.name}” is disabled"
    if identity is None:
        return "the customer has no address on this channel to reply to"
    if not identity.reachable:
        return identity.unreachable_reason or "the customer cannot be reached on this address"
    return None
