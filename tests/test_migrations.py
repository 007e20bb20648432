"""Every schema change is a migration: `upgrade head` equals the models, and `downgrade base`
undoes everything, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_sync_engine
from app.migrate import described_by_models, downgrade, upgrade
from app.models import metadata
from tests.support.servers import PostgresServer


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"empty_{tmp_path.name[-20:].replace('-', '_')}".lower())


def test_upgrade_head_matches_the_models_and_downgrade_base_empties(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url)
    engine = make_sync_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "render_as_batch": conn.dialect.name == "sqlite",
                    "include_object": described_by_models,
                },
            )
            diff = compare_metadata(context, metadata)
        assert diff == []
        downgrade(empty_database_url)
        with engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert left == set()
        upgrade(empty_database_url)  # and back up again
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= set(metadata.tables)
    finally:
        engine.dispose()


def test_a_sqlite_database_with_data_upgrades_through_table_rebuilds(tmp_path: Path) -> None:
    """SQLite changes a table by copying, dropping and renaming it: with foreign keys
    enforced, dropping `conversations` (which messages point at) failed the upgrade of any
    database that had a message, from before the `merge` revision."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "surveys")  # the revision before `merge` rebuilds `conversations`
    engine = make_sync_engine(url)
    at = "2026-01-01 00:00:00"
    try:
        with engine.begin() as conn:
            for statement in (
                "INSERT INTO inboxes (id, kind, name, config, public_token, enabled, created_at,"
                " updated_at) VALUES (1, 'api', 'Shop', '{}', 'tok', 1, :at, :at)",
                "INSERT INTO contacts (id, name, attributes, created_at, updated_at)"
                " VALUES (1, 'Sara', '{}', :at, :at)",
                "INSERT INTO conversations (id, inbox_id, contact_id, status, priority,"
                " unread_count, created_at, updated_at, last_activity_at)"
                " VALUES (1, 1, 1, 'open', 'none', 0, :at, :at, :at)",
                "INSERT INTO messages (id, conversation_id, inbox_id, direction, body_text,"
                " attempts, is_auto, metadata, created_at, updated_at)"
                " VALUES (1, 1, 1, 'inbound', 'سلام', 0, 0, '{}', :at, :at)",
            ):
                conn.exec_driver_sql(statement.replace(":at", f"'{at}'"))
        upgrade(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT body_text FROM messages").all() == [("سلام",)]
            assert conn.exec_driver_sql("SELECT contact_id FROM conversations").all() == [(1,)]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()
