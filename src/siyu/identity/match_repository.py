"""What the batch's probabilistic rules stored for real time (``identity.realtime_matches``): the fitted
masked-phone model and the records it compared, the parcel rule's buyers and the brand's shares, and the
reads and writes of the blocks an arrival scores again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, case, delete, func, or_, select
from sqlalchemy.orm import Session

from siyu.core.bulk import KeysIn, chunks, insert_many
from siyu.core.clock import now
from siyu.core.columns import load
from siyu.core.together import Together
from siyu.identity.repository import PLACE_COLUMNS, gender_rows, node_links
from siyu.ingest.schemas import ACCOUNT_KIND_LIST, JOINING_KINDS, MASKED_PHONE, PHONE
from siyu.models import (
    Identity,
    IdentityMatch,
    MatchModel,
    MatchRecord,
    Order,
    ParcelRecord,
    Profile,
    ProfileIdentity,
)

COLUMNS = ("profile_id", "mask7", "name", "surname", "city", "district", "has_full", "channel_id", "gender",
           "one_parcel")
SPLINK = "masked phone"  # how every Splink match's evidence begins (``oneid_match.guarded``)
PARCELS = "phone ending"  # and every parcel match's (``oneid_parcels.EVIDENCE``)
PARCEL_COLUMNS = ("profile_id", "block", "surname", "ending", "place", "street", "mask7", "one_parcel", "channel_id",
                  "gender")


def store_model(session: Session, kind: str, model: dict[str, Any]) -> None:
    session.execute(delete(MatchModel).where(MatchModel.kind == kind))
    insert_many(session, MatchModel, [{"kind": kind, "model": model, "created_at": now()}])


def models_of(session: Session, kinds: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored models of these kinds, asked in one statement and decoded once per stored version
    (each arrival asks; decoding the JSON each time was a third of the ask)."""
    out = {}
    for kind, model_id, created in session.execute(select(MatchModel.kind, MatchModel.id, MatchModel.created_at)
                                                   .where(or_(*(MatchModel.kind == k for k in kinds)))):
        where, version = (str(session.get_bind().url), kind), (model_id, created)
        if _MODELS.get(where, (None, None))[0] != version:  # a batch run stored a new version
            _MODELS[where] = (version, session.scalar(select(MatchModel.model).where(MatchModel.id == model_id)))
        out[kind] = _MODELS[where][1]
    return out


_MODELS: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}  # (database, kind) → (version, model)


def forget_model(session: Session, kind: str) -> None:
    session.execute(delete(MatchModel).where(MatchModel.kind == kind))


def replace_records(session: Session, records: pa.Table) -> None:
    """Every record, as the batch's ``match_features`` made them (``unique_id`` is the profile)."""
    session.execute(delete(MatchRecord))
    load(session, MatchRecord, records.rename_columns(["profile_id", *records.column_names[1:]]).select(COLUMNS))


def put_records(session: Session, records: Sequence[dict[str, Any]], gone: Iterable[int]) -> None:
    """Write these records (``unique_id`` as the profile) and forget those of ``gone``."""
    _put(session, MatchRecord, [{"profile_id": r["unique_id"], **{c: r[c] for c in COLUMNS[1:]}} for r in records],
         gone)


def change_matches(session: Session, gone: Iterable[tuple[int, int]], new: Sequence[tuple[int, int, float, str]],
                   prefix: str = SPLINK) -> None:
    """Forget these matches (profile_a, profile_b) of one rule (its evidence's ``prefix``) and store the
    new ones (…, weight, evidence)."""
    for a, b in gone:
        session.execute(delete(IdentityMatch).where(IdentityMatch.profile_a == a, IdentityMatch.profile_b == b,
                                                    IdentityMatch.evidence.startswith(prefix)))
    stamp = now()
    insert_many(session, IdentityMatch, [{"profile_a": a, "profile_b": b, "match_weight": round(w, 3), "evidence": e,
                                          "created_at": stamp} for a, b, w, e in new])


def write_pairs(session: Session, stored: list[tuple[int, int]], pairs: list[tuple[int, int, float, str]],
                prefix: str) -> set[int]:
    """The pairs of one rule (its evidence's ``prefix``) among some profiles, ``stored`` before, become
    ``pairs``, writing only the difference; the profiles whose pairs came or went."""
    before = set(stored)
    after = {(a, b) for a, b, _, _ in pairs}
    change_matches(session, before - after, [p for p in pairs if p[:2] not in before], prefix)
    return {p for pair in before ^ after for p in pair}


