"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:22:58.802345
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('email', name=op.f('uq_agents_email'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    op.create_table('event_sequence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_sequence'))
    )
    # The event counter's one row (see app/events/log.py).
    op.bulk_insert(
        sa.table('event_sequence', sa.column('id', sa.Integer()), sa.column('last_seq', sa.BigInteger())),
        [{'id': 1, 'last_seq': 0}],
    )
    op.create_table('events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_created_at', ['created_at'], unique=False)

    op.create_table('inboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('secrets_encrypted', sa.Text(), nullable=True),
    sa.Column('public_token', sa.String(length=64), nullable=False),
    sa.Column('api_key_hash', sa.String(length=64), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inboxes')),
    sa.UniqueConstraint('api_key_hash', name=op.f('uq_inboxes_api_key_hash')),
    sa.UniqueConstraint('public_token', name=op.f('uq_inboxes_public_token'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('agent_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sessions_agent_id_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_agent_sessions_token_hash'))
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sessions_agent_id'), ['agent_id'], unique=False)

    op.create_table('contact_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('unreachable_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_identities_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_identities')),
    sa.UniqueConstraint('kind', 'address', name=op.f('uq_contact_identities_kind_address'))
    )
    with op.batch_alter_table('contact_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_identities_contact_id'), ['contact_id'], unique=False)

    op.create_table('inbox_agents',
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_inbox_agents_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_inbox_agents_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inbox_id', 'agent_id', name=op.f('pk_inbox_agents'))
    )
    with op.batch_alter_table('inbox_agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_agents_agent_id'), ['agent_id'], unique=False)

    op.create_table('team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_team_members_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'agent_id', name=op.f('pk_team_members'))
    )
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=True),
    sa.Column('thread_key', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=1000), nullable=True),
    sa.Column('last_message_preview', sa.String(length=300), nullable=True),
    sa.Column('last_message_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('waiting_since', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unread_count', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['agents.id'], name=op.f('fk_conversations_assignee_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_conversations_contact_id_contacts')),
    sa.ForeignKeyConstraint(['identity_id'], ['contact_identities.id'], name=op.f('fk_conversations_identity_id_contact_identities')),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_conversations_inbox_id_inboxes')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_conversations_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_activity', ['last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_conversations_assignee_activity', ['assignee_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_conversations_contact_inbox', ['contact_id', 'inbox_id', 'last_activity_at'], unique=False)
        batch_op.create_index('ix_conversations_inbox_activity', ['inbox_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_conversations_inbox_thread', ['inbox_id', 'thread_key'], unique=False)
        batch_op.create_index('ix_conversations_status_activity', ['status', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_conversations_updated', ['updated_at'], unique=False)

    op.create_table('callback_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('phone_e164', sa.String(length=32), nullable=False),
    sa.Column('preferred_from', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('preferred_to', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('page_url', sa.String(length=2000), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['agents.id'], name=op.f('fk_callback_requests_assignee_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_callback_requests_contact_id_contacts')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_callback_requests_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_callback_requests_inbox_id_inboxes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_requests'))
    )
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_requests_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_requests_phone_e164'), ['phone_e164'], unique=False)
        batch_op.create_index('ix_callback_requests_status_due', ['status', 'due_at'], unique=False)

    op.create_table('conversation_labels',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_labels_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'label', name=op.f('pk_conversation_labels'))
    )
    with op.batch_alter_table('conversation_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_labels_label'), ['label'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('sender_agent_id', sa.Integer(), nullable=True),
    sa.Column('sender_contact_id', sa.Integer(), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('subject', sa.String(length=1000), nullable=True),
    sa.Column('external_id', sa.String(length=500), nullable=True),
    sa.Column('in_reply_to', sa.String(length=500), nullable=True),
    sa.Column('is_auto', sa.Boolean(), nullable=False),
    sa.Column('delivery_status', sa.String(length=20), nullable=True),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sent_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_messages_inbox_id_inboxes')),
    sa.ForeignKeyConstraint(['sender_agent_id'], ['agents.id'], name=op.f('fk_messages_sender_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_contact_id'], ['contacts.id'], name=op.f('fk_messages_sender_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('inbox_id', 'external_id', name=op.f('uq_messages_inbox_id_external_id'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_conversation', ['conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_delivery_queue', ['delivery_status', 'next_attempt_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('content_id', sa.String(length=500), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_message_id'), ['message_id'], unique=False)

    op.create_table('delivery_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('external_id', sa.String(length=500), nullable=True),
    sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_delivery_attempts_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempts_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempts_message_id'))

    op.drop_table('delivery_attempts')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_message_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_delivery_queue')
        batch_op.drop_index('ix_messages_conversation')

    op.drop_table('messages')
    with op.batch_alter_table('conversation_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_labels_label'))

    op.drop_table('conversation_labels')
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_requests_status_due')
        batch_op.drop_index(batch_op.f('ix_callback_requests_phone_e164'))
        batch_op.drop_index(batch_op.f('ix_callback_requests_contact_id'))

    op.drop_table('callback_requests')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_updated')
        batch_op.drop_index('ix_conversations_status_activity')
        batch_op.drop_index('ix_conversations_inbox_thread')
        batch_op.drop_index('ix_conversations_inbox_activity')
        batch_op.drop_index('ix_conversations_contact_inbox')
        batch_op.drop_index('ix_conversations_assignee_activity')
        batch_op.drop_index('ix_conversations_activity')

    op.drop_table('conversations')
    op.drop_table('team_members')
    with op.batch_alter_table('inbox_agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_agents_agent_id'))

    op.drop_table('inbox_agents')
    with op.batch_alter_table('contact_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_identities_contact_id'))

    op.drop_table('contact_identities')
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sessions_agent_id'))

    op.drop_table('agent_sessions')
    op.drop_table('teams')
    op.drop_table('inboxes')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_created_at')

    op.drop_table('events')
    op.drop_table('event_sequence')
    op.drop_table('contacts')
    op.drop_table('agents')
