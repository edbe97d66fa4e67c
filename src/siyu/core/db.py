"""Engines, sessions and the unit of work: the one place that commits.

Entry points (a CLI command, a request, a job) open a unit of work; services receive the session and
never commit. SQLite runs in WAL mode so the console can read while an import writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import orjson
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from siyu.core.config import Settings

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form and use psycopg 3 for it."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-200000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _json_text(value: object) -> str:
    # orjson: the same JSON as the standard library for our values, several times faster (event
    # properties are written by the thousand per second).
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_json_text)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_json_text)


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a transaction that reads before it writes cannot wait for
        # the lock (SQLITE_BUSY at once). The API server's threads therefore take turns here; other
        # processes still wait on busy_timeout. Re-entrant: a unit of work may call code that opens one.
        self._write_turn: threading.RLock | None = threading.RLock() if self.url.startswith("sqlite") else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.resolved_database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Commit if the block finishes, roll back if it raises. Nothing else commits."""
        if self._write_turn is not None:
            with self._write_turn:
                yield from self._unit_of_work()
        else:
            yield from self._unit_of_work()

    def _unit_of_work(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[Session], T], attempts: int = 3) -> T:
        """``work(session)`` in a unit of work. On PostgreSQL two requests can insert the same natural key
        (a new customer in two concurrent batches); the loser's unique violation rolls it back, and
        running it again finds the winner's row. ``work`` must start from scratch each time."""
        for attempt in range(attempts):
            try:
                with self.unit_of_work() as session:
                    return work(session)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python; ``timestamptz`` on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; convert with siyu.core.clock.to_utc")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):  # type: ignore[no-untyped-def]
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # The same text SQLAlchemy's SQLite DATETIME writes ('YYYY-MM-DD HH:MM:SS.ffffff', always with
        # microseconds so text comparison orders correctly), in one step: bulk imports bind millions.
        # Each column gets its own processor, and a batch stamps every row with the same ``now()``
        # object: remembering the last value skips most of the formatting (profiled: 7% of an import).
        # One (value, text) pair replaced as a whole, so threads sharing the processor never see a value
        # next to another value's text.
        last: list[tuple[object, str | None]] = [(None, None)]

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen, seen_text = last[0]
            if value is seen:
                return seen_text
            tz = value.tzinfo
            if tz is None:
                raise ValueError("naive datetime given to a UTC column; convert with siyu.core.clock.to_utc")
            text = (value if tz is UTC else value.astimezone(UTC)).isoformat(" ", "microseconds")[:26]
            last[0] = (value, text)
            return text

        return process

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
