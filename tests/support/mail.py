"""E-mail as the tests send it and read it: a customer's message built as bytes, an `email`
inbox's settings pointed at the test mail servers, and the desk, an e-mail inbox as an
agent sees it while the poller and the delivery worker run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, TypeVar

from sqlalchemy import func, select

from app.context import Context
from app.inbound.models import PollerState
from app.inbound.pollers import PollerSupervisor
from app.outbound.worker import DeliveryWorker
from app.tickets.models import Direction, Message
from tests.support.api import Api
from tests.support.app import Running
from tests.support.mailservers import MailUser, SmtpSink

SUPPORT = "support@shop.test"
T = TypeVar("T")


def mail(
    body: str = "Hello, my order has not arrived.",
    *,
    sender: str = "Maryam Ahmadi <maryam@customer.test>",
    subject: str = "Order 884213 not arrived",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
    cte: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="customer.test")
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, cte=cte)
    return msg.as_bytes()


def inbox_config(user: MailUser, smtp_port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "imap_host": "127.0.0.1",
        "imap_port": user.server.port,
        "imap_tls": "none",
        "imap_username": user.name,
        "imap_password": user.password,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_tls": "none",
        "from_address": SUPPORT,
        "from_name": "Shop Support",
        **overrides,
    }


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10.0) -> T:  # noqa: ASYNC109 - a deadline, not a cancel scope
    """`check()`'s first truthy result, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout} s")
        await asyncio.sleep(0.02)


@dataclass
class Desk:
    """The app with an e-mail inbox on `user`'s mailbox, as an agent sees it."""

    running: Running
    admin: Api
    inbox_id: int
    user: MailUser
    smtp: SmtpSink

    async def conversations(self) -> list[dict[str, Any]]:
        response = await self.admin.get("/api/v1/conversations", params={"limit": 100})
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        response = await self.admin.get(f"/api/v1/conversations/{conversation_id}/messages")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def all_messages(self) -> list[dict[str, Any]]:
        found = []
        for conversation in await self.conversations():
            found += [
                {**m, "conversation_id": conversation["id"]}
                for m in await self.messages(conversation["id"])
            ]
        return found

    async def message_with(self, text: str, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
        async def check() -> dict[str, Any] | None:
            return next((m for m in await self.all_messages() if text in m["body_text"]), None)

        return await eventually(check, timeout)

    async def taken(self) -> bool:
        """Whether a poller holds the inbox (it connects right after taking it)."""
        async with self.running.ctx.db.read() as session:
            holder = await session.scalar(
                select(PollerState.holder).where(PollerState.inbox_id == self.inbox_id)
            )
        return holder is not None

    async def cursor(self) -> str | None:
        async with self.running.ctx.db.read() as session:
            return await session.scalar(
                select(PollerState.cursor).where(PollerState.inbox_id == self.inbox_id)
            )


@contextlib.asynccontextmanager
async def workers(ctx: Context) -> AsyncIterator[None]:
    """The poller supervisor (scanning often) and the delivery worker, as `serve` runs them."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(PollerSupervisor(ctx, scan_seconds=0.05).run(stop)),
        asyncio.create_task(DeliveryWorker(ctx).run(stop)),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def open_desk(
    running: Running, admin: Api, user: MailUser, smtp: SmtpSink, smtp_port: int, **config: Any
) -> Desk:
    response = await admin.post(
        "/api/v1/inboxes",
        json={
            "kind": "email",
            "name": "Support",
            "config": inbox_config(user, smtp_port, **config),
        },
    )
    assert response.status_code == 201, response.text
    return Desk(running, admin, response.json()["id"], user, smtp)


async def stored_count(desk: Desk) -> int:
    async with desk.running.ctx.db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    Message.inbox_id == desk.inbox_id, Message.direction == Direction.inbound
                )
            )
            or 0
        )
