"""points lots, accounts and operations: the ledger in three accounts, lots with expiry, replayable requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 03:25:47.746252
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('points_accounts',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('available', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.BigInteger(), nullable=False),
    sa.Column('debt', sa.BigInteger(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_accounts_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_points_accounts'))
    )
    op.create_table('points_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('source_type', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=64), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.BigInteger(), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('releases_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_lots_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots'))
    )
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.create_index('ix_points_lots_member_expiry', ['member_id', 'expires_at'], unique=False)
        batch_op.create_index('ix_points_lots_source', ['source_ref', 'source_type'], unique=False)

    op.create_table('points_operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_operations_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_operations')),
    sa.UniqueConstraint('key', name=op.f('uq_points_operations_key'))
    )
    with op.batch_alter_table('points_operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_operations_member_id'), ['member_id'], unique=False)

    op.create_table('order_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_order_claims_member_id_members')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_claims_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_claims')),
    sa.UniqueConstraint('order_id', name=op.f('uq_order_claims_order_id'))
    )
    with op.batch_alter_table('order_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_claims_member_id'), ['member_id'], unique=False)

    op.create_table('tier_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('from_tier', sa.String(length=32), nullable=False),
    sa.Column('to_tier', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_tier_changes_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_changes')),
    sa.UniqueConstraint('member_id', 'changed_at', 'to_tier', name=op.f('uq_tier_changes_member_id_changed_at_to_tier'))
    )
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_changes_member_id'), ['member_id'], unique=False)

    op.create_table('reward_stock',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('redeemed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_reward_stock'))
    )
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=9), nullable=False, server_default='available'))
        batch_op.add_column(sa.Column('lot_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_points_ledger_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index('ix_points_ledger_source', ['source_ref', 'source_type'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_points_ledger_lot_id_points_lots'), 'points_lots', ['lot_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_points_ledger_lot_id_points_lots'), type_='foreignkey')
        batch_op.drop_index('ix_points_ledger_source')
        batch_op.drop_index(batch_op.f('ix_points_ledger_lot_id'))
        batch_op.drop_column('lot_id')
        batch_op.drop_column('account')

    with op.batch_alter_table('points_operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_operations_member_id'))

    op.drop_table('points_operations')
    op.drop_table('reward_stock')
    op.drop_table('tier_changes')
    op.drop_table('order_claims')
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.drop_index('ix_points_lots_source')
        batch_op.drop_index('ix_points_lots_member_expiry')

    op.drop_table('points_lots')
    op.drop_table('points_accounts')
