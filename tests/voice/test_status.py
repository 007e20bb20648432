"""Status callbacks are merged, not applied in arrival order: any order, any number of
repeats, the same call row; a call left ringing is closed by the sweeper."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.voice.models import Call
from app.voice.worker import sweep
from tests.support.api import Api
from tests.support.fakes.twilio import sid
from tests.support.voice import AGENT_PHONES, VoiceInbox, call_item, dial, status

_FACTS = (
    "state",
    "twilio_status",
    "answered_at",
    "ended_at",
    "talk_seconds",
    "agent_number",
    "last_sequence",
    "callback_request_id",
)


async def _row(inbox: VoiceInbox, call_sid: str) -> dict[str, Any]:
    async with inbox.running.ctx.db.read() as session:
        call = await session.scalar(select(Call).where(Call.call_sid == call_sid))
    assert call is not None
    return {name: getattr(call, name) for name in _FACTS}


async def _answered_call(inbox: VoiceInbox) -> tuple[str, list[tuple[str, dict[str, str]]]]:
    """A call an agent answered, and every callback Twilio sends about it after the first."""
    call_sid, _ = await inbox.call()
    start = datetime.now(UTC).replace(microsecond=0)
    leg = sid("CA")
    return call_sid, [
        (
            "status",
            status(leg, "ringing", at=start, sequence=0, parent=call_sid, to=AGENT_PHONES[0]),
        ),
        (
            "status",
            status(
                leg,
                "in-progress",
                at=start + timedelta(seconds=4),
                sequence=1,
                parent=call_sid,
                to=AGENT_PHONES[0],
            ),
        ),
        (
            "status",
            status(
                leg,
                "completed",
                at=start + timedelta(seconds=64),
                sequence=2,
                parent=call_sid,
                to=AGENT_PHONES[0],
            ),
        ),
        ("dial", dial(call_sid, "completed", talk_seconds=60)),
        ("status", status(call_sid, "in-progress", at=start, sequence=0)),
        (
            "status",
            status(
                call_sid,
                "completed",
                at=start + timedelta(seconds=65),
                sequence=1,
                CallDuration="65",
            ),
        ),
    ]


async def test_every_callback_replayed_three_times_in_any_order_gives_the_same_row(
    inbox: VoiceInbox, admin: Api
) -> None:
    rows = []
    for seed in range(3):
        call_sid, callbacks = await _answered_call(inbox)
        replayed = callbacks * 3
        random.Random(seed).shuffle(replayed)
        for endpoint, form in replayed:
            response = await inbox.post(endpoint, form)
            assert response.status_code == 200, response.text
        row = await _row(inbox, call_sid)
        rows.append(row)
        item = await call_item(admin, inbox.id, call_sid)
        assert item["metadata"]["call"]["state"] == "completed"
        assert item["metadata"]["call"]["talk_seconds"] == 60
        assert item["metadata"]["call"]["agent_number"] == AGENT_PHONES[0]
    for row in rows:
        assert row["state"] == "completed"
        assert row["twilio_status"] == "completed"
        assert row["talk_seconds"] == 60
        assert row["last_sequence"] == 1
        assert row["callback_request_id"] is None
        assert (row["ended_at"] - row["answered_at"]) == timedelta(seconds=61)


async def test_the_sweeper_closes_a_call_left_ringing_as_missed(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    assert await sweep(inbox.running.ctx) == 0  # still ringing, within the limit
    assert await sweep(inbox.running.ctx, datetime.now(UTC) + timedelta(seconds=91)) == 1
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["state"] == "missed"
    assert item["metadata"]["call"]["callback_request_id"] is not None
    assert await sweep(inbox.running.ctx, datetime.now(UTC) + timedelta(seconds=200)) == 0


async def test_a_caller_who_hangs_up_while_ringing_is_a_missed_call(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    ended = datetime.now(UTC)
    await inbox.post("status", status(call_sid, "completed", at=ended, sequence=1))
    # Twilio's <Dial> outcome may still be on its way: not missed yet...
    assert (await call_item(admin, inbox.id, call_sid))["metadata"]["call"]["state"] == "ringing"
    # ...but once it is clearly not coming, it is.
    assert await sweep(inbox.running.ctx, ended + timedelta(seconds=6)) == 1
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["state"] == "missed"
    assert len((await admin.get("/api/v1/callbacks")).json()["items"]) == 1


async def test_a_call_that_rang_while_its_voice_url_failed_is_a_missed_call(
    inbox: VoiceInbox, admin: Api
) -> None:
    """The Voice URL failed while the customer called (the server or its database down;
    Twilio played the fallback): the call's final status is all that reaches us, and it
    is stored as the missed call it was, once however often Twilio repeats it."""
    call_sid = sid("CA")
    ended = datetime.now(UTC)
    final = status(call_sid, "completed", at=ended, sequence=1, Direction="inbound")
    for _ in range(2):
        answer = await inbox.post("status", final)
        assert answer.status_code == 200, answer.text
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["state"] == "missed"
    assert (await _row(inbox, call_sid))["ended_at"] == ended.replace(microsecond=0)
    (callback,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert callback["id"] == item["metadata"]["call"]["callback_request_id"]
    # A leg it rang, or a call placed from here, unknown: nothing to store.
    leg = status(sid("CA"), "completed", at=ended, sequence=1, parent=sid("CA"))
    assert (await inbox.post("status", leg)).status_code == 200
    assert len((await admin.get("/api/v1/callbacks")).json()["items"]) == 1


async def test_a_timestamp_at_the_calendars_edge_is_the_time_of_arrival(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    form = status(call_sid, "completed", at=datetime.now(UTC), sequence=1)
    form["Timestamp"] = "Fri, 31 Dec 9999 23:59:59 -1200"  # past year 9999 in UTC
    response = await inbox.post("status", form)
    assert response.status_code == 200, response.text
    ended = (await call_item(admin, inbox.id, call_sid))["metadata"]["call"]["ended_at"]
    assert str(ended).startswith(str(datetime.now(UTC).year))
