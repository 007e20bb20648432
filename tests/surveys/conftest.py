"""The providers a survey goes out through: the Twilio and Telegram fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.telegram import FakeTelegram, fake_telegram
from tests.support.fakes.twilio import FakeTwilio, running_twilio
from tests.support.sms import SmsInbox, create_sms_inbox
from tests.support.telegram import TOKEN


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with running_twilio() as fake:
        yield fake


@pytest.fixture
async def sms_inbox(running: Running, admin: Api, twilio: FakeTwilio) -> SmsInbox:
    return SmsInbox(await create_sms_inbox(admin, twilio), running, twilio)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with fake_telegram(TOKEN) as fake:
        yield fake
