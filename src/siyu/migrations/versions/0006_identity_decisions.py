"""identity_decisions: operators' splits and merges that automatic runs keep

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 01:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('profile_ids', sa.JSON(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_decisions'))
    )


def downgrade() -> None:
    op.drop_table('identity_decisions')
