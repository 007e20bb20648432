"""Hostile and odd mail (tests/email/hostile.py): parsed without raising, the customer's
words kept, the sender as well as it can be known, and every problem named in a warning;
then the whole set through a real Dovecot and the app, as an agent sees it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.tickets.models import Attachment as StoredAttachment
from app.tickets.models import Message
from connectors.email.parser import UNKNOWN_SENDER_PREFIX, parse_email
from tests.support.hostile_mail import BY_NAME, messages
from tests.support.mail import Desk

# name → (sender address, or None for an unknown one; display name)
SENDERS: dict[str, tuple[str | None, str | None]] = {
    "no-from": (None, None),
    "empty-from": (None, None),
    "group-from": (None, None),
    "multiple-from": ("ali@customer.test", "Ali"),
    "name-only-from": (None, "Maryam Ahmadi"),
    "idn-from": ("juergen@bücher.example", "Jürgen"),
    "smtputf8-from": ("علی@مثال.ایران", "علی"),
    "cp1256-headers": ("maryam@customer.test", "مريم"),
    "koi8r-headers": ("ivan@customer.test", "Иван"),
}
SUBJECTS = {
    "cp1256-headers": "سفارش من نرسيد",
    "koi8r-headers": "Где мой заказ",
    "split-encoded-word": "نرسیده",
}
# name → (file name, content type) of every attachment
ATTACHMENTS: dict[str, list[tuple[str, str]]] = {
    "unclosed-boundary": [("a.pdf", "application/pdf")],
    "tnef": [("winmail.dat", "application/ms-tnef")],
    "smime-signed": [("smime.p7s", "application/pkcs7-signature")],
    "smime-encrypted": [("smime.p7m", "application/pkcs7-mime")],
    "dsn": [
        ("attachment-1.txt", "message/delivery-status"),
        ("Your order.eml", "message/rfc822"),
    ],
    "calendar": [("attachment-1.ics", "text/calendar")],
    "uuencoded": [("invoice.txt", "text/plain")],
    "attachment-only": [("receipt.pdf", "application/pdf")],
    "nested-forwards": [("level 1.eml", "message/rfc822")],
}
# name → a phrase one of the message's warnings must contain
WARNINGS = {
    "no-from": "no sender address",
    "empty-from": "no sender address",
    "group-from": "no sender address",
    "name-only-from": "no sender address",
    "multiple-from": "From names 2 people; replies go to ali@customer.test",
    "koi8r-headers": "read as koi8_r",
    "unknown-charset": "unknown charset 'x-unknown'",
    "no-boundary": "boundary guessed",
    "unclosed-boundary": "CloseBoundaryNotFoundDefect",
    "huge-headers": "header X-Junk was longer",
    "smime-encrypted": "encrypted",
    "uuencoded": "uuencoded file 'invoice.txt'",
    "bad-date": "unreadable Date",
    "future-date": "unreadable Date",
    "far-future-date": "in the future",
    "no-message-id-a": "no Message-ID",
}
CASES = messages()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_mail_is_parsed_whole(case: Any) -> None:
    msg = parse_email(case.raw)
    warnings = msg.metadata.get("parse_warnings", [])
    assert case.words in msg.text
    assert "\ufffd" not in msg.text
    assert msg.raw == case.raw
    assert msg.sent_at.tzinfo is not None
    assert msg.sent_at.year < 2100
    address, name = SENDERS.get(case.name, (None, None))
    if case.name in SENDERS:
        if address is None:
            assert msg.sender.address.value.startswith(UNKNOWN_SENDER_PREFIX)
        else:
            assert msg.sender.address.value == address
        assert msg.sender.name == name
    else:
        assert not msg.sender.address.value.startswith(UNKNOWN_SENDER_PREFIX)
    if case.name in SUBJECTS:
        assert msg.subject == SUBJECTS[case.name]
    assert [(a.filename, a.content_type) for a in msg.attachments] == ATTACHMENTS.get(case.name, [])
    assert all(a.data is not None for a in msg.attachments)
    if case.name in WARNINGS:
        assert any(WARNINGS[case.name] in w for w in warnings), warnings


def test_strangers_without_an_address_are_not_one_contact() -> None:
    senders = {parse_email(BY_NAME[n].raw).sender.address for n in ("no-from", "empty-from")}
    assert len(senders) == 2


def test_uuencoded_file_is_decoded() -> None:
    (invoice,) = parse_email(BY_NAME["uuencoded"].raw).attachments
    assert invoice.data == b"the invoice number is 884213\n"
    assert "begin 644" not in parse_email(BY_NAME["uuencoded"].raw).text


def test_dsn_is_automatic() -> None:
    assert parse_email(BY_NAME["dsn"].raw).is_auto


def test_a_structure_beyond_the_parser_keeps_the_headers_and_the_words() -> None:
    from tests.support.hostile_mail import _nested

    raw = (
        b"From: Deep <deep@customer.test>\nSubject: deep\nMessage-ID: <deep@hostile.test>\n"
        b'Content-Type: multipart/mixed; boundary="b0"\n\n'
    ) + _nested(3000, "Three thousand parts down").encode()
    msg = parse_email(raw)
    assert "Three thousand parts down" in msg.text
    assert msg.sender.address.value == "deep@customer.test"
    assert msg.external_id == "deep@hostile.test"
    assert any("could not be parsed" in w for w in msg.metadata["parse_warnings"])


def test_a_chain_of_forwards_is_summarised_once() -> None:
    from tests.support.hostile_mail import _forwards

    msg = parse_email(_forwards(100, "deep words"))
    (forwarded,) = msg.metadata["forwarded"]
    assert forwarded["subject"] == "level 1"
    assert "forwarding level 1" in forwarded["text"]


async def test_every_hostile_mail_reaches_the_agent(desk: Desk) -> None:
    """Appended to Dovecot one after the other; polled, stored, none holding up the next."""
    for case in CASES:
        desk.user.append(case.raw)
    desk.user.append(b"From: last@customer.test\r\nSubject: last\r\n\r\nThe last one\r\n")
    await desk.message_with("The last one", timeout=30)
    async with desk.running.ctx.db.read() as session:
        rows = (
            await session.scalars(select(Message).where(Message.inbox_id == desk.inbox_id))
        ).all()
        files = (
            await session.execute(
                select(StoredAttachment.message_id, StoredAttachment.filename).where(
                    StoredAttachment.message_id.in_([r.id for r in rows])
                )
            )
        ).all()
    seen = await desk.all_messages()
    assert len(rows) == len(CASES) + 1  # the two without a Message-ID stay apart
    by_raw = {bytes(r.raw): r for r in rows}
    shown = {m["id"]: m for m in seen}
    for case in CASES:
        # (Dovecot may rewrite line endings; the LF and CR cases are found by their words.)
        row = by_raw.get(case.raw) or next(r for r in rows if case.words in r.body_text)
        assert case.words in row.body_text, case.name
        message = shown[row.id]
        assert case.words in message["body_text"], case.name
        names = sorted(f for mid, f in files if mid == row.id)
        assert names == sorted(n for n, _ in ATTACHMENTS.get(case.name, [])), case.name
        if case.name in WARNINGS:
            assert any(WARNINGS[case.name] in w for w in row.meta["parse_warnings"]), case.name
    html = shown[by_raw[BY_NAME["html-hostile"].raw].id]["body_html"]
    assert "Please refund order 884213" in html
    for banned in ("<script", "javascript:", "onclick", "<style", "document.cookie"):
        assert banned not in html
    conversations = {c["id"]: c for c in await desk.conversations()}
    named = shown[by_raw[BY_NAME["name-only-from"].raw].id]
    assert conversations[named["conversation_id"]]["contact"]["name"] == "Maryam Ahmadi"
