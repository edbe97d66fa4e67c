"""Bulk statements for repositories: Core ``executemany`` instead of the ORM's per-object machinery,
which costs more than the database itself on large imports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

CHUNK = 900  # stays under SQLite's bound-parameter limit with room to spare


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i: i + size]


def table_of(model: Any) -> Table:
    return model.__table__ if hasattr(model, "__table__") else model


def insert_many(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys, or missing keys filled by column defaults)."""
    if not rows:
        return
    table = table_of(model)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r), []).append(r)
    for group in groups.values():
        session.execute(insert(table), group)


def update_many(session: Session, model: Any, rows: list[dict[str, Any]], key: str = "id") -> None:
    """UPDATE … WHERE key = :key for each row, grouped by the set of columns a row changes."""
    if not rows:
        return
    table = table_of(model)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(c for c in r if c != key)), []).append(r)
    for cols, group in groups.items():
        if not cols:
            continue
        stmt = (update(table).where(table.c[key] == bindparam("k_" + key))
                .values({c: bindparam("v_" + c) for c in cols}))
        session.execute(stmt, [{"k_" + key: r[key], **{"v_" + c: r[c] for c in cols}} for r in group])
