"""members: who referred them and when (referral spend as a tier basis)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 06:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on every database: a batch (table copy) of ``members`` on SQLite would drop a table
    # other tables point at, which the foreign keys of an existing brand's database refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE members ADD COLUMN referrer_id INTEGER REFERENCES members (id)")
    else:
        op.add_column('members', sa.Column('referrer_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_members_referrer_id_members'), 'members', 'members', ['referrer_id'], ['id'])
    op.add_column('members', sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_members_referrer_id'), 'members', ['referrer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_members_referrer_id'), table_name='members')
    with op.batch_alter_table('members', schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":
            batch_op.drop_constraint(batch_op.f('fk_members_referrer_id_members'), type_='foreignkey')
        batch_op.drop_column('referred_at')
        batch_op.drop_column('referrer_id')
