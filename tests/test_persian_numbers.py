"""Persian (and Arabic-Indic) digits are read wherever the API reads a number or a date:
query parameters, path ids and JSON bodies alike."""

from __future__ import annotations

from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running


def persian(number: int | str) -> str:
    return str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


async def test_numbers_and_dates_may_be_written_in_persian_digits(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    for n in range(3):
        answer = await post_incoming(running.client, inbox, external_id=f"m-{n}", sender=f"c{n}")
        assert answer.status_code == 201, answer.text
    conversation_id = answer.json()["conversation_id"]

    listed = await admin.get(
        "/api/v1/conversations",
        params={
            "limit": persian(2),
            "inbox_id": persian(inbox.id),
            "updated_since": persian("2020-01-01T00:00:00Z"),
        },
    )
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 2
    one = await admin.get(f"/api/v1/conversations/{persian(conversation_id)}")
    assert (one.status_code, one.json()["id"]) == (200, conversation_id)

    me = (await admin.get("/api/v1/auth/me")).json()
    patched = await admin.patch(
        f"/api/v1/conversations/{conversation_id}", json={"assignee_id": persian(me["id"])}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["assignee"]["id"] == me["id"]

    sla = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/sla-policies",
        json={"policies": [{"priority": "none", "first_response_minutes": persian(30)}]},
    )
    assert sla.status_code == 200, sla.text

    report = await admin.get(
        "/api/v1/reports/volume",
        params={"since": persian("2026-01-01"), "until": persian("2026-01-31")},
    )
    assert report.status_code == 200, report.text
    assert report.json()["period"]["since"] == "2026-01-01"
