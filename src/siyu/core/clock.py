"""Time: stored in UTC, shown in Asia/Shanghai. Tests replace ``now`` through ``set_clock``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _now()


def set_clock(fn: Callable[[], datetime]) -> None:
    global _now
    _now = fn


def to_utc(value: datetime, assume: ZoneInfo = SHANGHAI) -> datetime:
    """Naive datetimes from Chinese platforms are Beijing time; aware ones keep their zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=assume)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """For display: the same instant in Asia/Shanghai."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)
