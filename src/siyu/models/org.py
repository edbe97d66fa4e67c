"""Where a brand sells and who serves: channels, shops, regions, stores, guides."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base


class Channel(Base):
    """A kind of touchpoint: tmall, jd, douyin, youzan, miniprogram, pos, wecom, api."""

    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    # platform (someone else's marketplace) · own (mini-program, B2C) · offline (stores) · social (WeCom)
    kind: Mapped[str] = mapped_column(String(16))


class Shop(Base):
    """One storefront on a channel (a Tmall flagship store, a Douyin shop); orders belong to a shop."""

    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("channel_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    city_tier: Mapped[int | None] = mapped_column(Integer)


class Guide(Base):
    """A store guide (导购); ``code`` is their WeCom userid."""

    __tablename__ = "guides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
