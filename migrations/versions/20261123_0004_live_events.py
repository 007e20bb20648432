"""live events: visitor sessions for the widget socket

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('visitor_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_visitor_sessions_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_visitor_sessions_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitor_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_visitor_sessions_token_hash'))
    )
    with op.batch_alter_table('visitor_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visitor_sessions_contact_id'), ['contact_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visitor_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visitor_sessions_contact_id'))

    op.drop_table('visitor_sessions')
