"""`panjereh`: serve, worker, migrate, create-agent, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import getpass
import importlib.metadata
import logging
import signal
import socket
import subprocess
import sys
import textwrap
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


def _connect_once() -> None:
    """Raise OperationalError (said in a line by `main`) unless the database answers."""
    from app.db import make_sync_engine

    engine = make_sync_engine(get_settings().database_url)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1–65535)")
    return port


def _migrate_in_child(log_level: str) -> int:
    """`panjereh migrate` in a child process, for `serve`: Alembic and its templates (~10 MiB)
    are then never loaded into the long-running server. Its exit code (0: up to date); a
    problem is said by the child on stderr, as `migrate` says it."""
    command = [sys.executable, "-m", "app.cli", "--log-level", log_level, "migrate"]
    # Our own interpreter and module, and a log level argparse restricted to its choices.
    return subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode  # noqa: S603


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


def _port_in_use(host: str, port: int) -> bool:
    """Whether another process listens on host:port (checked before the slow start, so the
    operator hears it in a sentence instead of uvicorn's traceback after migrations)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.httpserver import GuardedHttpToolsProtocol
    from app.main import create_app

    if _port_in_use(args.host, args.port):
        print(
            f"panjereh: port {args.port} on {args.host} is in use by another program.\n"
            f"  Pick another: `panjereh serve --port 8001`, or `PORT=8001 make run`.\n"
            "  PANJEREH_PUBLIC_URL must name the same port (make run sets it for you).",
            file=sys.stderr,
        )
        return 2
    if args.no_migrate:
        _connect_once()  # what migrating would have found out: the database answers
    elif code := _migrate_in_child(args.log_level):
        return code
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


SETTINGS_HELP = """\
Settings come from PANJEREH_* environment variables (or a .env file in the working
directory): PANJEREH_DATABASE_URL, PANJEREH_PUBLIC_URL, PANJEREH_SECRET_KEY,
PANJEREH_ADMIN_EMAIL / _PASSWORD / _NAME, PANJEREH_REDIS_URL, PANJEREH_RUN_WORKERS, ...
The README's "Configuration" section lists them all with their defaults."""


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, text: str
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(f"{summary[0].upper()}{summary[1:]}. {text}", width=80),
        epilog=SETTINGS_HELP,
        formatter_class=_HelpFormatter,
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option that has one; the settings note kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:  # required, or said in the help ("default: …")
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panjereh",
        description="Panjereh: one inbox for every channel your customers write on.",
        epilog=SETTINGS_HELP,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {importlib.metadata.version('panjereh')}"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(
        sub,
        "serve",
        "run the API server and the console (and, embedded, the workers)",
        "Upgrades the database first. With PANJEREH_RUN_WORKERS=false the delivery worker, "
        "pollers and jobs run in `panjereh worker` processes instead.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on")
    serve.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    serve.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-*"
    )
    serve.set_defaults(func=cmd_serve)

    _command(
        sub,
        "worker",
        "run the delivery worker, the pollers and the periodic jobs",
        "For deployments with several processes: run any number next to `serve` processes "
        "that have PANJEREH_RUN_WORKERS=false; they share the work through the database.",
    ).set_defaults(func=cmd_worker)
    _command(
        sub,
        "migrate",
        "upgrade the database to the latest schema",
        "Safe to run again; `serve` does it on start unless --no-migrate.",
    ).set_defaults(func=cmd_migrate)
    _command(
        sub,
        "demo",
        "create demo inboxes and a few sample conversations, to try the console",
        "Adds a web chat and a callback inbox, and an api inbox with four customers' "
        "conversations; run again, it adds nothing.",
    ).set_defaults(func=cmd_demo)

    create = _command(
        sub,
        "create-agent",
        "add an agent or administrator",
        "Prints the new agent's id; the e-mail must not be taken.",
    )
    create.add_argument("--email", required=True, help="the agent's sign-in e-mail")
    create.add_argument("--password", help="prompted for when omitted (at least 8 characters)")
    create.add_argument(
        "--name", help="shown to colleagues and customers (default: the e-mail's local part)"
    )
    create.add_argument(
        "--role", default="agent", choices=[r.value for r in Role], help="what they may do"
    )
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
