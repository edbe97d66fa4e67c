"""How far an incremental job has got (lake export, demo preparation)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.ops import repository as repo


def watermark(session: Session, name: str) -> str | None:
    return repo.get(session, name)


def advance_watermark(session: Session, name: str, value: str) -> None:
    repo.put(session, name, value, now())
