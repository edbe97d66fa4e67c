"""members: who referred them and when (referral spend as a tier basis)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 06:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referrer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_referrer_id'), ['referrer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_members_referrer_id_members'), 'members', ['referrer_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_members_referrer_id_members'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_members_referrer_id'))
        batch_op.drop_column('referred_at')
        batch_op.drop_column('referrer_id')
