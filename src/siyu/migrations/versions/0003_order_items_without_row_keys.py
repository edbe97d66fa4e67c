"""order_items without row-level foreign keys (bulk load speed; see models.orders.OrderItem)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 00:20:00
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_constraint('fk_order_items_order_id_orders', type_='foreignkey')
        batch_op.drop_constraint('fk_order_items_sku_id_skus', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_order_items_sku_id_skus', 'skus', ['sku_id'], ['id'])
        batch_op.create_foreign_key('fk_order_items_order_id_orders', 'orders', ['order_id'], ['id'],
                                    ondelete='CASCADE')
