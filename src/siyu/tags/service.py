"""Compute tags over the lake and store them in the tag store (``$SIYU_HOME/tagstore``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from siyu.analytics import tags as tag_sql
from siyu.analytics.engine import connect
from siyu.analytics.lake import write_snapshot


def compute_tags(lake: Path, tagstore: Path, as_of: datetime) -> Counter[str]:
    """Returns how many persons carry each tag name."""
    with connect(lake) as con:
        table = tag_sql.person_tags(con, as_of)
    write_snapshot(tagstore, "person_tags", table)
    return Counter(table.column("tag").to_pylist())
