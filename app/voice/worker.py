"""The voice jobs of a worker process: close calls left ringing, fetch recordings. Never
inside a webhook request: Twilio waits on those, the caller on the line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from app.context import Context
from app.db import log_failed_round, utcnow
from app.inboxes.models import Inbox
from app.inboxes.service import channel_config
from app.voice import service
from app.voice.models import Call
from connectors.voice.client import MediaRefused, VoiceClient
from connectors.voice.config import VoiceConfig

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


async def _config(ctx: Context, inbox_id: int) -> VoiceConfig | None:
    async with ctx.db.read() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None:
        return None
    config = channel_config(inbox, ctx.secret_box)
    return config if isinstance(config, VoiceConfig) else None


async def sweep(ctx: Context, now: datetime | None = None) -> int:
    """Close the calls left ringing (see service.ringing_too_long) as missed."""
    now = now or utcnow()
    async with ctx.db.write() as session:
        calls = await service.ringing_too_long(session, now)
        for call in calls:
            inbox = await session.get(Inbox, call.inbox_id)
            config = channel_config(inbox, ctx.secret_box) if inbox else None
            due = service.due_after_miss(config, now) if isinstance(config, VoiceConfig) else now
            await service.close_unanswered(session, call, now=now, due_at=due)
    return len(calls)


async def fetch_recordings(ctx: Context) -> int:
    """Download the recordings Twilio announced and attach them to their call items."""
    async with ctx.db.write() as session:
        claimed = [
            (c.id, c.inbox_id, c.recording_url or "", c.recording_attempts)
            for c in await service.claim_recordings(session, utcnow(), LEASE)
        ]
    for call_id, inbox_id, url, attempts in claimed:
        sha256: str | None = None
        size: int | None = None
        note: str | None = None
        final = True
        config = await _config(ctx, inbox_id)
        if config is None:
            note = "not downloaded: the voice inbox is gone"
        else:
            try:
                data = await VoiceClient(config, ctx.http).recording(
                    url, limit=ctx.settings.max_attachment_bytes
                )
            except MediaRefused as exc:
                note = f"not downloaded: {exc}"
            except httpx.HTTPError as exc:
                note = f"not downloaded: Twilio could not be reached ({type(exc).__name__})"
                final = attempts >= MAX_ATTEMPTS
            else:
                sha256 = await asyncio.to_thread(ctx.files.put, data)
                size = len(data)
        if note:
            log.warning("call %d: recording %s", call_id, note)
        async with ctx.db.write() as session:
            call = await session.scalar(select(Call).where(Call.id == call_id).with_for_update())
            if call is not None:
                await service.attach_recording(
                    session, call, sha256=sha256, size=size, note=note, final=final
                )
    return len(claimed)


async def run_voice_jobs(ctx: Context, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sweep(ctx)
            while await fetch_recordings(ctx):
                pass
        except Exception as exc:
            log_failed_round(log, "voice jobs", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
