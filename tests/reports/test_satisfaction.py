"""The satisfaction report against the hand-computed fixture (tests/support/reports.py) in
Asia/Tehran: eight surveys on four conversations, a survey counted on the local day it was
SENT, its answer with it.

    S1 CSAT 5  "Quick and kind"  C1 inbox A  Sara    sent 1 Dec 00:30 (30 Nov 21:00 UTC)
    S2 NPS  9  "Fast"            C1 inbox A  Sara    sent 30 Nov 23:50
    S3 CSAT 2                    C2 inbox A  Sara    sent 1 Dec 01:00 (30 Nov 21:30 UTC)
    S4 NPS  unanswered           C2 inbox A  Sara    sent 1 Dec 11:30
    S5 CSAT 4  (callback)        C3 inbox B  nobody  sent 1 Dec 13:30
    S6 NPS  6  "Slow"            C3 inbox B  nobody  sent 1 Dec 14:30
    S7 CSAT unanswered           C4 inbox B  nobody  sent 1 Dec 15:30
    S8 NPS  10                   C4 inbox B  nobody  sent 1 Dec 22:30
"""

from __future__ import annotations

from typing import Any

import pytest

from app.reports import rollup
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.reports import Fixture, seed
from tests.support.surveys import answer_and_resolve, follow, set_policy, surveys

PERIOD = {"since": "2026-11-30", "until": "2026-12-01"}
FIGURES = (
    "csat_sent", "csat_answered", "csat_response_rate", "csat_average_x100", "csat_satisfied",
    "nps_sent", "nps_answered", "nps_response_rate", "nps_promoters", "nps_passives",
    "nps_detractors", "nps",
)  # fmt: skip


def figures(*values: int | None) -> dict[str, int | None]:
    return dict(zip(FIGURES, values, strict=True))


# CSAT: S1, S3, S5 answered 5, 2, 4 of 4 sent: 75 %, average 11/3 = 3.67, satisfied 2/3.
# NPS: S2, S6, S8 answered 9, 6, 10 of 4 sent: 2 promoters, 1 detractor, (2 − 1)/3 = 33.
TOTALS = figures(4, 3, 75, 367, 67, 4, 3, 75, 2, 0, 1, 33)
# Inbox A and Sara: S1–S4. CSAT 5, 2: average 3.5, half satisfied; NPS 9 of 2 sent.
SARA = figures(2, 2, 100, 350, 50, 2, 1, 50, 1, 0, 0, 100)
# Inbox B and nobody: S5–S8. CSAT 4 of 2 sent; NPS 6 and 10: 1 − 1 = 0.
NOBODY = figures(2, 1, 50, 400, 100, 2, 2, 100, 1, 0, 1, 0)
NO_NPS = (0, 0, None, 0, 0, 0, None)
NO_SURVEYS = figures(0, 0, None, None, None, *NO_NPS)


@pytest.fixture
async def fixture(running: Running, admin: Api) -> Fixture:
    seeded = await seed(running.ctx, admin)
    answer = await admin.patch("/api/v1/account", json={"timezone": "Asia/Tehran"})
    assert answer.status_code == 200, answer.text
    await rollup.follow_once(running.ctx)
    return seeded


async def satisfaction(admin: Api, **params: Any) -> dict[str, Any]:
    answer = await admin.get("/api/v1/reports/satisfaction", params=PERIOD | params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}


async def test_csat_and_nps_in_total_and_per_tehran_day(admin: Api, fixture: Fixture) -> None:
    body = await satisfaction(admin)
    assert body["period"] == {"timezone": "Asia/Tehran", **PERIOD}
    assert body["totals"] == TOTALS
    assert body["csat_distribution"] == {
        "score_1": 0, "score_2": 1, "score_3": 0, "score_4": 1, "score_5": 1,
    }  # fmt: skip
    assert body["trend_step"] == "day"
    first, second = body["trend"]
    # 30 November: only S2 (NPS 9). 1 December: the rest; its NPS answers 6 and 10 give 0.
    assert first == {
        "since": "2026-11-30", "until": "2026-11-30",
        **figures(0, 0, None, None, None, 1, 1, 100, 1, 0, 0, 100),
    }  # fmt: skip
    assert second == {
        "since": "2026-12-01", "until": "2026-12-01",
        **figures(4, 3, 75, 367, 67, 3, 2, 67, 1, 0, 1, 0),
    }  # fmt: skip


async def test_in_utc_the_surveys_sent_after_the_tehran_midnight_move_back_a_day(
    admin: Api, fixture: Fixture
) -> None:
    await admin.patch("/api/v1/account", json={"timezone": "UTC"})
    first, second = (await satisfaction(admin))["trend"]
    # S1 (21:00 UTC) and S3 (21:30 UTC) are on 30 November in UTC, with S2.
    assert without(first, "since", "until") == figures(2, 2, 100, 350, 50, 1, 1, 100, 1, 0, 0, 100)
    assert (second["csat_sent"], second["csat_answered"], second["csat_average_x100"]) == (
        2,
        1,
        400,
    )


