"""Manual tags in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.bulk import insert_many, update_many
from siyu.models import ManualTag


def active_of(session: Session, person_id: int, tag: str | None = None) -> list[Any]:
    stmt = select(ManualTag.id, ManualTag.tag, ManualTag.value, ManualTag.reason, ManualTag.set_by,
                  ManualTag.set_at).where(ManualTag.person_id == person_id, ManualTag.removed_at.is_(None))
    if tag is not None:
        stmt = stmt.where(ManualTag.tag == tag)
    return list(session.execute(stmt.order_by(ManualTag.tag, ManualTag.value)))


def history_of(session: Session, person_id: int) -> list[Any]:
    return list(session.execute(select(ManualTag.tag, ManualTag.value, ManualTag.reason, ManualTag.set_by,
                                       ManualTag.set_at, ManualTag.removed_by, ManualTag.removed_at)
                                .where(ManualTag.person_id == person_id).order_by(ManualTag.set_at, ManualTag.id)))


def add(session: Session, row: dict[str, Any]) -> None:
    insert_many(session, ManualTag, [row])


def remove(session: Session, ids: list[int], by: str, at: datetime) -> None:
    update_many(session, ManualTag, [{"id": i, "removed_by": by, "removed_at": at} for i in ids])


def all_active(session: Session) -> list[Any]:
    """(person_id, tag, value) of every manual tag in force."""
    return list(session.execute(
        select(ManualTag.person_id, ManualTag.tag, ManualTag.value)
        .where(ManualTag.removed_at.is_(None)).order_by(ManualTag.person_id, ManualTag.tag, ManualTag.value)))
