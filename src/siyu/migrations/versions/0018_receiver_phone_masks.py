"""orders.receiver_phone_mask: the receiver's phone as 138****1234, for OneID's probabilistic step

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 08:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: ALTER TABLE … ADD COLUMN, no copy. Orders written before are masked by the next OneID
    # run, which holds the key to their encrypted phones (a migration does not).
    op.add_column('orders', sa.Column('receiver_phone_mask', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column('receiver_phone_mask')
