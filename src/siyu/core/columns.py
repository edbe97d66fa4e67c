"""Column tables (Arrow) into the database: the bulk-load primitives repositories build on.

A ten-million-line import cannot afford a Python dict per row. These helpers take whole columns:
PostgreSQL receives them through ``COPY … FROM STDIN`` (CSV written by Arrow's C++ writer), SQLite
through one ``executemany`` fed by an iterator of tuples (its fastest documented path; nothing is held
twice in memory). Values must already be what the column stores: ints, text, UTC timestamps, bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex

from siyu.core.bulk import table_of
from siyu.core.native import execute

TS = pa.timestamp("us", tz="UTC")
SLICE = 100_000  # rows per executemany call / COPY chunk: bounded memory, steady progress

_meta = MetaData()
# One temporary table of text keys per connection: a set of keys to join against, instead of IN lists
# of 900 (profiled: 16 µs a key that way, ~1 µs this way).
STAGE = Table("siyu_stage_keys", _meta, Column("k", String), prefixes=["TEMPORARY"])


def utc_text(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Timestamps as text, the form UTCDateTime stores on SQLite."""
    # 'YYYY-MM-DD HH:MM:SS.ffffff' of the UTC instant: a cast, 30× faster than pc.strftime
    return col.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us")).cast(pa.string())


def _sqlite_ready(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    t = col.type
    if pa.types.is_timestamp(t):
        # the text SQLAlchemy's SQLite DATETIME writes (naive UTC, always with microseconds)
        return utc_text(col)
    if pa.types.is_boolean(t):
        return col.cast(pa.int8())
    return col


def _pg_ready(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    t = col.type
    if pa.types.is_timestamp(t):
        return pc.binary_join_element_wise(utc_text(col), "+00", "")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else "\\x" + v.hex() for v in col.to_pylist()], pa.string())
    return col


