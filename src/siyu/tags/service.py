"""Compute tags over the lake and store them in the tag store (``$SIYU_HOME/tagstore``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from siyu.analytics import tags as tag_sql
from siyu.analytics.engine import connect
from siyu.analytics.lake import write_snapshot
from siyu.analytics.tag_compiler import facts_table, run_pack
from siyu.tags import definitions


def compute_tags(lake: Path, tagstore: Path, as_of: datetime, pack: definitions.Pack | None = None) -> Counter[str]:
    """The tag pack (the default unless given) and 偏好渠道 for every person as of ``as_of``, written to the
    tag store as (person_id, tag, value). Returns how many persons carry each tag name."""
    with connect(lake) as con:
        rows = run_pack(con, pack or definitions.default(), as_of)
        channels = tag_sql.preferred_channels(con)
        facts = facts_table(con) if rows.num_rows else None
    if facts is not None:  # the numeric fields audiences select on (points > 1000)
        write_snapshot(tagstore, "person_facts", facts)
    table = pa.concat_tables([rows, channels.cast(rows.schema)]) if channels.num_rows else rows
    current, previous = tagstore / "person_tags.parquet", tagstore / "person_tags.previous.parquet"
    if current.exists():  # kept for the catalogue's "entered / left since the previous run"
        current.replace(previous)
    write_snapshot(tagstore, "person_tags", table, sort_by="person_id")  # the member page reads one person
    with connect(None) as con:
        write_snapshot(tagstore, "tag_catalogue", tag_sql.catalogue(con, current, previous))
    counts = pc.value_counts(table.column("tag")).to_pylist()  # not a Python object per row (60M at scale)
    return Counter({str(c["values"]): int(c["counts"]) for c in counts})


def read_catalogue(tagstore: Path) -> list[dict[str, object]]:
    """The last run's catalogue: (tag, value, members, share, entered, left) rows; empty before any run."""
    import pyarrow.parquet as pq

    path = tagstore / "tag_catalogue.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []
