"""Order points and tiers, recomputed from orders and applied to the ledger as differences.

The ledger is append-only: when an order's points change (a refund, an order moving to another person
after a merge), the difference is booked as a new entry; nothing is rewritten. Running this twice books
nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.loyalty import accrual, coupons, ledger
from siyu.loyalty.programme import Programme


@dataclass
class PointsReport:
    entries: int = 0
    points_booked: int = 0
    upgraded: int = 0
    tiers: dict[str, int] | None = None
    coupons: int = 0


def award_order_points(session: Session, programme: Programme, at: datetime | None = None) -> PointsReport:
    """Order points for every member (see ``accrual``), what fell due by ``at``, and tiers."""
    stamp = at or now()
    report = PointsReport()
    acc = accrual.accrue(session, programme, None, stamp)
    ledger.catch_up_all(session, stamp)
    report.entries = acc.entries
    report.points_booked = acc.credited - acc.reversed
    report.upgraded, report.tiers = accrual.assign_tiers(session, programme, None, stamp)
    report.coupons = coupons.issue_due(session, programme, stamp)  # after the tiers: monthly coupons by tier
    return report
