"""File plumbing shared by the platform writers."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from siyu.synth.text import concat

CHUNK = 250_000


def write_csv(columns: dict[str, pa.Array], path: Path, encoding: str = "utf-8", bom: bool = False) -> int:
    """Write a CSV with the given header order. GBK files are transcoded chunk by chunk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: (v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.array(v))
                      for k, v in columns.items()})
    with open(path, "wb") as fh:
        if bom:
            fh.write("\ufeff".encode())
        for start in range(0, max(table.num_rows, 1), CHUNK):
            part = table.slice(start, CHUNK)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(part, sink, pacsv.WriteOptions(include_header=start == 0, quoting_style="needed"))
            data = sink.getvalue().to_pybytes()
            fh.write(data if encoding == "utf-8" else data.decode("utf-8").encode(encoding))
    return table.num_rows


def write_lines(lines: pa.Array, path: Path) -> int:
    """One string per line (JSON Lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        append_lines(fh, lines)
    return len(lines)


def append_lines(fh: BinaryIO, lines: pa.Array) -> None:
    """Write each string and a newline, straight from the Arrow data buffer (no Python strings)."""
    for start in range(0, len(lines), CHUNK):
        part = lines.slice(start, CHUNK)
        if isinstance(part, pa.ChunkedArray):
            part = part.combine_chunks()
        part = concat(part.cast(pa.large_string()), "\n")
        offsets = np.frombuffer(part.buffers()[1], dtype=np.int64)[part.offset: part.offset + len(part) + 1]
        fh.write(memoryview(part.buffers()[2])[offsets[0]: offsets[-1]])


def blank(n: int) -> pa.Array:
    return pa.nulls(n, pa.string()).fill_null("")
