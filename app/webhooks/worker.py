"""Outgoing webhooks, delivered from the event log.

Fan-out: a durable consumer of the log (`run_consumer`) stores, in the transaction that
moves its position, one delivery row per event and subscribed webhook, with the exact body
every try sends. Nothing leaves the machine there.

Delivery: a worker claims the oldest waiting delivery of each webhook that is due (SKIP
LOCKED on PostgreSQL; SQLite has one writer), with the waiting ones right behind it, and
sends them one after another: a webhook's next delivery waits for the previous one's
success or final failure, so a receiver sees a webhook's events in order. The claim is a
lease renewed while the sends run (app.leases): a worker that dies mid-send holds its
deliveries for at most one lease; another then sends them again, under the same
`X-Panjereh-Delivery`. Timeouts, connection errors, 408, 425, 429 (after its Retry-After)
and 5xx are tried again with exponential backoff and jitter; any other answer is final.

Both give way to requests that are short of the process's time (app.pacing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import event as orm_event
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.context import Context
from app.db import log_failed_round, table, utcnow
from app.events import log as event_log
from app.events.consumers import run_consumer
from app.events.types import WebhookDisabled
from app.health import pressed
from app.leases import Lease, backoff, first, renew
from app.pacing import step_aside
from app.webhooks.events import payload, public_types, subscribed
from app.webhooks.models import DeliveryState, WebhookDelivery, WebhookSubscription
from app.webhooks.service import secrets_in_use, trim_log
from app.webhooks.signing import signature_header
from app.webhooks.urls import UrlRefused, check_destination

log = logging.getLogger(__name__)

CONSUMER = "webhooks"
LEASE = timedelta(seconds=30)
RUN = 20  # deliveries of one webhook claimed together, sent one after another
SNIPPET = 500  # characters of a receiver's answer kept in the delivery log
JITTER = 0.2
USER_AGENT = "Panjereh-Webhooks/1"
TRIM_EVERY_SECONDS = 3600.0
D = WebhookDelivery
S = WebhookSubscription


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    delivery_id: str
    event_type: str
    body: bytes
    attempt: int  # this try's number
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Target:
    """A claimed run: one webhook's deliveries, in order."""

    webhook_id: int
    url: str
    secrets: list[str]
    jobs: list[Job]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # the receiver's answer; None: none came
    snippet: str | None
    latency_ms: int
    error: str | None  # None: delivered
    retry: bool = False  # a failure another try may cure
    retry_after: float | None = None


async def interested(session: AsyncSession, events: Sequence[event_log.Logged]) -> bool:
    """The fan-out's interest: announced events, and a webhook to announce them to."""
    return any(public_types(event) for event in events) and bool(
        await session.scalar(select(S.id).where(S.enabled).limit(1))
    )


