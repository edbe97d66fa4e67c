"""pricing identities: employee and friends-and-family prices granted to members

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 06:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pricing_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=32), nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_pricing_identities_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pricing_identities'))
    )
    with op.batch_alter_table('pricing_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pricing_identities_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pricing_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pricing_identities_member_id'))
    op.drop_table('pricing_identities')