def replace_parcel_records(session: Session, records: pa.Table) -> None:
    """Every buyer the batch's parcel rule compared (``oneid_parcels.parcel_records``, its key left out)."""
    session.execute(delete(ParcelRecord))
    block = pc.binary_join_element_wise(records["surname"], records["ending"], records["place"], "\x1f")
    load(session, ParcelRecord, records.append_column("block", block).select(PARCEL_COLUMNS))


def put_parcel_records(session: Session, records: Sequence[dict[str, Any]], gone: Iterable[int]) -> None:
    _put(session, ParcelRecord, [{c: (parcel_block_of(r) if c == "block" else r[c]) for c in PARCEL_COLUMNS}
                                 for r in records], gone)


def _put(session: Session, model: Any, rows: list[dict[str, Any]], gone: Iterable[int]) -> None:
    """Rows of a table keyed by profile written anew, and those of ``gone`` forgotten."""
    ids = sorted({r["profile_id"] for r in rows} | set(gone))
    for part in chunks(ids):
        session.execute(delete(model).where(model.profile_id.in_(list(part))))
    insert_many(session, model, rows)


def parcel_block_of(record: dict[str, Any]) -> str:
    return "\x1f".join((record["surname"], record["ending"], record["place"]))


def parcel_blocks(session: Session, blocks: Iterable[str], limit: int) -> dict[str, list[tuple[Any, ...]]]:
    """These blocks' buyers, of the blocks of at most ``limit`` (``members``: ``PARCEL_COLUMNS``, the
    flag 1/0), and the matches among them, in one statement: ``splink_a``/``splink_b`` and
    ``parcel_a``/``parcel_b`` (profile_a, profile_b), read by either side."""
    keys = set(blocks)
    return _PARCEL_BLOCKS.run_all(session, {name: keys for name in _PARCEL_BLOCKS.reads}, limit=limit)


def person_keys(session: Session, profile_ids: Sequence[int], blocked: set[str], max_fanout: int) -> dict[int, int]:
    """``oneid_parcels``' person key of these buyers: the lowest buyer (a profile with a parcel record)
    sharing with it an identifier that may join (not blocked, carried by 2 up to ``max_fanout``)."""
    joining: dict[int, set[int]] = {}
    for p, ident, node, fan in node_links(session, profile_ids, JOINING_KINDS):
        if node not in blocked and 2 <= fan <= max_fanout:
            joining.setdefault(p, set()).add(ident)
    idents = {i for ids in joining.values() for i in ids}
    lowest: dict[int, int] = {}
    for part in chunks(sorted(idents)):
        lowest.update(session.execute(
            select(ProfileIdentity.identity_id, func.min(ProfileIdentity.profile_id))
            .join(ParcelRecord, ParcelRecord.profile_id == ProfileIdentity.profile_id)
            .where(ProfileIdentity.identity_id.in_(list(part))).group_by(ProfileIdentity.identity_id)).all())
    return {p: min([p, *(lowest[i] for i in joining.get(p, ()) if i in lowest)]) for p in profile_ids}


def as_parcel_record(row: Sequence[Any]) -> dict[str, Any]:
    rec = dict(zip(PARCEL_COLUMNS, row, strict=True))
    rec.pop("block")
    rec["one_parcel"] = bool(rec["one_parcel"])
    return rec


def arriving(session: Session, profile_ids: Iterable[int]) -> dict[str, list[tuple[Any, ...]]]:
    """What describes these profiles for the model, in one statement where it fits: ``displays``
    (profile, full phone 1/0, masked display), ``parcels`` (``repository.receiver_places``' columns, the
    phone known in full 1/0), ``own_names`` (profile, name, surname), ``channels``, ``genders``, their
    stored ``records`` (``COLUMNS``, the flags 1/0) and ``parcel_records``, and which of them a guide
    serves (``guided``: for the contact rule, ``identity.guide_records``)."""
    ids = set(profile_ids)
    return _ARRIVING.run_all(session, {name: ids for name in _ARRIVING.reads})


def blocks(session: Session, masks: Iterable[str], limit: int) -> dict[str, list[tuple[Any, ...]]]:
    """The masks' blocks of at most ``limit`` records, in one statement: ``block`` (the records),
    ``accounts`` (profile, platform account node) and ``pairs_a``, ``pairs_b`` (their Splink matches, by
    either side)."""
    keys = set(masks)
    return _BLOCKS.run_all(session, {name: keys for name in _BLOCKS.reads}, limit=limit)


