"""A person's tags for the member page: every value of the last tag run with its reason, and the manual
marks in force now (with who set them, when and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from siyu.analytics.tag_rules import ManualRule, Pack
from siyu.tags import repository as repo
from siyu.tags.reasons import reason

DIMENSION_ORDER = ("attribute", "member_lifecycle", "rfm", "product_lifecycle", "preference", "value", "channel")


def _rows(path: Path, person_id: int) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    # a filter on read: only the row groups holding the person are decoded
    return pq.read_table(path, filters=pc.field("person_id") == person_id).to_pylist()


def person_tags(session: Session, tagstore: Path, pack: Pack, person_id: int, en: bool = False) -> list[dict[str, Any]]:
    """(dimension, tag, value, reason, manual) rows in dimension order; manual marks from the database."""
    facts = next(iter(_rows(tagstore / "person_facts.parquet", person_id)), {})
    out = []
    for r in _rows(tagstore / "person_tags.parquet", person_id):
        tag = pack.tag(r["tag"])
        if tag is None:  # 偏好渠道 and other tags computed outside the pack
            out.append({"dimension": "channel", "tag": r["tag"], "value": r["value"], "reason": "", "manual": None})
        elif not isinstance(tag.rule, ManualRule):  # manual marks come from the database, below
            out.append({"dimension": tag.dimension, "tag": tag.name, "value": r["value"],
                        "reason": reason(tag, r["value"], facts, en), "manual": None})
    for m in repo.active_of(session, person_id):
        tag = pack.tag(m.tag)
        out.append({"dimension": tag.dimension if tag else "value", "tag": m.tag, "value": m.value,
                    "reason": m.reason or "", "manual": {"id": m.id, "by": m.set_by, "at": m.set_at}})
    order = {d: i for i, d in enumerate(DIMENSION_ORDER)}
    return sorted(out, key=lambda r: (order.get(r["dimension"], 99), r["tag"], r["value"]))


def manual_history(session: Session, person_id: int) -> list[Any]:
    return repo.history_of(session, person_id)


def manual_tags(pack: Pack) -> list[dict[str, Any]]:
    """The pack's manual tags and their values, for the page's form."""
    return [{"name": t.name, "values": t.values} for t in pack.tags if isinstance(t.rule, ManualRule)]
