"""The reports against a hand-computed fixture (tests/support/reports.py) in Asia/Tehran:
four conversations, one reopened, two arriving either side of a Tehran midnight that UTC
puts on the same day."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select

from app.reports import rollup
from app.reports.models import MessageCount
from tests.support.api import Api, assert_error, create_agent, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.reports import Fixture, recount, seed

PERIOD = {"since": "2026-11-30", "until": "2026-12-01"}


@pytest.fixture
async def fixture(running: Running, admin: Api) -> Fixture:
    seeded = await seed(running.ctx, admin)
    answer = await admin.patch("/api/v1/account", json={"timezone": "Asia/Tehran"})
    assert answer.status_code == 200, answer.text
    await rollup.follow_once(running.ctx)  # first start: counts the stored messages
    return seeded


async def report(admin: Api, name: str, **params: Any) -> dict[str, Any]:
    answer = await admin.get(f"/api/v1/reports/{name}", params=PERIOD | params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def volume_days(body: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (d["day"], d["conversations"], d["messages_in"], d["messages_out"]) for d in body["by_day"]
    ]


async def test_the_account_timezone_is_utc_until_an_administrator_changes_it(
    admin: Api,
) -> None:
    assert (await admin.get("/api/v1/account")).json()["timezone"] == "UTC"
    agent = await create_agent(admin, "lead@example.com")
    assert_error(await agent.patch("/api/v1/account", json={"timezone": "Asia/Tehran"}), 403)
    assert_error(
        await admin.patch("/api/v1/account", json={"timezone": "Mars/Olympus"}),
        422,
        "invalid_timezone",
    )
    changed = await admin.patch("/api/v1/account", json={"timezone": "Asia/Tehran"})
    assert changed.json()["timezone"] == "Asia/Tehran"
    assert (await agent.get("/api/v1/account")).json()["timezone"] == "Asia/Tehran"


async def test_volume_counts_by_the_tehran_day(admin: Api, fixture: Fixture) -> None:
    body = await report(admin, "volume")
    assert body["period"] == {"timezone": "Asia/Tehran", **PERIOD}
    # C1 arrived at 23:30 on 30 November; C2, C3, C4 on 1 December (C2 at 00:15). C1's
    # customer wrote again at 01:30 on 1 December: a message, not a new conversation.
    # Notes and activity lines are not messages.
    assert volume_days(body) == [("2026-11-30", 1, 1, 1), ("2026-12-01", 3, 4, 3)]
    assert body["totals"] == {"conversations": 4, "messages_in": 5, "messages_out": 4}
    inboxes = [
        (i["inbox_id"], i["conversations"], i["messages_in"], i["messages_out"])
        for i in body["by_inbox"]
    ]
    assert inboxes == [(fixture.inbox_a, 2, 3, 3), (fixture.inbox_b, 2, 2, 1)]
    assert body["by_channel"] == [
        {"channel": "api", "conversations": 4, "messages_in": 5, "messages_out": 4}
    ]
    heat = {
        (c["weekday"], c["hour"]): c["conversations"] for c in body["heatmap"] if c["conversations"]
    }
    assert heat == {(0, 23): 1, (1, 0): 1, (1, 12): 1, (1, 13): 1}  # Monday 23h, Tuesday …
    assert len(body["heatmap"]) == 168


async def test_in_utc_the_same_conversations_fall_on_other_days(
    admin: Api, fixture: Fixture
) -> None:
    await admin.patch("/api/v1/account", json={"timezone": "UTC"})
    body = await report(admin, "volume")
    # C1 and C2 on 30 November; the reopening message (22:00 UTC) too.
    assert volume_days(body) == [("2026-11-30", 2, 3, 3), ("2026-12-01", 2, 2, 1)]


async def test_speed_measures_to_the_first_resolution(admin: Api, fixture: Fixture) -> None:
    body = await report(admin, "speed")
    # First responses 600, 120, 1800 s (C4 unanswered): nearest-rank median 600, p90 1800,
    # mean 840. First resolutions 3600 (C1, before its reopen) and 1800 (C2).
    assert body["totals"] == {
        "conversations": 4, "responded": 3,
        "first_response_median": 600, "first_response_p90": 1800, "first_response_mean": 840,
        "resolved": 2, "resolution_median": 1800, "resolution_p90": 3600, "resolution_mean": 2700,
    }  # fmt: skip
    first, second = body["by_day"]
    assert first == {
        "day": "2026-11-30", "conversations": 1, "responded": 1,
        "first_response_median": 600, "first_response_p90": 600, "first_response_mean": 600,
        "resolved": 1, "resolution_median": 3600, "resolution_p90": 3600, "resolution_mean": 3600,
    }  # fmt: skip
    assert second == {
        "day": "2026-12-01", "conversations": 3, "responded": 2,
        "first_response_median": 120, "first_response_p90": 1800, "first_response_mean": 960,
        "resolved": 1, "resolution_median": 1800, "resolution_p90": 1800, "resolution_mean": 1800,
    }  # fmt: skip


async def test_agents_and_teams(admin: Api, fixture: Fixture) -> None:
    body = await report(admin, "agents")
    sara, nobody = body["agents"]
    assert (sara["agent_id"], sara["agent"]) == (fixture.agent_id, fixture.agent_name)
    assert (sara["conversations"], sara["responded"], sara["resolved"]) == (2, 2, 2)
    assert (sara["first_response_median"], sara["first_response_p90"]) == (120, 600)
    assert (sara["resolution_median"], sara["csat_average_x100"]) == (1800, 350)
    assert (nobody["agent_id"], nobody["conversations"], nobody["responded"]) == (None, 2, 1)
    assert nobody["first_response_median"] == 1800
    billing, no_team = body["teams"]
    assert (billing["team"], billing["conversations"], billing["first_response_median"]) == (
        "Billing", 1, 1800,
    )  # fmt: skip
    assert (no_team["team_id"], no_team["conversations"], no_team["resolved"]) == (None, 3, 2)


@pytest.mark.parametrize(
    ("filters", "days"),
    [
        # By conversation (agent, label, team): its messages are counted from the messages.
        ({"agent_id": "agent"}, [("2026-11-30", 1, 1, 1), ("2026-12-01", 1, 2, 2)]),
        ({"label": "vip"}, [("2026-11-30", 1, 1, 1), ("2026-12-01", 0, 1, 1)]),
        ({"team_id": "team"}, [("2026-11-30", 0, 0, 0), ("2026-12-01", 1, 1, 1)]),
        # By inbox or channel: from the roll-up.
        ({"inbox_id": "b"}, [("2026-11-30", 0, 0, 0), ("2026-12-01", 2, 2, 1)]),
        ({"channel": "api"}, [("2026-11-30", 1, 1, 1), ("2026-12-01", 3, 4, 3)]),
        ({"channel": "sms"}, [("2026-11-30", 0, 0, 0), ("2026-12-01", 0, 0, 0)]),
        ({"since": "2026-12-01"}, [("2026-12-01", 3, 4, 3)]),
    ],
)
async def test_filters(
    admin: Api, fixture: Fixture, filters: dict[str, str], days: list[tuple[str, int, int, int]]
) -> None:
    ids = {"agent": fixture.agent_id, "team": fixture.team_id, "b": fixture.inbox_b}
    params = {k: ids.get(v, v) for k, v in filters.items()}
    assert volume_days(await report(admin, "volume", **params)) == days


def csv_blocks(text: str) -> dict[str, list[dict[str, str]]]:
    """The CSV export's blocks: name → rows as {field: cell}."""
    blocks: dict[str, list[dict[str, str]]] = {}
    lines = list(csv.reader(io.StringIO(text)))
    n = 0
    while n < len(lines):
        name, header = lines[n][0], lines[n + 1]
        n += 2
        rows = []
        while n < len(lines) and lines[n]:
            rows.append(dict(zip(header, lines[n], strict=True)))
            n += 1
        blocks[name] = rows
        n += 1
    return blocks


