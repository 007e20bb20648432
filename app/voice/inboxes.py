"""A voice inbox as its webhooks use it: settings decrypted and validated, business hours
parsed and the incoming-call TwiML built once per version of the inbox, not per request.

A request still reads the inbox's row (one primary-key read): the cached entry is used
only while the stored settings are exactly those it was built from, so a change made in
any process is seen by the next call, and a disabled inbox answers no more calls, with no
invalidation to forget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.crypto import SecretBox
from app.db import Database
from app.hours.schedule import Schedule
from app.inbound.ingest import InboxRef
from app.inboxes.models import Inbox, InboxKind
from app.inboxes.service import channel_config
from app.voice.hours import schedule_of
from connectors.voice import twiml
from connectors.voice.config import VoiceConfig

BASE = "/webhooks/twilio/{inbox_id}/voice"


@dataclass(frozen=True, slots=True)
class VoiceInbox:
    id: int
    config: VoiceConfig
    schedule: Schedule
    urls: twiml.VoiceUrls
    # The TwiML of an incoming call, by whether agents can take it now (built when first used).
    _answers: dict[bool, str] = field(default_factory=dict)

    @property
    def ref(self) -> InboxRef:
        return InboxRef(self.id, InboxKind.voice)

    def takes_calls(self, at: datetime) -> bool:
        """Open at `at`, with some phone to ring."""
        return bool(self.config.agent_numbers) and self.schedule.is_open(at)

    def answer(self, *, open_now: bool) -> str:
        if open_now not in self._answers:
            self._answers[open_now] = twiml.answer(self.config, self.urls, open_now=open_now)
        return self._answers[open_now]


# What an entry was built from: the public URL and the stored settings, secrets sealed.
_Version = tuple[str, dict[str, Any], str | None]


class VoiceInboxes:
    """The enabled voice inboxes this process has answered calls for, by id."""

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._known: dict[int, tuple[_Version, VoiceInbox]] = {}

    async def get(
        self, db: Database, box: SecretBox, public_url: str, inbox_id: int
    ) -> VoiceInbox | None:
        async with db.read() as session:
            row = (
                await session.execute(
                    select(Inbox.config, Inbox.secrets_encrypted).where(
                        Inbox.id == inbox_id,
                        Inbox.kind == InboxKind.voice,
                        Inbox.enabled.is_(True),
                    )
                )
            ).first()
        if row is None:
            self._known.pop(inbox_id, None)
            return None
        version: _Version = (public_url, row[0], row[1])
        known = self._known.get(inbox_id)
        if known is not None and known[0] == version:
            return known[1]
        inbox = Inbox(id=inbox_id, kind=InboxKind.voice, config=row[0], secrets_encrypted=row[1])
        config = channel_config(inbox, box)
        if not isinstance(config, VoiceConfig):  # pragma: no cover - the kind decides
            raise TypeError(type(config))
        entry = VoiceInbox(
            id=inbox_id,
            config=config,
            schedule=schedule_of(config),
            urls=twiml.VoiceUrls(public_url.rstrip("/") + BASE.format(inbox_id=inbox_id)),
        )
        if len(self._known) >= self._limit:
            self._known.clear()  # bounded; rebuilt on the next calls
        self._known[inbox_id] = (version, entry)
        return entry


# One per process: an entry is keyed by what it was built from, so apps sharing the process
# (tests) cannot see each other's settings.
voice_inboxes = VoiceInboxes()
