"""Splink's masked-phone matches on arrival, with the model the last batch run fitted.

The batch fits the model on the whole brand and scores every pair of records sharing a mask. It keeps
the model as numbers and every record it compared (``keep_model``). A record that arrives, or changes,
between batch runs is described the batch's way (``analytics.oneid_score.few_features``: the batch's
``match_features`` in plain Python, over the profile's own phones, parcels, name and traits), and every
block it is in, or was in, is scored again as a whole (``analytics.oneid_score.guard_block``). A block
is every record of one mask, so whatever the guards decide about a record (a gift among others'
accounts) is decided inside its block. The changes to the blocks' Splink matches are written; real time
then resolves the profiles whose matches came or went.

What differs from the next batch run: that run fits the model again, so weights move a little (up to
0.6 bits between runs on the demo brand), and the term frequencies' totals are the batch's. A block of
more than ``BLOCK_LIMIT`` records (a shop's default mask) waits for the batch.

The parcel rule (``analytics.oneid_parcels``) is handled the same way, after Splink's pairs (which it
leaves out): its blocks are the buyers of one surname, phone ending and place, since every fit agrees on
all three (``analytics.oneid_parcel_score``). Its weights use the brand's shares as the batch counted
them, so a pair near the threshold can cross it at the next batch run as the brand grows. The guides'
contact rule follows (``identity.realtime_contacts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from siyu.analytics.oneid_parcel_score import parcel_block, parcel_features, parcel_stats
from siyu.analytics.oneid_score import MatchModel, few_features, guard_block
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.identity import match_repository as mrepo
from siyu.identity.realtime_contacts import KIND as CONTACTS
from siyu.identity.realtime_contacts import rematch_contacts

KIND = "masked_phone"
PARCELS = "parcels"
BLOCK_LIMIT = 100  # records: scoring is quadratic in a block (200 records took 10.5 ms, the whole real-time budget)


def keep_model(session: Session, settings: Settings, fitted: list[MatchModel], records: pa.Table | None) -> None:
    """After the batch's probabilistic step: its model, the term frequencies it scored with and every
    record it compared; with no model fitted, none (real time then makes no Splink match)."""
    if not fitted or records is None:
        mrepo.forget_model(session, KIND)
        mrepo.replace_records(session, _empty(_SCHEMA))
        return
    surnames = pc.value_counts(records["surname"].drop_null()).to_pylist()
    mrepo.store_model(session, KIND, {
        "model": fitted[0].to_json(), "min_weight": settings.oneid_match_weight,
        "mask_total": records.num_rows, "surname_total": sum(s["counts"] for s in surnames),
        "surnames": {s["values"]: s["counts"] for s in surnames}})
    mrepo.replace_records(session, records.select([c for c, _ in _SCHEMA]))


def rematch(session: Session, vault: Vault, settings: Settings, profile_ids: Iterable[int], blocked: set[str]
            ) -> set[int]:
    """Score again the blocks these profiles are in or were in, Splink's then the parcel rule's (which
    leaves out Splink's pairs), and compare again the guides' contacts they are or name
    (``identity.realtime_contacts``); the profiles whose matches came or went. ``blocked``: the blocked
    nodes."""
    ids = sorted(set(profile_ids))
    if not settings.oneid_probabilistic or not ids:
        return set()
    models = mrepo.models_of(session, (KIND, PARCELS, CONTACTS))
    if not models:
        return set()
    splink, parcels, contacts = models.get(KIND), models.get(PARCELS), models.get(CONTACTS)
    got = mrepo.arriving(session, ids)
    moved = _rematch_splink(session, settings, splink, got) if splink is not None else set()
    if parcels is not None:
        moved |= _rematch_parcels(session, settings, parcels, got, blocked)
    if contacts is not None and got["guided"]:  # most arrivals have no guide: no statement more
        moved |= rematch_contacts(session, vault, settings, contacts, [p for (p,) in got["guided"]], blocked)
    return moved


def _rematch_splink(session: Session, settings: Settings, stored: dict[str, Any], got: dict[str, list[Any]]
                    ) -> set[int]:
    old = {r["unique_id"]: r for r in map(mrepo.as_record, got["records"])}
    own, phones, receivers, traits = _inputs(got)
    new = few_features(own, phones, receivers, traits, single_orders=settings.oneid_single_order_receivers)
    changed, gone = _changes(old, new)
    if not changed and not gone:
        return set()
    mrepo.put_records(session, changed, gone)
    masks = {r["mask7"] for r in changed} | {old[p]["mask7"] for p in [r["unique_id"] for r in changed] + gone
                                             if p in old}
    found = mrepo.blocks(session, masks, BLOCK_LIMIT)
    by_mask: dict[str, list[dict[str, Any]]] = {}
    for record in map(mrepo.as_record, found["block"]):
        by_mask.setdefault(record["mask7"], []).append(record)
    accounts: dict[int, set[str]] = {}
    for p, node in found["accounts"]:
        accounts.setdefault(p, set()).add(node)
    model = MatchModel.from_json(stored["model"])
    pairs = []
    for _, block in sorted(by_mask.items()):
        share = len(block) / stored["mask_total"]

        def tf(column: str, value: Any, share: float = share) -> float:
            if column == "mask7":
                return share
            return stored["surnames"].get(value, 1) / stored["surname_total"]

        pairs += guard_block(sorted(block, key=lambda r: r["unique_id"]), model, tf, stored["min_weight"], accounts)
    return mrepo.write_pairs(session, found["pairs_a"] + found["pairs_b"], pairs, mrepo.SPLINK)


def _rematch_parcels(session: Session, settings: Settings, stored: dict[str, Any], got: dict[str, list[Any]],
                     blocked: set[str]) -> set[int]:
    """The parcel rule over the blocks (surname, ending, place) the arrivals are in or were in, with the
    brand's shares as the batch counted them and each buyer's person key as it is now."""
    old = {r["profile_id"]: r for r in map(mrepo.as_parcel_record, got["parcel_records"])}
    _, phones, receivers, traits = _inputs(got)
    changed, gone = _changes(old, parcel_features(phones, receivers, traits))
    if not changed and not gone:
        return set()
    mrepo.put_parcel_records(session, changed, gone)
    blocks = {mrepo.parcel_block_of(r) for r in changed}
    blocks |= {mrepo.parcel_block_of(old[p]) for p in [r["profile_id"] for r in changed] + gone if p in old}
    found = mrepo.parcel_blocks(session, blocks, BLOCK_LIMIT)
    members = [mrepo.as_parcel_record(row) for row in found["members"]]
    keys = mrepo.person_keys(session, [r["profile_id"] for r in members], blocked, stored["max_fanout"])
    by_block: dict[str, list[dict[str, Any]]] = {}
    for r in members:
        by_block.setdefault(mrepo.parcel_block_of(r), []).append({**r, "key": keys[r["profile_id"]]})
    known = {(a, b) for a, b in found["splink_a"] + found["splink_b"]}
    stats = stored["stats"]
    # (place, street) kept as one text: the place's own separator stays in it, the street is last
    stats = {**stats, "street": {tuple(k.rsplit("\x1f", 1)): n for k, n in stats["street"].items()}}
    pairs = [p for _, block in sorted(by_block.items())
             for p in parcel_block(sorted(block, key=lambda r: r["profile_id"]), stats,
                                   min_weight=stored["min_weight"], one_parcel=stored["one_parcel"], known=known)]
    return mrepo.write_pairs(session, found["parcel_a"] + found["parcel_b"], pairs, mrepo.PARCELS)


def _changes(old: dict[int, dict[str, Any]], new: dict[int, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The records that are new or differ, and the profiles that no longer have one."""
    return [r for p, r in new.items() if old.get(p) != r], [p for p in old if p not in new]


def keep_parcels(session: Session, settings: Settings, records: pa.Table | None) -> None:
    """After the batch's parcel rule: every buyer it compared and the brand's shares it weighed with."""
    if records is None:
        mrepo.forget_model(session, PARCELS)
        mrepo.replace_parcel_records(session, _empty(_PARCEL_SCHEMA))
        return
    stats = parcel_stats(records.to_pylist())
    stats["street"] = {"\x1f".join(k): n for k, n in stats["street"].items()}
    mrepo.store_model(session, PARCELS, {"stats": stats, "min_weight": settings.oneid_parcel_weight,
                                         "one_parcel": settings.oneid_parcel_one_parcel,
                                         "max_fanout": settings.oneid_max_fanout})
    mrepo.replace_parcel_records(session, records.drop_columns(["key"]))


def _inputs(got: dict[str, list[Any]]) -> tuple[dict[int, tuple[Any, Any]], list[tuple[int, bool, str]],
                                                 list[dict[str, Any]], dict[int, tuple[Any, Any]]]:
    """``mrepo.arriving``'s reads as both rules' descriptions take them: own names, phones, parcels (the
    flags back to booleans) and traits (channel, gender)."""
    genders = dict(got["genders"])
    return ({p: (n, s) for p, n, s in got["own_names"]},
            [(p, bool(full), display) for p, full, display in got["displays"]],
            [dict(zip(_PLACES, (*row[:4], bool(row[4]), *row[5:]), strict=True)) for row in got["parcels"]],
            {p: (c, genders.get(p)) for p, c in got["channels"]})


def _empty(schema: tuple[tuple[str, pa.DataType], ...]) -> pa.Table:
    return pa.table({c: pa.array([], t) for c, t in schema})


_PLACES = ("profile_id", "name_bidx", "surname_bidx", "mask", "mask_full", "street", "city", "district", "orders")
_SCHEMA = (("unique_id", pa.int64()), ("mask7", pa.string()), ("name", pa.string()), ("surname", pa.string()),
           ("city", pa.string()), ("district", pa.string()), ("has_full", pa.bool_()), ("channel_id", pa.int64()),
           ("gender", pa.string()), ("one_parcel", pa.bool_()))
_PARCEL_SCHEMA = (("profile_id", pa.int64()), ("ending", pa.string()), ("mask7", pa.string()), ("surname", pa.string()),
                  ("place", pa.string()), ("street", pa.string()), ("one_parcel", pa.bool_()),
                  ("channel_id", pa.int64()), ("gender", pa.string()))
