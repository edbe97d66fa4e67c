"""The Parquet lake: append-only fact parts written incrementally, dimension snapshots rewritten whole.

A fact row may be exported more than once (an order updated after a refund): readers keep the latest
version of each id (highest ``updated_at``, then latest part), so exports never need to rewrite parts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FACTS = ("orders", "order_items", "refunds", "events")
SNAPSHOTS = ("profiles", "persons", "members", "channels", "shops", "stores", "regions", "guides", "products",
             "skus", "identity_links", "points", "manual_tags")


def write_part(lake: Path, name: str, table: pa.Table) -> Path | None:
    """Append a part to fact ``name``; parts are numbered so their order is their age."""
    if table.num_rows == 0:
        return None
    directory = lake / name
    directory.mkdir(parents=True, exist_ok=True)
    n = len(list(directory.glob("part-*.parquet")))
    path = directory / f"part-{n:06d}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)  # a reader never sees half a part
    return path


def write_snapshot(lake: Path, name: str, table: pa.Table) -> Path:
    lake.mkdir(parents=True, exist_ok=True)
    path = lake / f"{name}.parquet"
    tmp = lake / f".{name}.parquet.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def dedup_view_sql(name: str, files: list[str]) -> str:
    """The latest version of each row over a fact's parts. Most ids occur once, so only the ids found in
    more than one version are ranked (a window over every row cost most of reading the lake)."""
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    rows = f"read_parquet([{quoted}], filename = true)"
    return (f"CREATE OR REPLACE VIEW {name} AS "  # noqa: S608 - file paths we wrote
            f"WITH r AS (SELECT * FROM {rows}), dup AS (SELECT id FROM r GROUP BY id HAVING count(*) > 1) "
            f"SELECT * FROM r ANTI JOIN dup USING (id) UNION ALL "
            f"SELECT * EXCLUDE (_rn) FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, "
            f"filename DESC) AS _rn FROM r SEMI JOIN dup USING (id)) WHERE _rn = 1")
