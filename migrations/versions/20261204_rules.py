"""automations: rules, their runs and scheduled steps, customer events, API tokens; the
event log's origin

Revision ID: rules
Revises: 0009
Create Date: 2026-12-04 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db
import app.types

revision: str = "rules"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, app.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("origin", sa.String(20), nullable=True))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey(
                "agents.id", name="fk_api_tokens_created_by_agents", ondelete="SET NULL"
            ),
            nullable=True,
        ),
        _at("created_at"),
        _at("last_used_at", nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "contact_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contact_events"),
        sa.Column(
            "contact_id",
            sa.Integer(),
            sa.ForeignKey(
                "contacts.id", name="fk_contact_events_contact_id_contacts", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("payload", app.types.JSONType, nullable=False),
        sa.Column(
            "token_id",
            sa.Integer(),
            sa.ForeignKey(
                "api_tokens.id", name="fk_contact_events_token_id_api_tokens", ondelete="SET NULL"
            ),
            nullable=True,
        ),
        _at("created_at"),
    )
    op.create_index("ix_contact_events_contact", "contact_events", ["contact_id", "id"])
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_rules"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "inbox_id",
            sa.Integer(),
            sa.ForeignKey(
                "inboxes.id", name="fk_automation_rules_inbox_id_inboxes", ondelete="CASCADE"
            ),
            nullable=True,
        ),
        sa.Column("event", sa.String(50), nullable=False),
        sa.Column("options", app.types.JSONType, nullable=False),
        sa.Column("conditions", app.types.JSONType, nullable=False),
        sa.Column("actions", app.types.JSONType, nullable=False),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_runs"),
        sa.Column(
            "rule_id",
            sa.Integer(),
            sa.ForeignKey(
                "automation_rules.id",
                name="fk_automation_runs_rule_id_automation_rules",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(150), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(2000), nullable=False),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_automation_runs_rule", "automation_runs", ["rule_id", "id"])
    op.create_table(
        "automation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_steps"),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column(
            "rule_id",
            sa.Integer(),
            sa.ForeignKey(
                "automation_rules.id",
                name="fk_automation_steps_rule_id_automation_rules",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey(
                "automation_runs.id",
                name="fk_automation_steps_run_id_automation_runs",
                ondelete="CASCADE",
            ),
            nullable=True,
        ),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("next_action", sa.Integer(), nullable=False),
        sa.Column("context", app.types.JSONType, nullable=False),
        _at("due_at"),
        _at("created_at"),
    )
    op.create_index("ix_automation_steps_due", "automation_steps", ["due_at"])
    op.create_index(
        "ix_automation_steps_idle", "automation_steps", ["rule_id", "conversation_id"]
    )
    op.create_table(
        "automation_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_sends"),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        _at("created_at"),
    )
    op.create_index(
        "ix_automation_sends_conversation", "automation_sends", ["conversation_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("automation_sends")
    op.drop_table("automation_steps")
    op.drop_table("automation_runs")
    op.drop_table("automation_rules")
    op.drop_table("contact_events")
    op.drop_table("api_tokens")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("origin")
