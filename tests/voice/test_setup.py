"""Setting up a voice inbox, and the live events a call's life records."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from app.events.models import EventRow
from tests.support.api import Api, assert_error
from tests.support.fakes.twilio import FakeTwilio, sid
from tests.support.voice import (
    AGENT_PHONES,
    OUR_NUMBER,
    VoiceInbox,
    create_voice_inbox,
    dial,
    status,
)


async def test_agents_phones_are_read_in_any_digits_and_kept_in_e164(
    admin: Api, twilio: FakeTwilio
) -> None:
    inbox_id = await create_voice_inbox(
        admin, twilio, agent_numbers=["+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷", "+1 (415) 555-0101", "+989121234567"]
    )
    shown = (await admin.get(f"/api/v1/inboxes/{inbox_id}")).json()
    assert shown["config"]["agent_numbers"] == ["+989121234567", "+14155550101"]
    assert "auth_token" in shown["secrets_set"]


async def test_settings_that_cannot_work_are_refused(admin: Api, twilio: FakeTwilio) -> None:
    base = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "number": "+14155550143",
    }
    for wrong in (
        {"agent_numbers": [f"+1415555{n:04d}" for n in range(100, 111)]},  # Dial rings 10
        {"agent_numbers": ["0912 123"]},
        {"number": "not a number"},
        {"timezone": "Mars/Olympus"},
        {"business_hours": {"mon": "17:00-09:00"}},
        {"ring_timeout_seconds": 1},
    ):
        response = await admin.post(
            "/api/v1/inboxes", json={"kind": "voice", "name": "Phone", "config": base | wrong}
        )
        assert_error(response, 422)


async def _create(admin: Api, twilio: FakeTwilio, **config: str) -> httpx.Response:
    values = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "api_base_url": twilio.url,
        "number": OUR_NUMBER,
        **config,
    }
    return await admin.post(
        "/api/v1/inboxes", json={"kind": "voice", "name": "Phone", "config": values}
    )


async def test_credentials_are_checked_with_twilio_before_saving(
    admin: Api, twilio: FakeTwilio
) -> None:
    refused = await _create(admin, twilio, auth_token="not-the-token")
    body = assert_error(refused, 422, "channel_setup_failed")
    assert body["detail"] == (
        "Twilio refused these credentials: check the Account SID and Auth Token "
        "(Twilio console → Account info)"
    )
    assert [c.path for c in twilio.calls] == [f"/2010-04-01/Accounts/{twilio.account_sid}.json"]
    inboxes = await admin.get("/api/v1/inboxes")
    assert [i for i in inboxes.json() if i["kind"] == "voice"] == []


async def test_a_number_of_another_account_is_refused(admin: Api, twilio: FakeTwilio) -> None:
    refused = await _create(admin, twilio, number="+1 212 555 0199")
    body = assert_error(refused, 422, "channel_setup_failed")
    assert body["detail"] == (
        "number: +12125550199 is not a phone number of this Twilio account "
        "(Twilio console → Phone Numbers → Active numbers)"
    )

    created = await _create(admin, twilio)
    assert created.status_code == 201, created.text
    inbox_id = created.json()["id"]
    moved = await admin.patch(
        f"/api/v1/inboxes/{inbox_id}", json={"config": {"number": "+12125550199"}}
    )
    assert_error(moved, 422, "channel_setup_failed")
    shown = await admin.get(f"/api/v1/inboxes/{inbox_id}")
    assert shown.json()["config"]["number"] == OUR_NUMBER

    twilio.numbers.append("+12125550199")  # bought the number
    moved = await admin.patch(
        f"/api/v1/inboxes/{inbox_id}", json={"config": {"number": "+12125550199"}}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["config"]["number"] == "+12125550199"


async def test_a_calls_life_is_announced_live(inbox: VoiceInbox, admin: Api) -> None:
    call_sid, _ = await inbox.call()
    now = datetime.now(UTC)
    leg = status(sid("CA"), "in-progress", at=now, sequence=0, parent=call_sid, to=AGENT_PHONES[0])
    await inbox.post("status", leg)
    await inbox.post("dial", dial(call_sid, "completed", talk_seconds=5))
    missed_sid, _ = await inbox.call()
    await inbox.post("dial", dial(missed_sid, "no-answer"))

    async with inbox.running.ctx.db.read() as session:
        rows = (
            await session.scalars(
                select(EventRow).where(EventRow.type.like("call.%")).order_by(EventRow.seq)
            )
        ).all()
    assert [(r.type, r.data["call"]["customer_number"]) for r in rows] == [
        ("call.ringing", "+12125550178"),
        ("call.answered", "+12125550178"),
        ("call.ended", "+12125550178"),
        ("call.ringing", "+12125550178"),
        ("call.missed", "+12125550178"),
    ]
    assert all(r.inbox_id == inbox.id for r in rows)
