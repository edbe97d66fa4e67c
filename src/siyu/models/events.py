"""Interaction events: check-ins, article reads, live subscriptions, survey answers, page views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base, created_col, updated_col


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_occurred", "type", "occurred_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The sender's id for this event; a second delivery of the same id is ignored.
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    properties: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()
