"""surname indexes: a blind index of a name's first character, masked or not (张三丰 and 张** alike)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: ALTER TABLE … ADD COLUMN on both databases, no copy of the tables. Rows written
    # before are filled by the next OneID run, which holds the key (a migration does not).
    op.add_column('profiles', sa.Column('surname_bidx', sa.String(length=32), nullable=True))
    op.add_column('orders', sa.Column('receiver_surname_bidx', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column('receiver_surname_bidx')
    with op.batch_alter_table('profiles') as batch:
        batch.drop_column('surname_bidx')