class Webhooks:
    """This process's fan-out and delivery worker; `run` runs both until `stop`."""

    def __init__(self, ctx: Context, *, lease: timedelta = LEASE, batch_size: int = 50) -> None:
        self.ctx = ctx
        self.lease = lease
        self.batch_size = batch_size
        # Set after a fan-out commits deliveries, so this process sends them at once.
        self.ready = asyncio.Event()
        # How long the longest-due delivery of the last round had waited (app.pacing).
        self.sending_waited = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(
            run_consumer(self.ctx, CONSUMER, self.fan_out, stop, interest=interested, paced=True),
            self.deliver(stop),
        )

    async def fan_out(self, session: AsyncSession, events: Sequence[event_log.Logged]) -> None:
        """The log consumer's handler: a delivery row per event and subscribed webhook."""
        webhooks = (await session.execute(select(S.id, S.events).where(S.enabled))).all()
        if not webhooks:
            return
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for event in events:
            for event_type in public_types(event):
                body: str | None = None
                for webhook_id, names in webhooks:
                    if not subscribed(names, event_type):
                        continue
                    body = body or payload(event, event_type)
                    rows.append(
                        {
                            "subscription_id": webhook_id,
                            "delivery_id": str(uuid.uuid4()),
                            "event_type": event_type,
                            "event_seq": event.seq,
                            "body": body,
                            "state": DeliveryState.pending,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
        if rows:
            await session.execute(insert(table(D)), rows)
            orm_event.listen(session.sync_session, "after_commit", self._committed, once=True)

    def _committed(self, _session: Session) -> None:
        self.ready.set()

    async def deliver(self, stop: asyncio.Event) -> None:
        """Send until `stop`: at once when this process fans out, else every poll period;
        and trim the delivery log now and then."""
        trimmed_at = 0.0
        busy = False
        while not stop.is_set():
            if time.monotonic() - trimmed_at > TRIM_EVERY_SECONDS:
                trimmed_at = time.monotonic()
                try:
                    await self.trim()
                except Exception as exc:
                    log_failed_round(log, "webhook log trim", exc)
            self.ready.clear()  # before the claim: a fan-out during this round wakes the next
            started = time.monotonic()
            try:
                sent = await self.run_once(busy=busy)
            except Exception as exc:
                log_failed_round(log, "webhook round", exc)
                sent = 0
            busy = pressed()
            if sent:
                await step_aside(time.monotonic() - started, self.sending_waited, stop)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    first(self.ready.wait(), stop.wait()), self.ctx.settings.webhook_poll_seconds
                )

    async def trim(self) -> int:
        retention = timedelta(days=self.ctx.settings.webhook_log_retention_days)
        async with self.ctx.db.write() as session:
            return await trim_log(session, retention)

    async def run_once(self, *, busy: bool = False) -> int:
        """Claim due deliveries (one webhook's if `busy`) and send them; how many were sent
        (or tried)."""
        targets, lease = await self._claim(1 if busy else self.batch_size)
        if not targets:
            return 0
        now = utcnow()
        self.sending_waited = max(
            (now - job.due_at).total_seconds() for target in targets for job in target.jobs
        )
        renewing = asyncio.create_task(renew(self.ctx.db, D.id, D.claimed_until, lease, self.lease))
        try:
            done = await asyncio.gather(*(self._send_run(t, lease, busy=busy) for t in targets))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        return sum(done)

    async def _claim(self, limit: int) -> tuple[list[Target], Lease]:
        now = utcnow()
        lease = Lease(now + self.lease)
        async with self.ctx.db.read() as session:  # most polls find nothing: no write lock
            pending = (
                select(D.id)
                .where(
                    D.subscription_id == S.id,  # the (subscription, state) index
                    D.state == DeliveryState.pending,
                    D.next_attempt_at <= now,
                )
                .exists()
            )
            due = await session.scalar(select(S.id).where(S.enabled, pending).limit(1))
        if due is None:
            return [], lease
        free = or_(D.claimed_until.is_(None), D.claimed_until < now)
        oldest = (
            select(func.min(D.id))
            .where(D.state == DeliveryState.pending)
            .group_by(D.subscription_id)
        )
        async with self.ctx.db.write() as session:
            heads = (
                (
                    await session.execute(
                        select(D.subscription_id)
                        .join(S, S.id == D.subscription_id)
                        .where(D.id.in_(oldest), S.enabled, D.next_attempt_at <= now, free)
                        .order_by(D.next_attempt_at, D.id)
                        .limit(limit)
                        .with_for_update(of=D, skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            if not heads:
                return [], lease
            # Each head with the deliveries waiting behind it; a run stops before one that is
            # not due (a redelivered older one went first and this one waits for its retry).
            ranked = (
                select(
                    D.id,
                    func.row_number()
                    .over(partition_by=D.subscription_id, order_by=D.id)
                    .label("n"),
                )
                .where(D.subscription_id.in_(heads), D.state == DeliveryState.pending)
                .subquery()
            )
            rows = (
                await session.scalars(
                    select(D)
                    .where(D.id.in_(select(ranked.c.id).where(ranked.c.n <= RUN)))
                    .order_by(D.subscription_id, D.id)
                    .with_for_update(of=D)
                )
            ).all()
            webhooks = {w.id: w for w in await session.scalars(select(S).where(S.id.in_(heads)))}
            runs: dict[int, list[Job]] = {}
            stopped: set[int] = set()
            for row in rows:
                taken = runs.setdefault(row.subscription_id, [])
                if (
                    row.subscription_id in stopped
                    or row.next_attempt_at > now
                    or (row.claimed_until is not None and row.claimed_until >= now)
                ):
                    stopped.add(row.subscription_id)
                    continue
                row.claimed_until = lease.until
                lease.held.add(row.id)
                taken.append(
                    Job(
                        row.id,
                        row.delivery_id,
                        row.event_type,
                        row.body.encode(),
                        row.attempts + 1,
                        row.next_attempt_at,
                    )
                )
            targets = [
                Target(
                    webhook_id,
                    webhooks[webhook_id].url,
                    secrets_in_use(self.ctx.secret_box, webhooks[webhook_id], now),
                    jobs,
                )
                for webhook_id, jobs in runs.items()
                if jobs
            ]
        return targets, lease

    async def _send_run(self, target: Target, lease: Lease, *, busy: bool) -> int:
        """Send a webhook's claimed deliveries in order, until one must wait for a retry (the
        rest wait behind it), the claim can no longer be trusted, or (in a round that began
        with time to spare, not `busy`) requests turn short of time; then record them all in
        one transaction. Sent but unrecorded (the worker dies, the database is away), they are
        sent again once the claim runs out: at least once, under the same delivery id."""
        max_attempts = self.ctx.settings.webhook_max_attempts
        tried: list[tuple[Job, Outcome]] = []
        for job in target.jobs:
            if utcnow() >= lease.until:
                break  # not renewed: another worker may have them now
            if tried and not busy and pressed():
                break  # the rest go back; the next round is a busy one's
            outcome = await self._post(target, job)
            tried.append((job, outcome))
            if outcome.error is not None and outcome.retry and job.attempt < max_attempts:
                break
        try:
            await self._record(target, tried, target.jobs[len(tried) :], lease)
        except Exception as exc:  # the lease lapses; the deliveries are tried again
            log_failed_round(log, f"recording webhook {target.webhook_id}'s outcomes", exc)
        finally:
            lease.held.difference_update(job.id for job in target.jobs)
        return len(tried)

    async def _post(self, target: Target, job: Job) -> Outcome:
        settings = self.ctx.settings
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Panjereh-Event": job.event_type,
            "X-Panjereh-Delivery": job.delivery_id,
            "X-Panjereh-Timestamp": timestamp,
            "X-Panjereh-Signature": signature_header(target.secrets, timestamp, job.body),
        }
        started = time.monotonic()

        def took() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            await check_destination(target.url, allow_private=settings.webhooks_may_reach_private)
            async with (
                asyncio.timeout(settings.webhook_timeout_seconds),
                self.ctx.http.stream(
                    "POST",
                    target.url,
                    content=job.body,
                    headers=headers,
                    timeout=settings.webhook_timeout_seconds,
                ) as response,
            ):
                snippet = await _snippet(response)
        except UrlRefused as exc:
            return Outcome(None, None, took(), str(exc))
        except TimeoutError:
            return Outcome(
                None, None, took(), f"no answer within {settings.webhook_timeout_seconds:g} s", True
            )
        except httpx.HTTPError as exc:
            return Outcome(None, None, took(), f"could not reach the URL: {exc!r}"[:SNIPPET], True)
        status = response.status_code
        if response.is_success:
            return Outcome(status, snippet, took(), None)
        retry = status in (408, 425, 429) or status >= 500
        return Outcome(
            status,
            snippet,
            took(),
            f"the receiver answered {status}",
            retry,
            _retry_after(response) if status in (429, 503) else None,
        )

    async def _record(
        self, target: Target, tried: list[tuple[Job, Outcome]], untried: list[Job], lease: Lease
    ) -> None:
        """Write what each try did, and hand back the claimed deliveries not tried."""
        settings = self.ctx.settings
        now = utcnow()
        async with self.ctx.db.write() as session:
            webhook = await session.get(S, target.webhook_id)
            if webhook is None:
                return  # deleted meanwhile, with its deliveries
            deliveries = {
                d.id: d
                for d in await session.scalars(select(D).where(D.id.in_([j.id for j, _ in tried])))
            }
            for job, outcome in tried:
                delivery = deliveries[job.id]
                delivery.attempts = job.attempt
                delivery.response_status = outcome.status
                delivery.response_snippet = outcome.snippet
                delivery.latency_ms = outcome.latency_ms
                delivery.error = outcome.error
                delivery.claimed_until = None
                if outcome.error is None:
                    delivery.state = DeliveryState.delivered
                    delivery.finished_at = now
                    webhook.failing_since = None
                    continue
                log.info("webhook %s delivery %s: %s", webhook.id, job.id, outcome.error)
                if outcome.retry and job.attempt < settings.webhook_max_attempts:
                    delay = outcome.retry_after
                    if delay is None:
                        delay = backoff(
                            job.attempt,
                            base=settings.webhook_backoff_base_seconds,
                            cap=settings.webhook_backoff_cap_seconds,
                            factor=3,
                            jitter=JITTER,
                        )
                    delivery.next_attempt_at = now + timedelta(seconds=delay)
                else:
                    delivery.state = DeliveryState.failed
                    delivery.finished_at = now
                self._failed(session, webhook, now)
            if untried:
                await session.execute(
                    update(D)
                    .where(D.id.in_([j.id for j in untried]), D.claimed_until == lease.until)
                    .values(claimed_until=None)
                )

    def _failed(self, session: AsyncSession, webhook: WebhookSubscription, now: datetime) -> None:
        """Count a failure towards disabling the webhook, and disable it when due."""
        if webhook.failing_since is None:
            webhook.failing_since = now
            return
        failing = now - webhook.failing_since
        if not webhook.enabled or failing < timedelta(
            hours=self.ctx.settings.webhook_disable_after_hours
        ):
            return
        webhook.enabled = False
        webhook.disabled_reason = (
            f"every delivery failed for {failing.total_seconds() / 3600:.0f} hours "
            f"(since {webhook.failing_since:%Y-%m-%d %H:%M} UTC)"
        )
        event_log.record(
            session,
            WebhookDisabled(
                webhook_id=webhook.id,
                description=webhook.description,
                reason=webhook.disabled_reason,
            ),
            event_log.Scope(),
        )
        log.warning("webhook %s disabled: %s", webhook.id, webhook.disabled_reason)


async def _snippet(response: httpx.Response) -> str:
    """The start of the answer; the rest is not read."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= SNIPPET:
            break
    return data[:SNIPPET].decode("utf-8", "replace")


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, or as an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
