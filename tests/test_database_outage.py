"""A database that is briefly down loses nothing.

`panjereh serve` runs as a user runs it on PostgreSQL, workers embedded (a real subprocess
that migrates its own empty database), against a PostgreSQL server of this module's own:
the session's server is shared by other tests, and this one is crashed (`pg_ctl stop -m
immediate`: every connection drops) and started again on the same port with the same data.
PostgreSQL only: SQLite is a file on the server's own disk, which cannot go away while the
process that has it open runs.

While the database is down, every caller is told at once to come back later (503 with the
usual error JSON; never a 2xx, never a 500) and the process stays alive, idle and readable
in its log. Once the database is back, the callers' retries are stored exactly once, a
login from before still works, replies queued or in flight are sent exactly once, and the
poller picks up what Telegram kept for it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from tests.support.api import Api, ApiInbox, assert_error, create_api_inbox, login, post_incoming
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.fakes.telegram import FakeTelegram, fake_telegram
from tests.support.receiver import Receiver, receiving
from tests.support.servers import free_port, start_postgres
from tests.support.telegram import create_telegram_inbox, private_message, update

pytestmark = pytest.mark.postgres

WEBHOOK_BOT = "7012345678:AAF-panjereh-outage-webhook_0123456789"
POLLING_BOT = "7012345679:AAF-panjereh-outage-polling_0123456789"
DOWNTIME = 3.0  # seconds from the crash to the restart
PROMPT = 1.0  # seconds: a caller is answered at once (loopback refuses the connection)


@dataclass
class Served:
    """`panjereh serve` in a subprocess."""

    url: str
    proc: asyncio.subprocess.Process
    log: Path

    def alive(self) -> bool:
        return self.proc.returncode is None

    def log_text(self) -> str:
        return self.log.read_text()

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def panjereh_serve(database_url: str, tmp: Path) -> AsyncIterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_ENVIRONMENT": "test",
        "PANJEREH_DATABASE_URL": database_url,
        "PANJEREH_DATA_DIR": str(tmp / "data"),
        "PANJEREH_SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "PANJEREH_PUBLIC_URL": url,
        "PANJEREH_ADMIN_EMAIL": ADMIN_EMAIL,
        "PANJEREH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PANJEREH_RUN_WORKERS": "true",
        "PANJEREH_PASSWORD_HASH_TIME_COST": "1",
        "PANJEREH_PASSWORD_HASH_MEMORY_KIB": "64",
        # A failed send is tried again 2 s later: during the outage.
        "PANJEREH_DELIVERY_BACKOFF_BASE_SECONDS": "2",
    }
    log = tmp / "serve.log"
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "app.cli", "serve", "--port", str(port)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    served = Served(url, proc, log)
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            await until("panjereh serve ready", lambda: _ready(client, served), within=60)
        yield served
    finally:
        if served.alive():
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        print(served.log_text())  # shown when the test fails


async def _ready(client: httpx.AsyncClient, served: Served) -> bool:
    assert served.alive(), served.log_text()
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def until(what: str, check: Callable[[], Awaitable[bool]], *, within: float) -> float:
    """Poll `check` until it holds; prints and returns how long that took."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110 - polling a server from outside
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {within} s: {what}") from None
    took = time.monotonic() - started
    print(f"{what}: {took:.2f} s")
    return took


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def messages(admin: Api, conversation_id: int) -> list[dict[str, Any]]:
    response = await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def reply_status(admin: Api, conversation_id: int, reply_id: int) -> dict[str, Any]:
    (reply,) = [m for m in await messages(admin, conversation_id) if m["id"] == reply_id]
    return reply


async def inbound(admin: Api, inbox_id: int) -> list[str]:
    """The text of every customer message stored in the inbox."""
    listed = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id})
    assert listed.status_code == 200, listed.text
    return [
        m["body_text"]
        for conversation in listed.json()["items"]
        for m in await messages(admin, conversation["id"])
        if m["direction"] == "inbound"
    ]


