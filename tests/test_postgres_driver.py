"""The server reaches PostgreSQL through asyncpg (app.db): what a PostgreSQL URL carries
reaches it, and its failures keep the DB-API classes the rest of the code tells apart (a
value the database refuses is a 422, the database being away is a 503 and a wait)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, OperationalError

from app.db import Database, asyncpg_engine_args, unavailable
from app.settings import Settings
from tests.support.servers import PostgresServer, free_port

pytestmark = pytest.mark.postgres


def test_libpq_parameters_become_asyncpg_arguments() -> None:
    url, args = asyncpg_engine_args(
        make_url(
            "postgresql+psycopg://u:p%40ss@db.example:6543/panjereh?sslmode=require&connect_timeout=2"
        )
    )
    assert url.drivername == "postgresql+asyncpg"
    assert not url.query
    assert args["timeout"] == 2.0
    # asyncpg reads the rest as libpq does, from a DSN (the password kept, not masked)
    assert args["dsn"] == "postgresql://u:p%40ss@db.example:6543/panjereh?sslmode=require"
    assert asyncpg_engine_args(make_url("postgresql://h/d?connect_timeout=0"))[1] == {
        "timeout": None
    }
    assert asyncpg_engine_args(make_url("postgresql://h/d"))[1] == {"timeout": 5.0}


def test_a_connect_timeout_that_is_no_number_is_refused_with_the_settings() -> None:
    with pytest.raises(ValidationError, match="connect_timeout in the database URL is a number"):
        Settings(database_url="postgresql://u@db.example/panjereh?connect_timeout=soon")


async def test_a_urls_parameters_reach_the_server(postgres: PostgresServer) -> None:
    url = make_url(postgres.create_database("driver_params")).set(
        query={"sslmode": "disable", "application_name": "panjereh-test", "connect_timeout": "3"}
    )
    db = Database(url.render_as_string(hide_password=False))
    try:
        async with db.read() as session:
            name = (await session.execute(text("SHOW application_name"))).scalar_one()
        assert name == "panjereh-test"
    finally:
        await db.dispose()


async def test_refused_values_are_data_errors(postgres: PostgresServer) -> None:
    db = Database(postgres.create_database("driver_data"))
    try:
        async with db.read() as session:
            with pytest.raises(DataError):  # the server refuses it (SQLSTATE 22021)
                await session.execute(text("SELECT CAST(:v AS text)"), {"v": "nul\x00byte"})
        async with db.read() as session:
            with pytest.raises(DataError):  # asyncpg cannot send it as the integer asked for
                await session.execute(text("SELECT CAST(:n AS integer) + 1"), {"n": "many"})
    finally:
        await db.dispose()


async def test_the_database_away_is_an_operational_error(postgres: PostgresServer) -> None:
    db = Database(postgres.create_database("driver_away"))
    try:
        async with db.read() as session:
            await session.execute(text("SET statement_timeout = 10"))
            with pytest.raises(OperationalError):  # cancelled by the server (SQLSTATE 57014)
                await session.execute(text("SELECT pg_sleep(1)"))
    finally:
        await db.dispose()

    nobody = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/nothing")
    try:
        with pytest.raises(OperationalError) as refused:
            async with nobody.read() as session:
                await session.execute(text("SELECT 1"))
        reason = unavailable(refused.value)
        assert reason is not None
        assert "refused" in reason.lower() or "connect call failed" in reason.lower()
    finally:
        await nobody.dispose()
