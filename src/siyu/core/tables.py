"""Query results to Arrow tables, for handing whole tables to the analytics engine or the lake."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa


def to_arrow(rows: Iterable[Sequence[Any]], schema: pa.Schema, chunk: int = 200_000) -> pa.Table:
    """Column-wise conversion in chunks: bounded memory, no per-row dict."""
    batches = []
    buf: list[Sequence[Any]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= chunk:
            batches.append(_batch(buf, schema))
            buf = []
    if buf or not batches:
        batches.append(_batch(buf, schema))
    return pa.Table.from_batches(batches, schema=schema)


def _batch(buf: list[Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
    cols = list(zip(*buf, strict=True)) if buf else [[] for _ in schema]
    return pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)],
                                      schema=schema)