@dataclass
class Before:
    """What is under way when the database goes down."""

    shop: ApiInbox
    conversation_id: int
    waiting: int  # a reply whose first send failed, due again during the outage
    in_flight: int  # a reply the shop is receiving when the database goes down
    webhook_inbox: int
    polling_inbox: int


async def prepare(admin: Api, telegram: FakeTelegram, receiver: Receiver) -> Before:
    polling = await create_telegram_inbox(admin, telegram, mode="polling", bot_token=POLLING_BOT)
    webhook = await create_telegram_inbox(admin, telegram, bot_token=WEBHOOK_BOT)
    polling_bot = telegram.bots[POLLING_BOT]

    async def pulling() -> bool:
        return bool(polling_bot.offsets)

    await until("the poller pulling", pulling, within=15)  # the supervisor looks every 5 s
    shop = await create_api_inbox(admin, outbound_url=receiver.url)
    first = await post_incoming(admin.client, shop, external_id="before-1", sender="cust-1")
    assert first.status_code == 201, first.text
    conversation_id = first.json()["conversation_id"]

    async def reply(body: str) -> int:
        response = await admin.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}
        )
        assert response.status_code == 201, response.text
        reply_id: int = response.json()["id"]
        return reply_id

    receiver.answers.append(503)
    waiting = await reply("It ships today.")

    async def failed_once() -> bool:
        found = await reply_status(admin, conversation_id, waiting)
        return found["delivery_status"] == "queued" and "retrying" in (found["error"] or "")

    await until("the failed first send recorded", failed_once, within=10)
    receiver.gate.clear()
    in_flight = await reply("Tracking number: 77-1042.")

    async def sending() -> bool:
        return len(receiver.received) == 2

    await until("the second reply in flight", sending, within=10)
    return Before(shop, conversation_id, waiting, in_flight, webhook["id"], polling["id"])


