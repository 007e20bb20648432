"""assignment: inbox policies (manual queue or round robin, auto-resolve), agents' capacities

Revision ID: assign
Revises: rules
Create Date: 2026-12-04 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "assign"
down_revision: str | None = "rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_policies",
        sa.Column(
            "inbox_id",
            sa.Integer(),
            sa.ForeignKey("inboxes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="SET NULL")),
        sa.Column("auto_resolve_days", sa.Integer()),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agent_workloads",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("max_open", sa.Integer()),
        sa.Column("last_assigned_at", app.db.UTCDateTime(timezone=True)),
    )
    op.create_index(
        "ix_conversations_awaiting_customer",
        "conversations",
        ["status", "waiting_since", "last_message_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_awaiting_customer", table_name="conversations")
    op.drop_table("agent_workloads")
    op.drop_table("assignment_policies")
