"""Operating Siyu: console users, import runs, export watermarks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base, created_col


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="admin")
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime] = created_col()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportRun(Base):
    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024))
    connector: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    reject_report: Mapped[str | None] = mapped_column(String(1024))
    started_at: Mapped[datetime] = created_col()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Watermark(Base):
    """How far an incremental job (a lake export) has got."""

    __tablename__ = "watermarks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = created_col()


class ApiKey(Base):
    """A key for the ingestion API. Only its SHA-256 is stored: keys are 32 random bytes, so a fast
    hash is safe and lets every request be checked without argon2's deliberate slowness."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # The first characters of the key, shown in lists so an operator can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated, e.g. "orders:write events:write"
    created_at: Mapped[datetime] = created_col()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InboxMessage(Base):
    """A platform push (webhook) as received: the unique (source, message_id) makes a redelivery a no-op,
    and the outcome says what it did (applied, no_order, ignored)."""

    __tablename__ = "inbox_messages"
    __table_args__ = (UniqueConstraint("source", "message_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = created_col()
