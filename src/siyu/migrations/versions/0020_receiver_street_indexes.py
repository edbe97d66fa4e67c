"""receiver street index: a blind index of the first three characters of an order's street line (长江路),
which OneID compares between buyers of platforms that show no full phone (Douyin, Taobao)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: ALTER TABLE … ADD COLUMN, no copy. Rows written before are filled by the next OneID run,
    # which holds the key to decrypt their addresses (a migration does not).
    op.add_column('orders', sa.Column('receiver_street_bidx', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column('receiver_street_bidx')
