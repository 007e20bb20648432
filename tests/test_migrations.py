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
