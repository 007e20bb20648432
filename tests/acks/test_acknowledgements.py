"""Automatic acknowledgements: sent once to a new conversation, with the out-of-hours text
when the inbox is closed, not again within a week, not after an agent's message, and
never to any auto-reply, bounce or list mail of the corpus."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.acks import service as acks
from app.events.consumers import consume_once
from app.inbound.ingest import InboxRef, ingest
from app.inboxes.models import InboxKind
from app.inboxes.service import create_inbox, validated_config
from connectors.base import Address, AddressKind, OutboundMessage
from connectors.email.config import EmailConfig
from connectors.email.parser import parse_email
from connectors.email.smtp import compose
from tests.support.api import Api, ApiInbox, assert_error, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.corpus import corpus_files
from tests.support.mail import mail

IN_HOURS = "Thanks! We have your message and will answer soon."
CLOSED = "ممنون از پیام شما. ساعت کاری ما شنبه تا چهارشنبه ۸ تا ۱۶ است."
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def _acknowledge(running: Running) -> None:
    await consume_once(running.ctx, "acks", acks.on_events)


async def _thread(admin: Api, conversation_id: int) -> list[dict[str, Any]]:
    page = await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
    return [m for m in page.json()["items"] if m["direction"] != "activity"]


async def _posted(running: Running, inbox: ApiInbox, **message: Any) -> int:
    response = await post_incoming(running.client, inbox, **message)
    assert response.status_code < 300, response.text
    await _acknowledge(running)
    return int(response.json()["conversation_id"])


def _automatic(thread: list[dict[str, Any]]) -> list[str]:
    return [m["body_text"] for m in thread if m["metadata"].get("automatic")]


async def test_sent_once_in_and_out_of_hours(running: Running, admin: Api) -> None:
    await _acknowledge(running)  # the consumer starts at the end of the log
    inbox = await create_api_inbox(admin)
    path = f"/api/v1/inboxes/{inbox.id}/acknowledgement"
    assert (await admin.get(path)).json()["enabled"] is False
    assert_error(await admin.put(path, json={"text": "   "}), 422)
    saved = await admin.put(path, json={"text": IN_HOURS, "out_of_hours_text": CLOSED})
    assert saved.status_code == 200, saved.text
    hours = f"/api/v1/inboxes/{inbox.id}/business-hours"
    every_day = {day: ["00:00-24:00"] for day in WEEKDAYS}
    assert (
        await admin.put(hours, json={"timezone": "Asia/Tehran", "weekly": every_day})
    ).is_success

    # In business hours: the in-hours text, once, marked as the acknowledgement's.
    first = await _posted(running, inbox, external_id="a1", sender="cust-1", thread_key="t1")
    thread = await _thread(admin, first)
    assert _automatic(thread) == [IN_HOURS]
    ack = thread[-1]
    assert (ack["direction"], ack["metadata"]) == (
        "outbound",
        {"automatic": True, "by": "Acknowledgement"},
    )
    shown = (await admin.get(f"/api/v1/conversations/{first}")).json()
    assert shown["first_response_at"] is None  # the customer still waits for a person
    await _posted(running, inbox, external_id="a2", sender="cust-1", thread_key="t1")
    assert _automatic(await _thread(admin, first)) == [IN_HOURS]
    # A new conversation of the same contact on the same channel within 7 days: none.
    again = await _posted(running, inbox, external_id="a3", sender="cust-1", thread_key="t2")
    assert again != first
    assert _automatic(await _thread(admin, again)) == []

    # Outside business hours (open only on a day three days away, in Tehran).
    later = (datetime.now(ZoneInfo("Asia/Tehran")) + timedelta(days=3)).weekday()
    closed_now = {WEEKDAYS[later]: ["10:00-11:00"]}
    assert (
        await admin.put(hours, json={"timezone": "Asia/Tehran", "weekly": closed_now})
    ).is_success
    other = await _posted(running, inbox, external_id="b1", sender="cust-2")
    assert _automatic(await _thread(admin, other)) == [CLOSED]


async def test_not_after_an_agent_wrote(running: Running, admin: Api) -> None:
    await _acknowledge(running)
    inbox = await create_api_inbox(admin)
    path = f"/api/v1/inboxes/{inbox.id}/acknowledgement"
    assert (await admin.put(path, json={"text": IN_HOURS, "enabled": False})).is_success
    first = await _posted(running, inbox, external_id="c1", sender="cust-3", thread_key="x")
    assert _automatic(await _thread(admin, first)) == []  # off
    reply = await admin.post(f"/api/v1/conversations/{first}/messages", json={"body": "Hi!"})
    assert reply.status_code == 201, reply.text
    assert (await admin.put(path, json={"text": IN_HOURS})).is_success
    # The agent wrote to this customer a moment ago: a robot's thanks would be noise.
    second = await _posted(running, inbox, external_id="c2", sender="cust-3", thread_key="y")
    assert second != first
    assert _automatic(await _thread(admin, second)) == []
    # Another customer gets it.
    third = await _posted(running, inbox, external_id="c3", sender="cust-4")
    assert _automatic(await _thread(admin, third)) == [IN_HOURS]


# --------------------------------------------------------------------------- the corpus

SUPPRESS = "X-Auto-Response-Suppress"
_NO_REPLY = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|no-?reply|do-?not-?reply)\b", re.I)


def _machine_made(path: Path) -> bool:
    """RFC 3834 and common practice, read from the file's headers (not by the parser)."""
    headers = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)

    def value(name: str) -> str:
        return " ".join(str(headers.get(name, "")).split()).lower()

    sender = email.utils.parseaddr(str(headers.get("From", "")))[1]
    return (
        value("Auto-Submitted") not in ("", "no")
        or value("Precedence") in ("bulk", "list", "junk", "auto_reply")
        or any(name in headers for name in (SUPPRESS, "List-Id", "X-Autoreply"))
        or value("Return-Path") == "<>"
        or headers.get_content_type() == "multipart/report"
        or bool(_NO_REPLY.match(sender))
    )


