"""Watermarks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import Watermark


def get(session: Session, name: str) -> str | None:
    return session.scalar(select(Watermark.value).where(Watermark.name == name))


def put(session: Session, name: str, value: str, stamp: datetime) -> None:
    row = session.get(Watermark, name)
    if row is None:
        session.add(Watermark(name=name, value=value, updated_at=stamp))
    else:
        row.value, row.updated_at = value, stamp
    session.flush()
