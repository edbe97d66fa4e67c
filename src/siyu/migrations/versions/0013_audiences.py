"""saved audiences: dynamic expressions and frozen snapshot versions

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audiences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('tree', sa.JSON(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audiences')),
    sa.UniqueConstraint('name', name=op.f('uq_audiences_name'))
    )
    op.create_table('audience_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audience_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('bitmap', sa.LargeBinary(), nullable=False),
    sa.Column('taken_by', sa.String(length=64), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['audience_id'], ['audiences.id'], name=op.f('fk_audience_snapshots_audience_id_audiences')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audience_snapshots')),
    sa.UniqueConstraint('audience_id', 'version', name=op.f('uq_audience_snapshots_audience_id_version'))
    )
    op.create_index(op.f('ix_audience_snapshots_audience_id'), 'audience_snapshots', ['audience_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audience_snapshots_audience_id'), table_name='audience_snapshots')
    op.drop_table('audience_snapshots')
    op.drop_table('audiences')
