"""Resident memory of `panjereh serve` (embedded default, SQLite) at rest: with no inbox,
then with one inbox of every kind (Telegram polling a fake Bot API, e-mail on a real
Dovecot and SMTP server, SMS on a fake Twilio, web chat, callback, api), then with 1,000
idle agent sockets on top.

Each figure is VmRSS read from /proc after the server has settled (`--settle` seconds with
no requests). Run: `.venv/bin/python bench/idle_memory.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import harness
import httpx
from harness import Arrivals, open_sockets, rss_kib

from tests.support.fakes.telegram import fake_telegram
from tests.support.fakes.twilio import running_twilio
from tests.support.mail import inbox_config
from tests.support.mailservers import start_dovecot, start_smtp
from tests.support.telegram import TOKEN

SMS_NUMBER = "+15005550006"


def settled_mib(srv: harness.Server, settle: float) -> float:
    time.sleep(settle)
    return rss_kib(srv.proc.pid) / 1024


@contextlib.asynccontextmanager
async def every_kind_of_inbox(base_url: str, token: str) -> AsyncIterator[list[str]]:
    """One inbox of each kind on the server, with the providers they need running."""
    dovecot, smtp = start_dovecot(), start_smtp()
    try:
        async with (
            fake_telegram(TOKEN) as telegram,
            running_twilio() as twilio,
            httpx.AsyncClient(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client,
        ):
            configs = {
                "telegram": {"bot_token": TOKEN, "api_base_url": telegram.url, "mode": "polling"},
                "email": inbox_config(dovecot.add_user(), smtp.port),
                "sms": {
                    "account_sid": twilio.account_sid,
                    "auth_token": twilio.auth_token,
                    "api_base_url": twilio.url,
                    "from_number": SMS_NUMBER,
                },
                "webchat": {},
                "callback": {},
                "api": {},
            }
            for kind, config in configs.items():
                created = await client.post(
                    "/api/v1/inboxes", json={"kind": kind, "name": kind, "config": config}
                )
                if created.status_code != 201:
                    raise RuntimeError(f"{kind} inbox: {created.status_code} {created.text}")
            yield list(configs)
    finally:
        smtp.stop()
        dovecot.stop()


async def measure(settle: float, sockets: int) -> None:
    with tempfile.TemporaryDirectory(prefix="panjereh-idle-") as tmp:
        workdir = Path(tmp)
        env = harness.panjereh_env(workdir, f"sqlite:///{workdir}/idle.db")
        cmd = harness.panjereh_cmd(harness.free_port())
        with harness.server("panjereh", cmd, env, workdir, workdir / "serve.log") as srv:
            token = harness.login(srv)
            print(f"idle, no inbox:                 {settled_mib(srv, settle):6.1f} MiB")
            async with every_kind_of_inbox(srv.base_url, token) as kinds:
                with_inboxes = await asyncio.to_thread(settled_mib, srv, settle)
                print(
                    f"one inbox of each kind:         {with_inboxes:6.1f} MiB  ({', '.join(kinds)})"
                )
                opened = await open_sockets([srv.port], token, sockets, Arrivals())
                with_sockets = await asyncio.to_thread(settled_mib, srv, settle)
                print(
                    f"+{sockets:,} idle agent sockets:     {with_sockets:6.1f} MiB"
                    f"  ({(with_sockets - with_inboxes) * 1024 / sockets:.1f} KiB per socket)"
                )
                for sock in opened:
                    sock.close()
                print(f"peak (VmHWM):                   {srv.peak_rss_mib() or 0:6.1f} MiB")
                # Read while the providers still run: their stopping is not the server's fault.
                if complaints := srv.complaints():
                    print("server complaints:", *complaints[-5:], sep="\n  ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=5.0, help="seconds at rest before reading")
    parser.add_argument("--sockets", type=int, default=1000)
    args = parser.parse_args(argv)
    print(harness.machine())
    asyncio.run(measure(args.settle, args.sockets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
