"""Real PostgreSQL and Redis servers for the tests, from the Debian packages; and
`serving()`, which runs an ASGI app (the app itself, a receiver, a fake provider) on a
loopback port in the test's own event loop.

Each server listens on loopback only, on a free port, keeps its data in a
temporary directory and is stopped with ``stop()`` (also registered with
``atexit`` as a safety net, so an aborted session does not leave servers
behind). A missing binary is an error naming the Debian package to install:
the tests never silently skip a backend.

PostgreSQL's ``initdb`` and ``pg_ctl`` refuse to run as root; when the tests
run as root they are run through ``runuser -u postgres --`` and the data
directory is owned by ``postgres``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import psycopg
import uvicorn
from psycopg import sql
from starlette.types import ASGIApp

__all__ = [
    "PostgresServer",
    "RedisServer",
    "free_port",
    "serving",
    "start_postgres",
    "start_redis",
]

_START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
_PG_USER = "postgres"
# A Unix socket path must fit in sockaddr_un.sun_path (108 bytes, NUL included);
# PostgreSQL adds "/.s.PGSQL.NNNNN" (and ".lock") to the socket directory.
_MAX_SOCKET_DIR_LEN = 80


def loopback_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1, held from now on: unlike a port number
    from `free_port()`, no other process can take it before the server listens."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    return listening


def url_of(listening: socket.socket) -> str:
    host, port = listening.getsockname()
    return f"http://{host}:{port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _missing(binary: str, package: str) -> RuntimeError:
    return RuntimeError(
        f"{binary} not found: install the Debian package {package!r} "
        f"(apt-get install -y {package}, or run scripts/install-system-deps.sh)"
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bindir() -> Path:
    """The bin directory of the highest installed PostgreSQL major version."""
    candidates: list[tuple[int, Path]] = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        version = bindir.parent.name
        if version.isdigit() and (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            candidates.append((int(version), bindir))
    if not candidates:
        raise _missing("/usr/lib/postgresql/*/bin/initdb", "postgresql")
    return max(candidates)[1]


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` may reach ``path`` (search permission on it and every parent)."""
    groups = {user.pw_gid, *(g for g in os.getgrouplist(user.pw_name, user.pw_gid))}
    for directory in (path, *path.parents):
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid in groups:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return False
    return True


