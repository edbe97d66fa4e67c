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
from siyu.loyalty import accrual, ledger
from siyu.loyalty import repository as repo
from siyu.loyalty.programme import Programme


@dataclass
class PointsReport:
    entries: int = 0
    points_booked: int = 0
    upgraded: int = 0
    tiers: dict[str, int] | None = None


def award_order_points(session: Session, programme: Programme, at: datetime | None = None) -> PointsReport:
    """Order points for every member (see ``accrual``), what fell due by ``at``, and tiers."""
    stamp = at or now()
    report = PointsReport()
    acc = accrual.accrue(session, programme, None, stamp)
    ledger.catch_up_all(session, stamp)
    report.entries = acc.entries
    report.points_booked = acc.credited - acc.reversed
    active = {m.person_id: m for m in repo.members(session) if m.status == "active"}
    joined = {m.id: m.joined_at for m in active.values()}
    spend: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for mid, orders in repo.orders_of_members(session, list(joined)).items():
        for o in orders:
            # the same spend the tier multiplier counts (accrual.targets): as a member, net of refunds
            if o.status in accrual.FINISHED and o.paid_at is not None and o.paid_at >= joined[mid]:
                spend[mid].append((o.paid_at, max(o.paid_fen - o.refunded_fen, 0)))
    report.upgraded, report.tiers = _tiers(session, programme, active, spend, stamp)
    return report


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
