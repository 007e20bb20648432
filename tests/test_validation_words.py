"""A 422's `detail` says where and what in words a client's developer can act on: each
field by its path inside the body (a field named `body` too), once, and a text's length
in characters."""

from __future__ import annotations

from tests.support.api import Api, assert_error, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.automations import api_token


async def test_a_422_names_each_field_once_and_counts_a_text_in_characters(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    stored = (await post_incoming(running.client, inbox, external_id="v-1")).json()
    conversation = f"/api/v1/conversations/{stored['conversation_id']}"
    contact_id = (await admin.get(conversation)).json()["contact"]["id"]

    long_label = await admin.patch(conversation, json={"labels": ["x" * 300]})
    assert assert_error(long_label, 422)["detail"] == (
        "labels.0: at most 100 characters (300 given)"
    )
    not_text = await admin.post(f"{conversation}/messages", json={"body": 123})
    assert assert_error(not_text, 422)["detail"] == "body: Input should be a valid string"
    big = await running.client.post(
        f"/api/v1/contacts/{contact_id}/events",
        json={"name": "order.placed", "payload": {"note": "y" * 20_000}},
        headers={"Authorization": f"Bearer {await api_token(admin)}"},
    )
    assert assert_error(big, 422)["detail"] == (
        "payload: at most 16384 bytes of JSON (20011 given)"
    )
