"""probabilistic OneID: orders.receiver_name_bidx, identity_matches

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 01:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # filled on write from now on; older rows are filled by the next OneID run, which holds the key
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receiver_name_bidx', sa.String(length=32), nullable=True))
    op.create_table('identity_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_a', sa.Integer(), nullable=False),
    sa.Column('profile_b', sa.Integer(), nullable=False),
    sa.Column('match_weight', sa.Float(), nullable=False),
    sa.Column('evidence', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_matches'))
    )
    with op.batch_alter_table('identity_matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_matches_profile_a'), ['profile_a'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_matches_profile_b'), ['profile_b'], unique=False)


def downgrade() -> None:
    op.drop_table('identity_matches')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('receiver_name_bidx')
