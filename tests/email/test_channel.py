"""The e-mail channel end to end: a real Dovecot (IMAP IDLE) in, a real SMTP server out, the
app in between, seen through the agents' API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import func, select

from app.inbound.models import PollerState
from app.tickets.models import Direction, Message
from tests.support.api import Api
from tests.support.app import Running
from tests.support.delivery import refused_reply
from tests.support.mail import SUPPORT, Desk, eventually, mail, open_desk, stored_count, workers
from tests.support.mailservers import MailUser, SmtpServer, SmtpSink
from tests.support.servers import free_port

T = TypeVar("T")


async def test_idle_delivers_an_appended_message_within_two_seconds(desk: Desk) -> None:
    started = time.monotonic()
    desk.user.append(mail("سلام، سفارش من هنوز نرسیده است.", subject="سفارش ۸۸۴۲۱۳"))
    found = await desk.message_with("سفارش من هنوز نرسیده", timeout=2.0)
    assert time.monotonic() - started < 2.0
    (conversation,) = await desk.conversations()
    assert conversation["id"] == found["conversation_id"]
    assert conversation["channel"] == "email"
    assert conversation["subject"] == "سفارش ۸۸۴۲۱۳"
    assert conversation["contact"]["name"] == "Maryam Ahmadi"
    # Flagged \Seen on the server only once stored.
    await eventually(lambda: _async(all(desk.user.seen().values())))


async def _async(value: bool) -> bool:
    return value


async def test_restart_stores_nothing_twice_and_misses_nothing(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    desk = await open_desk(running, admin, mailbox, smtp, smtp_server.port)
    async with workers(running.ctx):
        await eventually(desk.cursor)
        mailbox.append(mail("first"))
        await desk.message_with("first")
    # Down: mail keeps arriving, and the first message's \Seen flag is taken away (as if
    # the flagging never happened): the cursor alone must prevent a second import.
    mailbox.append(mail("second"))
    mailbox.append(mail("third"))
    client = mailbox.client()
    client.select_folder("INBOX")
    client.remove_flags(client.search(["ALL"]), [b"\\Seen"])
    client.logout()
    async with workers(running.ctx):
        await desk.message_with("third")
        await desk.message_with("second")
    assert await stored_count(desk) == 3


async def test_a_reused_message_id_loses_no_mail_and_a_copy_is_stored_once(
    desk: Desk,
) -> None:
    # Some mailers give every message one Message-ID; and one message can reach the
    # mailbox twice (to two of our addresses), relayed and re-encoded on the way.
    reused = "always-the-same@broken-mailer.test"
    written = datetime.now(UTC)
    question = "Where is my order? سفارشم کجاست"
    desk.user.append(mail(question, message_id=reused, date=written))
    relayed = mail(question, message_id=reused, date=written, cte="base64")
    desk.user.append(b"Received: from relay.customer.test by mx.shop.test\r\n" + relayed)
    desk.user.append(mail("Please also change the address.", message_id=reused))
    await desk.message_with("change the address")
    texts = sorted(m["body_text"] for m in await desk.all_messages())
    assert texts == ["Please also change the address.", question]


async def test_uidvalidity_change_rescans_without_duplicates(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    desk = await open_desk(running, admin, mailbox, smtp, smtp_server.port)
    async with workers(running.ctx):
        await eventually(desk.cursor)
        desk.user.append(mail("before the change"))
        await desk.message_with("before the change")
    async with desk.running.ctx.db.write() as session:
        # As if the server had rebuilt the folder: the stored UIDVALIDITY no longer matches.
        state = await session.get(PollerState, desk.inbox_id)
        assert state is not None
        assert state.cursor is not None
        cursor = json.loads(state.cursor)
        state.cursor = json.dumps({"uidvalidity": cursor["uidvalidity"] + 1, "uid": 999})
    client = desk.user.client()
    client.select_folder("INBOX")
    client.remove_flags(client.search(["ALL"]), [b"\\Seen"])  # a rebuilt folder: unseen again
    client.logout()
    desk.user.append(mail("after the change"))
    async with workers(desk.running.ctx):  # a restarted worker reads the changed cursor
        await desk.message_with("after the change", timeout=15)
    assert await stored_count(desk) == 2


class Proxy:
    """A TCP proxy in front of Dovecot that can cut every connection (a network drop)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def drop(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()


@contextlib.asynccontextmanager
async def proxy_to(port: int) -> AsyncIterator[Proxy]:
    proxy = Proxy(port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_a_dropped_connection_mid_idle_reconnects(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    async with proxy_to(mailbox.server.port) as proxy:
        desk = await open_desk(
            running, admin, mailbox, smtp, smtp_server.port, imap_port=proxy.port
        )
        async with workers(running.ctx):
            await eventually(desk.cursor)
            await asyncio.sleep(0.2)  # in IDLE by now
            proxy.drop()
            mailbox.append(mail("sent while the line was down"))
            await desk.message_with("sent while the line was down", timeout=15)
            async with running.ctx.db.read() as session:
                state = await session.get(PollerState, desk.inbox_id)
                assert state is not None
                assert state.last_error is None


async def test_console_reply_is_threaded_and_the_answer_joins_the_conversation(
    desk: Desk,
) -> None:
    desk.user.append(mail("Where is my order?", message_id="<c1@customer.test>"))
    first = await desk.message_with("Where is my order?")
    conversation_id = first["conversation_id"]
    response = await desk.admin.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "بسته شما ارسال شد. Your parcel is on its way."},
    )
    assert response.status_code == 201, response.text
    (received,) = await asyncio.to_thread(desk.smtp.wait_for, 1)
    sent = received.message
    assert received.rcpt_tos == ["maryam@customer.test"]
    assert sent["From"] == f"Shop Support <{SUPPORT}>"
    assert sent["Subject"] == f"Re: Order 884213 not arrived [#{conversation_id}]"
    assert sent["In-Reply-To"] == "<c1@customer.test>"
    assert "<c1@customer.test>" in sent["References"]
    ours = sent["Message-ID"].strip("<>")
    assert sent.get_body(("html",)) is not None
    body = sent.get_body(("plain",))
    assert body is not None
    assert "بسته شما ارسال شد" in body.get_content()

    async def recorded() -> dict[str, object] | None:
        messages = await desk.messages(conversation_id)
        return next((m for m in messages if m["delivery_status"] == "sent"), None)

    await eventually(recorded)
    # Resolved, then the customer answers from Outlook: In-Reply-To rewritten to something
    # unknown, only References name our reply. It lands in the same conversation, reopened.
    await desk.admin.patch(f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"})
    desk.user.append(
        mail(
            "Thanks, it arrived!",
            subject=f"RE: {sent['Subject']}",
            in_reply_to="rewritten-by-outlook@customer.test",
            references=(ours,),
        )
    )
    answer = await desk.message_with("Thanks, it arrived!")
    assert answer["conversation_id"] == conversation_id
    (conversation,) = await desk.conversations()
    assert conversation["status"] == "open"


async def test_a_contact_forms_mail_is_answered_at_its_reply_to(desk: Desk) -> None:
    desk.user.append(
        mail(
            "Name: Sara Rahimi. Message: my parcel is late.",
            sender="Shop contact form <no-reply@forms.test>",
            headers={"Reply-To": "Sara Rahimi <sara@customer.test>"},
        )
    )
    stored = await desk.message_with("my parcel is late")
    assert stored["sender"]["name"] == "Sara Rahimi"
    response = await desk.admin.post(
        f"/api/v1/conversations/{stored['conversation_id']}/messages",
        json={"body": "It leaves today."},
    )
    assert response.status_code == 201, response.text
    (received,) = await asyncio.to_thread(desk.smtp.wait_for, 1)
    assert received.rcpt_tos == ["sara@customer.test"]


async def test_new_mail_without_references_opens_a_new_conversation(desk: Desk) -> None:
    desk.user.append(mail("First question", subject="Invoice"))
    first = await desk.message_with("First question")
    desk.user.append(mail("Another topic entirely", subject="Login"))
    second = await desk.message_with("Another topic entirely")
    assert first["conversation_id"] != second["conversation_id"]


async def test_replies_to_one_newsletter_from_two_customers_stay_apart(desk: Desk) -> None:
    for sender in ("Ali <ali@customer.test>", "Sara <sara@customer.test>"):
        desk.user.append(
            mail(
                f"Unsubscribe me, {sender}",
                sender=sender,
                references=("news-1@shop.test",),
                in_reply_to="news-1@shop.test",
                subject="Re: November news",
            )
        )
    ali = await desk.message_with("Unsubscribe me, Ali")
    sara = await desk.message_with("Unsubscribe me, Sara")
    assert ali["conversation_id"] != sara["conversation_id"]


async def test_subject_number_only_joins_the_senders_own_conversation(desk: Desk) -> None:
    desk.user.append(mail("My first mail"))
    first = await desk.message_with("My first mail")
    number = first["conversation_id"]
    # The same customer, a fresh mail (no references) naming the conversation: it joins.
    desk.user.append(mail("Any news?", subject=f"Order [#{number}]"))
    again = await desk.message_with("Any news?")
    assert again["conversation_id"] == number
    # A stranger naming the same number: never attached to someone else's ticket.
    desk.user.append(
        mail("I am someone else", sender="Eve <eve@elsewhere.test>", subject=f"Hi [#{number}]")
    )
    stranger = await desk.message_with("I am someone else")
    assert stranger["conversation_id"] != number


async def test_auto_replies_and_our_own_mail_never_start_a_loop(desk: Desk) -> None:
    desk.user.append(
        mail(
            "I am out of the office until Monday.",
            subject="Automatic reply: Order",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    desk.user.append(mail("A copy of our own reply", message_id="<panjereh.1.abc@shop.test>"))
    desk.user.append(mail("Marker after them"))
    await desk.message_with("Marker after them")
    auto = await desk.message_with("out of the office")
    assert auto["is_auto"] is True
    assert not [m for m in await desk.all_messages() if "copy of our own" in m["body_text"]]
    # Nothing was queued or sent in answer to any of it.
    async with desk.running.ctx.db.read() as session:
        outbound = await session.scalar(
            select(func.count()).where(Message.direction == Direction.outbound)
        )
    assert outbound == 0
    assert desk.smtp.received == []


async def test_a_broken_message_is_stored_and_does_not_block_the_next(desk: Desk) -> None:
    desk.user.append(
        b'From: bad@customer.test\r\nContent-Type: multipart/mixed; boundary="nope"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n\xff\xfe garbage \x00 without parts\r\n"
    )
    desk.user.append(mail("The message behind it"))
    await desk.message_with("The message behind it")
    async with desk.running.ctx.db.read() as session:
        rows = (
            await session.execute(
                select(Message.meta, Message.raw).where(Message.inbox_id == desk.inbox_id)
            )
        ).all()
    broken = [meta for meta, raw in rows if b"garbage" in raw]
    assert broken
    assert broken[0]["parse_warnings"]


async def test_smtp_refusals_fail_or_retry_with_the_servers_reason(desk: Desk) -> None:
    desk.user.append(mail("Please answer"))
    first = await desk.message_with("Please answer")
    conversation_id = first["conversation_id"]

    async def reply(body: str) -> int:
        response = await desk.admin.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    async def state(message_id: int) -> tuple[str, str | None]:
        async with desk.running.ctx.db.read() as session:
            row = (
                await session.execute(
                    select(Message.delivery_status, Message.error).where(Message.id == message_id)
                )
            ).one()
        return str(row[0]), row[1]

    desk.smtp.refuse = "550 5.1.1 <maryam@customer.test>: mailbox unavailable"
    refused = await reply("Hello")
    _status, error = await eventually(
        lambda: _when(state(refused), lambda s: s[0] in ("failed", "DeliveryStatus.failed"))
    )
    assert error is not None
    assert "550 5.1.1" in error
    assert "mailbox unavailable" in error
    # A temporary refusal is retried with the reason shown, and goes out once accepted.
    desk.smtp.refuse = "451 4.3.0 try again later"
    later = await reply("Again")
    await eventually(lambda: _when(state(later), lambda s: "try again later" in str(s[1])))
    desk.smtp.refuse = None
    (received,) = await asyncio.to_thread(desk.smtp.wait_for, 1, 15)
    assert "Again" in received.raw.decode()


async def _when(value: Awaitable[T], predicate: Callable[[T], bool]) -> T | None:
    result = await value
    return result if predicate(result) else None


async def test_bad_credentials_are_refused_when_the_inbox_is_created(
    admin: Api, mailbox: MailUser, smtp_server: SmtpServer
) -> None:
    from tests.support.mail import inbox_config

    config = inbox_config(mailbox, smtp_server.port, imap_password="wrong")
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "email", "name": "Support", "config": config}
    )
    assert response.status_code == 422, response.text
    assert "IMAP" in response.json()["detail"]


async def test_an_smtp_host_name_that_cannot_be_looked_up_is_a_setup_error(admin: Api) -> None:
    """A label over 63 characters cannot even be encoded for DNS: a 422 with the reason,
    not a crash, and nothing saved."""
    config = {
        "smtp_host": "a" * 300,
        "smtp_port": 25,
        "smtp_tls": "none",
        "from_address": "support@example.com",
    }
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "email", "name": "Support", "config": config}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "channel_setup_failed"
    assert "SMTP" in response.json()["detail"]
    assert (await admin.get("/api/v1/inboxes")).json() == []


async def test_mail_without_a_sender_address_is_stored_and_replies_are_refused(
    desk: Desk,
) -> None:
    desk.user.append(
        b"To: support@shop.test\r\nSubject: no From at all\r\n"
        b"Message-ID: <no-from@customer.test>\r\n\r\nWho am I?\r\n"
    )
    stored = await desk.message_with("Who am I?")
    reason = await refused_reply(desk.admin, stored["conversation_id"], "Hello?")
    assert "no sender address" in reason
    assert desk.smtp.received == []  # nothing went to the stand-in address
