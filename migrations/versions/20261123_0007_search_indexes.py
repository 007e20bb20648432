"""trigram search indexes on the searched text (app/search.py)

Message text, conversation subjects, contact names and addresses get a trigram index, so
that a substring search finds a rare string without reading every row: on PostgreSQL a
pg_trgm GIN index, on SQLite an FTS5 `trigram` table with external content, filled here and
kept in step by triggers.

SQLite drops a table's triggers with the table: a later migration that rebuilds one of
these tables in batch mode must create its triggers again (the SQL below).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → searched column; each table's key is `id`
SEARCHED = {
    "messages": "body_text",
    "conversations": "subject",
    "contacts": "name",
    "contact_identities": "address",
}


def _sqlite_up(table: str, column: str) -> list[str]:
    index = f"{table}_search"
    forget_old = f"INSERT INTO {index}({index}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    learn_new = f"INSERT INTO {index}(rowid, {column}) VALUES (new.id, new.{column});"
    return [
        f"CREATE VIRTUAL TABLE {index} USING fts5("
        f"{column}, content='{table}', content_rowid='id', tokenize='trigram')",
        f"INSERT INTO {index}(rowid, {column}) SELECT id, {column} FROM {table}",
        f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN {learn_new} END",
        f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN {forget_old} END",
        f"CREATE TRIGGER {index}_update AFTER UPDATE OF {column} ON {table} "
        f"BEGIN {forget_old} {learn_new} END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, column in SEARCHED.items():
            for statement in _sqlite_up(table, column):
                op.execute(statement)
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in SEARCHED.items():
        op.execute(
            f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in SEARCHED:
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {table}_search")
        return
    for table, column in SEARCHED.items():
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm")
    # pg_trgm stays: other parts of the database may use it, and it holds no data.
