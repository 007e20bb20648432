"""business hours, acknowledgements and SLA policies per inbox; SLA clocks on conversations

Revision ID: service
Revises: voice
Create Date: 2026-12-04 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "service"
down_revision: str | None = "voice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = app.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "business_hours",
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekly", _JSON, nullable=False),
        sa.Column("holidays", _JSON, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inbox_id"),
    )
    op.create_table(
        "acknowledgement_settings",
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("out_of_hours_text", sa.Text(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inbox_id"),
    )
    op.create_table(
        "acknowledgements_sent",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["contact_identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("identity_id"),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbox_id", "priority"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_due_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("next_response_due_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("resolution_due_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("sla_paused_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("sla_next_check_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("sla", _JSON, nullable=True))
        batch_op.create_index("ix_conversations_sla_check", ["sla_next_check_at"], unique=False)
        batch_op.create_index(
            "ix_conversations_sla_state_activity",
            ["sla_state", "last_activity_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_sla_state_activity")
        batch_op.drop_index("ix_conversations_sla_check")
        for column in (
            "sla",
            "sla_next_check_at",
            "sla_paused_at",
            "sla_state",
            "resolution_due_at",
            "next_response_due_at",
            "first_response_due_at",
        ):
            batch_op.drop_column(column)
    op.drop_table("sla_policies")
    op.drop_table("acknowledgements_sent")
    op.drop_table("acknowledgement_settings")
    op.drop_table("business_hours")
