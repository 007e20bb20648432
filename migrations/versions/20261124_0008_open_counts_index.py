"""an index the bootstrap's open-conversation counts are read from

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 00:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_status_inbox_assignee",
        "conversations",
        ["status", "inbox_id", "assignee_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_status_inbox_assignee", table_name="conversations")
