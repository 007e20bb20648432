"""customer events: when the customer did it (`occurred_at`), beside when we heard of it

Revision ID: customer_event_times
Revises: report_indexes
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "customer_event_times"
down_revision: str | None = "report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact_events") as batch:
        batch.add_column(
            sa.Column("occurred_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE contact_events SET occurred_at = created_at")
    with op.batch_alter_table("contact_events") as batch:
        batch.alter_column(
            "occurred_at", existing_type=app.db.UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_events") as batch:
        batch.drop_column("occurred_at")
