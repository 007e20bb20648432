"""Settings → Inboxes → Edit: an inbox's setup form again, its keys rotated, its snippet
copied (issue 13, section 6)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from playwright.async_api import Page, expect

from tests.support.api import Api, ApiInbox, assert_error, create_agent, post_incoming
from tests.support.app import Running
from tests.support.console import ARTIFACTS
from tests.support.delivery import reply
from tests.support.fakes.telegram import fake_telegram
from tests.support.mail import eventually
from tests.support.receiver import Receiver, receiving


async def create(admin: Api, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    name = f"{kind} {uuid.uuid4().hex[:6]}"  # one console admin for all tests: names differ
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": kind, "name": name, "config": config}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_editor(console: Page, name: str) -> Any:
    await console.get_by_role("button", name="Settings").click()
    await console.get_by_role("button", name=f"Edit {name}").click()
    editor = console.get_by_role("region", name=f"Edit {name}")
    await expect(editor).to_be_visible()
    return editor


async def signed_reply(receiver: Receiver, admin: Api, conversation_id: int, text: str) -> Any:
    await reply(admin, conversation_id, text)

    async def arrived() -> Any:
        return next((r for r in receiver.received if text.encode() in r.body), None)

    return await eventually(arrived)


def signed_with(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_an_api_inbox_is_edited_and_its_keys_rotated(
    console: Page, console_server: Running, console_admin: Api
) -> None:
    inbox = await create(console_admin, "api", {"outbound_url": "https://old.example/hook"})
    first_secret = inbox["signing_secret"]
    member = await create_agent(console_admin, f"member{inbox['id']}@example.com")
    await console.reload()
    editor = await open_editor(console, inbox["name"])
    outbound = editor.get_by_label("Outbound URL (replies are POSTed here)")
    await expect(outbound).to_have_value("https://old.example/hook")

    async with receiving() as receiver:
        await outbound.fill(receiver.url)
        await editor.get_by_label(member.agent["name"], exact=True).check()
        await editor.get_by_role("button", name="Save").click()
        await expect(editor.get_by_text("Saved.")).to_be_visible()
        stored = (await console_admin.get(f"/api/v1/inboxes/{inbox['id']}")).json()
        assert stored["config"]["outbound_url"] == receiver.url
        assert stored["agent_ids"] == [member.agent["id"]]
        assert stored["secrets_set"] == ["hmac_secret"]

        # Replies go to the new URL, still signed with the secret shown at creation.
        old_key = ApiInbox(inbox["id"], inbox["api_key"], None, inbox)
        incoming = await post_incoming(console_server.client, old_key, external_id="e1")
        assert incoming.status_code == 201, incoming.text
        conversation_id = incoming.json()["conversation_id"]
        first = await signed_reply(receiver, console_admin, conversation_id, "first reply")
        assert first.headers["x-panjereh-signature"] == signed_with(first_secret, first.body)

        # A new API key: shown once, the old one refused.
        await editor.get_by_role("button", name="New API key").click()
        new_key = await editor.get_by_test_id("api-key").inner_text()
        assert new_key
        assert new_key != inbox["api_key"]
        refused = await post_incoming(console_server.client, old_key, external_id="e2")
        assert_error(refused, 401)
        rotated = ApiInbox(inbox["id"], new_key, None, inbox)
        accepted = await post_incoming(console_server.client, rotated, external_id="e2")
        assert accepted.status_code == 201, accepted.text

        # A new signing secret: shown once, and it signs the next reply.
        await editor.get_by_role("button", name="New signing secret").click()
        secret = editor.get_by_test_id("signing-secret")
        await expect(secret).not_to_have_text(first_secret)
        new_secret = await secret.inner_text()
        second = await signed_reply(receiver, console_admin, conversation_id, "second reply")
        assert second.headers["x-panjereh-signature"] == signed_with(new_secret, second.body)


async def test_a_web_chat_shows_its_snippet_again_and_saves_only_what_changed(
    console: Page, console_admin: Api
) -> None:
    inbox = await create(
        console_admin,
        "webchat",
        {"allowed_origins": ["https://shop.example"], "welcome_message": "Hello!"},
    )
    await console.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await console.reload()
    editor = await open_editor(console, inbox["name"])

    snippet = await editor.get_by_test_id("snippet").input_value()
    assert f'data-inbox="{inbox["public_token"]}"' in snippet
    await editor.get_by_role("button", name="Copy").click()
    await expect(editor.get_by_role("button", name="Copied")).to_be_visible()
    assert await console.evaluate("navigator.clipboard.readText()") == snippet
    ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(ARTIFACTS / "inbox-editor.png"))

    origins = editor.get_by_label("Allowed website origins (comma separated)")
    await expect(origins).to_have_value("https://shop.example")
    await origins.fill("https://shop.example, https://blog.example")
    await editor.get_by_label("Welcome message").fill("")
    await editor.get_by_role("button", name="Save").click()
    await expect(editor.get_by_text("Saved.")).to_be_visible()
    config = (await console_admin.get(f"/api/v1/inboxes/{inbox['id']}")).json()["config"]
    assert config["allowed_origins"] == ["https://shop.example", "https://blog.example"]
    assert config["welcome_message"] == ""
    assert config["brand_color"] == "#2563eb"

    # A setting the server refuses: its sentence, and nothing saved.
    await origins.fill("shop.example")
    await editor.get_by_role("button", name="Save").click()
    await expect(editor.get_by_role("alert")).to_contain_text("is not an origin")
    config = (await console_admin.get(f"/api/v1/inboxes/{inbox['id']}")).json()["config"]
    assert config["allowed_origins"] == ["https://shop.example", "https://blog.example"]

    # Its business hours are a click away.
    await editor.get_by_role("button", name="Business hours and service levels").click()
    await expect(console.get_by_test_id("sl-inbox")).to_have_value(str(inbox["id"]))


async def test_a_bot_token_is_replaced_only_when_one_is_typed(
    console: Page, console_admin: Api
) -> None:
    async with fake_telegram("7:OLD", "8:NEW") as telegram:
        inbox = await create(
            console_admin,
            "telegram",
            {"bot_token": "7:OLD", "mode": "polling", "api_base_url": telegram.url},
        )
        await console.reload()
        editor = await open_editor(console, inbox["name"])
        # Polling: nobody calls this bot's webhook, so none is shown.
        await expect(editor.get_by_test_id("inbox-details")).to_be_attached()
        await expect(editor.get_by_test_id("webhook-url")).to_have_count(0)
        token = editor.get_by_label("Bot token")
        await expect(token).to_have_value("")
        await expect(token).to_have_attribute("placeholder", "Set; leave blank to keep it")

        # Tried with the stored token, then with a typed one Telegram refuses.
        result = editor.get_by_test_id("test-result")
        await editor.get_by_role("button", name="Test connection").click()
        await expect(result).to_have_text("✓ connected")
        await token.fill("9:UNKNOWN")
        await expect(result).to_have_count(0)
        await editor.get_by_role("button", name="Test connection").click()
        await expect(result).to_contain_text("✗ Telegram rejected the bot token")

        # Saved anyway: the same reason, and nothing changed.
        await editor.get_by_role("button", name="Save").click()
        await expect(editor.get_by_role("alert")).to_be_visible()
        assert "7:OLD" not in await console.content()
        stored = (await console_admin.get(f"/api/v1/inboxes/{inbox['id']}")).json()
        assert stored["config"]["mode"] == "polling"

        # A new bot in webhook mode: checked, registered, its webhook URL shown.
        await token.fill("8:NEW")
        await editor.locator("label", has_text="Mode").locator("select").select_option("webhook")
        await editor.get_by_role("button", name="Save").click()
        await expect(editor.get_by_text("Saved.")).to_be_visible()
        shown = await editor.get_by_test_id("webhook-url").inner_text()
        assert telegram.bots["8:NEW"].webhook_url == shown
        assert telegram.bots["7:OLD"].webhook_url == ""
        await expect(token).to_have_value("")
