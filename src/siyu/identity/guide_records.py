"""What the batch's contact rule (``analytics.oneid_contacts``) compared, kept for real time: the guides'
WeCom contacts with their nicknames' indexes and the named members guides serve
(``models.GuideRecord``), and the reads real time finds namesakes with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from siyu.core.bulk import chunks
from siyu.core.columns import load
from siyu.identity.match_repository import put_keyed
from siyu.models import Channel, GuideRecord, Profile

COLUMNS = ("profile_id", "guide_id", "contact", "name", "given", "at")


def replace_records(session: Session, contacts: pa.Table, members: pa.Table) -> None:
    """Every contact and member the batch compared: ``contacts`` (profile_id, guide_id, seen_at,
    nick_bidx, nick_given_bidx), ``members`` (profile_id, guide_id, registered_at, name_bidx, given_bidx)."""
    session.execute(delete(GuideRecord))
    for table, contact in ((contacts, True), (members, False)):
        if table.num_rows:
            load(session, GuideRecord, table.rename_columns(["profile_id", "guide_id", "at", "name", "given"]),
                 constants={"contact": contact})


def put_records(session: Session, records: Sequence[dict[str, Any]], gone: Iterable[int]) -> None:
    put_keyed(session, GuideRecord, [{c: r[c] for c in COLUMNS} for r in records], gone)


def guided(session: Session, profile_ids: Iterable[int]) -> dict[str, list[Any]]:
    """``profiles``: (id, channel code, guide_id, name_enc, first_seen_at, registered_at, name_bidx,
    given_bidx or None) of these profiles, and ``records``: what is stored of them (``COLUMNS``)."""
    ids = sorted(set(profile_ids))
    out: dict[str, list[Any]] = {"profiles": [], "records": []}
    for part in chunks(ids):
        out["profiles"] += session.execute(
            select(Profile.id, Channel.code, Profile.guide_id, Profile.name_enc, Profile.first_seen_at,
                   Profile.registered_at, Profile.name_bidx, Profile.given_bidx)
            .join(Channel, Channel.id == Profile.channel_id)
            .where(Profile.id.in_(list(part)), Profile.guide_id.is_not(None))).all()
        out["records"] += session.execute(select(*_COLS).where(GuideRecord.profile_id.in_(list(part)))).all()
    return out


def carrying(session: Session, names: Iterable[str], givens: Iterable[str]) -> list[dict[str, Any]]:
    """Every stored record, of any guide, whose name is one of ``names`` or given name one of ``givens``."""
    names, givens = sorted(set(names)), sorted(set(givens))
    if not names and not givens:
        return []
    rows = session.execute(select(*_COLS).where(or_(GuideRecord.name.in_(names), GuideRecord.given.in_(givens))))
    return [as_record(r) for r in rows]


def as_record(row: Sequence[Any]) -> dict[str, Any]:
    rec = dict(zip(COLUMNS, row, strict=True))
    rec["contact"] = bool(rec["contact"])
    return rec


_COLS = tuple(getattr(GuideRecord, c) for c in COLUMNS)
