"""`POST /api/v1/callbacks/{public_token}` from the outside, and the agents' queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.callbacks.models import CallbackRequest
from app.contacts.models import ContactIdentity
from app.events.models import EventRow
from app.outbound.maintenance import announce_callbacks
from app.tickets.models import Conversation, Message
from tests.support.api import Api, create_api_inbox
from tests.support.app import Running
from tests.support.callbacks import SITE, ask, create_callback_inbox


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_a_request_reaches_the_queue_as_the_same_contact_as_their_sms(
    running: Running, admin: Api
) -> None:
    shop = await create_api_inbox(admin)
    texted = await running.client.post(
        f"/api/v1/inboxes/{shop.id}/incoming",
        json={
            "external_id": "order-question-1",
            "sender": {"id": "c-9", "phone": "+989121234567"},
            "text": "where is my order?",
        },
        headers={"X-Api-Key": shop.api_key},
    )
    assert texted.status_code == 201, texted.text
    inbox = await create_callback_inbox(admin)

    response = await ask(
        running,
        inbox["public_token"],
        preferred_from=in_hours(2),
        preferred_to=in_hours(3),
        note="about order 1042",
        page_url="https://shop.example/orders/1042",
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "requested"
    assert created["phone_e164"] == "+989121234567"  # a local number, read in the region
    assert response.headers["access-control-allow-origin"] == SITE
    queue = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert [c["id"] for c in queue] == [created["id"]]
    callback = queue[0]
    assert callback["note"] == "about order 1042"
    async with running.ctx.db.read() as session:
        identity = await session.scalar(
            select(ContactIdentity).where(ContactIdentity.address == "+989121234567")
        )
        conversation = await session.get(Conversation, callback["conversation_id"])
        messages = (
            await session.scalars(
                select(Message).where(Message.conversation_id == callback["conversation_id"])
            )
        ).all()
    assert identity is not None
    assert callback["contact_id"] == identity.contact_id
    assert conversation is not None
    assert conversation.inbox_id == inbox["id"]
    assert conversation.contact_id == identity.contact_id
    assert "Sara Rahimi" in messages[0].body_text
    assert "+989121234567" in messages[0].body_text
    assert "about order 1042" in messages[0].body_text
    contact = (await admin.get(f"/api/v1/contacts/{identity.contact_id}")).json()
    assert {c["channel"] for c in contact["conversations"]} == {"api", "callback"}


def assert_read_as(response: Any, expected: str | None) -> None:
    """The request was taken with the number read as `expected`, or refused (None)."""
    if expected is None:
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_phone"
    else:
        assert response.status_code == 201, response.text
        assert response.json()["phone_e164"] == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("09121234567", "+989121234567"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("0044 20 7946 0958", "+442079460958"),  # dialled from Iran: 00 is the way out
        ("+98 912", None),
        ("+999 1234567", None),
    ],
)
async def test_phone_numbers_are_normalized_or_refused(
    running: Running, admin: Api, phone: str, expected: str | None
) -> None:
    inbox = await create_callback_inbox(admin)
    response = await ask(running, inbox["public_token"], phone=phone)
    assert_read_as(response, expected)


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("Asia/Tehran", "+989121234567"),  # a visitor in Iran dialled an Iranian number
        ("Europe/Berlin", "+499121234567"),  # the same digits, dialled in Germany
        ("UTC", None),  # no country: the number needs its +country
    ],
)
async def test_without_a_region_a_local_number_is_read_in_the_visitors_country(
    running: Running, admin: Api, timezone: str, expected: str | None
) -> None:
    inbox = await create_callback_inbox(admin, default_region=None, timezone="UTC")
    response = await ask(running, inbox["public_token"], phone="0912 123 4567", timezone=timezone)
    assert_read_as(response, expected)


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"phone": "12"}, "This phone number is not valid; please check it."),
        ({"phone": "hello"}, "This does not look like a phone number."),
        ({"name": "   "}, "name: must not be blank"),
        (
            {"preferred_from": in_hours(2), "preferred_to": "9999-12-31T23:59:59+00:00"},
            "Please pick a time within the next 30 days.",
        ),
        (
            {"preferred_from": in_hours(-3), "preferred_to": in_hours(-2)},
            "Please pick a time in the future.",
        ),
        (
            {"preferred_from": in_hours(3), "preferred_to": in_hours(2)},
            "The end of the time must be after its start.",
        ),
        ({"preferred_from": in_hours(24 * 90)}, "Please pick a time within the next 30 days."),
        (
            {"timezone": "Mars/Olympus"},
            "The timezone Mars/Olympus is not known (an IANA name, such as Asia/Tehran).",
        ),
        (
            {"preferred_from": "0001-01-01T00:00:00"},
            "This date is out of range; please pick another.",
        ),
        (
            {"preferred_from": "9999-12-31T23:59:59+00:00"},
            "Please pick a time within the next 30 days.",
        ),
        (
            {"preferred_to": "0001-01-01T00:30:00+00:00"},
            "The end of the time must be after its start.",
        ),
    ],
)
async def test_bad_requests_get_a_plain_sentence_and_store_nothing(
    running: Running, admin: Api, window: dict[str, str], message: str
) -> None:
    inbox = await create_callback_inbox(admin)
    response = await ask(running, inbox["public_token"], **window)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == message
    assert (await admin.get("/api/v1/callbacks")).json()["items"] == []


async def test_a_confirming_inbox_id_that_is_no_sms_inbox_is_refused_at_setup(
    running: Running, admin: Api
) -> None:
    other = await create_callback_inbox(admin)
    # Ids no inbox can have; one no inbox has; an inbox that sends no SMS.
    for inbox_id in (0, -1, 2**31, 2**70, 999_999, other["id"]):
        response = await admin.post(
            "/api/v1/inboxes",
            json={
                "kind": "callback",
                "name": "Call me back",
                "config": {"confirm_by_sms_inbox_id": inbox_id},
            },
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_config"
    changed = await admin.patch(
        f"/api/v1/inboxes/{other['id']}", json={"config": {"confirm_by_sms_inbox_id": 999_999}}
    )
    assert changed.status_code == 422, changed.text
    assert changed.json()["detail"] == "config.confirm_by_sms_inbox_id: no SMS inbox has this id"
    assert [i["id"] for i in (await admin.get("/api/v1/inboxes")).json()] == [other["id"]]


async def test_business_hours_and_the_visitors_wall_clock(running: Running, admin: Api) -> None:
    every_day = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "09:00-17:00")
    inbox = await create_callback_inbox(admin, business_hours=every_day)
    # Two days ahead, so 03:00 in Tehran (23:30 UTC the day before) is in the future
    # whatever the hour of the run.
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    # Wall-clock times (no offset) are read in the visitor's timezone: 03:00–04:00 in
    # Tehran is closed, 10:00–11:00 is open.
    closed = await ask(
        running,
        inbox["public_token"],
        preferred_from=f"{day}T03:00:00",
        preferred_to=f"{day}T04:00:00",
        timezone="Asia/Tehran",
    )
    assert closed.status_code == 422
    assert "outside business hours" in closed.json()["detail"]
    open_ = await ask(
        running,
        inbox["public_token"],
        preferred_from=f"{day}T10:00:00",
        preferred_to=f"{day}T11:00:00",
        timezone="Asia/Tehran",
    )
    assert open_.status_code == 201, open_.text
    (callback,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert callback["preferred_from"] == f"{day}T06:30:00Z"  # Tehran is UTC+3:30
    assert callback["timezone"] == "Asia/Tehran"


async def test_origin_is_enforced(running: Running, admin: Api) -> None:
    inbox = await create_callback_inbox(admin)
    token = inbox["public_token"]
    stranger = await ask(running, token, origin="https://evil.example")
    assert stranger.status_code == 403
    assert stranger.json()["code"] == "origin_not_allowed"
    preflight = await running.client.options(
        f"/api/v1/callbacks/{token}",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE
    refused = await running.client.options(
        f"/api/v1/callbacks/{token}", headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    # A site's own server posting its form sends no Origin at all.
    assert (await ask(running, token, origin=None)).status_code == 201
    assert (await ask(running, "no-such-token")).status_code == 404


async def test_duplicates_merge_and_the_honeypot_stores_nothing(
    running: Running, admin: Api
) -> None:
    inbox = await create_callback_inbox(admin)
    token = inbox["public_token"]
    bot = await ask(running, token, phone="+14155552671", website="http://spam.example")
    assert bot.status_code == 422
    assert bot.json()["code"] == "rejected"
    first = await ask(running, token, note="first")
    again = await ask(running, token, phone="+98 912 123 4567", note="second")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == {**first.json(), "merged": True}
    (callback,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert callback["note"] == "first\nsecond"


async def test_rate_limits_answer_429_with_retry_after(running: Running, admin: Api) -> None:
    inbox = await create_callback_inbox(admin)
    token = inbox["public_token"]
    statuses = [
        (await ask(running, token, phone=f"+1415555{2671 + i:04d}")).status_code for i in range(11)
    ]
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429
    limited = await ask(running, token, phone="+14155550000")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


async def test_per_number_limit(running: Running, admin: Api) -> None:
    inbox = await create_callback_inbox(admin)
    token = inbox["public_token"]
    # Mistyped windows are refused without using up the number's requests.
    backwards = {"preferred_from": "2030-01-02T10:00:00", "preferred_to": "2030-01-02T09:00:00"}
    mistyped = [(await ask(running, token, **backwards)).status_code for _ in range(3)]
    assert mistyped == [422] * 3
    statuses = [(await ask(running, token)).status_code for _ in range(4)]
    assert statuses == [201, 200, 200, 429]


async def test_due_and_missed_are_announced_once_and_the_queue_has_views(
    running: Running, admin: Api
) -> None:
    inbox = await create_callback_inbox(admin)
    token = inbox["public_token"]
    now_ = (await ask(running, token, phone="+14155552671")).json()["id"]
    later = (
        await ask(
            running,
            token,
            phone="+14155552672",
            preferred_from=in_hours(5),
            preferred_to=in_hours(6),
        )
    ).json()["id"]
    missed = (await ask(running, token, phone="+14155552673")).json()["id"]
    async with running.ctx.db.write() as session:
        row = await session.get(CallbackRequest, missed)
        assert row is not None
        row.due_at = row.missed_after = datetime.now(UTC) - timedelta(hours=2)

    assert await announce_callbacks(running.ctx) == 2
    assert await announce_callbacks(running.ctx) == 0  # each fires once
    async with running.ctx.db.read() as session:
        due = (await session.scalars(select(EventRow).where(EventRow.type == "callback.due"))).all()
    assert sorted((e.data["callback"]["id"], e.data["missed"]) for e in due) == [
        (now_, False),
        (missed, True),
    ]

    async def view(name: str) -> list[int]:
        response = await admin.get("/api/v1/callbacks", params={"view": name})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await view("due_now") == [now_]
    assert await view("overdue") == [missed]
    assert await view("scheduled") == [later]
    too_late = await admin.patch(
        f"/api/v1/callbacks/{later}", json={"scheduled_at": "9999-12-31T23:59:59Z"}
    )
    assert too_late.status_code == 422
    assert too_late.json()["detail"] == "scheduled_at: must be within the next year"
    done = await admin.patch(
        f"/api/v1/callbacks/{now_}", json={"status": "completed", "outcome_note": "sorted"}
    )
    assert done.status_code == 200, done.text
    assert await view("done") == [now_]


async def test_no_answer_suggests_a_retry_in_business_hours_and_is_logged(
    running: Running, admin: Api
) -> None:
    weekdays = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00")
    inbox = await create_callback_inbox(admin, business_hours=weekdays, timezone="UTC")
    created = await ask(running, inbox["public_token"], origin=None)
    callback_id = created.json()["id"]
    response = await admin.patch(
        f"/api/v1/callbacks/{callback_id}",
        json={"status": "no_answer", "outcome_note": "voicemail"},
    )
    assert response.status_code == 200, response.text
    suggested = datetime.fromisoformat(response.json()["retry_suggested_at"])
    assert suggested >= datetime.now(UTC) + timedelta(hours=2) - timedelta(minutes=1)
    assert suggested.weekday() < 5
    assert 9 <= suggested.hour < 17
    conversation_id = response.json()["conversation_id"]
    thread = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    (line,) = [m for m in thread["items"] if m["direction"] == "activity"]
    assert "no answer" in line["body_text"]
    assert "voicemail" in line["body_text"]
    assert line["metadata"]["activity"] == {
        "action": "callback",
        "changes": [
            {"change": "status", "status": "no_answer"},
            {"change": "retry_suggested", "at": suggested.isoformat()},
            {"change": "note", "note": "voicemail"},
        ],
    }


async def test_a_callback_id_that_is_no_number_is_the_public_forms_path(
    running: Running, admin: Api
) -> None:
    # `/api/v1/callbacks/{x}` is a visitor's form (POST, x a token) or an agent's callback
    # (PATCH, x an id): PATCH on a token is a method that path does not have.
    for path in ("abc", "-1", "1.5"):
        response = await admin.patch(f"/api/v1/callbacks/{path}", json={"status": "completed"})
        assert response.status_code == 405, (path, response.text)
    missing = await admin.patch("/api/v1/callbacks/2147483647", json={"status": "completed"})
    assert missing.status_code == 404, missing.text


def pattern_of(schema: dict[str, Any], model: str, field: str) -> str:
    prop = schema["components"]["schemas"][model]["properties"][field]
    (pattern,) = {p["pattern"] for p in [prop, *prop.get("anyOf", [])] if "pattern" in p}
    return str(pattern)


async def test_the_schema_says_what_a_phone_number_and_an_address_must_look_like(
    running: Running, admin: Api
) -> None:
    schema = (await running.client.get("/openapi.json")).json()
    phone = pattern_of(schema, "CallbackRequestIn", "phone")
    assert phone == pattern_of(schema, "IncomingSender", "phone")
    email = pattern_of(schema, "IncomingSender", "email")
    # The patterns are what the server enforces: what it accepts matches them, and what
    # does not match them is refused.
    inbox = await create_callback_inbox(admin)
    for accepted in ("0912 123 4567", "+98 ۹۱۲ ۱۲۳ ۴۵۶۷", "tel:+989121234567"):
        assert re.search(phone, accepted)
        assert (await ask(running, inbox["public_token"], phone=accepted)).status_code < 300
    for refused in ("no digits", "+", "(--)"):
        assert not re.search(phone, refused)
        assert (await ask(running, inbox["public_token"], phone=refused)).status_code == 422
    # An agent's own phone: one, or nothing to remove it.
    own = pattern_of(schema, "MeUpdate", "phone")
    for value, ok in (("+98 912 123 4567", True), ("", True), ("none", False)):
        assert bool(re.search(own, value)) is ok
        response = await admin.patch("/api/v1/auth/me", json={"phone": value})
        assert (response.status_code == 200) is ok, response.text
    shop = await create_api_inbox(admin)
    for n, (address, ok) in enumerate(
        [("sara@example.com", True), ("<sara@example.com>", True), ("sara.example.com", False)]
    ):
        assert bool(re.search(email, address)) is ok
        response = await running.client.post(
            f"/api/v1/inboxes/{shop.id}/incoming",
            json={"external_id": f"e{n}", "sender": {"id": "s", "email": address}, "text": "hi"},
            headers={"X-Api-Key": shop.api_key},
        )
        assert (response.status_code == 201) is ok, response.text
