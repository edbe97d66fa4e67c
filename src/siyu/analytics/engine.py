"""A DuckDB connection with the lake's tables as views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from siyu.analytics.lake import FACTS, SNAPSHOTS, dedup_view_sql


@contextmanager
def connect(lake: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # session time zone: results never depend on the host's
    try:
        if lake is not None:
            attach_lake(con, lake)
        yield con
    finally:
        con.close()


def attach_lake(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """Views over the lake: facts are de-duplicated to their latest version, snapshots read as they are."""
    for name in FACTS:
        files = sorted((lake / name).glob("*.parquet"))
        if files:
            con.execute(dedup_view_sql(name, [str(f) for f in files]))
    for name in SNAPSHOTS:
        f = lake / f"{name}.parquet"
        if f.exists():
            path = str(f).replace("'", "''")  # a path we wrote; DDL cannot take parameters
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")  # noqa: S608


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A lake view, or a table a job made from one (``tag_compiler.prepare_lake`` reads facts once)."""
    return bool(con.execute("SELECT (SELECT count(*) FROM duckdb_views() WHERE view_name = ?)"
                            " + (SELECT count(*) FROM duckdb_tables() WHERE table_name = ?)", [name, name]).fetchall()[0][0])


def is_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name]).fetchall()[0][0])


def ts(value: datetime) -> str:
    """An aware datetime as a TIMESTAMPTZ literal parameter (DuckDB would need pytz for a datetime)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
