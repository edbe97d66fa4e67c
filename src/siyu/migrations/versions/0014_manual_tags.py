"""manual tags set by guides and operators

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('manual_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('set_by', sa.String(length=64), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_by', sa.String(length=64), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_manual_tags_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_tags'))
    )
    op.create_index('ix_manual_tags_person_tag', 'manual_tags', ['person_id', 'tag'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_manual_tags_person_tag', table_name='manual_tags')
    op.drop_table('manual_tags')
