"""profiles.name_bidx: blind index of the real name (OneID tells people sharing a phone apart)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled for new profiles on write; rows written before are filled by the next OneID run, which
    # holds the key (a migration does not).
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_bidx', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_column('name_bidx')
