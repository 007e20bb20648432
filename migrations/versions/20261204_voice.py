"""calls (one row per Twilio CallSid) and agents' own phones (click-to-call)

Revision ID: voice
Revises: merge
Create Date: 2026-12-04 03:12:57.594151
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db


revision: str = 'voice'
down_revision: str | None = 'merge'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('twilio_status', sa.String(length=20), nullable=True),
    sa.Column('customer_number', sa.String(length=64), nullable=False),
    sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('talk_seconds', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('agent_number', sa.String(length=32), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=True),
    sa.Column('callback_request_id', sa.Integer(), nullable=True),
    sa.Column('voicemail', sa.Boolean(), nullable=False),
    sa.Column('recording_sid', sa.String(length=64), nullable=True),
    sa.Column('recording_url', sa.String(length=2000), nullable=True),
    sa.Column('recording_state', sa.String(length=20), nullable=True),
    sa.Column('recording_attempts', sa.Integer(), nullable=False),
    sa.Column('recording_claimed_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_calls_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['callback_request_id'], ['callback_requests.id'], name=op.f('fk_calls_callback_request_id_callback_requests')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_calls_contact_id_contacts')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_calls_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_calls_inbox_id_inboxes')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_calls_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_calls_call_sid'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_calls_recording', ['recording_state', 'recording_claimed_until'], unique=False)
        batch_op.create_index('ix_calls_state_started', ['state', 'started_at'], unique=False)

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('phone')

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_state_started')
        batch_op.drop_index('ix_calls_recording')
        batch_op.drop_index(batch_op.f('ix_calls_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_calls_contact_id'))

    op.drop_table('calls')
