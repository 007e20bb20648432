"""merged and split conversations, their undo records, and the audit log

Revision ID: merge
Revises: surveys
Create Date: 2026-12-04 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "merge"
down_revision: str | None = "surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# Rebuilding `conversations` in batch mode drops its triggers on SQLite: those that keep
# its subject's search index in step (migration 0007) are made again.
_OLD = "INSERT INTO conversations_search(conversations_search, rowid, subject) VALUES ('delete', old.id, old.subject);"
_NEW = "INSERT INTO conversations_search(rowid, subject) VALUES (new.id, new.subject);"
_SEARCH_TRIGGERS = (
    f"CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN {_NEW} END",
    f"CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations BEGIN {_OLD} END",
    "CREATE TRIGGER conversations_search_update AFTER UPDATE OF subject ON conversations "
    f"BEGIN {_OLD} {_NEW} END",
)


def _search_triggers_again() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SEARCH_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("split_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_conversations_merged_into_id_conversations",
            "conversations",
            ["merged_into_id"],
            ["id"],
        )
        batch.create_foreign_key(
            "fk_conversations_split_from_id_conversations",
            "conversations",
            ["split_from_id"],
            ["id"],
        )
        batch.create_index("ix_conversations_merged_into", ["merged_into_id"])
    _search_triggers_again()
    op.create_table(
        "conversation_merges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "survivor_id",
            sa.Integer(),
            sa.ForeignKey(
                "conversations.id", name="fk_conversation_merges_survivor_id_conversations"
            ),
            nullable=False,
        ),
        sa.Column("merged_ids", JSON, nullable=False),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey(
                "agents.id", name="fk_conversation_merges_agent_id_agents", ondelete="SET NULL"
            ),
            nullable=True,
        ),
        sa.Column("moved", JSON, nullable=False),
        sa.Column("previous", JSON, nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", app.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_conversation_merges_survivor", "conversation_merges", ["survivor_id", "id"]
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_id",
            sa.Integer(),
            sa.ForeignKey(
                "agents.id", name="fk_audit_entries_actor_id_agents", ondelete="SET NULL"
            ),
            nullable=True,
        ),
        sa.Column("actor_name", sa.String(300), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(50), nullable=True),
        sa.Column("target_id", sa.String(100), nullable=True),
        sa.Column("changes", JSON, nullable=False),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at", "id"])
    op.create_index("ix_audit_entries_action_at", "audit_entries", ["action", "at"])
    op.create_index("ix_audit_entries_actor_at", "audit_entries", ["actor_id", "at"])
    op.create_index("ix_audit_entries_target", "audit_entries", ["target_type", "target_id"])


def downgrade() -> None:
    op.drop_table("audit_entries")
    op.drop_table("conversation_merges")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_merged_into")
        batch.drop_constraint("fk_conversations_split_from_id_conversations", type_="foreignkey")
        batch.drop_constraint("fk_conversations_merged_into_id_conversations", type_="foreignkey")
        batch.drop_column("split_from_id")
        batch.drop_column("merged_into_id")
    _search_triggers_again()
