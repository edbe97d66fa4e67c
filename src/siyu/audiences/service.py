"""Audiences over the last tag run: parse an expression, count it, sample its members; keep it by name,
dynamic or as frozen snapshot versions. The bitmap index is built once per tag run and kept while the
run's files are unchanged."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pyroaring import BitMap
from sqlalchemy.orm import Session

from siyu.audiences import repository as repo
from siyu.audiences.expression import Node, parse, text
from siyu.audiences.index import AudienceIndex
from siyu.core.clock import now
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.tags.definitions import default

_cache: dict[Path, tuple[tuple[int, int, int], AudienceIndex]] = {}


def index(tagstore: Path) -> AudienceIndex:
    tags, facts = tagstore / "person_tags.parquet", tagstore / "person_facts.parquet"
    if not (tags.exists() and facts.exists()):
        raise NotFound("no tags computed yet: run siyu pipeline (or the demo) first")
    stamp = (tags.stat().st_mtime_ns, tags.stat().st_size, facts.stat().st_mtime_ns)
    cached = _cache.get(tagstore)
    if cached is None or cached[0] != stamp:
        aliases = {t.name_en.lower().replace(" ", "_"): t.name for t in default().tags}
        # tag and value read as the file's dictionaries: no string per row (58M rows at 1.5M persons)
        cached = (stamp, AudienceIndex(pq.read_table(tags, read_dictionary=["tag", "value"]), pq.read_table(facts),
                                       aliases))
        _cache[tagstore] = cached
    return cached[1]


def count(tagstore: Path, expression: str | Node, sample: int = 0) -> dict[str, Any]:
    """The members an expression selects: their number, the expression in its readable form and tree,
    and the first ``sample`` person ids."""
    node = parse(expression) if isinstance(expression, str) else expression
    got = index(tagstore).evaluate(node)
    return {"count": len(got), "text": text(node), "tree": node.model_dump(by_alias=True),
            "sample": list(got[:sample]) if sample else []}


SAMPLE_COLUMNS = ("person_id", "tier", "points", "frequency", "monetary_fen", "recency_days", "city")


def sample_rows(tagstore: Path, person_ids: list[int]) -> list[dict[str, Any]]:
    """The sample's people as the builder lists them: tier, points, purchases, spend, recency, city."""
    if not person_ids:
        return []
    import pyarrow.compute as pc

    rows = pq.read_table(tagstore / "person_facts.parquet", columns=list(SAMPLE_COLUMNS),
                         filters=pc.field("person_id").isin(person_ids)).to_pylist()
    order = {p: i for i, p in enumerate(person_ids)}
    return sorted(rows, key=lambda r: order[r["person_id"]])


def save(session: Session, tagstore: Path, name: str, expression: str, *, kind: str, by: str,
         at: datetime | None = None) -> dict[str, Any]:
    """Keep an audience by name: ``dynamic`` (evaluated on every use) or ``snapshot`` (its members frozen
    now as version 1; ``freeze`` adds versions). Refused if the name is taken or the expression does not
    evaluate."""
    if kind not in ("dynamic", "snapshot"):
        raise InvalidInput(f"audience {name!r}: kind {kind!r} is not dynamic or snapshot")
    if not name.strip() or len(name) > 64:
        raise InvalidInput("audience name: 1 to 64 characters")
    if not by.strip():
        raise InvalidInput("who saves the audience: a name is required (--by)")
    if repo.by_name(session, name.strip()) is not None:
        raise Conflict(f"audience {name!r} already exists")
    node = parse(expression)
    members = index(tagstore).evaluate(node)  # an expression that cannot be evaluated is not saved
    at = at or now()
    aid = repo.add(session, {"name": name.strip(), "expression": text(node), "tree": node.model_dump(by_alias=True),
                             "kind": kind, "created_by": by.strip()[:64], "created_at": at})
    if kind == "snapshot":
        _freeze(session, aid, 1, members, by, at)
    return {"name": name.strip(), "kind": kind, "text": text(node), "count": len(members)}


def _freeze(session: Session, audience_id: int, version: int, members: Any, by: str, at: datetime) -> None:
    repo.add_snapshot(session, {"audience_id": audience_id, "version": version, "members": len(members),
                                "bitmap": members.serialize(), "taken_by": by.strip()[:64], "taken_at": at})


def freeze(session: Session, tagstore: Path, name: str, *, by: str, at: datetime | None = None) -> dict[str, Any]:
    """A new version of a snapshot audience: its expression evaluated on the latest tags, frozen."""
    a = _audience(session, name)
    if a.kind != "snapshot":
        raise Conflict(f"audience {name!r} is dynamic: it is evaluated on every use, there is nothing to freeze")
    last = repo.snapshot(session, a.id, None)
    members = index(tagstore).evaluate(parse(a.expression))
    version = (last.version if last else 0) + 1
    _freeze(session, a.id, version, members, by, at or now())
    return {"name": name, "version": version, "count": len(members)}


def _audience(session: Session, name: str) -> Any:
    a = repo.by_name(session, name)
    if a is None:
        raise NotFound(f"audience {name!r}: no such audience")
    return a


def members(session: Session, tagstore: Path, name: str, version: int | None = None) -> BitMap:
    """The persons of a saved audience: now (dynamic), or as frozen (snapshot; the latest version unless
    one is named)."""
    a = _audience(session, name)
    if a.kind == "dynamic":
        if version is not None:
            raise InvalidInput(f"audience {name!r} is dynamic: it has no versions")
        return index(tagstore).evaluate(parse(a.expression))
    snap = repo.snapshot(session, a.id, version)
    if snap is None:
        raise NotFound(f"audience {name!r}: no version {version}")
    return BitMap.deserialize(snap.bitmap)


def saved(session: Session) -> list[Any]:
    return repo.all_(session)
