"""Statements built once, run on PostgreSQL through psycopg's raw cursor.

A real-time OneID resolution is about ten small statements, and on PostgreSQL the work around each
cost more than the server's: SQLAlchemy's execution context and result (about 0.15 ms a statement),
and psycopg turning ``%(name)s`` into ``$1`` with a regular expression at every run for a statement
longer than 4,096 characters, which it does not cache (0.14 ms for the neighbourhood's reads together,
5,900 characters; measured at 10M records). Here a statement is compiled once per dialect into
PostgreSQL's own ``$n`` form and run by ``psycopg.RawCursor``, prepared by psycopg after a few runs as
before; its rows come back as plain tuples. Elsewhere (SQLite) it runs as ``core.bulk.run`` runs it.

For statements whose parameters are plain values or arrays (``core.bulk.KeysIn``): an expanding IN
list has no fixed text and is refused at compile time, and each parameter's type gets its own bind
processor, as SQLAlchemy would apply.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import RawCursor
from sqlalchemy.orm import Session

from siyu.core.bulk import flush_pending, run

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


class _Compiled:
    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError("an expanding IN list has no fixed text: bind an array (core.bulk.KeysIn)")
        order: list[str] = []

        def number(m: re.Match[str]) -> str:
            if m.group(0) == "%%":
                return "%"
            name = m.group(1)
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"

        self.sql = _PLACEHOLDER.sub(number, sql).encode()
        self.order = order
        # the statement's own values (a constant bound in it), which a caller's parameters override
        self.own = {n: b.effective_value for n, b in compiled.binds.items() if not b.required}
        self.process = {n: p for n, b in compiled.binds.items()
                        if (p := b.type.dialect_impl(dialect).bind_processor(dialect)) is not None}

    def values(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for name in self.order:
            v = params[name] if name in params else self.own[name]
            proc = self.process.get(name)
            out.append(proc(v) if proc is not None and v is not None else v)
        return out


_COMPILED: dict[tuple[int, Any], tuple[Any, _Compiled]] = {}


def _compiled(stmt: Any, dialect: Any) -> _Compiled:
    key = (id(stmt), dialect)
    hit = _COMPILED.get(key)
    if hit is None or hit[0] is not stmt:  # the statement kept alive beside its id, so the id stays its own
        hit = _COMPILED[key] = (stmt, _Compiled(stmt, dialect))
    return hit[1]


def fetch(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of a statement built once (module level), as tuples."""
    cur = _execute(session, stmt, params or {})
    if cur is None:
        return [tuple(r) for r in run(session, stmt, params)]
    try:
        return cur.fetchall() if cur.description is not None else []
    finally:
        cur.close()


def execute(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> None:
    """Run a statement built once whose rows, if any, nobody reads."""
    cur = _execute(session, stmt, params or {})
    if cur is None:
        run(session, stmt, params)
    else:
        cur.close()


def _execute(session: Session, stmt: Any, params: dict[str, Any]) -> Any:
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None  # run by core.bulk.run, which flushes
    flush_pending(session)
    c = _compiled(stmt, conn.dialect)
    cur = RawCursor(conn.connection.driver_connection)
    cur.execute(c.sql, c.values(params), prepare=None)
    return cur
