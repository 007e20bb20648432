"""`panjereh`: serve, worker, migrate, create-agent, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import logging
import signal
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from app.agents.models import Role
from app.db import unavailable
from app.errors import validation_message
from app.settings import get_settings


def _migrate() -> None:
    from app.migrate import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)


def _settle_heap() -> None:
    """Garbage-collector settings for a long-running server process, called once its code is
    imported. Everything alive now (modules, classes, the app) lives as long as the process:
    frozen, it is left out of every later collection. And a request allocates thousands of
    objects, nearly all freed by reference counting: with CPython's default threshold (700)
    the young generation was collected several times per request, a sixth of the server's
    CPU in bench/ingest.py, and the occasional full collection added ~60 ms to p99."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def cmd_migrate(_args: argparse.Namespace) -> int:
    _migrate()
    print("database is at the latest schema")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.httpserver import GuardedHttpToolsProtocol
    from app.main import create_app

    if not args.no_migrate:
        _migrate()
    app = create_app(get_settings())
    _settle_heap()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        http=GuardedHttpToolsProtocol,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        # Event frames are small and go to many sockets: compressing each one once per
        # socket would cost more CPU than the bandwidth is worth (bench/live_latency.py).
        ws_per_message_deflate=False,
    )
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    from app.context import build_context
    from app.main import background_workers

    async def main() -> None:
        ctx = build_context(get_settings())
        _settle_heap()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopped.set)
        async with background_workers(ctx):
            logging.getLogger(__name__).info("worker running")
            await stopped.wait()
        await ctx.aclose()

    asyncio.run(main())
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    from app.context import build_context
    from app.demo import SAMPLE_INBOX, create_demo_inboxes, create_sample_conversations

    _migrate()

    async def main() -> tuple[list[str], int]:
        ctx = build_context(get_settings())
        try:
            return await create_demo_inboxes(ctx), await create_sample_conversations(ctx)
        finally:
            await ctx.aclose()

    created, stored = asyncio.run(main())
    settings = get_settings()
    print(f"demo inboxes created: {', '.join(created) or 'none (they exist already)'}")
    print(f"sample messages stored in {SAMPLE_INBOX!r}: {stored}")
    print(f"the console: {settings.public_url.rstrip('/')}/")
    return 0


def cmd_create_agent(args: argparse.Namespace) -> int:
    from app.agents import service
    from app.context import build_context
    from app.errors import AppError

    password = args.password or getpass.getpass("password: ")

    async def main() -> int:
        ctx = build_context(get_settings())
        password_hash = await ctx.passwords.hash(password)
        try:
            async with ctx.db.write() as session:
                agent = await service.create_agent(
                    session,
                    email=args.email,
                    name=args.name or args.email.split("@")[0],
                    password_hash=password_hash,
                    role=Role(args.role),
                )
        except AppError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
        finally:
            await ctx.db.dispose()
        print(f"created {agent.role} {agent.email} (id {agent.id})")
        return 0

    if len(password) < 8:
        print("error: the password needs at least 8 characters", file=sys.stderr)
        return 2
    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="panjereh", description=__doc__)
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server (and, embedded, the workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    serve.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-*"
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run the delivery worker and jobs").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        func=cmd_migrate
    )

    sub.add_parser(
        "demo", help="demo inboxes and a few sample conversations, to try the console"
    ).set_defaults(func=cmd_demo)

    create = sub.add_parser("create-agent", help="add an agent or administrator")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--name")
    create.add_argument("--role", default="agent", choices=[r.value for r in Role])
    create.set_defaults(func=cmd_create_agent)
    return parser


def _setting_name(error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error.get("loc", ()))
    return f"PANJEREH_{field.upper()}" if field else "the settings"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Bot API URLs carry the bot token: httpx logs every request's URL at INFO, PTB its base
    # URL at DEBUG.
    # Alembic names each of its plugins at INFO on every start.
    for name, floor in (
        ("httpx", logging.WARNING),
        ("telegram", logging.INFO),
        ("alembic.runtime.plugins", logging.WARNING),
    ):
        logging.getLogger(name).setLevel(max(floor, logging.getLogger().level))
    # An operator's mistake is said in a line or two, not a traceback.
    try:
        code: int = args.func(args)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        print("panjereh: the configuration is not valid:", file=sys.stderr)
        for error in exc.errors():
            print(f"  {_setting_name(error)}: {validation_message(error)}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"panjereh: the database cannot be used: {unavailable(exc)}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
