"""Engines, sessions and the unit of work.

Reads use `Database.read()`. Every change goes through `Database.write()`, which owns the
transaction: it runs the `before_commit` hook (the event log numbers its events there,
last, so that sequence order is commit order), commits, and only then runs `after_commit`
(publishing to the bus), so nothing is announced that was not stored.

SQLite allows one writer at a time. Write transactions start with `BEGIN IMMEDIATE` and are
serialised inside the process by an asyncio lock, so concurrent writers queue in order instead
of spinning in SQLite's busy handler; other processes still wait on `busy_timeout`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import pydantic_core
from asyncpg import InterfaceError as AsyncpgInterfaceError
from sqlalchemy import JSON, DateTime, MetaData, Table, create_engine, event
from sqlalchemy.engine import URL, Dialect, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from app.sqlite_inline import inline_creator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def table(model: type[Base]) -> Table:
    """A model's table, for plain Core statements where ORM bookkeeping would only cost."""
    return cast("Table", model.__table__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class json_array_agg(FunctionElement[Any]):  # noqa: N801 - an SQL function, named as one
    """The aggregate of a column's values as a JSON array: `json_agg` on PostgreSQL (NULL
    over no rows), `json_group_array` on SQLite (`[]`)."""

    type = JSON()
    inherit_cache = True


@compiles(json_array_agg, "postgresql")
def _json_agg(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "sqlite")
def _json_group_array(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


def unavailable(exc: BaseException) -> str | None:
    """Why the database cannot be used right now (down, restarting, a dropped connection;
    SQLite busy), in one line, if that is what `exc` says; None for any other error.
    Loops that meet it wait and try again: it is worth a line in the log, not a traceback
    every round."""
    if not isinstance(exc, OperationalError):
        return None
    lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc.orig or exc).__name__


def log_failed_round(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """A background loop's round failed and is tried again: one line while the database is
    away, else the traceback."""
    if (reason := unavailable(exc)) is None:
        logger.error("%s failed; trying again shortly", what, exc_info=exc)
    else:
        logger.warning("%s waits for the database: %s", what, reason)


def sync_url(url: str) -> str:
    """The URL for synchronous use (Alembic, the CLI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.set(drivername="sqlite"))
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


CONNECT_TIMEOUT_SECONDS = 5.0  # PostgreSQL; a URL's own `?connect_timeout=` wins


def asyncpg_engine_args(url: URL) -> tuple[URL, dict[str, Any]]:
    """The server's URL and connect arguments for a PostgreSQL URL. The server reaches
    PostgreSQL through asyncpg, whose protocol is written for asyncio (a fifth less CPU per
    write transaction than psycopg's: bench/ingest_writer.py); Alembic and the CLI, which
    are synchronous, through psycopg. The libpq parameters a URL may carry (`sslmode`,
    `sslrootcert`, `application_name`…) reach asyncpg as a DSN, which it reads as libpq
    does, except `connect_timeout`, which becomes its `timeout`."""
    query = dict(url.query)
    try:
        timeout = float(cast("str", query.pop("connect_timeout", CONNECT_TIMEOUT_SECONDS)))
    except ValueError:
        raise ValueError("connect_timeout in the database URL is a number of seconds") from None
    # A database host that drops packets (rather than refusing) would hold each request
    # for the kernel's TCP timeout, minutes; the timeout makes it a quick 503. libpq's 0
    # means no limit.
    args: dict[str, Any] = {"timeout": timeout if timeout > 0 else None}
    if query:
        dsn = url.set(drivername="postgresql", query=query)
        args["dsn"] = dsn.render_as_string(hide_password=False)
    return url.set(drivername="postgresql+asyncpg", query={}), args


# The DB-API's classes of the errors this code tells apart, by SQLSTATE class, as psycopg
# names them. asyncpg's adapter calls most of them a plain Error, so they are named here:
# a value the database refuses (22) is the client's 422; a connection lost or refused, a
# transaction the server rolled back (deadlock, serialization), resources exhausted, an
# operator's intervention (shutdown, cancel) or a system error is the database being away
# for a moment, which the loops and handlers that wait for it catch as OperationalError.
_SQLSTATE_CLASSES: dict[str, type[DBAPIError]] = {
    "22": DataError,
    **dict.fromkeys(("08", "40", "53", "54", "55", "57", "58"), OperationalError),
}


def _dbapi_class(context: ExceptionContext) -> DBAPIError | None:
    """The DB-API class an asyncpg failure belongs to; None to keep SQLAlchemy's own."""
    orig = context.original_exception
    cause = orig.__cause__  # asyncpg's own exception, under the adapter's
    if context.is_disconnect or isinstance(orig, OSError):  # refused, reset, timed out
        wanted: type[DBAPIError] | None = OperationalError
    elif isinstance(cause, AsyncpgInterfaceError) and isinstance(cause, ValueError):
        wanted = DataError  # asyncpg's DataError (not exported so): a value it cannot send
    else:
        wanted = _SQLSTATE_CLASSES.get(str(getattr(orig, "sqlstate", None) or "")[:2])
    if wanted is None or isinstance(context.sqlalchemy_exception, wanted):
        return None
    return wanted(
        context.statement,
        context.parameters,
        orig,
        connection_invalidated=context.is_disconnect,
    )


def _connect_or_operational(
    dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Connect; any failure is an OperationalError, as psycopg's are (asyncpg raises the
    socket's OSError as it is, which SQLAlchemy would let through unwrapped)."""
    dbapi = dialect.loaded_dbapi
    try:
        return dialect.connect(*cargs, **cparams)
    except dbapi.OperationalError:
        raise
    except Exception as exc:
        raise dbapi.OperationalError(str(exc) or type(exc).__name__, exc) from exc


# SQLite's LIKE and lower() fold the case of ASCII letters only; search folds every
# script's ("Über" finds "über"), through this function.
SQLITE_CONTAINS_FOLDED = "contains_folded"


def _contains_folded(text: str | None, part: str | None) -> bool | None:
    if text is None or part is None:
        return None
    return part.lower() in text.lower()


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, explicit BEGINs (pysqlite's own transaction handling is off), and
    the functions search needs."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(
            SQLITE_CONTAINS_FOLDED, 2, _contains_folded, deterministic=True
        )
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sync_engine(url: str) -> Engine:
    engine = create_engine(sync_url(url), pool_pre_ping=True, **JSON_CODEC)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _refuse_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's check of a connection it hands out, without a round trip (a ping per
    transaction was one more wake of PostgreSQL each time): asyncpg reads its socket with
    the event loop, so a connection the server closed while it was idle (a restart, an
    administrator's termination) already says so. The pool then takes another."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")


CommitHook = Callable[[AsyncSession], Awaitable[Any]]
PublishHook = Callable[[Any], Awaitable[None]]


def _to_json(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


# JSON columns (event data, metadata, attributes) through pydantic-core's encoder and
# decoder: the same JSON as the json module's, several times faster, and every event of
# the ingest hot path goes through them.
JSON_CODEC: dict[str, Any] = {
    "json_serializer": _to_json,
    "json_deserializer": pydantic_core.from_json,
}


class Database:
    def __init__(self, url: str, *, pool_size: int = 32) -> None:
        kwargs: dict[str, Any] = {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            **JSON_CODEC,
        }
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            # A file on this machine: no connection to go stale, so no ping per checkout.
            kwargs["async_creator"] = inline_creator(parsed.database or ":memory:")
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        else:
            parsed, kwargs["connect_args"] = asyncpg_engine_args(parsed)
        self.engine: AsyncEngine = create_async_engine(parsed, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine.sync_engine)
        else:
            engine = self.engine.sync_engine
            event.listen(engine, "checkout", _refuse_closed_by_server)
            event.listen(engine, "do_connect", _connect_or_operational)
            event.listen(engine, "handle_error", _dbapi_class)
        write_engine = self.engine.execution_options(sqlite_immediate=True)
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)
        self._sqlite_writer = asyncio.Lock()
        # Set once at start-up by the event log and the bus (see app.main).
        self.before_commit: CommitHook | None = None
        self.after_commit: PublishHook | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success (events numbered, then published), else rollback."""
        if self.is_sqlite:
            await self._sqlite_writer.acquire()
        try:
            async with self._write_sessions() as session:
                try:
                    yield session
                    published = None
                    if self.before_commit is not None:
                        published = await self.before_commit(session)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
        finally:
            if self.is_sqlite:
                self._sqlite_writer.release()
        if published and self.after_commit is not None:
            await self.after_commit(published)

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
