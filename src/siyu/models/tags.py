"""Manual tags: a tag value a guide or an operator set on a person by hand, kept with who, when and why.
Removing one keeps the row (who removed it and when), so the member page can show the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base


class ManualTag(Base):
    __tablename__ = "manual_tags"
    __table_args__ = (Index("ix_manual_tags_person_tag", "person_id", "tag"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    tag: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
