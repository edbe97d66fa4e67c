"""Splink's masked-phone model applied in plain Python, to one block of records at a time.

The batch trains the model on the whole brand (``analytics.oneid_match``) and Splink scores every pair
of records that share a mask. To score the few records that arrive between batch runs the same way,
the fitted model is kept as numbers (``MatchModel``) and the Fellegi–Sunter sum is taken here:

    weight = log2(λ / (1 − λ)) + Σ over comparisons of log2(m / u) of the level the pair falls in,

a comparison with either value missing adding nothing, and an exact match on a term-frequency
column adding ``w · log2(u / tf)``, ``tf`` the share of the records carrying that value (Splink's own
term-frequency table: the count over the non-null count). Measured against Splink 5 on the seed-7 demo
brand's 35,465 records: the 13,586 predicted pairs' weights agree to 4e-15, and the same pairs reach the
threshold. ``guard_block`` is ``oneid_match.guarded`` over one block: a block is every record of one
mask, so the pairs a record has, and with them whether it looks like a gift, are all in its block.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

COMPARED = ("mask7", "name", "surname", "city", "district")  # the model's comparisons, each an exact match


@dataclass(frozen=True)
class MatchModel:
    prior: float  # log2(λ / (1 − λ)), λ the chance that two random records match
    agree: dict[str, float]  # column → log2(m / u) of its exact-match level
    differ: dict[str, float]  # column → log2(m / u) of its "all other" level
    tf_u: dict[str, float]  # term-frequency column → u of its exact level
    tf_weight: dict[str, float]  # term-frequency column → how much of the adjustment applies

    @classmethod
    def from_splink(cls, settings: Mapping[str, Any]) -> MatchModel:
        """From Splink's saved model (``linker.misc.save_model_to_json()``) of ``oneid_match``'s exact
        comparisons: a null level, an exact level, an else level."""
        lam = settings["probability_two_random_records_match"]
        agree, differ, tf_u, tf_weight = {}, {}, {}, {}
        for comp in settings["comparisons"]:
            col = comp["output_column_name"]
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            exact, other = levels  # ExactMatch: "=" then ELSE
            agree[col] = math.log2(exact["m_probability"] / exact["u_probability"])
            differ[col] = math.log2(other["m_probability"] / other["u_probability"])
            if exact.get("tf_adjustment_column"):
                tf_u[col] = exact["u_probability"]
                tf_weight[col] = exact.get("tf_adjustment_weight", 1.0)
        return cls(math.log2(lam / (1 - lam)), agree, differ, tf_u, tf_weight)

    def to_json(self) -> dict[str, Any]:
        return {"prior": self.prior, "agree": self.agree, "differ": self.differ, "tf_u": self.tf_u,
                "tf_weight": self.tf_weight}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchModel:
        return cls(data["prior"], dict(data["agree"]), dict(data["differ"]), dict(data["tf_u"]),
                   dict(data["tf_weight"]))

    def weight(self, left: Mapping[str, Any], right: Mapping[str, Any], tf: Callable[[str, Any], float]) -> float:
        """The pair's match weight; ``tf(column, value)``: that value's share of the records."""
        total = self.prior
        for col in self.agree:
            a, b = left[col], right[col]
            if a is None or b is None:
                continue
            if a != b:
                total += self.differ[col]
                continue
            total += self.agree[col]
            if col in self.tf_u:
                total += self.tf_weight[col] * math.log2(self.tf_u[col] / tf(col, a))
        return total


def evidence(left: Mapping[str, Any], right: Mapping[str, Any]) -> str:
    """What agreed, as ``oneid_match.guarded`` writes it."""
    parts = ["masked phone"]
    parts += [col for col in ("name", "surname", "city", "district")
              if left[col] is not None and left[col] == right[col]]
    if left["one_parcel"] or right["one_parcel"]:
        parts.append("one parcel")
    return " + ".join(parts)


def guard_block(block: list[Mapping[str, Any]], model: MatchModel, tf: Callable[[str, Any], float],
                min_weight: float, accounts: Mapping[int, set[str]]) -> list[tuple[int, int, float, str]]:
    """The pairs of one block (records of one mask, with ``unique_id`` and the guard columns) at or above
    ``min_weight`` that pass ``oneid_match.guarded``'s guards, as (profile_a < profile_b, weight,
    evidence); ``accounts``: each record's platform account nodes (two records of one channel sharing
    none are two accounts)."""
    kept = []
    for left, right in combinations(block, 2):
        w = model.weight(left, right, tf)
        if w < min_weight or (left["has_full"] and right["has_full"]):
            continue
        if any(left[c] is not None and right[c] is not None and left[c] != right[c] for c in ("name", "surname")):
            continue
        kept.append((left, right, w))
    gifts = set()
    for left, right, _ in kept:
        if (left["channel_id"] is not None and left["channel_id"] == right["channel_id"]
                and not accounts.get(left["unique_id"], set()) & accounts.get(right["unique_id"], set())):
            gifts.update(r["unique_id"] for r in (left, right) if r["one_parcel"])
    out = []
    for left, right, w in kept:
        if left["unique_id"] in gifts or right["unique_id"] in gifts:
            continue
        one = bool(left["one_parcel"]) or bool(right["one_parcel"])
        if one and left["gender"] is not None and right["gender"] is not None and left["gender"] != right["gender"]:
            continue
        if left["one_parcel"] and right["one_parcel"]:
            continue
        a, b = sorted((left["unique_id"], right["unique_id"]))
        out.append((a, b, w, evidence(left, right)))
    return sorted(out)


def term_frequencies(records: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> dict[str, dict[Any, float]]:
    """column → value → its share of the records carrying the column, as Splink counts them."""
    out = {}
    rows = list(records)
    for col in columns:
        counts: dict[Any, int] = {}
        for r in rows:
            if r[col] is not None:
                counts[r[col]] = counts.get(r[col], 0) + 1
        n = sum(counts.values())
        out[col] = {v: c / n for v, c in counts.items()}
    return out


MASK7_FORM = re.compile(r"1[0-9]{2}\*{4}[0-9]{4}")  # ``oneid_match.MASK7``


def few_features(own: Mapping[int, tuple[str | None, str | None]], phones: Iterable[tuple[int, bool, str]],
                 receivers: Iterable[Mapping[str, Any]], traits: Mapping[int, tuple[int | None, str | None]], *,
                 single_orders: bool) -> dict[int, dict[str, Any]]:
    """``oneid_match.match_features`` for a few profiles in plain Python (DuckDB's planning of that
    statement alone took 25 ms an arrival): ``own`` profile → (name_bidx, surname_bidx); ``phones``
    (profile, full?, display); ``receivers`` rows as ``repository.receiver_places`` gives them;
    ``traits`` profile → (channel_id, gender). Each profile's record, if it has one."""
    masks: dict[int, list[tuple[bool, str]]] = {}
    for p, full, display in phones:
        if display is not None and MASK7_FORM.fullmatch(display):
            masks.setdefault(p, []).append((full, display))
    per: dict[int, list[Mapping[str, Any]]] = {}
    for r in receivers:
        per.setdefault(r["profile_id"], []).append(r)
    out = {}
    for p in sorted(set(masks) | set(per)):
        rows = per.get(p, [])
        total = sum(r["orders"] for r in rows)
        usual = {what: usual_value(rows, key, total, single_orders) for what, key in _VALUES.items()}
        mine = masks.get(p, [])
        has_own_full = any(full for full, _ in mine)
        if has_own_full:
            mask7, has_full, own_full = min(d for full, d in mine if full), True, True
        elif usual["mask"] is not None:
            mask7, own_full = usual["mask"], False
            has_full = any(r["mask_full"] for r in rows if r["mask"] == mask7)
        elif mine:
            mask7, has_full, own_full = min(d for _, d in mine), False, False
        else:
            continue
        name_own, surname_own = own.get(p, (None, None))
        name = name_own if name_own is not None else usual["name"]
        surname = surname_own if surname_own is not None else usual["surname"]
        if not (has_full or name is not None or surname is not None):
            continue  # a masked phone alone names no one
        city, district = (usual["place"].split("\x1f", 1) if usual["place"] is not None else (None, None))
        channel_id, gender = traits.get(p, (None, None))
        out[p] = {"unique_id": p, "mask7": mask7, "name": name, "surname": surname, "city": city or None,
                  "district": district or None, "has_full": has_full, "channel_id": channel_id, "gender": gender,
                  "one_parcel": name_own is None and total == 1 and not own_full}
    return out


# what → the value a receiver row gives it, or None where the row says nothing (``match_features``)
_VALUES: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "name": lambda r: r["name_bidx"], "surname": lambda r: r["surname_bidx"],
    "mask": lambda r: r["mask"] if r["mask"] is not None and MASK7_FORM.fullmatch(r["mask"]) else None,
    "place": lambda r: f"{r['city']}\x1f{r['district'] or ''}" if r["city"] is not None else None}


def usual_value(rows: list[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], Any], total: int,
           single_orders: bool) -> Any:
    """``oneid_match.usual_receivers``: the value on most of a buyer's orders and on two or more of them
    (or on its only order, with ``single_orders``), the largest count first and then the smallest value."""
    counts: dict[Any, int] = {}
    for r in rows:
        v = key(r)
        if v is not None:
            counts[v] = counts.get(v, 0) + r["orders"]
    if not counts:
        return None
    value, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return value if (n >= 2 or (single_orders and total == 1)) and n * 2 > total else None
