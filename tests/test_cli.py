"""The `panjereh` command, run as a user would: migrate, create-agent, serve."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port


def panjereh(*args: str, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, **kw
    )


def test_migrate_create_agent_and_serve(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "PANJEREH_DATA_DIR": str(tmp_path / "data"),
        "PANJEREH_PASSWORD_HASH_TIME_COST": "1",
        "PANJEREH_PASSWORD_HASH_MEMORY_KIB": "64",
    }
    migrated = panjereh("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    created = panjereh(
        "create-agent",
        "--email",
        "Lead@Example.com",
        "--password",
        "long enough",
        "--role",
        "admin",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert "created admin lead@example.com" in created.stdout
    again = panjereh(
        "create-agent", "--email", "lead@example.com", "--password", "long enough", env=env
    )
    assert again.returncode == 1
    assert "exists" in again.stderr
    short = panjereh("create-agent", "--email", "x@example.com", "--password", "short", env=env)
    assert short.returncode == 2

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--log-level", "warning", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "lead@example.com", "password": "long enough"},
        )
        assert login.status_code == 200, login.text
        assert login.json()["agent"]["role"] == "admin"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        metrics = httpx.get(f"{base}/metrics").text
        assert "panjereh_http_requests_total" in metrics
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_demo_creates_its_inboxes_and_sample_conversations_once(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
        "PANJEREH_DATA_DIR": str(tmp_path / "data"),
    }
    first = panjereh("demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "Website chat (demo), Call me back (demo)" in first.stdout
    assert "sample messages stored in 'Demo shop (samples)': 6" in first.stdout
    again = panjereh("demo", env=env)
    assert again.returncode == 0, again.stderr
    assert "none (they exist already)" in again.stdout
    assert "sample messages stored in 'Demo shop (samples)': 0" in again.stdout

    with contextlib.closing(sqlite3.connect(tmp_path / "demo.db")) as db:
        kinds = sorted(kind for (kind,) in db.execute("SELECT kind FROM inboxes"))
        conversations = db.execute("SELECT count(*) FROM conversations").fetchone()[0]
        messages = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        persian = db.execute("SELECT count(*) FROM contacts WHERE name = 'مریم احمدی'").fetchone()
    assert kinds == ["api", "callback", "webchat"]
    assert (conversations, messages, persian[0]) == (4, 6, 1)


def test_a_bad_setting_or_an_unreachable_database_is_said_in_a_line(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "PANJEREH_DATA_DIR": str(tmp_path / "data"),
    }
    for changes, code, said in (
        (
            {"PANJEREH_EVENT_RETENTION_DAYS": "a week"},
            2,
            "PANJEREH_EVENT_RETENTION_DAYS: Input should be a valid number",
        ),
        ({"PANJEREH_ADMIN_EMAIL": "admin"}, 2, "PANJEREH_ADMIN_EMAIL: 'admin' is not an e-mail"),
        (
            # Port 1 on loopback: nothing listens, the connection is refused at once.
            {"PANJEREH_DATABASE_URL": "postgresql://panjereh@127.0.0.1:1/panjereh"},
            1,
            "panjereh: the database cannot be used: ",
        ),
        ({"PANJEREH_DATABASE_URL": "garbage"}, 2, "PANJEREH_DATABASE_URL: not a database URL"),
        (
            {"PANJEREH_DATABASE_URL": "mysql://u:secret@db/panjereh"},
            2,
            "PANJEREH_DATABASE_URL: mysql is not supported",
        ),
        ({"PANJEREH_REDIS_URL": "garbage"}, 2, "PANJEREH_REDIS_URL: not a Redis URL"),
        ({"PANJEREH_PUBLIC_URL": "notaurl"}, 2, "PANJEREH_PUBLIC_URL: 'notaurl' is not the"),
    ):
        result = panjereh("serve", "--port", str(free_port()), env={**env, **changes}, timeout=60)
        assert result.returncode == code, result.stderr
        assert said in result.stderr
        assert "Traceback" not in result.stderr
        assert "secret" not in result.stderr  # a URL's password is never repeated
    # Serving without migrating still checks the database answers; a port must be one.
    unreachable = {"PANJEREH_DATABASE_URL": "postgresql://panjereh@127.0.0.1:1/panjereh"}
    for args, code, said in (
        (["--no-migrate"], 1, "panjereh: the database cannot be used: "),
        (["--port", "99999"], 2, "99999 is not a port (1–65535)"),
    ):
        port = ["--port", str(free_port())] if "--port" not in args else []
        result = panjereh("serve", *port, *args, env={**env, **unreachable}, timeout=60)
        assert result.returncode == code, result.stderr
        assert said in result.stderr
        assert "Traceback" not in result.stderr


def test_help_describes_each_command_its_defaults_and_the_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")}
    top = panjereh("--help", env=env)
    assert top.returncode == 0
    for command in ("serve", "worker", "migrate", "demo", "create-agent"):
        assert command in top.stdout
    assert "PANJEREH_DATABASE_URL" in top.stdout
    worker = panjereh("worker", "--help", env=env)
    assert "several processes" in worker.stdout
    serve = panjereh("serve", "--help", env=env)
    assert "(default: 8000)" in serve.stdout
    create = panjereh("create-agent", "--help", env=env)
    assert "(default: agent)" in create.stdout
    assert "(default: None)" not in create.stdout
    version = panjereh("--version", env=env)
    assert version.returncode == 0
    assert re.fullmatch(r"panjereh \d+\.\d+\.\d+\n", version.stdout)


def test_serve_on_a_busy_port_says_which_and_how_to_pick_another(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "PANJEREH_DATA_DIR": str(tmp_path / "data"),
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = panjereh("serve", "--port", str(port), env=env, timeout=60)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "PORT=8001 make run" in result.stderr
    assert "PANJEREH_PUBLIC_URL" in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing was started: the database was not even created.
    assert not (tmp_path / "cli.db").exists()
