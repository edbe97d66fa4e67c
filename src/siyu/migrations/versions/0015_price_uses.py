"""price uses: the price each checkout gave, for pricing identities' limits

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('price_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('order_ref', sa.String(length=64), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=32), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('list_fen', sa.BigInteger(), nullable=False),
    sa.Column('pays_fen', sa.BigInteger(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_price_uses_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_uses')),
    sa.UniqueConstraint('member_id', 'order_ref', name='uq_price_uses_member_order')
    )
    op.create_index('ix_price_uses_member_basis_used', 'price_uses', ['member_id', 'basis', 'used_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_price_uses_member_basis_used', table_name='price_uses')
    op.drop_table('price_uses')