def load(session: Session, model: Any, table: pa.Table, constants: dict[str, Any] | None = None,
         same: dict[str, str] | None = None) -> None:
    """Append every row of ``table`` (columns named as the model's) to the model's table.

    ``constants``: columns with one value for every row; ``same``: columns equal to another column
    (``{"paid_at": "created_at"}``). On SQLite these are written into the statement once instead of
    bound per row: binding costs ~0.3 µs a value, the largest part of an insert (profiled)."""
    if table.num_rows == 0:
        return
    constants, same = constants or {}, same or {}
    name = table_of(model).name
    conn = session.connection()
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        full = {c: table[c] for c in table.column_names}
        full.update({c: table[src] for c, src in same.items()})
        full.update({c: _repeat(v, table.num_rows) for c, v in constants.items()})
        _copy(raw, name, pa.table({c: _pg_ready(v) for c, v in full.items()}))
        return
    cols = table.column_names
    known = set(table_of(model).c.keys())
    names = [*cols, *same, *constants]
    if not known.issuperset(names):
        raise ValueError(f"{name} has no column {sorted(set(names) - known)}")
    dialect = conn.dialect
    fixed = {c: str(literal(_sqlite_value(v)).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
             for c, v in constants.items()}
    width = len(cols)

    def statement(rows: int) -> str:
        # names are the model's own (checked above), constants rendered by SQLAlchemy's literal compiler
        groups = []
        for r in range(rows):
            slot = {c: f"?{r * width + i + 1}" for i, c in enumerate(cols)}
            slot.update({c: slot[src] for c, src in same.items()})
            slot.update(fixed)
            groups.append("(" + ", ".join(slot[c] for c in names) + ")")
        return f'INSERT INTO {name} ({", ".join(names)}) VALUES {", ".join(groups)}'  # noqa: S608

    # Many rows per statement: one VDBE run per 100 rows instead of per row (measured: −39% time).
    per = max(1, min(100, 30_000 // width))
    # not built for a few rows (a real-time arrival's new person): building it was most of that load
    many = statement(per) if table.num_rows >= per else ""
    cur = raw.cursor()
    try:
        for start in range(0, table.num_rows, SLICE):
            part = table.slice(start, SLICE)
            m = part.num_rows
            flat: list[Any] = [None] * (m * width)
            for i, c in enumerate(cols):
                flat[i::width] = _sqlite_ready(part[c]).to_pylist()
            step, full = per * width, m // per
            if full:
                cur.executemany(many, (flat[j * step:(j + 1) * step] for j in range(full)))
            if m > full * per:
                cur.execute(statement(m - full * per), flat[full * step:])
    finally:
        cur.close()


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return v


def _repeat(v: Any, n: int) -> pa.Array:
    if isinstance(v, datetime):
        return pa.array(np.full(n, np.datetime64(v.astimezone(UTC).replace(tzinfo=None), "us")), TS)
    return pa.array([v] * n)


def _copy(raw: Any, name: str, table: pa.Table) -> None:
    cols = ", ".join(table.column_names)
    with raw.cursor() as cur:
        for start in range(0, table.num_rows, SLICE * 5):
            buf = io.BytesIO()
            pcsv.write_csv(table.slice(start, SLICE * 5), buf,
                           pcsv.WriteOptions(include_header=False, quoting_style="needed"))
            with cur.copy(f"COPY {name} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buf.getvalue())


def hold_write_lock(session: Session, model: Any) -> None:
    """SQLite: take the database's write lock now, so ids read next cannot be taken by another writer.
    (A transaction that has only read holds no lock; any write statement, even one that changes no
    row, takes it.) PostgreSQL: nothing to do, ids come from a sequence."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.execute(_touch(table_of(model)))


# Built once per table: a real-time arrival takes the lock and reserves ids for one new person, and
# building these statements cost more than running them (profiled, demo pushes).
@lru_cache(maxsize=64)
def _touch(t: Table) -> Any:
    return update(t).where(t.c.id < 0).values(id=t.c.id)


@lru_cache(maxsize=64)
def _top_id(t: Table) -> Any:
    return select(func.coalesce(func.max(t.c.id), 0))


def reserve_ids(session: Session, model: Any, n: int) -> np.ndarray:
    """``n`` primary keys no other row has or will get. SQLite (after ``hold_write_lock``): the next
    ``n`` after the largest; an explicit key that somehow collides fails the insert, it never merges.
    PostgreSQL: ``n`` values drawn from the column's own sequence."""
    if n == 0:
        return np.array([], dtype=np.int64)
    conn = session.connection()
    name = table_of(model).name
    if conn.dialect.name == "postgresql":
        # Draw into a temporary table and fetch only its bounds: with no other writer at that moment the
        # draws are one run (max - min + 1 = n) and the ids are an arange; otherwise they are fetched one
        # by one. Fetching four million ids as rows took 15 s of a 10M-line import (py-spy).
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS siyu_reserved (v BIGINT)")
        conn.exec_driver_sql("TRUNCATE siyu_reserved")
        # The sequence named once, a constant in the plan: pg_get_serial_sequence in the select list was
        # called per row, 3 µs a draw (1.6 s of the 0.5M persons a 2M-record OneID run creates; 0.15 s now)
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": name}).scalar_one()
        conn.execute(text("INSERT INTO siyu_reserved SELECT nextval(CAST(:s AS regclass)) "
                          "FROM generate_series(1, :n)"), {"s": seq, "n": n})
        low, high = conn.exec_driver_sql("SELECT min(v), max(v) FROM siyu_reserved").one()
        if high - low + 1 == n:
            return np.arange(low, high + 1, dtype=np.int64)
        rows = conn.exec_driver_sql("SELECT v FROM siyu_reserved ORDER BY v").scalars().all()
        return np.asarray(rows, dtype=np.int64)
    t = table_of(model)
    top = conn.execute(_top_id(t)).scalar_one()
    return np.arange(top + 1, top + 1 + n, dtype=np.int64)


def stage_keys(session: Session, keys: Sequence[str] | pa.Array) -> Table:
    """Fill the connection's temporary key table with ``keys`` and return it, to join in a SELECT."""
    conn = session.connection()
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS siyu_stage_keys (k TEXT)")
    conn.exec_driver_sql("DELETE FROM siyu_stage_keys")
    values = keys if isinstance(keys, pa.Array) else pa.array(list(keys), pa.string())
    load(session, STAGE, pa.table({"k": values}))
    return STAGE


# Rows ``upsert_pairs`` writes a statement each instead of through a staged table: a real-time resolution
# moves a profile or two, and PostgreSQL, not knowing a staged table's size, joined one by scanning the
# whole target (7 ms a call on a 43,000-profile brand, measured when profiles held their person).
FEW = 64


def upsert_pairs(session: Session, model: Any, keys: np.ndarray, values: np.ndarray, *, rebuild: bool = False) -> None:
    """Row ``(keys[i], values[i])`` into a two-column table keyed by its first column: inserted, or its
    value replaced where the key is there (``INSERT … ON CONFLICT DO UPDATE``); the table's other rows
    stay.

    ``rebuild`` (PostgreSQL; for a write touching a large share of the table): the same rows, written as
    a new table built bare (COPY), the old table's other rows added, then its keys, indexes and foreign
    keys from the model, swapped in for the old one. A row inserted with the indexes and foreign keys in
    place cost PostgreSQL about 7 µs, built bare and indexed after about 1.5 µs (measured on 957,000
    rows, docs/benchmarks.md)."""
    if len(keys) == 0:
        return
    t = table_of(model)
    if len(t.c) != 2:
        raise ValueError(f"{t.name} is not a two-column table")
    key, value = (c.name for c in t.c)
    conn = session.connection()
    # in key order, the table's: each page is visited once (a million rows staged in random order took
    # PostgreSQL 24 s to write, in key order 12 s, measured)
    staged = pa.table({key: pa.array(keys, pa.int64()), value: pa.array(values, pa.int64())}).sort_by(key)
    if rebuild and conn.dialect.name == "postgresql":
        _rebuild(session, t, staged)
        return
    # names are the model's own; values bound or staged
    upsert = f"INSERT INTO {t.name} ({key}, {value}) {{rows}} ON CONFLICT ({key}) DO UPDATE SET {value} = excluded.{value}"
    if len(keys) <= FEW and conn.dialect.name == "postgresql":
        # one statement of two arrays, its text fixed: a VALUES row each was an executemany, 0.5–0.7 ms
        # for the profile or two a real-time arrival moves (10M records)
        execute(session, _upsert_arrays(t), {"k": staged[key].to_pylist(), "v": staged[value].to_pylist()})
        return
    if len(keys) <= FEW:
        conn.execute(text(upsert.format(rows="VALUES (:k, :v)")),
                     [{"k": k, "v": v} for k, v in zip(staged[key].to_pylist(), staged[value].to_pylist(), strict=True)])
        return
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS siyu_stage_update (k BIGINT, v BIGINT)")
    conn.exec_driver_sql("DELETE FROM siyu_stage_update")
    load(session, _STAGE_UPDATE, staged.rename_columns(["k", "v"]))
    # WHERE true: SQLite's parser otherwise reads ON CONFLICT as a join constraint of the SELECT
    conn.exec_driver_sql(upsert.format(rows="SELECT k, v FROM siyu_stage_update WHERE true"))


@lru_cache(maxsize=16)
def _upsert_arrays(t: Table) -> Any:
    key, value = (c.name for c in t.c)
    # names are the model's own; the rows bound as two arrays
    return text(f"INSERT INTO {t.name} ({key}, {value}) SELECT * FROM unnest(CAST(:k AS BIGINT[]), "  # noqa: S608
                f"CAST(:v AS BIGINT[])) ON CONFLICT ({key}) DO UPDATE SET {value} = excluded.{value}")


def _rebuild(session: Session, t: Table, staged: pa.Table) -> None:
    conn = session.connection()
    key = staged.column_names[0]
    fresh = f"{t.name}_rebuilt"  # names are the model's own
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fresh}")
    conn.exec_driver_sql(f"CREATE TABLE {fresh} (LIKE {t.name})")  # columns and NOT NULLs, nothing else
    _copy(conn.connection.driver_connection, fresh, staged)
    # statistics, so the other rows are found by a hash anti-join, not a loop over an unindexed table
    conn.exec_driver_sql(f"ANALYZE {fresh}")
    conn.exec_driver_sql(f"INSERT INTO {fresh} SELECT o.* FROM {t.name} o "  # noqa: S608
                         f"WHERE NOT EXISTS (SELECT 1 FROM {fresh} n WHERE n.{key} = o.{key})")
    conn.exec_driver_sql(f"DROP TABLE {t.name}")
    conn.exec_driver_sql(f"ALTER TABLE {fresh} RENAME TO {t.name}")
    # the model's own DDL, so the keys, indexes and foreign keys are named as the migrations name them
    for c in [t.primary_key, *(c for c in t.constraints if isinstance(c, UniqueConstraint))]:
        conn.execute(AddConstraint(c))
    for ix in t.indexes:
        conn.execute(CreateIndex(ix))
    for fk in t.foreign_key_constraints:
        conn.execute(AddConstraint(fk))


_STAGE_UPDATE = Table("siyu_stage_update", _meta, Column("k", BigInteger), Column("v", BigInteger),
                      prefixes=["TEMPORARY"])


def has_any(session: Session, model: Any, **equal: Any) -> bool:
    t = table_of(model)
    q = select(t.c.id).where(*(t.c[k] == v for k, v in equal.items())).limit(1)
    return session.execute(q).first() is not None
