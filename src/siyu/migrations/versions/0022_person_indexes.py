"""person indexes: a brand's first OneID run creates millions of persons at once; keep only the indexes
something reads (merged persons, through a partial index; nothing reads ``persons.updated_at``)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_MERGED = sa.text("merged_into_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index('ix_persons_updated_at', table_name='persons')
    op.drop_index('ix_persons_merged_into_id', table_name='persons')
    op.create_index('ix_persons_merged_into_id', 'persons', ['merged_into_id'], unique=False,
                    postgresql_where=_MERGED, sqlite_where=_MERGED)


def downgrade() -> None:
    op.drop_index('ix_persons_merged_into_id', table_name='persons')
    op.create_index('ix_persons_merged_into_id', 'persons', ['merged_into_id'], unique=False)
    op.create_index('ix_persons_updated_at', 'persons', ['updated_at'], unique=False)