async def test_a_database_outage_loses_nothing(tmp_path: Path) -> None:
    # Commits written before they are acknowledged: the session server's speed setting
    # would lose the last ones in a crash, which is not the outage under test.
    postgres = start_postgres(tmp_path / "pg", crash_safe=True)
    try:
        async with (
            fake_telegram(WEBHOOK_BOT, POLLING_BOT) as telegram,
            receiving() as receiver,
            panjereh_serve(postgres.create_database("outage"), tmp_path) as served,
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
        ):
            admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
            before = await prepare(admin, telegram, receiver)
            hook_bot, poll_bot = telegram.bots[WEBHOOK_BOT], telegram.bots[POLLING_BOT]
            tg_update = update(**private_message(42, 7, text="down?"))
            tg_update["update_id"] = 500_001

            await asyncio.to_thread(postgres.crash)
            down_at, cpu_at = time.monotonic(), served.cpu_seconds()
            receiver.gate.set()  # the shop takes the reply while the database is down

            # The api channel: told to try again, at once.
            response, waited = await timed(
                post_incoming(client, before.shop, external_id="during-1", text="still there?")
            )
            print(f"incoming while down: {response.status_code} in {waited * 1000:.0f} ms")
            assert_error(response, 503, "unavailable")
            assert int(response.headers["retry-after"]) > 0
            assert waited < PROMPT
            # A Telegram webhook: the same, so Telegram delivers the update again later.
            response, waited = await timed(telegram.deliver(hook_bot, tg_update, served.url))
            print(f"Telegram webhook while down: {response.status_code} in {waited * 1000:.0f} ms")
            assert_error(response, 503, "unavailable")
            assert waited < PROMPT
            # The agents' API.
            response, waited = await timed(admin.get("/api/v1/conversations"))
            print(f"conversation list while down: {response.status_code} in {waited * 1000:.0f} ms")
            assert_error(response, 503, "unavailable")
            assert waited < PROMPT
            # Not ready, and says why; alive (nothing for an orchestrator to restart).
            response, waited = await timed(client.get("/readyz"))
            assert response.status_code == 503, response.text
            assert response.json()["checks"]["database"].startswith("error")
            assert waited < PROMPT
            assert (await client.get("/healthz")).status_code == 200
            # The poller receives an update it cannot store: Telegram has to keep it.
            poll_bot.push(update(**private_message(43, 8, text="polled while down")))

            # Meanwhile the first reply comes due again, and the worker (recording the second),
            # the poller and the hub each meet the dead database.
            await asyncio.sleep(max(0.0, down_at + DOWNTIME - time.monotonic()))
            assert served.alive()
            cpu = (served.cpu_seconds() - cpu_at) / (time.monotonic() - down_at)
            print(f"server CPU while the database was down: {cpu:.0%} of a core")
            assert cpu < 0.5  # waiting, not spinning
            assert len(receiver.received) == 2  # nothing sent that could not be recorded

            restarting = time.monotonic()
            await asyncio.to_thread(postgres.restart)
            up_at = time.monotonic()
            print(f"PostgreSQL restarted (crash recovery included) in {up_at - restarting:.2f} s")

            # The shop's retry is stored, once; its second retry is a duplicate.
            response = await post_incoming(
                client, before.shop, external_id="during-1", text="still there?"
            )
            print(f"first retry: {response.status_code}, {time.monotonic() - up_at:.2f} s after")
            assert response.status_code == 201, response.text
            again = await post_incoming(
                client, before.shop, external_id="during-1", text="still there?"
            )
            assert again.status_code == 200, again.text
            assert again.json() == {**response.json(), "duplicate": True}
            assert (await client.get("/readyz")).status_code == 200
            # The login from before the outage still works: the pool let go of the dead
            # connections instead of handing them out.
            assert (await admin.get("/api/v1/conversations")).status_code == 200
            shop_messages = [
                m["external_id"]
                for m in await messages(admin, before.conversation_id)
                if m["direction"] == "inbound"
            ]
            assert shop_messages == ["before-1", "during-1"]
            # Telegram's redeliveries: stored once.
            for _ in range(2):
                response = await telegram.deliver(hook_bot, tg_update, served.url)
                assert response.status_code == 200, response.text
            assert await inbound(admin, before.webhook_inbox) == ["down?"]

            # Both replies go out, once each: the one due again, and the one the shop
            # took during the outage, which must not be sent again.
            async def replies_sent() -> bool:
                for reply_id in (before.waiting, before.in_flight):
                    found = await reply_status(admin, before.conversation_id, reply_id)
                    if found["delivery_status"] != "sent":
                        return False
                return True

            await until("both replies recorded as sent", replies_sent, within=15)

            # The poller takes the update Telegram kept.
            async def polled() -> bool:
                return await inbound(admin, before.polling_inbox) == ["polled while down"]

            await until("the update polled during the outage stored", polled, within=20)

            await asyncio.sleep(1.5)  # a worker round or so: nothing more goes out
            deliveries = [int(r.headers["x-panjereh-delivery"]) for r in receiver.received]
            assert sorted(deliveries) == sorted([before.waiting, before.waiting, before.in_flight])
            assert await inbound(admin, before.polling_inbox) == ["polled while down"]
            assert served.alive()
        log = served.log_text()
        # Said in a line, not a stack trace every round.
        assert f"message {before.in_flight}: sent; recording it waits for the database" in log
        assert f"inbox {before.polling_inbox}: polling waits for the database" in log
        assert "Traceback" not in log
    finally:
        postgres.stop()


async def test_connections_a_restarted_server_closed_are_never_handed_out(tmp_path: Path) -> None:
    """After a database restart the pool's idle connections are dead: the first request
    must not be the one that finds out (a provider told 503 may not send again)."""
    postgres = start_postgres(tmp_path / "pg")
    db = Database(postgres.create_database("restarted"))
    try:

        async def one() -> int:
            async with db.read() as session:
                await asyncio.sleep(0.05)  # held together: the pool keeps several
                return int((await session.execute(text("SELECT 1"))).scalar_one())

        assert await asyncio.gather(*(one() for _ in range(3))) == [1, 1, 1]
        await asyncio.to_thread(postgres.crash)
        await asyncio.to_thread(postgres.restart)
        for _ in range(3):
            async with db.read() as session:
                assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.dispose()
        postgres.stop()