def as_cells(part: Any) -> list[dict[str, str]]:
    rows = part if isinstance(part, list) else [part]
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("name", ["volume", "speed", "agents", "satisfaction"])
async def test_the_csv_holds_exactly_the_figures_of_the_json(
    admin: Api, fixture: Fixture, name: str
) -> None:
    body = await report(admin, name)
    answer = await admin.get(f"/api/v1/reports/{name}", params=PERIOD | {"format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"{name}_2026-11-30_2026-12-01.csv" in answer.headers["content-disposition"]
    blocks = csv_blocks(answer.text)
    assert list(blocks) == list(body)
    for part, value in body.items():
        expected = as_cells(value) if isinstance(value, dict | list) else [{"value": str(value)}]
        assert blocks[part] == expected, part
    if name == "volume":
        assert blocks["totals"] == [{"conversations": "4", "messages_in": "5", "messages_out": "4"}]
    asked = await admin.client.get(
        f"/api/v1/reports/{name}", params=PERIOD, headers=admin.headers | {"Accept": "text/csv"}
    )
    assert asked.headers["content-type"].startswith("text/csv")
    assert asked.text == answer.text


async def test_an_agent_sees_only_the_inboxes_they_work_in(admin: Api, fixture: Fixture) -> None:
    agent = await create_agent(admin, "outsider@example.com")
    body = await report(agent, "volume")
    assert body["totals"] == {"conversations": 0, "messages_in": 0, "messages_out": 0}


async def test_a_bad_period_is_refused(admin: Api) -> None:
    assert_error(
        await admin.get(
            "/api/v1/reports/speed", params={"since": "2026-12-02", "until": "2026-12-01"}
        ),
        422,
        "invalid_period",
    )
    assert_error(
        await admin.get(
            "/api/v1/reports/speed", params={"since": "2020-01-01", "until": "2026-12-01"}
        ),
        422,
        "invalid_period",
    )
    # Days at the ends of the calendar, where a day past `until` does not exist.
    for name in ("volume", "speed", "agents", "satisfaction"):
        for params in ({"until": "9999-12-31"}, {"since": "0001-01-01", "until": "0001-01-02"}):
            answer = await admin.get(f"/api/v1/reports/{name}", params=params)
            assert_error(answer, 422, "invalid_period")


async def test_a_reopen_keeps_the_first_resolution_and_the_counts_follow_the_log(
    running: Running, admin: Api
) -> None:
    """Through the API: a customer writes, an agent answers and resolves, the customer
    writes again (reopening it), the agent resolves again."""
    await rollup.follow_once(running.ctx)  # built (empty) before anything happens
    inbox = await create_api_inbox(admin)
    assert (await post_incoming(admin.client, inbox, external_id="m1")).status_code == 201
    listed = (await admin.get("/api/v1/conversations")).json()["items"]
    conversation_id = listed[0]["id"]
    path = f"/api/v1/conversations/{conversation_id}"
    assert (await admin.post(f"{path}/messages", json={"body": "hi"})).status_code == 201
    first = (await admin.patch(path, json={"status": "resolved"})).json()
    assert (await post_incoming(admin.client, inbox, external_id="m2")).status_code == 201
    assert (await admin.get(path)).json()["status"] == "open"
    await admin.patch(path, json={"status": "resolved"})
    while await rollup.follow_once(running.ctx):
        pass
    body = await report(
        admin, "speed", since=first["created_at"][:10], until=first["created_at"][:10]
    )
    assert (body["totals"]["conversations"], body["totals"]["resolved"]) == (1, 1)
    volume = await report(
        admin, "volume", since=first["created_at"][:10], until=first["created_at"][:10]
    )
    assert volume["totals"] == {"conversations": 1, "messages_in": 2, "messages_out": 1}
    # The log reader's counts, quarter hour by quarter hour, are what a recount from the
    # messages gives.
    followed = await rollup_rows(running)
    assert sum(row[2] for row in followed) == 2
    await recount(running.ctx)
    assert await rollup_rows(running) == followed


async def rollup_rows(running: Running) -> list[tuple[Any, ...]]:
    async with running.ctx.db.read() as session:
        rows = await session.execute(select(MessageCount).order_by(MessageCount.bucket))
        return [(c.bucket, c.inbox_id, c.inbound, c.outbound) for c in rows.scalars()]
