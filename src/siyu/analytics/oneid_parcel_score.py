"""``analytics.oneid_parcels``' rule over one block of buyers, in plain Python.

Two buyers fit only when the surname, the phone ending and the place agree, so every fit of a buyer,
and with it the uniqueness tests (``torn``, ``alone``), lies among the buyers of one (surname, ending,
place): a block. The weight's shares are the brand's (``parcel_stats``, counted over people as the
batch counts them). Given the batch's records (``oneid_parcels.parcel_records``, each buyer with its
person key), ``parcel_block`` over every block gives ``parcel_matches``' pairs, weights and evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from siyu.analytics.oneid_parcels import EVIDENCE, ONE_PARCEL, STREET
from siyu.analytics.oneid_score import MASK7_FORM, usual_value

Record = Mapping[str, Any]


def block_key(r: Record) -> tuple[str, str, str]:
    return (r["surname"], r["ending"], r["place"])


def parcel_stats(records: Iterable[Record]) -> dict[str, Any]:
    """The people (distinct person keys) in all, and per surname, ending, place and (place, street)."""
    keys: dict[str, dict[Any, set[int]]] = {"surname": {}, "ending": {}, "place": {}, "street": {}}
    people: set[int] = set()
    for r in records:
        people.add(r["key"])
        for what in ("surname", "ending", "place"):
            keys[what].setdefault(r[what], set()).add(r["key"])
        if r["street"] is not None:
            keys["street"].setdefault((r["place"], r["street"]), set()).add(r["key"])
    counts = {what: {k: len(v) for k, v in by.items()} for what, by in keys.items()}
    with_street: dict[Any, int] = {}
    for (place, _), n in counts["street"].items():
        with_street[place] = with_street.get(place, 0) + n
    return {"n": len(people), **counts, "with_street": with_street}


def parcel_block(block: list[Record], stats: Mapping[str, Any], *, min_weight: float, one_parcel: str,
                 known: set[tuple[int, int]]) -> list[tuple[int, int, float, str]]:
    """``parcel_matches`` over one block: (profile_a < profile_b, weight, evidence)."""
    cand = [(a, b) for a in block for b in block
            if a["profile_id"] != b["profile_id"] and a["key"] != b["key"]
            and (a["street"] == b["street"] or a["street"] is None or b["street"] is None)
            and (a["mask7"] == b["mask7"] or a["mask7"] is None or b["mask7"] is None)]
    fit_pairs = {(a["key"], b["key"]) for a, b in cand}
    fits: dict[int, set[int]] = {}
    for a, b in cand:
        fits.setdefault(a["profile_id"], set()).add(b["key"])
    torn = {x for x, ks in fits.items()
            if any((k1, k2) not in fit_pairs for k1 in ks for k2 in ks if k2 > k1)}
    per_channel: dict[tuple[int, Any], set[int]] = {}
    for a, b in cand:
        if a["profile_id"] not in torn:
            per_channel.setdefault((a["profile_id"], b["channel_id"]), set()).add(b["key"])
    alone = {xc for xc, ks in per_channel.items() if len(ks) == 1}
    kept: dict[tuple[int, int], tuple[int, int, float, str]] = {}
    for a, b in sorted(cand, key=lambda ab: (ab[0]["profile_id"], ab[1]["profile_id"])):
        x, y = a["profile_id"], b["profile_id"]
        if not (x < y and (x, b["channel_id"]) in alone and (y, a["channel_id"]) in alone
                and a["channel_id"] != b["channel_id"] and not (a["mask7"] is not None and b["mask7"] is not None)
                and _one_parcel_ok(one_parcel, a["one_parcel"], b["one_parcel"])
                and (a["gender"] is None or b["gender"] is None or a["gender"] == b["gender"])):
            continue
        people = (min(a["key"], b["key"]), max(a["key"], b["key"]))
        if people in kept:  # one pair per two people, the first by profile ids
            continue
        streets = a["street"] is not None and b["street"] is not None
        n = stats["n"]
        chance = n * (stats["surname"][a["surname"]] / n) * (stats["ending"][a["ending"]] / n) \
            * (stats["place"][a["place"]] / n)
        if streets:
            chance *= stats["street"][(a["place"], a["street"])] / stats["with_street"][a["place"]]
        parts = [EVIDENCE, *([STREET] if streets else []), *([ONE_PARCEL] if a["one_parcel"] or b["one_parcel"] else [])]
        kept[people] = (x, y, -math.log2(chance), " + ".join(parts))
    return sorted(p for p in kept.values() if p[2] >= min_weight and p[:2] not in known)


def _one_parcel_ok(rule: str, op_x: bool, op_y: bool) -> bool:
    return {"neither": not (op_x or op_y), "one": not (op_x and op_y), "both": True}[rule]


_ENDING = re.compile(r"[0-9]{2}")
# what → the value a receiver row gives it (``oneid_parcels``' usual receivers)
_VALUES: dict[str, Callable[[Record], Any]] = {
    "surname": lambda r: r["surname_bidx"], "street": lambda r: r["street"], "mask": lambda r: r["mask"],
    "place": lambda r: f"{r['city']}\x1f{r['district'] or ''}" if r["city"] is not None else None}


def parcel_features(phones: Iterable[tuple[int, bool, str]], receivers: Iterable[Record],
                    traits: Mapping[int, tuple[int | None, str | None]]) -> dict[int, dict[str, Any]]:
    """``oneid_parcels``' buyers (its ``feats``, without the person key) for a few profiles: ``phones``
    (profile, full?, display), ``receivers`` as ``repository.receiver_places`` gives them, ``traits``
    profile → (channel_id, gender)."""
    own: dict[int, list[tuple[bool, str]]] = {}
    for p, full, display in phones:
        own.setdefault(p, []).append((full, display))
    per: dict[int, list[Record]] = {}
    for r in receivers:
        per.setdefault(r["profile_id"], []).append(r)
    out = {}
    for p, rows in sorted(per.items()):
        mine = own.get(p, [])
        if any(full for full, _ in mine) or p not in traits:
            continue  # a full phone of its own: Splink's, not this rule's
        total = sum(r["orders"] for r in rows)
        usual = {what: usual_value(rows, key, total, True) for what, key in _VALUES.items()}
        if usual["surname"] is None or usual["place"] is None:
            continue
        if usual["mask"] is not None:
            ending = usual["mask"][-2:]
            mask7 = usual["mask"] if MASK7_FORM.fullmatch(usual["mask"]) else None
        else:
            endings = {d[-2:] for _, d in mine}
            ending = endings.pop() if len(endings) == 1 else None
            masks = {d for _, d in mine if MASK7_FORM.fullmatch(d)}
            mask7 = masks.pop() if len(masks) == 1 else None
        if ending is None or not _ENDING.fullmatch(ending):
            continue
        channel_id, gender = traits[p]
        out[p] = {"profile_id": p, "ending": ending, "mask7": mask7, "surname": usual["surname"],
                  "place": usual["place"], "street": usual["street"], "one_parcel": total == 1,
                  "channel_id": channel_id, "gender": gender}
    return out
