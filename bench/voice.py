"""The caller's ear path: how fast one `panjereh serve` answers Twilio's inbound-call
webhook with TwiML, at a steady arrival rate of calls.

    .venv/bin/python bench/voice.py [--rate 50] [--seconds 10] [--database-url postgresql://...]

What it does, all on loopback, then stops (it prints figures, it never asserts a time):

1. Starts a real server (`panjereh serve`, a fresh SQLite database unless `--database-url`,
   the embedded workers running as in `make run`) with PANJEREH_PUBLIC_URL set to its own
   address, logs in and creates a `voice` inbox ringing three agents' phones.
2. Open loop: for `--seconds`, a new call every 1/`--rate` s whatever the answers take (as
   Twilio's callers do), each `POST /webhooks/twilio/{inbox}/voice` with a new CallSid and
   one of `--callers` numbers, signed with X-Twilio-Signature like Twilio's. Every answer's
   latency (request written → TwiML read) and status is kept; the calls stored are counted
   in the database afterwards.
3. The same load against `bench/bare_server.py`'s voice route: the form parsed, the
   signature checked and the same TwiML built, with no database: the ceiling. The
   difference is what storing the call (contact, conversation, call item, call row, events)
   before answering costs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    HOST,
    Server,
    bare_server,
    database_label,
    free_port,
    login,
    machine,
    panjereh_cmd,
    panjereh_env,
    percentile,
    scalar,
    server,
)
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
BARE_TOKEN = "bare-twilio-auth-token"  # noqa: S105 - bench/bare_server.py's
TOKEN = "bench-twilio-auth-token"  # noqa: S105 - a throwaway inbox's


def setup_voice_inbox(srv: Server) -> int:
    with httpx.Client(base_url=srv.base_url, timeout=30.0) as client:
        created = client.post(
            "/api/v1/inboxes",
            headers={"Authorization": f"Bearer {login(srv)}"},
            json={
                "kind": "voice",
                "name": "Bench phone",
                "config": {
                    "account_sid": ACCOUNT_SID,
                    "auth_token": TOKEN,
                    "number": "+14155550143",
                    "agent_numbers": ["+14155550101", "+14155550102", "+14155550103"],
                },
            },
        )
    if created.status_code != 201:
        raise RuntimeError(f"creating the inbox: {created.status_code} {created.text}")
    return int(created.json()["id"])


async def load(
    base_url: str, path: str, token: str, *, rate: float, seconds: float, callers: int
) -> tuple[list[float], Counter[str]]:
    """Signed incoming-call posts at `rate` per second for `seconds`: latencies, outcomes."""
    validator = RequestValidator(token)
    rng = random.Random(17)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    url = base_url + path
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:

        async def one() -> None:
            form = {
                "AccountSid": ACCOUNT_SID,
                "CallSid": "CA" + secrets.token_hex(16),
                "CallStatus": "ringing",
                "Direction": "inbound",
                "From": f"+1212555{rng.randrange(callers):04d}",
                "To": "+14155550143",
                "ApiVersion": "2010-04-01",
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
            t0 = time.perf_counter()
            try:
                response = await client.post(url, data=form, headers=headers)
            except httpx.HTTPError as exc:
                outcomes[type(exc).__name__] += 1
                return
            latencies.append(time.perf_counter() - t0)
            outcomes[str(response.status_code)] += 1

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return sorted(latencies), outcomes


def report(name: str, latencies: list[float], outcomes: Counter[str], seconds: float) -> None:
    ms = [x * 1000 for x in latencies]
    answered = sum(n for k, n in outcomes.items() if k == "200")
    print(
        f"{name:<10} {answered / seconds:6.1f} calls/s answered   "
        f"p50 {percentile(ms, 0.50):6.1f} ms   p99 {percentile(ms, 0.99):6.1f} ms   "
        f"max {max(ms, default=0):6.1f} ms   outcomes {dict(outcomes)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=500, help="distinct caller numbers")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="panjereh-bench-voice-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'panjereh.db'}"
        port = free_port()
        env = panjereh_env(workdir, database_url) | {"PANJEREH_PUBLIC_URL": f"http://{HOST}:{port}"}
        print(
            f"database: {database_label(database_url)}; "
            f"{args.rate:g} calls/s for {args.seconds:g} s"
        )
        with server("panjereh", panjereh_cmd(port), env, workdir, workdir / "server.log") as srv:
            inbox_id = setup_voice_inbox(srv)
            path = f"/webhooks/twilio/{inbox_id}/voice"
            asyncio.run(load(srv.base_url, path, TOKEN, rate=10, seconds=1, callers=10))
            latencies, outcomes = asyncio.run(
                load(
                    srv.base_url,
                    path,
                    TOKEN,
                    rate=args.rate,
                    seconds=args.seconds,
                    callers=args.callers,
                )
            )
            complaints = srv.complaints()
        stored = scalar(database_url, "SELECT count(*) FROM calls")
        with bare_server(workdir) as bare:
            asyncio.run(
                load(
                    bare.base_url,
                    "/webhooks/twilio/1/voice",
                    BARE_TOKEN,
                    rate=10,
                    seconds=1,
                    callers=10,
                )
            )
            bare_latencies, bare_outcomes = asyncio.run(
                load(
                    bare.base_url,
                    "/webhooks/twilio/1/voice",
                    BARE_TOKEN,
                    rate=args.rate,
                    seconds=args.seconds,
                    callers=args.callers,
                )
            )
    report("panjereh", latencies, outcomes, args.seconds)
    report("bare", bare_latencies, bare_outcomes, args.seconds)
    print(f"calls stored: {stored} (warm-up included: 10)")
    for line in complaints[:10]:
        print("server:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
