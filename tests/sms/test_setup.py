"""Setting up an SMS inbox: the settings are validated and the credentials checked with
Twilio before anything is saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api, assert_error
from tests.support.fakes.twilio import FakeTwilio
from tests.support.servers import free_port
from tests.support.sms import OUR_NUMBER, create_sms_inbox

SERVICE_SID = "MG" + "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"


async def create(admin: Api, twilio: FakeTwilio, **changes: Any) -> tuple[int, dict[str, Any]]:
    config = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "api_base_url": twilio.url,
        "from_number": OUR_NUMBER,
        **changes,
    }
    config = {k: v for k, v in config.items() if v is not None}
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "sms", "name": "SMS", "config": config}
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"account_sid": "AC123"}, "config.account_sid: must be 'AC' followed by 32"),
        ({"account_sid": "SK" + "0" * 32}, "config.account_sid"),
        ({"auth_token": ""}, "config.auth_token"),
        ({"from_number": "0912 123 4567"}, "config.from_number: must be a Twilio"),
        ({"from_number": None}, "config.messaging_service_sid: give exactly one"),
        ({"messaging_service_sid": SERVICE_SID}, "config.messaging_service_sid: give exactly one"),
        (
            {"from_number": None, "messaging_service_sid": "MG1"},
            "config.messaging_service_sid: must be 'MG' followed by 32",
        ),
        ({"api_base_url": "not a url"}, "config.api_base_url"),
    ],
)
async def test_settings_are_validated_with_a_clear_reason(
    admin: Api, twilio: FakeTwilio, changes: dict[str, Any], detail: str
) -> None:
    status, body = await create(admin, twilio, **changes)
    assert status == 422, body
    assert body["code"] == "invalid_config"
    assert body["detail"].startswith(detail), body
    assert twilio.calls == []  # nothing reaches Twilio before the settings make sense


async def test_the_credentials_are_checked_with_twilio(admin: Api, twilio: FakeTwilio) -> None:
    inbox_id = await create_sms_inbox(admin, twilio)
    (call,) = twilio.calls
    assert (call.method, call.path) == ("GET", f"/2010-04-01/Accounts/{twilio.account_sid}.json")
    assert call.authorized
    listed = (await admin.get(f"/api/v1/inboxes/{inbox_id}")).json()
    assert listed["config"]["from_number"] == OUR_NUMBER
    assert "auth_token" not in listed["config"]
    assert listed["secrets_set"] == ["auth_token"]


async def test_a_formatted_number_is_kept_in_e164(admin: Api, twilio: FakeTwilio) -> None:
    status, body = await create(admin, twilio, from_number="+1 (415) 555-0143")
    assert status == 201, body
    assert body["config"]["from_number"] == OUR_NUMBER


async def test_a_wrong_auth_token_is_refused_and_nothing_saved(
    admin: Api, twilio: FakeTwilio
) -> None:
    status, body = await create(admin, twilio, auth_token="f" * 32)
    assert status == 422, body
    assert body["code"] == "channel_setup_failed"
    assert body["detail"].startswith("Twilio refused these credentials")
    assert "f" * 32 not in str(body)
    assert (await admin.get("/api/v1/inboxes")).json() == []


async def test_an_unreachable_twilio_is_a_clear_setup_error(admin: Api, twilio: FakeTwilio) -> None:
    port = free_port()
    status, body = await create(admin, twilio, api_base_url=f"http://127.0.0.1:{port}")
    assert status == 422, body
    assert body["detail"] == (
        f"could not reach Twilio at 127.0.0.1:{port}: check api_base_url (empty for Twilio's "
        "own), and that this server can reach it, or try again in a minute"
    )


async def test_changed_credentials_are_checked_before_they_are_saved(
    admin: Api, twilio: FakeTwilio
) -> None:
    inbox_id = await create_sms_inbox(admin, twilio)
    refused = await admin.patch(
        f"/api/v1/inboxes/{inbox_id}", json={"config": {"auth_token": "0" * 32}}
    )
    assert_error(refused, 422)
    changed = await admin.patch(
        f"/api/v1/inboxes/{inbox_id}",
        json={"config": {"from_number": None, "messaging_service_sid": SERVICE_SID}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["config"]["messaging_service_sid"] == SERVICE_SID
