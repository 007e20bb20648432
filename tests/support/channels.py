"""Channels under test, for the console's tests: an inbox of each kind on its local
provider (a receiver, the Telegram and Twilio fakes, Dovecot and SMTP, the widget's API),
how a customer's message reaches it, and what the customer received back."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from email.utils import make_msgid

from tests.support.api import Api
from tests.support.fakes.telegram import fake_telegram
from tests.support.fakes.twilio import TwilioError, post_signed, running_twilio, sid
from tests.support.mail import inbox_config, mail
from tests.support.mailservers import start_dovecot, start_smtp
from tests.support.receiver import receiving

_names = itertools.count(1)


@dataclass
class Channel:
    """A channel under test: an inbox of that kind, how a customer's message reaches it,
    and what the customer received back. A new channel adds a builder to CHANNELS, and the
    tests that take `channel` run on it too."""

    kind: str
    label: str  # the channel's name in the console ("Reply by {label} to …")
    inbox_id: int
    inbox_name: str
    # deliver(text, sender=KEY, name=NAME): a customer message, from the customer KEY
    deliver: Callable[..., Awaitable[None]]
    address: Callable[[str], str]  # the customer KEY's address, as the composer shows it
    received: Callable[[], Awaitable[list[str]]]  # the texts customers received, in order
    fail_next_reply: Callable[[str], None]  # the provider refuses the next reply for REASON
    # How the console names the customer KEY called NAME (SMS has numbers, not names).
    shown_as: Callable[[str, str], str] = lambda _sender, name: name


@asynccontextmanager
async def api_channel(admin: Api, app_url: str) -> AsyncIterator[Channel]:
    del app_url
    async with receiving() as receiver:
        name = f"Shop {next(_names)}"
        response = await admin.post(
            "/api/v1/inboxes",
            json={"kind": "api", "name": name, "config": {"outbound_url": receiver.url}},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        key = body["api_key"]
        counter = itertools.count(1)

        async def deliver(text: str, *, sender: str = "cust-1", name: str | None = None) -> None:
            payload = {
                "external_id": f"{body['id']}-{next(counter)}",
                "sender": {"id": sender, "name": name},
                "text": text,
            }
            r = await admin.client.post(
                f"/api/v1/inboxes/{body['id']}/incoming",
                json=payload,
                headers={"X-Api-Key": key},
            )
            assert r.status_code == 201, r.text

        async def received() -> list[str]:
            return [json.loads(r.body)["message"]["text"] for r in receiver.received]

        def fail_next_reply(reason: str) -> None:
            del reason
            receiver.answers.append(400)

        yield Channel(
            "api",
            "API",
            body["id"],
            name,
            deliver,
            lambda sender: sender,
            received,
            fail_next_reply,
        )


@asynccontextmanager
async def telegram_channel(admin: Api, app_url: str) -> AsyncIterator[Channel]:
    """A Telegram bot in webhook mode, its Bot API a local fake; customers write to it."""
    token = f"70{next(_names):08d}:AAF-panjereh-console-test-token"
    async with fake_telegram(token) as telegram:
        bot = telegram.bots[token]
        name = f"Bot {next(_names)}"
        response = await admin.post(
            "/api/v1/inboxes",
            json={
                "kind": "telegram",
                "name": name,
                "config": {"bot_token": token, "api_base_url": telegram.url},
            },
        )
        assert response.status_code == 201, response.text
        inbox_id = response.json()["id"]
        chats: dict[str, int] = {}
        message_ids = itertools.count(1)

        def chat(sender: str) -> int:
            return chats.setdefault(sender, 880_000_000 + 1_000 * inbox_id + len(chats))

        async def deliver(text: str, *, sender: str = "cust-1", name: str | None = None) -> None:
            chat_id = chat(sender)
            first = name or sender
            message = {
                "message_id": next(message_ids),
                "from": {"id": chat_id, "is_bot": False, "first_name": first},
                "chat": {"id": chat_id, "type": "private", "first_name": first},
                "date": 1_779_436_800,
                "text": text,
            }
            r = await telegram.deliver(bot, {"message": message}, app_url)
            assert r.status_code == 200, r.text

        async def received() -> list[str]:
            return [s.text or "" for s in bot.sent]

        def fail_next_reply(reason: str) -> None:
            bot.fail_next("sendMessage", 400, f"Bad Request: {reason}")

        yield Channel(
            "telegram",
            "Telegram",
            inbox_id,
            name,
            deliver,
            lambda sender: str(chat(sender)),
            received,
            fail_next_reply,
        )


@asynccontextmanager
async def sms_channel(admin: Api, app_url: str) -> AsyncIterator[Channel]:
    """An SMS number at a local fake of Twilio's REST API; customers text it (signed posts)."""
    async with running_twilio() as twilio:
        response = await admin.post(
            "/api/v1/inboxes",
            json={
                "kind": "sms",
                "name": (name := f"SMS {next(_names)}"),
                "config": {
                    "account_sid": twilio.account_sid,
                    "auth_token": twilio.auth_token,
                    "api_base_url": twilio.url,
                    "from_number": "+14155550143",
                },
            },
        )
        assert response.status_code == 201, response.text
        inbox_id = response.json()["id"]
        webhook = response.json()["webhook_url"]
        numbers: dict[str, str] = {}

        def number(sender: str) -> str:
            return numbers.setdefault(
                sender, f"+1212555{(inbox_id * 7 + len(numbers)) % 10000:04d}"
            )

        async def deliver(text: str, *, sender: str = "cust-1", name: str | None = None) -> None:
            del name  # an SMS carries a number, not a name
            message_sid = sid("SM")
            params = {
                "MessageSid": message_sid,
                "SmsMessageSid": message_sid,
                "AccountSid": twilio.account_sid,
                "From": number(sender),
                "To": "+14155550143",
                "Body": text,
                "NumMedia": "0",
                "NumSegments": "1",
                "ApiVersion": "2010-04-01",
            }
            r = await post_signed(app_url, webhook, params, twilio.auth_token)
            assert r.status_code == 200, r.text

        async def received() -> list[str]:
            return [m.get("Body", "") for m in twilio.created]

        def fail_next_reply(reason: str) -> None:
            twilio.errors.append(TwilioError(400, 21211, reason))

        yield Channel(
            "sms",
            "SMS",
            inbox_id,
            name,
            deliver,
            number,
            received,
            fail_next_reply,
            lambda sender, _name: number(sender),
        )


