"""Phone calls in the console (Chromium): a call ringing now shows live with the caller's
name; once missed it waits in the callback queue, and its call item is on the timeline."""

from __future__ import annotations

import secrets

from playwright.async_api import Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.twilio import running_twilio
from tests.support.voice import VoiceInbox, create_voice_inbox, dial, transcription


async def test_a_ringing_call_shows_live_and_a_missed_one_waits_in_the_callback_queue(
    console: Page, console_server: Running, console_admin: Api
) -> None:
    caller = f"+1212555{secrets.randbelow(10_000):04d}"
    name = f"Caller {caller[-4:]}"
    reset = await console_admin.patch("/api/v1/auth/me", json={"phone": ""})
    assert reset.status_code == 200, reset.text
    async with running_twilio() as twilio:
        inbox = VoiceInbox(
            await create_voice_inbox(console_admin, twilio, transcribe_voicemail=True),
            console_server,
            twilio,
        )
        call_sid, _ = await inbox.call(caller, CallerName=name)

        banner = console.get_by_test_id("ringing-call").filter(has_text=name)
        await expect(banner).to_contain_text(f"{name} is calling")
        await expect(banner).to_contain_text(caller)

        await inbox.post("dial", dial(call_sid, "no-answer"))
        await expect(banner).to_have_count(0)
        said = "Please call me back about order 1042."
        await inbox.post("transcription", transcription(call_sid, said))

        await (
            console.get_by_role("navigation", name="Sections")
            .get_by_role("button", name="Callbacks")
            .click()
        )
        card = console.get_by_test_id("callbacks").get_by_test_id("callback").filter(has_text=name)
        await expect(card).to_contain_text(caller)

        # One click calls back; an agent without a phone of their own is asked for it.
        await card.get_by_test_id("call-button").click()
        await expect(card).to_contain_text("Add your own phone number first.")
        await card.get_by_label("Your phone number").fill("+1 415 555 0199")
        await card.get_by_test_id("call-button").click()
        await expect(card).to_contain_text("Your phone is ringing: press 1 when you answer.")
        (placed,) = twilio.placed
        assert placed["To"] == "+14155550199"

    await card.get_by_role("button", name="#").first.click()
    items = console.get_by_test_id("call-item")
    await expect(items.first).to_have_attribute("data-call-state", "missed")
    await expect(items.first).to_contain_text(f"Missed call from {name}")
    await expect(items.nth(1)).to_contain_text(f"Calling {name}")
    await expect(items.first.get_by_test_id("call-transcript")).to_contain_text(said)
