"""real-time parcel matches: the buyers the batch's parcel rule compared

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 02:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # filled by the next OneID batch run; until then real time makes no parcel match, as before
    op.create_table('identity_parcel_records',
    sa.Column('profile_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('block', sa.String(length=256), nullable=False),
    sa.Column('surname', sa.String(length=64), nullable=False),
    sa.Column('ending', sa.String(length=2), nullable=False),
    sa.Column('place', sa.String(length=160), nullable=False),
    sa.Column('street', sa.String(length=64), nullable=True),
    sa.Column('mask7', sa.String(length=16), nullable=True),
    sa.Column('one_parcel', sa.Boolean(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_identity_parcel_records'))
    )
    with op.batch_alter_table('identity_parcel_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_parcel_records_block'), ['block'], unique=False)


def downgrade() -> None:
    op.drop_table('identity_parcel_records')