@dataclass
class PostgresServer:
    """A running PostgreSQL server; ``url`` is its ``postgres`` database."""

    url: str
    port: int
    datadir: Path
    bindir: Path
    logfile: Path
    as_postgres_user: bool
    options: str  # the server's command-line options (`pg_ctl start -o`), port included
    cleanup_dir: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    def url_for(self, dbname: str) -> str:
        """The SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://{_PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string (for psycopg) of database ``dbname``."""
        return f"host=127.0.0.1 port={self.port} user={_PG_USER} dbname={dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (empty, or a copy of ``template``); return its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(statement)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting whoever is still connected to it."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server at once (no checkpoint) and remove its private directory."""
        if self._stopped:
            return
        self._stopped = True
        self.crash()
        if self.cleanup_dir is not None:
            shutil.rmtree(self.cleanup_dir, ignore_errors=True)

    def crash(self) -> None:
        """Stop the server at once, as a crash would: every connection drops, nothing is
        checkpointed, and the data stays for `restart()`."""
        _run_pg(
            self.as_postgres_user,
            [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate", "-w"],
            cwd=self.datadir.parent,
            check=False,
        )

    def restart(self) -> None:
        """Start a crashed server again on the same port, with the same data (it recovers
        from its write-ahead log first); returns once it accepts connections."""
        assert not self._stopped, "stop() removed this server; only a crash() is restartable"
        _run_pg(self.as_postgres_user, _pg_ctl_start(self), cwd=self.datadir.parent)


def _run_pg(
    as_postgres_user: bool, argv: list[str], *, cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if as_postgres_user:
        argv = ["runuser", "-u", _PG_USER, "--", *argv]
    result = subprocess.run(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def _pg_ctl_start(server: PostgresServer) -> list[str]:
    return [
        str(server.bindir / "pg_ctl"),
        "start",
        "-w",
        "-t",
        "60",
        "-D",
        str(server.datadir),
        "-l",
        str(server.logfile),
        "-o",
        server.options,
    ]


def _postgres_root(tmpdir: Path, user: pwd.struct_passwd | None) -> tuple[Path, bool]:
    """The directory for the cluster, and whether it lies outside ``tmpdir``.

    It is a new ``tmpdir/postgres-XXXXXXXX`` unless ``postgres`` could not reach it (pytest's
    ``/tmp/pytest-of-root`` is mode 0700) or its socket path would be too long:
    then a private directory under /tmp (world-traversable, short) is used and
    removed by ``stop()``.
    """
    base = tmpdir.resolve()
    reachable = user is None or _traversable_by(base, user)
    if reachable and len(str(base / "postgres-XXXXXXXX" / "sock")) <= _MAX_SOCKET_DIR_LEN:
        return Path(tempfile.mkdtemp(prefix="postgres-", dir=base)), False
    return Path(tempfile.mkdtemp(prefix="panjereh-pg-", dir="/tmp")), True


def start_postgres(tmpdir: Path, *, crash_safe: bool = False) -> PostgresServer:
    """Initialise a cluster under ``tmpdir`` and start it on a free loopback port.

    For speed, a commit returns before its write-ahead log is written
    (``synchronous_commit=off``), so ``crash()`` loses the last commits; ``crash_safe``
    servers write it first, and lose nothing that was committed. (Neither flushes to disk:
    only the machine crashing could lose what was written.)
    """
    bindir = _postgres_bindir()
    as_root = os.geteuid() == 0
    user: pwd.struct_passwd | None = None
    if as_root:
        if shutil.which("runuser") is None:
            raise _missing("runuser", "util-linux")
        try:
            user = pwd.getpwnam(_PG_USER)
        except KeyError:
            raise _missing(f"user {_PG_USER!r}", "postgresql") from None

    tmpdir.mkdir(parents=True, exist_ok=True)
    root, private = _postgres_root(tmpdir, user)
    datadir, sockdir, logfile = root / "data", root / "sock", root / "postgres.log"
    sockdir.mkdir()
    if user is not None:
        for path in (root, sockdir):
            os.chown(path, user.pw_uid, user.pw_gid)

    try:
        _run_pg(
            as_root,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "--no-sync",
                "-A",
                "trust",
                "-U",
                _PG_USER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            cwd=root,
        )
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            port = free_port()
            options = (
                f"-k {sockdir} -c listen_addresses=127.0.0.1 -p {port} "
                "-c fsync=off -c full_page_writes=off -c max_connections=200 "
                f"-c synchronous_commit={'on' if crash_safe else 'off'}"
            )
            server = PostgresServer(
                url=f"postgresql+psycopg://{_PG_USER}@127.0.0.1:{port}/postgres",
                port=port,
                datadir=datadir,
                bindir=bindir,
                logfile=logfile,
                as_postgres_user=as_root,
                options=options,
                cleanup_dir=root if private else None,
            )
            result = _run_pg(as_root, _pg_ctl_start(server), cwd=root, check=False)
            if result.returncode == 0:
                atexit.register(server.stop)
                return server
            last_error = f"{result.stdout}\n{result.stderr}\n{_tail(logfile)}"
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")
    except BaseException:
        if private:
            shutil.rmtree(root, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- Redis


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A running Redis server; ``url`` is its database 0."""

    url: str
    port: int
    pidfile: Path
    logfile: Path
    _stopped: bool = field(default=False, repr=False)

    def url_for(self, db: int) -> str:
        """The URL of logical database ``db`` (0-15) on this server."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        """Shut the server down without saving and wait until it has exited."""
        if self._stopped:
            return
        self._stopped = True
        cli = shutil.which("redis-cli")
        if cli is not None:
            subprocess.run(
                [cli, "-h", "127.0.0.1", "-p", str(self.port), "shutdown", "nosave"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
        pid = _read_pid(self.pidfile)
        deadline = time.monotonic() + 10
        while pid is not None and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if pid is not None and _alive(pid):
            os.kill(pid, 9)


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); it is gone for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def start_redis(tmpdir: Path, port: int | None = None) -> RedisServer:
    """Start a non-persistent Redis on a free loopback port (or ``port``, e.g. to restart
    one that was stopped), working in ``tmpdir``."""
    server_bin = shutil.which("redis-server")
    if server_bin is None:
        raise _missing("redis-server", "redis-server")
    if shutil.which("redis-cli") is None:
        raise _missing("redis-cli", "redis-tools")

    tmpdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="redis-", dir=tmpdir.resolve()))
    pidfile, logfile = root / "redis.pid", root / "redis.log"
    last_error = ""
    wanted = port
    for _ in range(_START_ATTEMPTS):
        port = wanted or free_port()
        result = subprocess.run(
            [
                server_bin,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(pidfile),
                "--logfile",
                str(logfile),
                "--dir",
                str(root),
            ],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode == 0:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if _redis_ping(port):
                    server = RedisServer(
                        url=f"redis://127.0.0.1:{port}/0",
                        port=port,
                        pidfile=pidfile,
                        logfile=logfile,
                    )
                    atexit.register(server.stop)
                    return server
                pid = _read_pid(pidfile)
                if pid is not None and not _alive(pid):
                    break  # it exited, most likely because the port was taken
                time.sleep(0.01)
            else:
                pid = _read_pid(pidfile)
                if pid is not None and _alive(pid):
                    os.kill(pid, 9)
        last_error = f"{result.stdout}\n{result.stderr}\n{_tail(logfile)}"
        pidfile.unlink(missing_ok=True)
    raise RuntimeError(f"Redis did not start:\n{last_error}")


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, listening: socket.socket, *, lifespan: Literal["on", "off"] = "off"
) -> AsyncIterator[uvicorn.Server]:
    """An ASGI app served by uvicorn on `listening` (from `loopback_socket()`), in this
    event loop, until the block ends (the app, a receiver, a fake provider)."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            if task.done():
                task.result()  # it failed to start: say why
            await asyncio.sleep(0.005)
        yield server
    finally:
        server.should_exit = True
        await task
        listening.close()