@asynccontextmanager
async def email_channel(admin: Api, app_url: str) -> AsyncIterator[Channel]:
    """A mailbox in a real Dovecot (read by the embedded poller) and a real SMTP server;
    customers write, and answer in the thread of what they wrote before."""
    del app_url
    dovecot, smtp = start_dovecot(), start_smtp()
    try:
        mailbox = dovecot.add_user()
        name = f"Mail {next(_names)}"
        response = await admin.post(
            "/api/v1/inboxes",
            json={
                "kind": "email",
                "name": name,
                # Mail appended before the poller's first look counts as new, too.
                "config": inbox_config(mailbox, smtp.port, import_existing=100),
            },
        )
        assert response.status_code == 201, response.text
        inbox_id = response.json()["id"]
        last_sent: dict[str, str] = {}  # the customer's latest Message-ID, to answer in thread

        async def deliver(text: str, *, sender: str = "cust-1", name: str | None = None) -> None:
            message_id = make_msgid(domain="customer.test")[1:-1]
            previous = last_sent.get(sender)
            raw = mail(
                text,
                sender=f"{name or sender} <{sender}@customer.test>",
                subject="Re: My order" if previous else "My order",
                message_id=f"<{message_id}>",
                in_reply_to=previous,
                references=(previous,) if previous else (),
            )
            last_sent[sender] = message_id
            await asyncio.to_thread(mailbox.append, raw)
            # Stored (the poller's own pace: up to one IDLE round); the console's part,
            # showing it live, is what the tests time.
            await stored(admin, text, message_id, within=30)

        async def received() -> list[str]:
            replies = [m.message.get_body(preferencelist=("plain",)) for m in smtp.sink.received]
            return [str(part.get_content()).strip() if part else "" for part in replies]

        def fail_next_reply(reason: str) -> None:
            smtp.sink.refuse_once = f"550 5.1.1 {reason}"

        yield Channel(
            "email",
            "Email",
            inbox_id,
            name,
            deliver,
            lambda sender: f"{sender}@customer.test",
            received,
            fail_next_reply,
        )
    finally:
        smtp.stop()
        dovecot.stop()


