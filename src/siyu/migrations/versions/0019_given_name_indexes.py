"""given-name index: a blind index of a real name without its surname (吴静英 → 静英), which a guide's
WeCom contact often carries as its nickname (静英呀)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 11:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: ALTER TABLE … ADD COLUMN, no copy. Rows written before are filled by the next OneID run,
    # which holds the key (a migration does not).
    op.add_column('profiles', sa.Column('given_bidx', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profiles') as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column('given_bidx')
