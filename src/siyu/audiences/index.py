"""The audience engine: a Roaring bitmap of persons per tag value, and per numeric field the persons in
value order cut into equal buckets with a bitmap for every prefix of buckets. A count is bitmap algebra:
no scan of orders, no SQL.

A numeric condition selects a run of positions in value order, ``[lo, hi)``; its bitmap is
``prefix(hi) - prefix(lo)``, where ``prefix(i)`` is the stored bitmap of the whole buckets below ``i``
plus the at most one bucket's worth of persons before ``i`` (built on the fly, ``BUCKETS`` keeps that
small). Missing values (a person with no age) satisfy no comparison, as in SQL.
"""

from __future__ import annotations

import array
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap

from siyu.audiences.expression import FIELDS, And, Compare, Node, Not, Or, TagAny, TagIn
from siyu.core.errors import InvalidInput

BUCKETS = 256


def _bitmap(ids: np.ndarray) -> BitMap:
    return BitMap(array.array("I", np.ascontiguousarray(ids, dtype=np.uint32).tobytes()))


@dataclass
class Numeric:
    values: np.ndarray  # sorted, missing values left out
    ids: np.ndarray  # persons in the same order
    size: int  # persons a bucket
    prefixes: list[BitMap]  # prefixes[k]: persons in buckets 0..k-1

    @classmethod
    def build(cls, ids: np.ndarray, values: np.ndarray) -> Numeric:
        ok = ~np.isnan(values)
        ids, values = ids[ok], values[ok]
        order = np.lexsort((ids, values))
        ids, values = ids[order].astype(np.uint32), values[order]
        size = max(1, -(-len(ids) // BUCKETS))
        prefixes, acc = [BitMap()], BitMap()
        for k in range(0, len(ids), size):
            acc = acc | _bitmap(ids[k:k + size])
            prefixes.append(acc)
        return cls(values, ids, size, prefixes)

    def prefix(self, i: int) -> BitMap:
        k = i // self.size
        return self.prefixes[k] | _bitmap(self.ids[k * self.size:i]) if i % self.size else self.prefixes[k]

    def select(self, op: str, value: float) -> BitMap:
        left = int(np.searchsorted(self.values, value, "left"))
        right = int(np.searchsorted(self.values, value, "right"))
        n = len(self.values)
        lo, hi = {"<": (0, left), "<=": (0, right), ">": (right, n), ">=": (left, n), "=": (left, right)}.get(op, (0, 0))
        if op == "!=":
            return self.prefix(left) | (self.prefix(n) - self.prefix(right))
        return self.prefix(hi) - self.prefix(lo)


class AudienceIndex:
    """Bitmaps over one tag run: ``tags`` (person_id, tag, value) and ``facts`` (person_id and the numeric
    measures). ``aliases`` maps other names of a tag (its English name in snake case) to it."""

    def __init__(self, tags: pa.Table, facts: pa.Table, aliases: dict[str, str] | None = None) -> None:
        self.universe = _bitmap(facts.column("person_id").to_numpy())
        self.values: dict[str, dict[str, BitMap]] = {}
        order = pc.sort_indices(tags, [("tag", "ascending"), ("value", "ascending")])
        tags = tags.take(order)
        tag_col, value_col = tags.column("tag").to_pylist(), tags.column("value").to_pylist()
        ids = tags.column("person_id").to_numpy()
        start = 0
        for i in range(1, len(tag_col) + 1):
            if i == len(tag_col) or (tag_col[i], value_col[i]) != (tag_col[start], value_col[start]):
                self.values.setdefault(tag_col[start], {})[value_col[start]] = _bitmap(ids[start:i])
                start = i
        self.by_value: dict[str, list[tuple[str, str]]] = {}
        for tag, by in self.values.items():
            for v in by:
                self.by_value.setdefault(v, []).append((tag, v))
        self.aliases = aliases or {}
        person = facts.column("person_id").to_numpy()
        self.numeric = {name: Numeric.build(person, facts.column(col).to_numpy(zero_copy_only=False)
                                            .astype(np.float64) / div)
                        for name, (col, div) in FIELDS.items() if col in facts.column_names}

    def _tag(self, name: str) -> dict[str, BitMap]:
        tag = self.aliases.get(name.lower(), name)
        if tag not in self.values:
            raise InvalidInput(f"audience: no tag named {name!r}")
        return self.values[tag]

    def evaluate(self, node: Node) -> BitMap:
        if isinstance(node, And):
            out = self.evaluate(node.and_[0])
            for x in node.and_[1:]:
                out = out & self.evaluate(x)
            return out
        if isinstance(node, Or):
            return BitMap.union(*[self.evaluate(x) for x in node.or_])
        if isinstance(node, Not):
            return self.universe - self.evaluate(node.not_)
        if isinstance(node, TagIn):
            by = self._tag(node.tag)
            return BitMap.union(BitMap(), *[by[v] for v in node.values if v in by])
        if isinstance(node, TagAny):
            name = self.aliases.get(node.has.lower(), node.has)
            if name in self.values:
                return BitMap.union(BitMap(), *self.values[name].values())
            if node.has in self.by_value:
                return BitMap.union(BitMap(), *[self.values[t][v] for t, v in self.by_value[node.has]])
            raise InvalidInput(f"audience: no tag and no tag value named {node.has!r}")
        assert isinstance(node, Compare)
        if node.field not in self.numeric:
            raise InvalidInput(f"audience: no numeric field {node.field!r}")
        return self.numeric[node.field].select(node.op, node.value)

    def count(self, node: Node) -> int:
        return len(self.evaluate(node))
