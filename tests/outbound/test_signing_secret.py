"""The secret an admin is shown for an `api` inbox is the one its replies are signed with:
at creation (when the server generated it) and after a rotation; a secret the admin typed
is never echoed back."""

from __future__ import annotations

import hashlib
import hmac

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api, assert_error, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.delivery import reply
from tests.support.receiver import Receiver


def signed_with(secret: str, body: bytes) -> str:
    """The signature a receiver computes, as the README shows."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_the_shown_secret_signs_replies_and_a_rotated_one_replaces_it(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    shown = inbox.body["signing_secret"]
    assert isinstance(shown, str)
    assert len(shown) >= 32
    assert (await admin.get(f"/api/v1/inboxes/{inbox.id}")).json()["signing_secret"] is None
    stored = await post_incoming(running.client, inbox, external_id="m1", text="hi")
    conversation_id = stored.json()["conversation_id"]

    await reply(admin, conversation_id, "first")
    await worker.run_once()
    first = receiver.received[-1]
    assert first.headers["x-panjereh-signature"] == signed_with(shown, first.body)

    rotated = await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"rotate_signing_secret": True})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["signing_secret"]
    assert new
    assert new != shown
    assert rotated.json()["api_key"] is None  # the API key was not rotated

    await reply(admin, conversation_id, "second")
    await worker.run_once()
    second = receiver.received[-1]
    assert second.headers["x-panjereh-signature"] == signed_with(new, second.body)
    assert second.headers["x-panjereh-signature"] != signed_with(shown, second.body)


async def test_a_typed_secret_is_not_echoed_and_other_kinds_cannot_rotate_one(
    admin: Api,
) -> None:
    inbox = await create_api_inbox(admin, hmac_secret="typed-by-the-admin-0123456789")
    assert inbox.body["signing_secret"] is None
    assert "typed-by-the-admin" not in str(inbox.body)
    chat = await admin.post(
        "/api/v1/inboxes", json={"kind": "webchat", "name": "Chat", "config": {}}
    )
    assert chat.status_code == 201, chat.text
    assert chat.json()["signing_secret"] is None
    refused = await admin.patch(
        f"/api/v1/inboxes/{chat.json()['id']}", json={"rotate_signing_secret": True}
    )
    assert_error(refused, 422, "no_signing_secret")
