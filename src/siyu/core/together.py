"""Several keyed reads in one statement.

A real-time OneID resolution asks a dozen small questions of the same keys (a neighbourhood's
identifiers, parcels, matches, traits). On PostgreSQL each statement is a round trip (0.10–0.27 ms on
the machines here even for ``SELECT 1``) and the driver's work around it, while running one of these
reads takes 0.05–0.3 ms (EXPLAIN ANALYZE at ten million records). ``Together`` runs any set of such
reads as one ``UNION ALL`` (run through ``core.native``): each read is a SELECT of the keys ``ids``
(``core.bulk.KeysIn``), given here a name of its own; its columns go into shared integer and text slots
(padded with typed NULLs, so both databases accept the union) behind a tag saying whose row it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, String, literal, null, union_all
from sqlalchemy.sql.visitors import replacement_traverse

from siyu.core.bulk import CHUNK, KeysIn, chunks
from siyu.core.native import fetch


class Together:
    """Reads by name, each a SELECT of the keys ``ids`` and any parameters every call passes."""

    def __init__(self, reads: dict[str, Any]) -> None:
        self.shapes: dict[str, list[tuple[str, int]]] = {}  # read → its columns' (slot kind, slot number)
        self.uses: dict[str, int] = {}  # read → how often its ids are bound (SQLite repeats them)
        self.reads = {name: self._rebind(name, stmt) for name, stmt in reads.items()}
        self.ints = max(sum(k == "int" for k, _ in s) for s in self.shapes.values())
        self.texts = max(sum(k == "text" for k, _ in s) for s in self.shapes.values())
        self._built: dict[tuple[str, ...], Any] = {}

    def _rebind(self, name: str, stmt: Any) -> Any:
        uses = 0

        def swap(el: Any) -> Any:
            nonlocal uses
            if isinstance(el, KeysIn) and el.key == "ids":
                uses += 1
                return KeysIn(el.column, f"ids_{name}")
            return None

        stmt = replacement_traverse(stmt, {}, swap)
        if not uses:
            raise ValueError(f"read {name!r} has no KeysIn(…, 'ids') condition")
        self.uses[name] = uses
        shape, counts = [], {"int": 0, "text": 0}
        for col in stmt.selected_columns:
            kind = "int" if isinstance(col.type, Integer) else "text" if isinstance(col.type, String) else None
            if kind is None:
                raise TypeError(f"read {name!r}: column {col.name!r} is {col.type}, neither integer nor text")
            shape.append((kind, counts[kind]))
            counts[kind] += 1
        self.shapes[name] = shape
        return stmt.subquery(f"read_{name}")

    def _statement(self, names: tuple[str, ...]) -> Any:
        if names not in self._built:
            parts = []
            for tag, name in enumerate(names):
                sub = self.reads[name]
                slots: dict[tuple[str, int], Any] = {slot: col for slot, col in zip(self.shapes[name], sub.c, strict=True)}
                cols = [literal(tag, Integer).label("tag")]
                cols += [slots.get(("int", i), null().cast(BigInteger)).label(f"i{i}") for i in range(self.ints)]
                cols += [slots.get(("text", i), null().cast(String)).label(f"t{i}") for i in range(self.texts)]
                parts.append(sub.select().with_only_columns(*cols))
            self._built[names] = union_all(*parts) if len(parts) > 1 else parts[0]
        return self._built[names]

    def fits(self, wanted: dict[str, Any]) -> dict[str, Any]:
        """The part of ``wanted`` (read → keys) one statement can bind: at most ``CHUNK`` parameters in
        all, SQLite's old bound. The rest is left to the reads' own chunked statements."""
        out, used = {}, 0
        for name, keys in sorted(wanted.items()):
            cost = len(keys) * self.uses[name]
            if keys and used + cost <= CHUNK:
                out[name], used = keys, used + cost
        return out

    def run(self, session: Any, wanted: dict[str, Any], **extra: Any) -> dict[str, list[tuple[Any, ...]]]:
        """{read: its rows as tuples, in its own column order} for every read of ``wanted`` with keys;
        ``extra``: the reads' other parameters."""
        names = tuple(sorted(n for n, keys in wanted.items() if keys))
        out: dict[str, list[tuple[Any, ...]]] = {n: [] for n in names}
        if not names:
            return out
        params = {f"ids_{n}": sorted(wanted[n]) for n in names}
        for tag, *values in fetch(session, self._statement(names), {**params, **extra}):
            name = names[tag]
            out[name].append(tuple(values[i if kind == "int" else self.ints + i] for kind, i in self.shapes[name]))
        return out

    def run_all(self, session: Any, wanted: dict[str, Any], **extra: Any) -> dict[str, list[tuple[Any, ...]]]:
        """``run`` of every read of ``wanted``: what fits, in one statement; a read too large for it, in
        chunks of its own. Every read of ``wanted`` is in the answer."""
        fits = self.fits(wanted)
        out = self.run(session, fits, **extra)
        for name, keys in wanted.items():
            if keys and name not in fits:
                out[name] = []
                for part in chunks(sorted(keys), CHUNK // self.uses[name]):
                    out[name].extend(self.run(session, {name: set(part)}, **extra)[name])
            out.setdefault(name, [])
        return out
