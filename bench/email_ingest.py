"""E-mail ingest throughput: N messages waiting in a real Dovecot mailbox → conversations.

    .venv/bin/python bench/email_ingest.py [--messages 2000] [--database-url postgresql://...]

On loopback, then it stops by itself (it prints figures, it never asserts a time):

1. Starts Dovecot (as the tests do) and APPENDs N messages to one mailbox: the shared
   corpus (every file, repeated with fresh Message-IDs) mixed with generated customer mail,
   Persian and English, a third of it replies to earlier messages, every tenth with a PDF.
2. Serves the app in this process (SQLite in a temporary directory unless
   `--database-url`), creates an `email` inbox that imports the N existing messages, and
   runs the poller supervisor as `serve` does.
3. Times from the inbox's creation until N inbound messages are stored; prints messages/s,
   the conversations made, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.inbound.pollers import PollerSupervisor
from app.migrate import upgrade
from app.tickets.models import Conversation, Direction, Message
from tests.support.api import login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, serve
from tests.support.mailservers import MailUser, start_dovecot

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "email"
PERSIAN = [
    "سلام، سفارش شماره {n} هنوز نرسیده است. لطفاً پیگیری کنید.",
    "مبلغ دو بار از کارتم کسر شد؛ لطفاً یکی را برگردانید. شماره پیگیری {n}",
    "نمی‌توانم وارد حسابم شوم، کد تأیید نمی‌آید. ({n})",
]
ENGLISH = ["Hi, where is my order {n}?", "The invoice {n} is wrong, please check.", "Thanks!"]


def generated(n: int, earlier: list[str]) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = f"Customer {n % 300} <customer{n % 300}@example.net>"
    msg["To"] = "support@shop.test"
    msg["Date"] = format_datetime(datetime.now(UTC))
    message_id = make_msgid(domain="example.net")
    msg["Message-ID"] = message_id
    texts = PERSIAN if n % 2 else ENGLISH
    msg["Subject"] = f"Order {n}" if n % 2 == 0 else f"سفارش {n}"
    body = texts[n % len(texts)].format(n=n)
    if n % 3 == 0 and earlier:
        parent = earlier[(n * 7) % len(earlier)]
        msg["In-Reply-To"] = parent
        msg["References"] = parent
        msg.replace_header("Subject", f"Re: {msg['Subject']}")
        body += "\n\nOn Monday, Support wrote:\n> We are looking into it."
    msg.set_content(body)
    if n % 10 == 0:
        msg.add_attachment(
            b"%PDF-1.4\n" + b"0" * 20_000,
            maintype="application",
            subtype="pdf",
            filename=f"فاکتور-{n}.pdf",
        )
    return msg.as_bytes(), message_id


def fill(user: MailUser, count: int) -> None:
    corpus = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    earlier: list[str] = []
    batch: list[bytes] = []
    client = user.client()
    for n in range(count):
        if n % 4 == 0 and corpus:
            raw = corpus[(n // 4) % len(corpus)]
            # A fresh Message-ID, so repeats of a corpus file are distinct messages.
            raw = f"Message-ID: <corpus-{n}@bench.test>\r\n".encode() + raw
        else:
            raw, message_id = generated(n, earlier)
            earlier.append(message_id)
        batch.append(raw)
        if len(batch) == 200:
            client.multiappend("INBOX", batch)
            batch = []
    if batch:
        client.multiappend("INBOX", batch)
    client.logout()


async def run(count: int, database_url: str | None) -> None:
    dovecot = start_dovecot()
    try:
        user = dovecot.add_user()
        started = time.perf_counter()
        fill(user, count)
        print(f"appended {count} messages to Dovecot in {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            settings = make_settings(url, Path(tmp) / "data", run_workers=False)
            async with serve(settings) as live:
                admin = await login(live.client, ADMIN_EMAIL, ADMIN_PASSWORD)
                config = {
                    "imap_host": "127.0.0.1",
                    "imap_port": dovecot.port,
                    "imap_tls": "none",
                    "imap_username": user.name,
                    "imap_password": user.password,
                    "from_address": "support@shop.test",
                    "import_existing": count,
                }
                stop = asyncio.Event()
                supervisor = asyncio.create_task(
                    PollerSupervisor(live.ctx, scan_seconds=0.05).run(stop)
                )
                started = time.perf_counter()
                response = await admin.post(
                    "/api/v1/inboxes", json={"kind": "email", "name": "Bench", "config": config}
                )
                assert response.status_code == 201, response.text
                stored = 0
                while stored < count:
                    await asyncio.sleep(0.1)
                    async with live.ctx.db.read() as session:
                        stored = int(
                            await session.scalar(
                                select(func.count()).where(Message.direction == Direction.inbound)
                            )
                            or 0
                        )
                elapsed = time.perf_counter() - started
                async with live.ctx.db.read() as session:
                    conversations = await session.scalar(select(func.count(Conversation.id)))
                stop.set()
                await supervisor
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"stored {stored} messages in {conversations} conversations in {elapsed:.1f} s")
        print(f"{stored / elapsed:.0f} messages/s; peak RSS of this process {peak:.0f} MiB")
    finally:
        dovecot.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.database_url))


if __name__ == "__main__":
    main()
