"""The points liability: what the brand owes its members in points, and how fast it is used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.loyalty import repository as repo


@dataclass(frozen=True)
class Liability:
    available: int  # spendable now
    pending: int  # inside orders' return windows
    owed: int  # taken back by refunds after being spent, owed from future points
    members_with_points: int
    expiring_30: int
    expiring_90: int
    made_available: int  # earned, released and adjusted in, all time
    redeemed: int
    expired: int

    @property
    def redemption_rate(self) -> float:
        """Share of the points ever made available that members spent."""
        return self.redeemed / self.made_available if self.made_available else 0.0


def liability(session: Session, at: datetime | None = None) -> Liability:
    t = repo.liability_totals(session, at or now())
    made = t.get("kind_earn", 0) + t.get("kind_release", 0) + max(t.get("kind_adjust", 0), 0)
    return Liability(t["available"], t["pending"], t["owed"], t["members_with_points"], t["expiring_30"],
                     t["expiring_90"], made, -t.get("kind_burn", 0), -t.get("kind_expire", 0))
