from __future__ import annotations

import pytest

from tests.conftest import Api, Running, create_api_inbox, post_incoming


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_message_posted_to_api_inbox_appears_in_conversation_list(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    response = await post_incoming(
        running.client, inbox, external_id="m1", text="سلام، سفارشم نرسید", name="Sara"
    )
    assert response.status_code == 201, response.text
    listed = await admin.get("/api/v1/conversations")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 1
    assert items[0]["contact"]["name"] == "Sara"
    assert items[0]["last_message"]["preview"] == "سلام، سفارشم نرسید"
