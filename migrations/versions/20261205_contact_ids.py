"""contacts: an id is never given twice (SQLite AUTOINCREMENT)

A merged contact is deleted, and SQLite without AUTOINCREMENT gives the highest id in use
plus one to the next row: a contact merged away while it held the highest id lent its id
to the next new person, whom the audit log's and the webhooks' `merged` ids then named.
PostgreSQL's sequences never reuse an id; nothing to do there.

Revision ID: contact_ids
Revises: customer_event_times
Create Date: 2026-12-05 10:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "contact_ids"
down_revision: str | None = "customer_event_times"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rebuilding `contacts` drops its triggers on SQLite: those that keep its names' search
# index in step (migration 0007) are made again.
_OLD = (
    "INSERT INTO contacts_search(contacts_search, rowid, name) VALUES ('delete', old.id, old.name);"
)
_NEW = "INSERT INTO contacts_search(rowid, name) VALUES (new.id, new.name);"
_SEARCH_TRIGGERS = (
    f"CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN {_NEW} END",
    f"CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN {_OLD} END",
    "CREATE TRIGGER contacts_search_update AFTER UPDATE OF name ON contacts "
    f"BEGIN {_OLD} {_NEW} END",
)


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "contacts", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
    for statement in _SEARCH_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
