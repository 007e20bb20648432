"""A voice inbox wired to the local Twilio fake, and Twilio's side of the webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.twilio import FakeTwilio, running_twilio
from tests.support.voice import VoiceInbox, create_voice_inbox


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with running_twilio() as fake:
        yield fake


@pytest.fixture
async def inbox(running: Running, admin: Api, twilio: FakeTwilio) -> VoiceInbox:
    return VoiceInbox(await create_voice_inbox(admin, twilio), running, twilio)
