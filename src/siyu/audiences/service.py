"""Audiences over the last tag run: parse an expression, count it, sample its members. The bitmap index
is built once per tag run and kept while the run's files are unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from siyu.audiences.expression import Node, parse, text
from siyu.audiences.index import AudienceIndex
from siyu.core.errors import NotFound
from siyu.tags.definitions import default

_cache: dict[Path, tuple[tuple[float, float], AudienceIndex]] = {}


def index(tagstore: Path) -> AudienceIndex:
    tags, facts = tagstore / "person_tags.parquet", tagstore / "person_facts.parquet"
    if not (tags.exists() and facts.exists()):
        raise NotFound("no tags computed yet: run siyu pipeline (or the demo) first")
    stamp = (tags.stat().st_mtime, facts.stat().st_mtime)
    cached = _cache.get(tagstore)
    if cached is None or cached[0] != stamp:
        aliases = {t.name_en.lower().replace(" ", "_"): t.name for t in default().tags}
        cached = (stamp, AudienceIndex(pq.read_table(tags), pq.read_table(facts), aliases))
        _cache[tagstore] = cached
    return cached[1]


def count(tagstore: Path, expression: str | Node, sample: int = 0) -> dict[str, Any]:
    """The members an expression selects: their number, the expression in its readable form and tree,
    and the first ``sample`` person ids."""
    node = parse(expression) if isinstance(expression, str) else expression
    got = index(tagstore).evaluate(node)
    return {"count": len(got), "text": text(node), "tree": node.model_dump(by_alias=True),
            "sample": list(got[:sample]) if sample else []}
