"""One member's points, worked on in memory between the account lock and the write.

A ``Book`` holds the member's balances and their live lots (anything not yet spent, expired or
released). Every change is an entry, and the same change is applied to the cached balances and lots,
so that ``siyu loyalty check`` can prove the caches equal the ledger. The rules that make the ledger
trustworthy live here:

- spending, expiring and clawing back take lots in order of expiry (earliest first, lots that never
  expire last, then oldest), and never more than a lot holds;
- a lot expires with what is left in it at its expiry time, so nothing spent ever expires;
- a refund takes its points back from its own lot first, then from the balance, and what is still
  missing becomes debt (below zero, account ``debt``), which the next points released pay first;
- releases and expiries due before an operation's time are booked before it, in time order, at the
  time they fell due: the ledger is the same whenever and however often it is caught up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from siyu.core.errors import Conflict

FAR = datetime(9999, 12, 31, tzinfo=UTC)  # a sort key: lots that never expire go last


class InsufficientPoints(Conflict):
    def __init__(self, member_id: int, wanted: int, available: int) -> None:
        super().__init__(f"member {member_id}: {wanted:,} points asked, {available:,} available; nothing was changed")
        self.wanted, self.available = wanted, available


@dataclass
class Lot:
    id: int
    source_type: str
    source_ref: str
    points: int
    remaining: int
    pending: int
    earned_at: datetime
    releases_at: datetime | None
    expires_at: datetime | None
    changed: bool = False

    def order_key(self) -> tuple[Any, int]:
        # expiry times are aware UTC everywhere (the programme's rule and the database both give UTC)
        return (self.expires_at or FAR, self.id)


@dataclass
class Book:
    member_id: int
    available: int
    pending: int
    debt: int
    lots: list[Lot]
    entries: list[dict[str, Any]] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)

    # -- entries -----------------------------------------------------------------------------------
    def _entry(self, kind: str, account: str, points: int, lot: Lot | None, reason: str, key: str,
               when: datetime, source: tuple[str, str] | None = None) -> None:
        src = source or ((lot.source_type, lot.source_ref) if lot else (None, None))
        self.entries.append({"member_id": self.member_id, "kind": kind, "account": account, "points": points,
                             "lot_id": lot.id if lot else None, "reason": reason, "source_type": src[0],
                             "source_ref": src[1], "idempotency_key": key, "occurred_at": when,
                             "expires_at": lot.expires_at if lot and kind in ("earn", "release") else None})
        if account == "available":
            self.available += points
            if lot:
                lot.remaining += points
        elif account == "pending":
            self.pending += points
            if lot:
                lot.pending += points
        else:
            self.debt += points
        if lot:
            lot.changed = True

    def spendable(self) -> list[Lot]:
        return sorted((lt for lt in self.lots if lt.remaining > 0), key=Lot.order_key)

    # -- what falls due by itself ------------------------------------------------------------------
    def catch_up(self, at: datetime) -> None:
        """Book the releases and expiries due at or before ``at``, in the order they fell due."""
        due: list[tuple[datetime, int, int, Lot]] = []
        for lt in self.lots:
            if lt.pending > 0 and lt.releases_at is not None and lt.releases_at <= at:
                due.append((lt.releases_at, 0, lt.id, lt))
            if lt.expires_at is not None and lt.expires_at <= at and (lt.remaining > 0 or lt.pending > 0):
                due.append((lt.expires_at, 1, lt.id, lt))
        if not due:  # most calls: a replay catches up at every moment of a history
            return
        if len(due) > 1:
            due.sort(key=lambda d: d[:3])
        for when, what, _, lt in due:
            if what == 0:
                self._release(lt, when)
            elif lt.remaining > 0 and lt.pending == 0:
                self._entry("expire", "available", -lt.remaining, lt, "积分到期", f"expire:{lt.id}", when)

    def _release(self, lt: Lot, when: datetime) -> None:
        n = lt.pending
        self._entry("release", "pending", -n, lt, "退货期满,积分生效", f"release:{lt.id}:pending", when)
        self._entry("release", "available", n, lt, "退货期满,积分生效", f"release:{lt.id}", when)
        if lt.expires_at is not None and lt.expires_at <= when:  # released after its expiry date
            self._entry("expire", "available", -lt.remaining, lt, "积分到期", f"expire:{lt.id}", when)
        self._settle(when)

    def _settle(self, when: datetime) -> None:
        """Available points pay the debt first (a refund that found its points already spent)."""
        if self.debt >= 0:  # the usual case, before sorting the lots: a release settles on every lot
            return
        for lt in self.spendable():
            if self.debt >= 0:
                return
            x = min(-self.debt, lt.remaining)
            key = f"settle:{lt.id}:{lt.remaining}"
            self._entry("adjust", "available", -x, lt, "抵扣欠分", key, when, ("settle", str(lt.id)))
            self._entry("adjust", "debt", x, None, "抵扣欠分", key + ":debt", when, ("settle", str(lt.id)))

    def next_due(self) -> datetime | None:
        times = [lt.releases_at for lt in self.lots if lt.pending > 0 and lt.releases_at is not None]
        times += [lt.expires_at for lt in self.lots if lt.expires_at is not None and (lt.remaining or lt.pending)]
        return min(times, default=None)

    # -- operations --------------------------------------------------------------------------------
    def credit(self, lot: Lot, points: int, *, pending: bool, reason: str, key: str, when: datetime,
               kind: str | None = None) -> None:
        """Points into a new lot: available now, or pending until the lot's release."""
        self.lots.append(lot)
        self.new_lots.append(lot)
        self._entry(kind or ("pending" if pending else "earn"), "pending" if pending else "available", points,
                    lot, reason, key, when)
        if not pending:
            self._settle(when)

    def debit(self, points: int, *, kind: str, reason: str, key: str, when: datetime,
              source: tuple[str, str] | None = None) -> list[tuple[int, int]]:
        """Spend ``points`` from the lots, earliest expiry first; all or nothing."""
        if points > self.available:
            raise InsufficientPoints(self.member_id, points, max(self.available, 0))
        taken: list[tuple[int, int]] = []
        self._take(points, kind, reason, key, 0, when, source, taken)
        return taken

    def _take(self, points: int, kind: str, reason: str, key: str, n: int, when: datetime,
              source: tuple[str, str] | None, taken: list[tuple[int, int]] | None = None) -> int:
        """Take up to ``points`` from the available lots, earliest expiry first, one entry per lot keyed
        ``{key}:{n}``, ``{key}:{n+1}``…; returns what the lots could not cover."""
        left = points
        for lt in self.spendable():
            if left == 0:
                break
            x = min(left, lt.remaining)
            self._entry(kind, "available", -x, lt, reason, f"{key}:{n}", when, source)
            if taken is not None:
                taken.append((lt.id, x))
            left, n = left - x, n + 1
        return left

    def claw_back(self, own: list[Lot], points: int, *, reason: str, key: str, when: datetime,
                  source: tuple[str, str]) -> None:
        """Take back ``points`` a refund cancelled: from its own lots (pending first, then unspent),
        then from the balance, and what is missing becomes debt."""
        left, n = points, 0
        for lt in own:
            for account in ("pending", "available"):
                have = lt.pending if account == "pending" else lt.remaining
                x = min(left, have)
                if x > 0:
                    self._entry("reverse", account, -x, lt, reason, f"{key}:{n}", when, source)
                    left, n = left - x, n + 1
        before = len(self.entries)
        left = self._take(left, "reverse", reason, key, n, when, source)
        n += len(self.entries) - before
        if left:
            # ``negative``: the balance shows it; ``future``: owed out of sight. The ledger is the same
            # either way (account debt); the policy changes what the member is shown as their balance.
            self._entry("reverse", "debt", -left, None, reason, f"{key}:{n}", when, source)

    def move_out(self, key: str, when: datetime) -> tuple[list[tuple[Lot, int, bool]], int]:
        """Empty this book into another (a merge): its lots, each with what it holds, and its debt."""
        moved = []
        for lt in sorted(self.lots, key=lambda lt: lt.id):
            for account, have in (("pending", lt.pending), ("available", lt.remaining)):
                if have > 0:
                    self._entry("adjust", account, -have, lt, "会员合并转出", f"{key}:{lt.id}:{account}", when)
                    moved.append((lt, have, account == "pending"))
        debt = self.debt
        if debt:
            self._entry("adjust", "debt", -debt, None, "会员合并转出", f"{key}:debt", when, ("merge", key))
        return moved, debt

    def move_in(self, lots: list[tuple[Lot, Lot, int, bool]], debt: int, key: str, when: datetime) -> None:
        for old, new, points, pending in lots:
            self.credit(new, points, pending=pending, reason="会员合并转入", key=f"{key}:{old.id}:in", when=when,
                        kind="adjust")
        if debt:
            self._entry("adjust", "debt", debt, None, "会员合并转入", f"{key}:debt:in", when, ("merge", key))
            self._settle(when)

    def shown_balance(self, shortfall: str) -> int:
        return self.available + self.debt if shortfall == "negative" else self.available
