"""The connector's send against the fake Bot API: files, and what each failure becomes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.base import (
    Address,
    AddressKind,
    OutboundAttachment,
    OutboundMessage,
    PermanentSendError,
    RecipientUnreachable,
    SendError,
    TransientSendError,
)
from connectors.telegram.config import TelegramConfig
from connectors.telegram.connector import TelegramConnector, telegram_connector
from connectors.telegram.text import split_text
from tests.support.fakes.telegram import FakeBot, FakeTelegram
from tests.support.servers import free_port
from tests.support.telegram import TOKEN

CHAT = "184467301"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def connector(http: httpx.AsyncClient, api: str, token: str = TOKEN) -> TelegramConnector:
    config = TelegramConfig(bot_token=token, api_base_url=api)  # type: ignore[arg-type]
    return telegram_connector(config, http=http, max_attachment_bytes=10_000_000, inbox_id=1)


def outbound(text: str, *attachments: OutboundAttachment) -> OutboundMessage:
    return OutboundMessage(
        id=1,
        conversation_id=1,
        to=Address(AddressKind.telegram, CHAT),
        text=text,
        thread_key=CHAT,
        in_reply_to=f"{CHAT}:41",
        attachments=attachments,
    )


async def test_photos_go_as_photos_and_other_files_as_documents(
    http: httpx.AsyncClient, telegram: FakeTelegram, bot: FakeBot
) -> None:
    photo = OutboundAttachment("رسید.png", "image/png", b"\x89PNG receipt")
    pdf = OutboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.7")

    result = await connector(http, telegram.url).send(outbound("فاکتور شما", photo, pdf))

    text, sent_photo, sent_pdf = bot.sent
    assert result.external_id == f"{CHAT}:{text.message_id}"
    assert (text.method, text.text, text.reply_to_message_id) == ("sendMessage", "فاکتور شما", 41)
    assert (sent_photo.method, sent_photo.filename, sent_photo.data) == (
        "sendPhoto",
        "رسید.png",
        b"\x89PNG receipt",
    )
    assert (sent_pdf.method, sent_pdf.data) == ("sendDocument", b"%PDF-1.7")
    assert sent_photo.reply_to_message_id is None


async def test_a_file_alone_answers_the_customers_message(
    http: httpx.AsyncClient, telegram: FakeTelegram, bot: FakeBot
) -> None:
    pdf = OutboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.7")
    result = await connector(http, telegram.url).send(outbound("", pdf))
    (sent,) = bot.sent
    assert sent.reply_to_message_id == 41
    assert result.external_id == f"{CHAT}:{sent.message_id}"


async def test_what_failures_become(
    http: httpx.AsyncClient, telegram: FakeTelegram, bot: FakeBot
) -> None:
    cases: list[tuple[int, str, type[SendError], str]] = [
        (403, "Forbidden: user is deactivated", RecipientUnreachable, "account was deleted"),
        (400, "Bad Request: chat not found", PermanentSendError, "Chat not found"),
        (500, "Internal Server Error", TransientSendError, "Internal Server Error"),
    ]
    for code, description, error, reason in cases:
        bot.fail_next("sendMessage", code, description)
        with pytest.raises(error) as raised:
            await connector(http, telegram.url).send(outbound("hi"))
        assert reason in raised.value.reason
        assert type(raised.value) is error

    with pytest.raises(PermanentSendError, match="empty"):
        await connector(http, telegram.url).send(outbound(" \n"))
    with pytest.raises(PermanentSendError, match="rejected the bot token"):
        await connector(http, telegram.url, token="1:revoked").send(outbound("hi"))
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TransientSendError) as unreachable:
        await connector(http, closed).send(outbound("hi"))
    assert TOKEN not in unreachable.value.reason


async def test_a_send_that_fails_midway_resumes_after_the_parts_telegram_took(
    http: httpx.AsyncClient, telegram: FakeTelegram, bot: FakeBot
) -> None:
    text = "\n".join(f"بخش {n}: " + "کلمه " * 700 for n in range(1, 5))
    parts = split_text(text)
    assert len(parts) == 4
    pdf = OutboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.7")
    reply = outbound(text, pdf)
    bot.fail_next("sendMessage", 502, "Bad Gateway", after=2)

    with pytest.raises(TransientSendError):
        await connector(http, telegram.url).send(reply)
    first, second = bot.sent
    assert reply.progress.parts == [f"{CHAT}:{first.message_id}", f"{CHAT}:{second.message_id}"]

    result = await connector(http, telegram.url).send(reply)

    assert [s.text for s in bot.sent[:4]] == parts  # each part once, in order
    assert bot.sent[4].data == b"%PDF-1.7"
    assert [s.reply_to_message_id for s in bot.sent] == [41, None, None, None, None]
    assert result.external_id == f"{CHAT}:{first.message_id}"
    assert len(reply.progress.parts) == 5
