"""What the batch's contact rule (``analytics.oneid_contacts``) compared, kept for real time: the guides'
WeCom contacts with their nicknames' indexes and the named members guides serve
(``models.GuideRecord``), and the reads real time finds namesakes with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from siyu.core.bulk import KeysIn, chunks, insert_many, run
from siyu.core.columns import load
from siyu.models import Channel, GuideRecord, Profile, ProfileIdentity

COLUMNS = ("profile_id", "guide_id", "contact", "name", "given", "at")


def replace_records(session: Session, contacts: pa.Table | None, members: pa.Table | None) -> None:
    """Every contact and member the batch compared (none: the rule is off): ``contacts`` (profile_id,
    guide_id, seen_at, nick_bidx, nick_given_bidx), ``members`` (profile_id, guide_id, registered_at,
    name_bidx, given_bidx)."""
    session.execute(delete(GuideRecord))
    for table, contact in ((contacts, True), (members, False)):
        if table is not None and table.num_rows:
            load(session, GuideRecord, table.rename_columns(["profile_id", "guide_id", "at", "name", "given"]),
                 constants={"contact": contact})


def put_records(session: Session, records: Sequence[dict[str, Any]], forget: Iterable[int]) -> None:
    """Write these records, after forgetting those of ``forget`` (the ones they replace, and those of
    profiles no longer compared): a new profile's record is one statement."""
    forget = sorted(set(forget))
    for part in chunks(forget):
        session.execute(delete(GuideRecord).where(GuideRecord.profile_id.in_(list(part))))
    insert_many(session, GuideRecord, [{c: r[c] for c in COLUMNS} for r in records])


def named_carriers(session: Session, identity_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(identity_id, profile_id) of the profiles with a name of their own (a surname index) carrying
    these identifiers."""
    ids = sorted(set(identity_ids))
    return [tuple(r) for part in chunks(ids) for r in run(session, _NAMED_CARRIERS, {"ids": list(part)})]


def guided(session: Session, profile_ids: Iterable[int]) -> dict[str, list[Any]]:
    """``profiles``: (id, channel code, guide_id, name_enc, first_seen_at, registered_at, name_bidx,
    given_bidx or None) of these profiles that a guide serves, and ``records``: what is stored of them
    (``COLUMNS``); one statement (a round trip less on PostgreSQL than two)."""
    out: dict[str, list[Any]] = {"profiles": [], "records": []}
    for part in chunks(sorted(set(profile_ids))):
        for row in run(session, _GUIDED, {"ids": list(part)}):
            if row[2] is not None:
                out["profiles"].append(tuple(row[:8]))
            if row[8] is not None:
                out["records"].append(tuple(row[8:]))
    return out


def carrying(session: Session, names: Iterable[str], givens: Iterable[str]) -> list[dict[str, Any]]:
    """Every stored record, of any guide, whose name is one of ``names`` or given name one of ``givens``."""
    keys = {"names": sorted(set(names)), "givens": sorted(set(givens))}
    if not keys["names"] and not keys["givens"]:
        return []
    return [as_record(r) for r in run(session, _CARRYING, keys)]


def as_record(row: Sequence[Any]) -> dict[str, Any]:
    rec = dict(zip(COLUMNS, row, strict=True))
    rec["contact"] = bool(rec["contact"])
    return rec


_COLS = tuple(getattr(GuideRecord, c) for c in COLUMNS)
# statements built once, their keys bound at each run (``core.bulk.KeysIn``: PostgreSQL prepares them)
_GUIDED = (select(Profile.id, Channel.code, Profile.guide_id, Profile.name_enc, Profile.first_seen_at,
                  Profile.registered_at, Profile.name_bidx, Profile.given_bidx, *_COLS)
           .join(Channel, Channel.id == Profile.channel_id)
           .outerjoin(GuideRecord, GuideRecord.profile_id == Profile.id)
           .where(KeysIn(Profile.id), or_(Profile.guide_id.is_not(None), GuideRecord.profile_id.is_not(None))))
_NAMED_CARRIERS = (select(ProfileIdentity.identity_id, ProfileIdentity.profile_id)
                   .join(Profile, Profile.id == ProfileIdentity.profile_id)
                   .where(KeysIn(ProfileIdentity.identity_id), Profile.surname_bidx.is_not(None)))
_CARRYING = select(*_COLS).where(or_(KeysIn(GuideRecord.name, "names"), KeysIn(GuideRecord.given, "givens")))