async def stored(admin: Api, text: str, external_id: str, *, within: float) -> None:
    """Wait until the message `external_id` (with `text`) is stored: found by searching for
    its text, in any inbox, since a conversation merged into another's (tests/merge) gets
    its customer's mail there; the same text from an earlier test does not count."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        page = await admin.get("/api/v1/conversations", params={"q": text, "limit": 100})
        for conversation in page.json()["items"]:
            messages = await admin.get(
                f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 200}
            )
            if any(m["external_id"] == external_id for m in messages.json()["items"]):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} ({external_id}) was not stored within {within} s")


@asynccontextmanager
async def webchat_channel(admin: Api, app_url: str) -> AsyncIterator[Channel]:
    """The website widget's API, as the widget calls it from a shop's page."""
    del app_url
    name = f"Chat {next(_names)}"
    response = await admin.post(
        "/api/v1/inboxes",
        json={"kind": "webchat", "name": name, "config": {"allowed_origins": [SHOP_PAGE]}},
    )
    assert response.status_code == 201, response.text
    inbox = response.json()
    page = {"Origin": SHOP_PAGE}
    tokens: dict[str, str] = {}
    names: dict[str, str] = {}  # the composer names a visitor by the name they gave

    async def visitor(sender: str, name: str | None) -> dict[str, str]:
        if sender not in tokens:
            names[sender] = name or sender
            r = await admin.client.post(
                f"/api/v1/widget/{inbox['public_token']}/sessions",
                json={"name": name or sender},
                headers=page,
            )
            assert r.status_code == 201, r.text
            tokens[sender] = r.json()["visitor_token"]
        return {**page, "Authorization": f"Bearer {tokens[sender]}"}

    async def deliver(text: str, *, sender: str = "cust-1", name: str | None = None) -> None:
        r = await admin.client.post(
            "/api/v1/widget/messages", json={"body": text}, headers=await visitor(sender, name)
        )
        assert r.status_code == 201, r.text

    async def received() -> list[str]:
        texts: list[tuple[str, str]] = []
        for sender in tokens:
            r = await admin.client.get(
                "/api/v1/widget/messages", headers=await visitor(sender, None)
            )
            texts += [
                (m["created_at"], m["body_text"])
                for m in r.json()["items"]
                if m["direction"] == "outbound"
            ]
        return [text for _at, text in sorted(texts)]

    def cannot_fail(reason: str) -> None:
        raise AssertionError(f"a web chat reply cannot be refused ({reason})")

    yield Channel(
        "webchat",
        "Web chat",
        inbox["id"],
        name,
        deliver,
        lambda sender: names[sender],
        received,
        cannot_fail,
    )


CHANNELS: dict[str, Callable[[Api, str], AbstractAsyncContextManager[Channel]]] = {
    "api": api_channel,
    "email": email_channel,
    "sms": sms_channel,
    "telegram": telegram_channel,
    "webchat": webchat_channel,
}


# Channels whose provider can refuse a reply (a web chat reply is only stored).
REFUSING = sorted(set(CHANNELS) - {"webchat"})
SHOP_PAGE = "https://shop.example"
