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
4. SQL statements per call, counted with a SQLAlchemy hook on the same database by the app
   run in this process (no workers): for one call alone (a batch of one: the most a call
   costs) and for `--rate` calls arriving at once (what group commit makes of a burst).
   The load's own figures: the server's CPU per call, and how busy the whole machine was
   (the other processes' share makes the latencies mean less).

`--profile FILE` records the server's measured phase with py-spy (if installed) and prints
where its time went.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    HOST,
    Server,
    bare_server,
    database_label,
    finish_profiler,
    free_port,
    login,
    machine,
    machine_busy_seconds,
    panjereh_cmd,
    panjereh_env,
    percentile,
    scalar,
    server,
    start_profiler,
)
from sqlalchemy import event
from twilio.request_validator import RequestValidator

from app.main import create_app
from app.settings import DEV_SECRET_KEY, Settings
from tests.support.fakes import twilio as fake_twilio

BARE_TOKEN = "bare-twilio-auth-token"  # noqa: S105 - bench/bare_server.py's
ACCOUNT_SID, TOKEN, NUMBER = fake_twilio.ACCOUNT_SID, fake_twilio.AUTH_TOKEN, fake_twilio.NUMBER


async def setup_voice_inbox(srv: Server) -> int:
    """The inbox, its credentials checked on the local Twilio fake (only while saving: the
    load itself asks nothing of Twilio's REST API)."""
    async with (
        fake_twilio.running_twilio() as twilio,
        httpx.AsyncClient(base_url=srv.base_url, timeout=30.0) as client,
    ):
        created = await client.post(
            "/api/v1/inboxes",
            headers={"Authorization": f"Bearer {login(srv)}"},
            json={
                "kind": "voice",
                "name": "Bench phone",
                "config": {
                    "account_sid": ACCOUNT_SID,
                    "auth_token": TOKEN,
                    "api_base_url": twilio.url,
                    "number": NUMBER,
                    "agent_numbers": ["+14155550101", "+14155550102", "+14155550103"],
                },
            },
        )
    if created.status_code != 201:
        raise RuntimeError(f"creating the inbox: {created.status_code} {created.text}")
    return int(created.json()["id"])


class Caller:
    """Twilio's side: a signed incoming-call request, new CallSid, one of `callers` numbers."""

    def __init__(self, url: str, token: str, callers: int) -> None:
        self.url = url
        self._validator = RequestValidator(token)
        self._rng = random.Random(17)
        self._callers = callers

    def request(self) -> tuple[dict[str, str], dict[str, str]]:
        form = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": "CA" + secrets.token_hex(16),
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": f"+1212555{self._rng.randrange(self._callers):04d}",
            "To": NUMBER,
            "ApiVersion": "2010-04-01",
        }
        return form, {"X-Twilio-Signature": self._validator.compute_signature(self.url, form)}


async def load(
    base_url: str, path: str, token: str, *, rate: float, seconds: float, callers: int
) -> tuple[list[float], Counter[str]]:
    """Signed incoming-call posts at `rate` per second for `seconds`: latencies, outcomes."""
    caller = Caller(base_url + path, token, callers)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:

        async def one() -> None:
            form, headers = caller.request()
            t0 = time.perf_counter()
            try:
                response = await client.post(caller.url, data=form, headers=headers)
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


async def statements_per_call(
    settings: Settings, path: str, *, at_once: int, callers: int
) -> tuple[float, float]:
    """SQL statements per incoming call, in this process on the bench's database: a call
    alone, and `at_once` calls arriving together."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        engine = app.state.ctx.db.engine.sync_engine
        executed = 0

        def count(*_args: Any) -> None:
            nonlocal executed
            executed += 1

        caller = Caller(settings.public_url + path, TOKEN, callers)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:

            async def calls(n: int) -> float:
                nonlocal executed
                requests = [caller.request() for _ in range(n)]
                executed = 0
                event.listen(engine, "before_cursor_execute", count)
                try:
                    answers = await asyncio.gather(
                        *(client.post(path, data=f, headers=h) for f, h in requests)
                    )
                finally:
                    event.remove(engine, "before_cursor_execute", count)
                if any(a.status_code != 200 for a in answers):
                    raise RuntimeError(f"a call was refused: {answers[0].text}")
                return executed / n

            return await calls(1), await calls(at_once)


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
    parser.add_argument("--profile", type=Path, help="py-spy the server's measured phase here")
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
            inbox_id = asyncio.run(setup_voice_inbox(srv))
            path = f"/webhooks/twilio/{inbox_id}/voice"
            asyncio.run(load(srv.base_url, path, TOKEN, rate=10, seconds=1, callers=10))
            spy = (
                start_profiler(srv.proc.pid, args.seconds + 2, args.profile)
                if args.profile
                else None
            )
            cpu0, busy0, wall0 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
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
            cpu1, busy1, wall1 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
            profile = (
                finish_profiler(spy, args.profile, args.seconds)
                if spy is not None and args.profile is not None
                else []
            )
            complaints = srv.complaints()
        stored = scalar(database_url, "SELECT count(*) FROM calls")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=database_url,
            data_dir=workdir / "data",
            public_url=env["PANJEREH_PUBLIC_URL"],
            secret_key=DEV_SECRET_KEY,  # the server's: bench/harness.py sets none
            run_workers=False,
        )
        alone, burst = asyncio.run(
            statements_per_call(settings, path, at_once=int(args.rate), callers=args.callers)
        )
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
    print(
        f"SQL statements per call: {alone:.1f} for a call alone, "
        f"{burst:.1f} each for {int(args.rate)} calls at once"
    )
    server_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    if server_cpu is not None and outcomes["200"]:
        print(f"server CPU: {server_cpu * 1000 / outcomes['200']:.1f} ms per call answered")
    if busy0 is not None and busy1 is not None:
        cores = (os.cpu_count() or 1) * (wall1 - wall0)
        print(
            f"machine: {busy1 - busy0:.1f} of {cores:.1f} core-seconds busy during the load, "
            f"{server_cpu or 0:.1f} of them the server's"
        )
    for line in profile:
        print(line)
    for line in complaints[:10]:
        print("server:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