MACHINE_MADE = [p for p in corpus_files("email", "*.eml") if _machine_made(p)]


def test_the_corpus_has_automatic_mail() -> None:
    kinds = {p.name.split("-")[0] for p in MACHINE_MADE}
    assert {"bounce", "autoreply"} <= kinds, kinds
    assert len(MACHINE_MADE) >= 10


async def _email_inbox(running: Running) -> int:
    config = validated_config(
        InboxKind.email,
        {
            "imap_host": "127.0.0.1",
            "imap_username": "support",
            "imap_password": "x",
            "smtp_host": "127.0.0.1",
            "from_address": "support@shop.test",
        },
    )
    async with running.ctx.db.write() as session:
        inbox, _key = await create_inbox(
            session,
            running.ctx.secret_box,
            kind=InboxKind.email,
            name="Mail",
            config=config,
            agent_ids=[],
        )
        await acks.save_settings(
            session, inbox.id, enabled=True, text=IN_HOURS, out_of_hours_text=None
        )
    return inbox.id


async def test_never_to_the_corpus_auto_replies_and_bounces(running: Running, admin: Api) -> None:
    """Every machine-made mail of the corpus, parsed by the e-mail connector and stored as
    the poller stores it, is left unanswered; an ordinary mail in the same inbox is not."""
    await _acknowledge(running)
    inbox_id = await _email_inbox(running)
    ref = InboxRef(inbox_id, InboxKind.email)
    for path in MACHINE_MADE:
        parsed = parse_email(path.read_bytes())
        async with running.ctx.db.write() as session:
            await ingest(session, ref, parsed, running.ctx.ingest_policy)
    # A person whose Outlook asks for no automatic answer: not answered, yet waiting.
    suppressing = mail(sender="Reza <reza@customer.test>", headers={SUPPRESS: "All"})
    async with running.ctx.db.write() as session:
        await ingest(session, ref, parse_email(mail()), running.ctx.ingest_policy)
        await ingest(session, ref, parse_email(suppressing), running.ctx.ingest_policy)
    await _acknowledge(running)
    page = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id, "limit": 100})
    answered = []
    for conversation in page.json()["items"]:
        if _automatic(await _thread(admin, conversation["id"])):
            answered.append(conversation["contact"]["name"] or conversation["subject"])
    assert answered == ["Maryam Ahmadi"], answered
    (reza,) = [c for c in page.json()["items"] if c["contact"]["name"] == "Reza"]
    assert reza["waiting_since"] is not None


@pytest.mark.parametrize("automatic", [True, False])
def test_automatic_mail_says_so(automatic: bool) -> None:
    config = EmailConfig.model_validate(
        {
            "imap_host": "h",
            "imap_username": "u",
            "imap_password": "p",
            "smtp_host": "h",
            "from_address": "support@shop.test",
        }
    )
    outbound = OutboundMessage(
        id=1,
        conversation_id=7,
        to=Address(AddressKind.email, "maryam@customer.test"),
        text=IN_HOURS,
        automatic=automatic,
    )
    composed = compose(config, outbound, "panjereh.1@shop.test")
    assert composed.get("Auto-Submitted") == ("auto-replied" if automatic else None)
