"""reports: the account's timezone, conversations' first resolution, the message roll-up

Revision ID: reports
Revises: service
Create Date: 2026-12-04 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "reports"
down_revision: str | None = "service"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.add_column(
        "conversations",
        sa.Column("first_resolved_at", app.db.UTCDateTime(timezone=True), nullable=True),
    )
    # The best the past tells: a conversation resolved now was first resolved no later.
    op.execute("UPDATE conversations SET first_resolved_at = resolved_at")
    op.create_index(
        "ix_conversations_report",
        "conversations",
        [
            "created_at",
            "inbox_id",
            "assignee_id",
            "team_id",
            "first_response_at",
            "first_resolved_at",
        ],
    )
    # Filled by the reports' log reader when it first starts (app/reports/rollup.py).
    op.create_table(
        "report_message_counts",
        sa.Column("bucket", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "inbox_id",
            sa.Integer(),
            sa.ForeignKey(
                "inboxes.id",
                ondelete="CASCADE",
                name="fk_report_message_counts_inbox_id_inboxes",
            ),
            nullable=False,
        ),
        sa.Column("inbound", sa.Integer(), nullable=False),
        sa.Column("outbound", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "inbox_id", name="pk_report_message_counts"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("report_message_counts")
    op.drop_index("ix_conversations_report", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("first_resolved_at")
    op.drop_table("account_settings")
