"""Saved audiences: an expression kept by name, dynamic (re-evaluated on every use) or snapshot (frozen
member lists, one version per freeze)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base


class Audience(Base):
    __tablename__ = "audiences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    expression: Mapped[str] = mapped_column(Text)  # the readable form
    tree: Mapped[dict] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16))  # dynamic · snapshot
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AudienceSnapshot(Base):
    """One frozen member list of a snapshot audience: a serialised Roaring bitmap of person ids."""

    __tablename__ = "audience_snapshots"
    __table_args__ = (UniqueConstraint("audience_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    bitmap: Mapped[bytes] = mapped_column(LargeBinary)
    taken_by: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
