"""Periodic jobs: wake snoozed conversations, announce due callbacks and SLA warnings and
breaches, trim the event log and the audit log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import select

from app.audit import service as audit
from app.callbacks import service as callbacks
from app.context import Context
from app.db import log_failed_round, utcnow
from app.events import log as event_log
from app.sla import service as sla
from app.tickets.messages import delete_stale_uploads
from app.tickets.models import Conversation, Status
from app.tickets.service import record_conversation_change

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 10.0  # how late a snooze ends or a callback window is announced, at most
RETENTION_EVERY = 360  # rounds: about once an hour
UNUSED_UPLOAD_AGE = timedelta(days=1)


async def wake_snoozed(ctx: Context) -> int:
    async with ctx.db.write() as session:
        due = (
            await session.scalars(
                select(Conversation)
                .where(
                    Conversation.status == Status.snoozed, Conversation.snoozed_until <= utcnow()
                )
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for conversation in due:
            conversation.status = Status.open
            conversation.snoozed_until = None
            conversation.updated_at = utcnow()
            conversation.last_activity_at = utcnow()
            await session.flush()
            await record_conversation_change(session, conversation, ["status"])
    return len(due)


async def announce_callbacks(ctx: Context) -> int:
    async with ctx.db.write() as session:
        return await callbacks.announce_due(session, utcnow())


async def announce_sla(ctx: Context) -> int:
    async with ctx.db.write() as session:
        return await sla.announce_due(session, utcnow())


async def trim_events(ctx: Context) -> int:
    async with ctx.db.write() as session:
        return await event_log.delete_older_than(session, ctx.settings.event_retention_days)


async def trim_audit(ctx: Context) -> int:
    async with ctx.db.write() as session:
        return await audit.delete_older_than(session, ctx.settings.audit_retention_days)


async def drop_unused_uploads(ctx: Context) -> int:
    async with ctx.db.write() as session:
        return await delete_stale_uploads(session, UNUSED_UPLOAD_AGE)


async def run_maintenance(ctx: Context, stop: asyncio.Event) -> None:
    rounds = 0
    while not stop.is_set():
        try:
            await wake_snoozed(ctx)
            await announce_callbacks(ctx)
            await announce_sla(ctx)
            if rounds % RETENTION_EVERY == 0:
                trimmed = await trim_events(ctx)
                if trimmed:
                    log.info("trimmed %d events older than retention", trimmed)
                await drop_unused_uploads(ctx)
                await trim_audit(ctx)
        except Exception as exc:
            log_failed_round(log, "maintenance round", exc)
        rounds += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_SECONDS)
