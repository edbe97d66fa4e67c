"""The masked-phone model's stored state: the model the batch fitted, the records it compares, and the
Splink matches of one block (``identity.realtime_matches``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.core.bulk import chunks, insert_many
from siyu.core.clock import now
from siyu.core.columns import load
from siyu.models import IdentityMatch, MatchModel, MatchRecord

COLUMNS = ("profile_id", "mask7", "name", "surname", "city", "district", "has_full", "channel_id", "gender",
           "one_parcel")
SPLINK = "masked phone"  # how every Splink match's evidence begins (``oneid_match.guarded``)


def store_model(session: Session, kind: str, model: dict[str, Any]) -> None:
    session.execute(delete(MatchModel).where(MatchModel.kind == kind))
    insert_many(session, MatchModel, [{"kind": kind, "model": model, "created_at": now()}])


def model_of(session: Session, kind: str) -> dict[str, Any] | None:
    return session.scalar(select(MatchModel.model).where(MatchModel.kind == kind))


def forget_model(session: Session, kind: str) -> None:
    session.execute(delete(MatchModel).where(MatchModel.kind == kind))


def replace_records(session: Session, records: pa.Table) -> None:
    """Every record, as the batch's ``match_features`` made them (``unique_id`` is the profile)."""
    session.execute(delete(MatchRecord))
    load(session, MatchRecord, records.rename_columns(["profile_id", *records.column_names[1:]]).select(COLUMNS))


def records_of(session: Session, profile_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    out = {}
    for part in chunks(sorted(set(profile_ids))):
        for row in session.execute(select(*_cols()).where(MatchRecord.profile_id.in_(list(part)))):
            out[row[0]] = _as_record(row)
    return out


def block(session: Session, mask7: str, limit: int) -> list[dict[str, Any]]:
    """The records of one mask in profile order, at most ``limit`` + 1 (more: too large to score here)."""
    rows = session.execute(select(*_cols()).where(MatchRecord.mask7 == mask7).order_by(MatchRecord.profile_id)
                           .limit(limit + 1))
    return [_as_record(r) for r in rows]


def put_records(session: Session, records: Sequence[dict[str, Any]], gone: Iterable[int]) -> None:
    """Write these records (``unique_id`` as the profile) and forget those of ``gone``."""
    ids = sorted({r["unique_id"] for r in records} | set(gone))
    for part in chunks(ids):
        session.execute(delete(MatchRecord).where(MatchRecord.profile_id.in_(list(part))))
    insert_many(session, MatchRecord, [{"profile_id": r["unique_id"], **{c: r[c] for c in COLUMNS[1:]}}
                                       for r in records])


def replace_block_matches(session: Session, profile_ids: Sequence[int], pairs: Sequence[tuple[int, int, float, str]]
                          ) -> set[int]:
    """The Splink matches among one block's profiles become ``pairs`` (profile_a, profile_b, weight,
    evidence); other evidence (parcels, contacts) is left as it is. The profiles of the pairs that came
    or went."""
    ids = list(profile_ids)
    among = (IdentityMatch.profile_a.in_(ids), IdentityMatch.profile_b.in_(ids), IdentityMatch.evidence.startswith(SPLINK))
    before = {(a, b) for a, b in session.execute(select(IdentityMatch.profile_a, IdentityMatch.profile_b).where(*among))}
    after = {(a, b) for a, b, _, _ in pairs}
    session.execute(delete(IdentityMatch).where(*among))
    stamp = now()
    insert_many(session, IdentityMatch, [{"profile_a": a, "profile_b": b, "match_weight": round(w, 3), "evidence": e,
                                          "created_at": stamp} for a, b, w, e in pairs])
    return {p for pair in before ^ after for p in pair}


def _cols() -> tuple[Any, ...]:
    return tuple(getattr(MatchRecord, c) for c in COLUMNS)


def _as_record(row: Any) -> dict[str, Any]:
    rec = dict(zip(COLUMNS, row, strict=True))
    rec["unique_id"] = rec.pop("profile_id")
    return rec
