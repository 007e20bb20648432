"""Business hours through the API, and the callback form checking windows against them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.api import Api, assert_error, create_agent, create_api_inbox
from tests.support.app import Running
from tests.support.callbacks import ask, create_callback_inbox

IRANIAN_WEEK = {
    "sat": ["08:00-16:00"],
    "sun": ["08:00-16:00"],
    "mon": ["08:00-16:00"],
    "tue": ["08:00-16:00"],
    "wed": ["08:00-16:00"],
    "thu": ["08:00-12:00"],
}


async def test_set_read_and_remove_business_hours(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    path = f"/api/v1/inboxes/{inbox.id}/business-hours"
    unset = (await admin.get(path)).json()
    assert unset["configured"] is False
    assert unset["open_now"] is True
    # Holidays typed on a Persian keyboard: Persian digits are read as digits.
    saved = await admin.put(
        path,
        json={
            "timezone": "Asia/Tehran",
            "weekly": IRANIAN_WEEK,
            "holidays": [
                {"from": "۲۰۲۷-۰۳-۲۱", "to": "2027-03-24", "name": "نوروز"},
                {"from": "2027-04-01", "name": "روز جمهوری اسلامی"},
            ],
        },
    )
    assert saved.status_code == 200, saved.text
    body = (await admin.get(path)).json()
    assert body["configured"] is True
    assert body["timezone"] == "Asia/Tehran"
    assert body["weekly"] == IRANIAN_WEEK
    assert body["holidays"] == [
        {"from": "2027-03-21", "to": "2027-03-24", "name": "نوروز"},
        {"from": "2027-04-01", "to": "2027-04-01", "name": "روز جمهوری اسلامی"},
    ]
    assert datetime.fromisoformat(body["next_open_at"]) >= datetime.now(UTC) - timedelta(seconds=5)
    agent = await create_agent(admin, "sara@example.com")
    assert_error(await agent.put(path, json={"timezone": "UTC", "weekly": {}}), 403)
    assert_error(await agent.get(path), 404)  # not an inbox of hers
    bad = await admin.put(path, json={"timezone": "Asia/Atlantis", "weekly": IRANIAN_WEEK})
    assert_error(bad, 422, "invalid_business_hours")
    assert "IANA" in bad.json()["detail"]
    assert (await admin.delete(path)).status_code == 204
    assert (await admin.get(path)).json()["configured"] is False
    assert_error(await admin.get("/api/v1/inboxes/999999/business-hours"), 404)


async def test_the_callback_form_checks_the_inboxs_business_hours(
    running: Running, admin: Api
) -> None:
    # The callback settings' own hours say every day 09:00-17:00; the inbox's business
    # hours (one model for every channel) say Saturday only, and they decide.
    every_day = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "09:00-17:00")
    inbox = await create_callback_inbox(admin, business_hours=every_day)
    saved = await admin.put(
        f"/api/v1/inboxes/{inbox['id']}/business-hours",
        json={"timezone": "Asia/Tehran", "weekly": {"sat": ["09:00-17:00"]}},
    )
    assert saved.status_code == 200, saved.text
    today = datetime.now(UTC).date()
    days = [today + timedelta(days=n) for n in range(2, 9)]
    saturday = next(d for d in days if d.weekday() == 5)
    sunday = saturday + timedelta(days=1)

    async def window(day: date, phone: str) -> int:
        response = await ask(
            running,
            inbox["public_token"],
            phone=phone,
            preferred_from=f"{day}T10:00:00",
            preferred_to=f"{day}T11:00:00",
            timezone="Asia/Tehran",
        )
        if response.status_code == 422:
            assert "outside business hours" in response.json()["detail"]
            assert "sat 09:00-17:00, Asia/Tehran" in response.json()["detail"]
        return int(response.status_code)

    assert await window(sunday, "0912 123 4501") == 422
    assert await window(saturday, "0912 123 4502") == 201


@pytest.mark.parametrize(
    ("change", "rule", "where"),
    [
        ({"weekly": {"sat": ["16:00-08:00"]}}, "end_not_after_start", ["weekly", "sat"]),
        ({"weekly": {"sun": ["9 to 5"]}}, "not_a_range", ["weekly", "sun"]),
        ({"weekly": {"mon": ["09:00-13:00", "12:00-14:00"]}}, "overlap", ["weekly", "mon"]),
        ({"weekly": {}}, "never_open", ["weekly"]),
        ({"timezone": "Asia/Atlantis"}, "unknown_timezone", ["timezone"]),
        (
            {"holidays": [{"from": "2027-03-21"}, {"from": "2027-04-02", "to": "2027-04-01"}]},
            "holiday_ends_before_start",
            ["holidays", 1],
        ),
        (
            {"holidays": [{"from": "2027-01-01", "to": "2029-01-01"}]},
            "holiday_too_long",
            ["holidays", 0],
        ),
    ],
)
async def test_a_refusal_names_the_rule_broken_and_where(
    running: Running, admin: Api, change: dict[str, object], rule: str, where: list[object]
) -> None:
    """So that a client can say it in its agent's language (the console does), not only in
    the English `detail`."""
    inbox = await create_api_inbox(admin)
    body = {"timezone": "Asia/Tehran", "weekly": IRANIAN_WEEK, "holidays": [], **change}
    refused = await admin.put(f"/api/v1/inboxes/{inbox.id}/business-hours", json=body)
    assert_error(refused, 422, "invalid_business_hours")
    (broken,) = refused.json()["errors"]
    assert (broken["type"], broken["loc"]) == (rule, ["body", *where])
    assert broken["msg"] == refused.json()["detail"]


async def test_a_jalali_date_given_as_a_holiday_is_refused_not_kept_for_the_year_1405(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    body = {"timezone": "Asia/Tehran", "weekly": IRANIAN_WEEK, "holidays": [{"from": "۱۴۰۵-01-01"}]}
    refused = await admin.put(f"/api/v1/inboxes/{inbox.id}/business-hours", json=body)
    assert refused.status_code == 422, refused.text
    assert "Gregorian" in refused.json()["detail"]
    body["holidays"] = [{"from": "۲۰۲۶-۰۳-۲۱"}]  # the same day, Gregorian in Persian digits
    kept = await admin.put(f"/api/v1/inboxes/{inbox.id}/business-hours", json=body)
    assert kept.status_code == 200, kept.text
    assert kept.json()["holidays"][0]["from"] == "2026-03-21"
