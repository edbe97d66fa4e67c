"""orders.receiver_phone_bidx index (real-time OneID: buyers who sent parcels to a phone)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 02:20:00
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_receiver_phone_bidx', ['receiver_phone_bidx'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_receiver_phone_bidx')
