"""real-time contact matches: the guides' contacts and named members the batch's contact rule compared

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 03:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # filled by the next OneID batch run; until then real time makes no contact match, as before
    op.create_table('identity_guide_records',
    sa.Column('profile_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('guide_id', sa.Integer(), nullable=False),
    sa.Column('contact', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=True),
    sa.Column('given', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_identity_guide_records'))
    )
    with op.batch_alter_table('identity_guide_records', schema=None) as batch_op:
        batch_op.create_index('ix_identity_guide_records_name', ['name'], unique=False)
        batch_op.create_index('ix_identity_guide_records_given', ['given'], unique=False)


def downgrade() -> None:
    op.drop_table('identity_guide_records')
