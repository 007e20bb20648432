"""reports: indexes for the satisfaction report and for message counts by conversation

Revision ID: report_indexes
Revises: hooks
Create Date: 2026-12-05 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "report_indexes"
down_revision: str | None = "hooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_report",
        "messages",
        ["conversation_id", "created_at", "direction", "inbox_id"],
    )
    op.create_index(
        "ix_surveys_report",
        "surveys",
        ["sent_at", "kind", "channel", "inbox_id", "agent_id", "score"],
    )


def downgrade() -> None:
    op.drop_index("ix_surveys_report", table_name="surveys")
    op.drop_index("ix_messages_report", table_name="messages")
