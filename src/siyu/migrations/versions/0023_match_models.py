"""real-time probabilistic OneID: the batch's masked-phone model and the records it compares

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # filled by the next OneID batch run; until then real time scores nothing, as before
    op.create_table('identity_match_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('model', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_match_models')),
    sa.UniqueConstraint('kind', name=op.f('uq_identity_match_models_kind'))
    )
    op.create_table('identity_match_records',
    sa.Column('profile_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('mask7', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('surname', sa.String(length=64), nullable=True),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('has_full', sa.Boolean(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.Column('one_parcel', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_identity_match_records'))
    )
    with op.batch_alter_table('identity_match_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_match_records_mask7'), ['mask7'], unique=False)


def downgrade() -> None:
    op.drop_table('identity_match_records')
    op.drop_table('identity_match_models')
