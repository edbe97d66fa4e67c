"""Declarative base with a naming convention, so Alembic names constraints the same on every database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from siyu.core.clock import now
from siyu.core.db import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def created_col() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=now, nullable=False)


def updated_col(*, index: bool = True) -> Mapped[datetime]:
    """Indexed by default: the lake exports facts changed since a watermark by it."""
    return mapped_column(UTCDateTime(), default=now, onupdate=now, nullable=False, index=index)
