"""Parsing e-mail as people's mail software writes it: every corpus file, and the cases the
channel promises (charsets, quoted history, auto-replies, bad and hostile input)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from connectors.base import Address, AddressKind, OutboundAttachment, OutboundMessage
from connectors.email.config import EmailConfig
from connectors.email.parser import ParseOptions, parse_email
from connectors.email.smtp import compose, subject_for
from tests.support.corpus import corpus_files
from tests.support.mail import mail

FILES = corpus_files("email", "*.eml")
CORPUS = FILES[0].parent
# Files that are machine-written by their nature (bounces, auto-replies, abuse reports).
AUTOMATIC = ("bounce-", "autoreply-", "feedback-report-", "arabic-utf8-base64-autoreply")
ENCODED_WORD = re.compile(r"=\?[\w-]+\?[bq]\?", re.IGNORECASE)
SURROGATES = re.compile("[\udc80-\udcff]")


def test_the_corpus_is_there() -> None:
    assert len(FILES) > 50


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file_parses(path: Path) -> None:
    raw = path.read_bytes()
    msg = parse_email(raw)
    warnings = msg.metadata.get("parse_warnings", [])
    assert msg.raw == raw  # kept whole, for audit and re-parsing
    assert msg.external_id
    assert msg.sender.address.kind == AddressKind.email
    assert "@" in msg.sender.address.value
    assert msg.sent_at.tzinfo is not None
    for text in (msg.subject or "", msg.text, msg.sender.name or ""):
        assert not SURROGATES.search(text)
        assert not ENCODED_WORD.search(text), text
    if "\ufffd" in msg.text:  # undecodable bytes are only ever replaced with a warning
        assert any("replaced" in w or "read as" in w for w in warnings), warnings
    # Something for the agent to read, or a warning saying why there is nothing.
    assert msg.text.strip() or msg.attachments or msg.subject or warnings
    if path.name.startswith(AUTOMATIC):
        assert msg.is_auto, msg.metadata
    if path.name.startswith("fa-"):
        assert re.search("[\u0600-\u06ff]", msg.text), msg.text
        assert re.search("[\u0600-\u06ff]", msg.subject or ""), msg.subject


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fa-mutt-cp1256-forced-modern-persian.eml", "لطفاً با من تماس بگیرید"),
        ("fa-mutt-iso8859-6-forced-persian.eml", "سفارش شماره ۸۸۴۲۱۳"),
        ("fa-snail-utf8-8bit-refund-wrong-bid.eml", "قیمت پیشنهادی"),
        ("windows1256-qp-body-outlook2010.eml", "I have a strange problem"),
        ("cp1251-body.eml", "Это сообщение"),
        ("gb2312-8bit-body-and-subject.eml", "增值税发票"),
        ("x-mac-cyrillic-qp-newsletter.eml", "ACADEMIC NEWSLETTER"),
    ],
)
def test_charsets_are_decoded(name: str, expected: str) -> None:
    assert expected in parse_email(corpus(name)).text


def test_raw_8bit_header_without_charset_is_detected() -> None:
    msg = parse_email(corpus("cyrillic-raw-8bit-subject-no-charset.eml"))
    assert msg.subject == "Узнай как зарабатывать от 1000$ в неделю!"


def _flowed(body: str, params: str = "") -> bytes:
    head = (
        "From: Maryam Ahmadi <maryam@customer.test>\r\nTo: support@shop.test\r\n"
        "Subject: Re: Order 884213\r\nMessage-ID: <flowed-1@customer.test>\r\n"
        "Date: Tue, 01 Dec 2026 10:00:00 +0330\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=UTF-8; format=flowed{params}\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body.replace("\n", "\r\n")).encode()


def test_format_flowed_paragraphs_read_as_written() -> None:
    """Thunderbird's plain text (format=flowed, RFC 3676) wraps each paragraph at ~72
    characters, a space ending every line but its last, and stuffs a space before a line
    starting "From ": the agent reads each paragraph as one line again, and a wrapped
    attribution still starts the quoted history."""
    msg = parse_email(
        _flowed(
            "سلام، سفارش ۸۸۴۲۱۳ من هنوز نرسیده است و سه هفته از پرداخت \n"
            "آن گذشته است. \n"
            " From now on I will call every day.\n"
            "\n"
            "-- \n"
            "Maryam\n"
            "\n"
            "On 12/1/26 10:00 AM, Shop Support wrote: \n"
            "> We shipped your order on \n"
            "> Monday.\n"
        )
    )
    assert msg.text == (
        "سلام، سفارش ۸۸۴۲۱۳ من هنوز نرسیده است و سه هفته از پرداخت آن گذشته است. "
        "From now on I will call every day.\n\n-- \nMaryam"
    )
    assert "> We shipped your order on Monday." in msg.metadata["quoted"]


def test_format_flowed_with_delsp_joins_without_a_space() -> None:
    """DelSp=yes: the space ending a wrapped line was added by the wrapping (for scripts
    written without spaces), and goes."""
    msg = parse_email(_flowed("ご注文の商品は \n発送済みです。\n", "; delsp=yes"))
    assert msg.text == "ご注文の商品は発送済みです。"


def test_persian_reply_hides_the_quoted_history_but_keeps_it() -> None:
    msg = parse_email(corpus("fa-mutt-customer-followup-reply-qp.eml"))
    assert msg.text.startswith("هنوز نرسیده!")
    assert "نوشت:" not in msg.text
    assert "نوشت:" in msg.metadata["quoted"]
    assert msg.in_reply_to


def test_gmail_reply_history_is_split_even_with_a_signature_below() -> None:
    msg = parse_email(corpus("reply-gmail-quoted-history.eml"))
    assert msg.text == "Yes, I am providing you step how to reproduce this issue"
    assert "Any update on this?" in msg.metadata["quoted"]


def test_outlook_reply_history_is_split() -> None:
    body = (
        "Thanks, that solved it.\n\n"
        "________________________________\n"
        "From: Shop Support <support@shop.test>\n"
        "Sent: Monday, 3 March 2025 10:00\n"
        "To: Ali <ali@customer.test>\n"
        "Subject: RE: Login\n\nPlease reset your password."
    )
    msg = parse_email(mail(body))
    assert msg.text == "Thanks, that solved it."
    assert "Please reset your password." in msg.metadata["quoted"]


def test_interleaved_answers_stay_visible() -> None:
    body = "On Mon, Ali wrote:\n> first question\nfirst answer\n> second question\nsecond answer"
    msg = parse_email(mail(body))
    assert "second answer" in msg.text
    assert "quoted" not in msg.metadata


def test_html_only_mail_becomes_readable_text() -> None:
    msg = parse_email(corpus("html-only-iso8859-1-qp-netscape.eml"))
    assert "Die Hasen klagten einst über ihre mißliche Lage" in msg.text
    assert "<" not in msg.text
    assert msg.html is not None


def test_alternative_prefers_text_and_keeps_html() -> None:
    msg = parse_email(corpus("alternative-html-before-text.eml"))
    assert msg.text == "This is the text body."
    assert msg.html is not None
    assert "<" in msg.html


def test_rfc2231_and_rfc2047_file_names() -> None:
    (attachment,) = parse_email(corpus("rfc2231-estonian-filename.eml")).attachments
    assert attachment.filename == "Eelanalüüsi päring.jpg"
    names = [
        a.filename
        for a in parse_email(corpus("fa-mutt-pdf-attachment-persian-filename.eml")).attachments
    ]
    assert names == ["فاکتور سفارش ۸۸۴۲۱۳.pdf"]


def test_inline_images_are_attachments_with_their_content_id() -> None:
    msg = parse_email(corpus("inline-image-cid-alternative-related.eml"))
    (image,) = msg.attachments
    assert image.content_type == "image/png"
    assert image.content_id == "8B8481A2-25CA-4886-9B5A-8EB9115DD064@skynet"
    assert image.data is not None
    assert image.data.startswith(b"\x89PNG")


def test_text_attachments_are_attachments_not_body() -> None:
    msg = parse_email(corpus("attachments-ten-text-files.eml"))
    assert msg.text == "This is the plain text content of the email"
    assert len(msg.attachments) == 10
    assert all(a.content_type == "text/plain" and a.data for a in msg.attachments)


def test_forwarded_message_is_kept_whole() -> None:
    msg = parse_email(corpus("forward-rfc822-django.eml"))
    (forwarded,) = msg.attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.data is not None
    assert b"Subject:" in forwarded.data
    assert msg.metadata["forwarded"][0]["from"]


def test_file_name_with_a_newline_or_path_is_made_safe() -> None:
    (attachment,) = parse_email(corpus("malicious-filename-with-newline.eml")).attachments
    assert "\n" not in attachment.filename
    assert "/" not in attachment.filename


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"X-Autoreply": "yes"}, "X-Autoreply"),
        ({"Precedence": "bulk"}, "Precedence"),
        ({"List-Unsubscribe": "<mailto:u@list.test>"}, "mailing list"),
    ],
)
def test_automatic_mail_is_flagged(headers: dict[str, str], reason: str) -> None:
    msg = parse_email(mail("I am out of office until Monday.", headers=headers))
    assert msg.is_auto
    assert reason in msg.metadata["auto_reason"]


def test_a_person_is_not_automatic() -> None:
    assert not parse_email(mail()).is_auto


def test_mail_from_our_own_address_is_flagged() -> None:
    options = ParseOptions(own_addresses=frozenset({"support@shop.test"}))
    msg = parse_email(mail(sender="Support <Support@shop.test>"), options)
    assert msg.is_auto


def test_no_message_id_gets_a_stable_id_from_the_bytes() -> None:
    raw = b"From: a@customer.test\r\nSubject: hi\r\n\r\nhello\r\n"
    assert parse_email(raw).external_id == parse_email(raw).external_id
    assert parse_email(raw).external_id != parse_email(raw + b"!").external_id
    assert "no Message-ID" in parse_email(raw).metadata["parse_warnings"][-1]


def test_thread_fields() -> None:
    msg = parse_email(
        mail(
            subject="Re: Order [#42]",
            message_id="<c3@customer.test>",
            in_reply_to="ours-2@shop.test",
            references=("c1@customer.test", "ours-2@shop.test"),
        )
    )
    assert msg.external_id == "c3@customer.test"
    assert msg.in_reply_to == "ours-2@shop.test"
    assert msg.references == ("c1@customer.test",)
    assert msg.conversation_hint == 42
    # One customer's thread, rooted at its first message.
    assert msg.thread_key == "maryam@customer.test c1@customer.test"


def test_malformed_mail_is_kept_with_warnings() -> None:
    raw = corpus("malformed-illegal-boundary.eml")
    msg = parse_email(raw)
    assert msg.raw == raw
    assert msg.metadata["parse_warnings"]


def test_unknown_charset_falls_back_with_a_warning() -> None:
    msg = parse_email(corpus("malformed-unknown-charset.eml"))
    assert msg.text == "A text section"
    assert any("fakescii" in w for w in msg.metadata["parse_warnings"])


def test_hostile_header_is_cut() -> None:
    raw = b"From: a@customer.test\r\nSubject: " + b"x" * 300_000 + b"\r\n\r\nbody\r\n"
    msg = parse_email(raw)
    assert msg.text == "body"
    assert msg.subject is not None
    assert len(msg.subject) <= 1000
    assert any("Subject" in w for w in msg.metadata["parse_warnings"])


def test_oversized_message_keeps_text_and_lists_attachments() -> None:
    outer = EmailMessage()
    outer["From"] = "a@customer.test"
    outer["Subject"] = "big"
    outer.set_content("see the video")
    outer.add_attachment(b"\0" * 1000, maintype="video", subtype="mp4", filename="clip.mp4")
    options = ParseOptions(full_size=30_000_000, max_message_bytes=25_000_000)
    msg = parse_email(outer.as_bytes(), options)
    assert msg.text == "see the video"
    (clip,) = msg.attachments
    assert clip.filename == "clip.mp4"
    assert clip.data is None
    assert clip.note is not None
    assert "30000000" in clip.note


def test_reply_is_threaded_and_numbered() -> None:
    config = EmailConfig(from_address="support@shop.test", from_name="Shop Support")
    out = OutboundMessage(
        id=7,
        conversation_id=123,
        to=Address(AddressKind.email, "maryam@customer.test"),
        text="سلام، بسته ارسال شد.",
        subject="Order not arrived",
        in_reply_to="c2@customer.test",
        references=("c1@customer.test", "panjereh.5.x@shop.test", "c2@customer.test"),
        attachments=(OutboundAttachment("label.pdf", "application/pdf", b"%PDF-1.4"),),
    )
    sent = compose(config, out, "panjereh.7.abc@shop.test")
    assert sent["Subject"] == "Re: Order not arrived [#123]"
    assert sent["Message-ID"] == "<panjereh.7.abc@shop.test>"
    assert sent["In-Reply-To"] == "<c2@customer.test>"
    assert sent["References"] == "<c1@customer.test> <panjereh.5.x@shop.test> <c2@customer.test>"
    assert sent["From"] == "Shop Support <support@shop.test>"
    assert sent["Reply-To"] == "support@shop.test"
    body = sent.get_body(("plain",))
    assert body is not None
    assert "بسته ارسال شد" in body.get_content()
    assert sent.get_body(("html",)) is not None
    assert [a.get_filename() for a in sent.iter_attachments()] == ["label.pdf"]


def test_subject_is_not_prefixed_twice() -> None:
    assert subject_for("RE: Hello [#5]", 5) == "RE: Hello [#5]"
    assert subject_for(None, 9) == "Re: Your message [#9]"
