"""Order points and tiers, recomputed from orders and applied to the ledger as differences.

The ledger is append-only: when an order's points change (a refund, an order moving to another person
after a merge), the difference is booked as a new entry; nothing is rewritten. Running this twice books
nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.loyalty import repository as repo
from siyu.loyalty.programme import Programme

FINISHED = ("completed", "refunded")  # a fully refunded order keeps its history and earns net 0


@dataclass
class PointsReport:
    entries: int = 0
    points_booked: int = 0
    upgraded: int = 0
    tiers: dict[str, int] | None = None


def _when(o: Any) -> datetime:
    return o.paid_at or o.created_at


def award_order_points(session: Session, programme: Programme) -> PointsReport:
    """Book 1 point per whole yuan (per the programme) on finished orders placed since the member joined."""
    stamp = now()
    report = PointsReport()
    all_members = repo.members(session)
    active = {m.person_id: m for m in all_members if m.status == "active"}
    carried = _carried_over(all_members, active, repo.person_redirects(session))
    target: dict[tuple[str, int], tuple[int, datetime]] = {}  # (order, member) → (points, when)
    spend: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for o in repo.awardable_orders(session):
        m = active.get(o.person_id)
        if m is None or o.status not in FINISHED or _when(o) < m.joined_at:
            continue
        net = max(o.paid_fen - o.refunded_fen, 0)
        target[(str(o.id), m.id)] = (programme.points_for(net), o.completed_at or _when(o))
        if net:
            spend[m.id].append((_when(o), net))

    booked: dict[tuple[str, int], int] = {}
    count: dict[str, int] = defaultdict(int)
    for ref, member_id, points, n in repo.order_entries(session):
        # A folded account's balance already moved to the survivor: its order points count as the survivor's.
        key = (ref, carried.get(member_id, member_id))
        booked[key] = booked.get(key, 0) + int(points or 0)
        count[ref] += n
    entries = []
    for key in sorted(set(target) | set(booked)):
        ref, member_id = key
        want, when = target.get(key, (0, stamp))
        have = booked.get(key, 0)
        if want == have:
            continue
        seq = count[ref]
        count[ref] += 1
        kind = "earn" if have == 0 and want > 0 else ("reverse" if want < have else "adjust")
        entries.append({"member_id": member_id, "kind": kind, "points": want - have,
                        "reason": "订单积分" if kind == "earn" else "订单变更调整", "source_type": "order",
                        "source_ref": ref, "idempotency_key": f"order:{ref}:{seq}", "occurred_at": when,
                        "expires_at": None})
    repo.add_entries(session, repo.stamp_entries(entries, stamp))
    report.entries = len(entries)
    report.points_booked = sum(e["points"] for e in entries)
    report.upgraded, report.tiers = _tiers(session, programme, active, spend, stamp)
    return report


def _carried_over(members: list[Any], active: dict[int, Any], redirects: dict[int, int]) -> dict[int, int]:
    """Folded (merged) member → the active member that received its balance."""
    out = {}
    for m in members:
        if m.status != "merged":
            continue
        person, seen = m.person_id, set()
        while person in redirects and person not in seen:
            seen.add(person)
            person = redirects[person]
        if person in active:
            out[m.id] = active[person].id
    return out


def _tiers(session: Session, programme: Programme, active: dict[int, Any],
           spend: dict[int, list[tuple[datetime, int]]], stamp: datetime) -> tuple[int, dict[str, int]]:
    """Tier by cumulative member spend; ``tier_since`` is when the running total crossed the threshold."""
    updates, changed = [], 0
    dist: dict[str, int] = defaultdict(int)
    for m in active.values():
        total, since = 0, m.joined_at
        tier = programme.tiers[0]
        for when, fen in sorted(spend.get(m.id, [])):
            total += fen
            t = programme.tier_for(total)
            if t.min_spend_fen > tier.min_spend_fen:
                tier, since = t, when
        dist[tier.name] += 1
        if m.tier != tier.name or m.tier_since != since:
            changed += m.tier != tier.name
            updates.append({"id": m.id, "tier": tier.name, "tier_since": since, "updated_at": stamp})
    repo.update_members(session, updates)
    return changed, dict(dist)
