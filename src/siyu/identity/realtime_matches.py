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
more than ``BLOCK_LIMIT`` records (a shop's default mask) waits for the batch. The parcel and contact
rules run in the batch only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from siyu.analytics.oneid_score import MatchModel, few_features, guard_block
from siyu.core.config import Settings
from siyu.identity import match_repository as mrepo

KIND = "masked_phone"
BLOCK_LIMIT = 100  # records: scoring is quadratic in a block (200 records took 10.5 ms, the whole real-time budget)


def keep_model(session: Session, settings: Settings, fitted: list[MatchModel], records: pa.Table | None) -> None:
    """After the batch's probabilistic step: its model, the term frequencies it scored with and every
    record it compared; with no model fitted, none (real time then makes no Splink match)."""
    if not fitted or records is None:
        mrepo.forget_model(session, KIND)
        mrepo.replace_records(session, pa.table({c: pa.array([], t) for c, t in _SCHEMA}))
        return
    surnames = pc.value_counts(records["surname"].drop_null()).to_pylist()
    mrepo.store_model(session, KIND, {
        "model": fitted[0].to_json(), "min_weight": settings.oneid_match_weight,
        "mask_total": records.num_rows, "surname_total": sum(s["counts"] for s in surnames),
        "surnames": {s["values"]: s["counts"] for s in surnames}})
    mrepo.replace_records(session, records.select([c for c, _ in _SCHEMA]))


def rematch(session: Session, settings: Settings, profile_ids: Iterable[int]) -> set[int]:
    """Score again the blocks these profiles are in or were in; the profiles whose matches came or went.
    Two statements read everything (the profiles, then their blocks); writes only where something changed."""
    ids = sorted(set(profile_ids))
    if not settings.oneid_probabilistic or not ids:
        return set()
    stored = mrepo.model_of(session, KIND)
    if stored is None:
        return set()
    got = mrepo.arriving(session, ids)
    old = {r["unique_id"]: r for r in map(mrepo.as_record, got["records"])}
    new = _features(got, settings)
    changed = [r for p, r in new.items() if old.get(p) != r]
    gone = [p for p in old if p not in new]
    if not changed and not gone:
        return set()
    mrepo.put_records(session, changed, gone)
    masks = {r["mask7"] for r in changed} | {old[r["unique_id"]]["mask7"] for r in changed if r["unique_id"] in old}
    masks |= {old[p]["mask7"] for p in gone}
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
    before = {(a, b) for a, b in found["pairs_a"] + found["pairs_b"]}
    after = {(a, b) for a, b, _, _ in pairs}
    mrepo.change_matches(session, before - after, [p for p in pairs if p[:2] not in before])
    return {p for pair in before ^ after for p in pair}


def _features(got: dict[str, list[Any]], settings: Settings) -> dict[int, dict[str, Any]]:
    """The arriving profiles' records, described as the batch describes them (``mrepo.arriving``'s reads)."""
    genders = dict(got["genders"])
    return few_features(
        {p: (n, s) for p, n, s in got["own_names"]},
        [(p, bool(full), display) for p, full, display in got["displays"]],
        [dict(zip(_PLACES, (*row[:4], bool(row[4]), *row[5:]), strict=True)) for row in got["parcels"]],
        {p: (c, genders.get(p)) for p, c in got["channels"]},
        single_orders=settings.oneid_single_order_receivers)


_PLACES = ("profile_id", "name_bidx", "surname_bidx", "mask", "mask_full", "street", "city", "district", "orders")
_SCHEMA = (("unique_id", pa.int64()), ("mask7", pa.string()), ("name", pa.string()), ("surname", pa.string()),
           ("city", pa.string()), ("district", pa.string()), ("has_full", pa.bool_()), ("channel_id", pa.int64()),
           ("gender", pa.string()), ("one_parcel", pa.bool_()))