async def test_per_channel_inbox_and_credited_agent(admin: Api, fixture: Fixture) -> None:
    body = await satisfaction(admin)
    api, callback = body["by_channel"]
    # api: CSAT S1 5, S3 2, S7 unanswered; NPS S2 9, S4 -, S6 6, S8 10.
    assert api == {"channel": "api", **figures(3, 2, 67, 350, 50, 4, 3, 75, 2, 0, 1, 33)}
    assert callback == {"channel": "callback", **figures(1, 1, 100, 400, 100, *NO_NPS)}
    assert [
        (i["inbox_id"], without(i, "inbox_id", "inbox", "channel")) for i in body["by_inbox"]
    ] == [
        (fixture.inbox_a, SARA),
        (fixture.inbox_b, NOBODY),
    ]
    sara, nobody = body["by_agent"]
    assert (sara["agent_id"], sara["agent"]) == (fixture.agent_id, fixture.agent_name)
    assert without(sara, "agent_id", "agent") == SARA
    assert nobody == {"agent_id": None, "agent": None, **NOBODY}


async def test_the_latest_comments_first(admin: Api, fixture: Fixture) -> None:
    comments = (await satisfaction(admin))["comments"]
    assert [
        (c["survey_id"], c["kind"], c["score"], c["comment"], c["agent"]) for c in comments
    ] == [
        (fixture.surveys[5], "nps", 6, "Slow", None),
        (fixture.surveys[0], "csat", 5, "Quick and kind", fixture.agent_name),
        (fixture.surveys[1], "nps", 9, "Fast", fixture.agent_name),
    ]
    assert comments[0]["answered_at"] == "2026-12-01T11:10:00Z"
    assert comments[0]["conversation_id"] == fixture.conversations[2]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"agent_id": "agent"}, SARA),  # the credited agent
        ({"inbox_id": "b"}, NOBODY),
        # C1 (label vip): S1 CSAT 5, S2 NPS 9.
        ({"label": "vip"}, figures(1, 1, 100, 500, 100, 1, 1, 100, 1, 0, 0, 100)),
        # C3 (team Billing): S5 CSAT 4, S6 NPS 6.
        ({"team_id": "team"}, figures(1, 1, 100, 400, 100, 1, 1, 100, 0, 0, 1, -100)),
        ({"channel": "callback"}, figures(1, 1, 100, 400, 100, *NO_NPS)),
        ({"channel": "sms"}, NO_SURVEYS),
        # 1 December alone: every survey but S2.
        ({"since": "2026-12-01"}, figures(4, 3, 75, 367, 67, 3, 2, 67, 1, 0, 1, 0)),
    ],
)
async def test_filters(
    admin: Api, fixture: Fixture, filters: dict[str, str], expected: dict[str, int | None]
) -> None:
    ids = {"agent": fixture.agent_id, "team": fixture.team_id, "b": fixture.inbox_b}
    params = {k: ids.get(v, v) for k, v in filters.items()}
    assert (await satisfaction(admin, **params))["totals"] == expected


async def test_the_agents_report_carries_each_agents_csat_and_nps(
    admin: Api, fixture: Fixture
) -> None:
    answer = await admin.get("/api/v1/reports/agents", params=PERIOD)
    sara, nobody = answer.json()["agents"]
    keys = ("csat_answered", "csat_average_x100", "nps_answered", "nps")
    assert [sara[k] for k in keys] == [2, 350, 1, 100]
    assert (nobody["csat_answered"], nobody["csat_average_x100"], nobody["nps"]) == (1, 400, 0)


async def test_a_long_period_trends_by_weeks_of_seven_local_days(
    admin: Api, fixture: Fixture
) -> None:
    body = await satisfaction(admin, since="2026-11-01", until="2026-12-10")
    assert body["trend_step"] == "week"
    steps = [(t["since"], t["until"], t["csat_sent"], t["nps_sent"]) for t in body["trend"]]
    assert steps == [
        ("2026-11-01", "2026-11-07", 0, 0),
        ("2026-11-08", "2026-11-14", 0, 0),
        ("2026-11-15", "2026-11-21", 0, 0),
        ("2026-11-22", "2026-11-28", 0, 0),
        ("2026-11-29", "2026-12-05", 4, 4),
        ("2026-12-06", "2026-12-10", 0, 0),  # the last step is what is left
    ]
    assert body["totals"] == TOTALS


async def test_a_survey_asked_and_answered_through_the_api_channel_is_in_the_report(
    running: Running, admin: Api
) -> None:
    """End to end: the survey consumer asks on resolve, the customer answers through the
    `api` channel's documented field, the report for today counts it."""
    inbox = await create_api_inbox(admin)
    await set_policy(admin, csat_inbox_ids=[inbox.id], cooldown_days=0)
    await follow(running)
    said = await post_incoming(running.client, inbox, external_id="m1", sender="c1", text="hi")
    assert said.status_code == 201, said.text
    await answer_and_resolve(admin, said.json()["conversation_id"])
    assert await follow(running) > 0
    (survey,) = await surveys(admin, conversation_id=said.json()["conversation_id"])
    before = (await admin.get("/api/v1/reports/satisfaction")).json()["totals"]
    assert (before["csat_sent"], before["csat_answered"], before["csat_response_rate"]) == (1, 0, 0)

    answer = {"survey_id": survey["id"], "score": 4, "comment": "quick and kind"}
    answered = await post_incoming(
        running.client, inbox, external_id="a1", sender="c1", text="", survey_answer=answer
    )
    assert answered.status_code == 201, answered.text
    body = (await admin.get("/api/v1/reports/satisfaction")).json()
    assert body["totals"] == figures(1, 1, 100, 400, 100, *NO_NPS)
    (credited,) = body["by_agent"]
    assert (credited["agent_id"], credited["csat_average_x100"]) == (admin.agent["id"], 400)
    assert [(c["score"], c["comment"]) for c in body["comments"]] == [(4, "quick and kind")]
