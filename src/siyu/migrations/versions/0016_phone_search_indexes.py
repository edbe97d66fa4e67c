"""phone search indexes: a platform's index of a receiver phone on orders, and the phones learned

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('phone_search_indexes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('search_index', sa.String(length=64), nullable=False),
    sa.Column('phone_bidx', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_search_indexes')),
    sa.UniqueConstraint('platform', 'search_index', name=op.f('uq_phone_search_indexes_platform_search_index'))
    )
    op.create_index('ix_phone_search_indexes_phone', 'phone_search_indexes', ['platform', 'phone_bidx'], unique=False)
    # a nullable column: ALTER TABLE … ADD COLUMN on both databases, no copy of the orders table
    op.add_column('orders', sa.Column('receiver_phone_index', sa.String(length=64), nullable=True))
    op.create_index('ix_orders_receiver_phone_index', 'orders', ['receiver_phone_index'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_orders_receiver_phone_index', table_name='orders')
    with op.batch_alter_table('orders') as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column('receiver_phone_index')
    op.drop_index('ix_phone_search_indexes_phone', table_name='phone_search_indexes')
    op.drop_table('phone_search_indexes')