def as_record(row: Sequence[Any]) -> dict[str, Any]:
    """A ``records`` or ``block`` row as ``match_features`` gives a record."""
    rec = dict(zip(COLUMNS, row, strict=True))
    rec["unique_id"] = rec.pop("profile_id")
    rec["has_full"], rec["one_parcel"] = bool(rec["has_full"]), bool(rec["one_parcel"])
    return rec


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


_PARCEL_COLS = tuple(_flag(ParcelRecord.one_parcel) if c == "one_parcel" else getattr(ParcelRecord, c)
                     for c in PARCEL_COLUMNS)
_RECORD_COLS = tuple(_flag(getattr(MatchRecord, c)) if c in ("has_full", "one_parcel") else getattr(MatchRecord, c)
                     for c in COLUMNS)
_NODE = Identity.kind + ":" + Identity.bidx
_ARRIVING = Together({
    "displays": select(ProfileIdentity.profile_id, _flag(Identity.kind == PHONE), Identity.display)
    .join(Identity, Identity.id == ProfileIdentity.identity_id)
    .where(KeysIn(ProfileIdentity.profile_id), or_(Identity.kind == PHONE, Identity.kind == MASKED_PHONE),
           Identity.display.is_not(None)),
    "parcels": select(*PLACE_COLUMNS, func.count()).where(KeysIn(Order.profile_id)).group_by(*PLACE_COLUMNS),
    "own_names": select(Profile.id, Profile.name_bidx, Profile.surname_bidx)
    .where(KeysIn(Profile.id), Profile.surname_bidx.is_not(None)),
    "channels": select(Profile.id, Profile.channel_id).where(KeysIn(Profile.id)),
    "genders": gender_rows(KeysIn(Profile.id), KeysIn(Order.profile_id)),
    "records": select(*_RECORD_COLS).where(KeysIn(MatchRecord.profile_id)),
    "parcel_records": select(*_PARCEL_COLS).where(KeysIn(ParcelRecord.profile_id)),
    "guided": select(Profile.id).where(KeysIn(Profile.id), Profile.guide_id.is_not(None)),
})
# the asked masks with at most :limit records (a shop's default mask waits for the batch)
_SMALL = (select(MatchRecord.mask7).where(KeysIn(MatchRecord.mask7)).group_by(MatchRecord.mask7)
          .having(func.count() <= bindparam("limit")))
_IN_BLOCKS = select(MatchRecord.profile_id).where(MatchRecord.mask7.in_(_SMALL))
_ACCOUNT = or_(*(Identity.kind == k for k in sorted(set(ACCOUNT_KIND_LIST) & set(JOINING_KINDS))))
_BLOCKS = Together({
    "block": select(*_RECORD_COLS).where(MatchRecord.mask7.in_(_SMALL)),
    "accounts": select(ProfileIdentity.profile_id, _NODE).join(Identity, Identity.id == ProfileIdentity.identity_id)
    .where(ProfileIdentity.profile_id.in_(_IN_BLOCKS), _ACCOUNT),
    # by either side, each through its own index (one OR of the two scanned every match): a record that
    # left a block for another leaves its old pairs to be forgotten
    **{f"pairs_{side}": select(IdentityMatch.profile_a, IdentityMatch.profile_b)
       .where(getattr(IdentityMatch, f"profile_{side}").in_(_IN_BLOCKS), IdentityMatch.evidence.startswith(SPLINK))
       for side in "ab"},
})
_SMALL_PARCEL = (select(ParcelRecord.block).where(KeysIn(ParcelRecord.block)).group_by(ParcelRecord.block)
                 .having(func.count() <= bindparam("limit")))
_IN_PARCEL_BLOCKS = select(ParcelRecord.profile_id).where(ParcelRecord.block.in_(_SMALL_PARCEL))
_PARCEL_BLOCKS = Together({
    "members": select(*_PARCEL_COLS).where(ParcelRecord.block.in_(_SMALL_PARCEL)),
    **{f"{rule}_{side}": select(IdentityMatch.profile_a, IdentityMatch.profile_b)
       .where(getattr(IdentityMatch, f"profile_{side}").in_(_IN_PARCEL_BLOCKS), IdentityMatch.evidence.startswith(prefix))
       for rule, prefix in (("splink", SPLINK), ("parcel", PARCELS)) for side in "ab"},
})

