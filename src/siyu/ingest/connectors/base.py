"""What a connector is, and the small helpers that turn a bad field into a precise reject."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from siyu.ingest.schemas import Record, Reject

T = TypeVar("T")


@dataclass
class Probe:
    """What detection may look at: the file name, its encoding, its CSV header or first JSON value."""

    path: Path
    encoding: str
    header: list[str] | None
    first_json: Any


class Connector(Protocol):
    name: str
    # Lower runs first in a directory import: master data, then people, orders, refunds, events.
    priority: int

    def detect(self, probe: Probe) -> bool: ...

    def parse(self, path: Path) -> Iterator[Record | Reject]: ...


class FieldError(Exception):
    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.value, self.reason = field, value, reason


def req(row: dict[str, Any], name: str, fn: Callable[[Any], T] | None = None) -> T:
    """A required field, converted by ``fn``; a missing, empty or bad value raises FieldError."""
    try:
        raw = row[name]
    except KeyError:
        raise FieldError(name, "", "missing field") from None
    if raw is None or raw.__class__ is str and not raw.strip():
        raise FieldError(name, "", "empty")
    return conv(name, raw, fn)


def opt(row: dict[str, Any], name: str, fn: Callable[[Any], T] | None = None) -> T | None:
    raw = row.get(name)
    if raw is None or raw.__class__ is str and not raw.strip():
        return None
    return conv(name, raw, fn)


def conv(name: str, raw: Any, fn: Callable[[Any], T] | None) -> T:
    if fn is None:
        if raw.__class__ is str:
            value = raw.strip()
            if len(value) > 255:
                raise FieldError(name, raw, "longer than 255 characters")
            return value  # type: ignore[return-value]
        if isinstance(raw, dict | list):
            raise FieldError(name, raw, "expected a value, got an object")
        return str(raw)  # type: ignore[return-value]
    try:
        return fn(raw)
    except FieldError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise FieldError(name, raw, str(exc) or type(exc).__name__) from None


def reject(path: Path, location: str, exc: FieldError) -> Reject:
    value = exc.value if isinstance(exc.value, str) else repr(exc.value)
    return Reject(file=str(path), location=location, field=exc.field, value=value[:200], reason=exc.reason)


def width_check(row: dict[str, Any]) -> None:
    if "__width__" in row:
        raise FieldError("(row)", "", f"wrong number of fields: {row['__width__']}")


def has_columns(probe: Probe, *names: str) -> bool:
    return probe.header is not None and all(n in probe.header for n in names)
