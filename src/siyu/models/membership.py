"""The loyalty account: one per person, whatever channel they joined through (一会多端)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base, created_col, updated_col


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    card_no: Mapped[str] = mapped_column(String(32), unique=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    join_channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    # The guide who opened the card (开卡导购); a member keeps them when travelling.
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("guides.id"), index=True)
    # Who referred them (推荐人), set once: under a ``referral`` qualification the referrer's tier counts
    # the spend of the members they referred, from the time of the referral.
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    referred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tier: Mapped[str] = mapped_column(String(32), default="普通会员")
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()
