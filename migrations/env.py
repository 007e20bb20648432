"""Alembic environment: the URL comes from the caller (`panjereh migrate`, the tests) or
from PANJEREH_DATABASE_URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from app.db import make_sync_engine
from app.migrate import described_by_models
from app.models import metadata
from app.settings import get_settings

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=described_by_models,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.attributes.get("url") or get_settings().database_url
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # SQLite changes a table by rebuilding it (copy, drop, rename), and with
                # foreign keys on, dropping a table that rows point at fails. Off while
                # migrating (set outside the transaction, where SQLite heeds it), then
                # checked: a migration must leave every reference whole.
                driver: Any = conn.connection.driver_connection  # sqlite3.Connection
                driver.execute("PRAGMA foreign_keys=OFF")
            run(conn)
            conn.commit()
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                conn.commit()
                if broken:
                    raise RuntimeError(f"the migration left broken references: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `panjereh migrate`")
main()
