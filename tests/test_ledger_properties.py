"""The points ledger under random sequences of earning (pending and available), time passing (releases,
expiries), redemptions, refunds, operator adjustments and replays, on both databases.

After every step: the balances are the sums of the ledger and the caches agree with it; no lot holds less
than zero; nothing that was spent expires and nothing is spent after it expired; a reversal never takes
back more than its source earned; a refused redemption and any replay change nothing.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from siyu.loyalty import ledger, programme
from siyu.loyalty.programme import Expiry, Programme
from siyu.models import Member, Person, PointsEntry, PointsLot

START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
_cards = itertools.count(1)


def _programme(policy: str) -> Programme:
    p = programme.default().model_copy(deep=True)
    p.points.expiry = Expiry(rule="months", months=3)
    p.points.refund_shortfall = policy  # type: ignore[assignment]
    return p


def new_member(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.unit_of_work() as s:
        person = Person()
        s.add(person)
        s.flush()
        m = Member(person_id=person.id, card_no=f"T{next(_cards):09d}", joined_at=START, tier="普通会员", status="active")
        s.add(m)
        s.flush()
        return m.id


class LedgerMachine(RuleBasedStateMachine):
    rt = None
    policy = "negative"

    @initialize()
    def start(self) -> None:
        self.member = new_member(self.rt)
        self.programme = _programme(self.policy)
        self.at = START
        self.earned: dict[str, int] = {}  # source → points earned
        self.reversed: dict[str, int] = {}
        self.done: list[tuple[str, tuple]] = []  # (kind, args) of requests that ran, for replays
        self.seq = itertools.count()

    # -- helpers -------------------------------------------------------------------------------------
    def _entries(self) -> list:
        with self.rt.db.read_only() as s:
            return s.execute(select(PointsEntry.id, PointsEntry.kind, PointsEntry.account, PointsEntry.points,
                                    PointsEntry.lot_id, PointsEntry.source_ref, PointsEntry.occurred_at)
                             .where(PointsEntry.member_id == self.member).order_by(PointsEntry.id)).all()

    def _balance(self) -> ledger.Balance:
        with self.rt.db.unit_of_work() as s:
            return ledger.balance(s, self.programme, self.member, self.at)

    # -- rules -----------------------------------------------------------------------------------------
    @rule(points=st.integers(1, 500), pending=st.booleans(), release_days=st.integers(0, 40))
    def earn_order(self, points: int, pending: bool, release_days: int) -> None:
        ref = f"m{self.member}-o{next(self.seq)}"
        with self.rt.db.unit_of_work() as s:
            ob = ledger.open_book(s, self.member, self.at)
            lot = ob.new_lot(("order", ref), points, self.at, self.programme.points.expiry.expires_at(self.at),
                             self.at + timedelta(days=release_days), pending)
            ob.book.credit(lot, points, pending=pending, reason="订单积分", key=f"order:{ref}:0", when=self.at)
            ob.close()
        self.earned[ref] = points

    @rule(points=st.integers(1, 300))
    def award(self, points: int) -> None:
        key = f"act-{self.member}-{next(self.seq)}"
        with self.rt.db.unit_of_work() as s:
            ledger.award(s, self.programme, self.member, points, key=key, reason="签到", source=("checkin", key),
                         at=self.at)
        self.done.append(("award", (points, key)))

    @rule(days=st.integers(1, 60))
    def time_passes(self, days: int) -> None:
        self.at += timedelta(days=days)

    @rule(points=st.integers(1, 800))
    def redeem(self, points: int) -> None:
        before = self._balance()
        key = f"burn-{self.member}-{next(self.seq)}"
        entries = self._entries()
        try:
            with self.rt.db.unit_of_work() as s:
                out = ledger.redeem(s, self.member, points, key=key, reason="兑换礼品", source=("gift", "G1"),
                                    at=self.at)
        except ledger.InsufficientPoints:
            assert points > before.available
            assert self._entries() == entries  # refused: nothing written
            return
        assert points <= before.available and out["replayed"] is False
        assert self._balance().available == before.available - points
        self.done.append(("redeem", (points, key)))

    @precondition(lambda self: any(self.earned[r] > self.reversed.get(r, 0) for r in self.earned))
    @rule(data=st.data())
    def refund(self, data) -> None:  # type: ignore[no-untyped-def]
        open_refs = sorted(r for r in self.earned if self.earned[r] > self.reversed.get(r, 0))
        ref = data.draw(st.sampled_from(open_refs))
        points = data.draw(st.integers(1, self.earned[ref] - self.reversed.get(ref, 0)))
        before = self._balance()
        with self.rt.db.unit_of_work() as s:
            ob = ledger.open_book(s, self.member, self.at)
            ledger.reverse(ob, ("order", ref), points, key=f"order:{ref}:r{next(self.seq)}", reason="退款扣回积分")
            ob.close()
        self.reversed[ref] = self.reversed.get(ref, 0) + points
        after = self._balance()
        # net worth falls by exactly the points reversed (releases and expiries aside, already booked)
        assert (after.available + after.pending + after.debt) == (before.available + before.pending + before.debt) - points

    @rule(points=st.integers(-300, 300).filter(bool))
    def adjust(self, points: int) -> None:
        key = f"adj-{self.member}-{next(self.seq)}"
        try:
            with self.rt.db.unit_of_work() as s:
                ledger.adjust(s, self.programme, self.member, points, key=key, reason="客服补偿", actor="ops", at=self.at)
        except ledger.InsufficientPoints:
            return
        self.done.append(("adjust", (points, key)))

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def replay(self, data) -> None:  # type: ignore[no-untyped-def]
        kind, (points, key) = data.draw(st.sampled_from(self.done))
        self._balance()  # book what fell due first: the replay itself must add nothing
        entries = self._entries()
        with self.rt.db.unit_of_work() as s:
            if kind == "award":
                out = ledger.award(s, self.programme, self.member, points, key=key, reason="签到",
                                   source=("checkin", key), at=self.at)
            elif kind == "redeem":
                out = ledger.redeem(s, self.member, points, key=key, reason="兑换礼品", source=("gift", "G1"), at=self.at)
            else:
                out = ledger.adjust(s, self.programme, self.member, points, key=key, reason="客服补偿", actor="ops",
                                    at=self.at)
        assert out["replayed"] is True
        assert self._entries() == entries

    # -- invariants ------------------------------------------------------------------------------------
    @invariant()
    def books_agree(self) -> None:
        if not hasattr(self, "member"):
            return
        b = self._balance()
        entries = self._entries()
        sums = {a: sum(e.points for e in entries if e.account == a) for a in ("available", "pending", "debt")}
        assert (b.available, b.pending, b.debt) == (sums["available"], sums["pending"], sums["debt"])
        assert b.available >= 0 and b.pending >= 0 and b.debt <= 0
        assert not (b.available > 0 and b.debt < 0), "debt is paid before points are spendable"
        assert b.shown == (b.available + b.debt if self.policy == "negative" else b.available)
        with self.rt.db.read_only() as s:
            assert ledger.check(s) == {k: [] for k in ledger.check(s)}
            lots = {lt.id: lt for lt in s.execute(select(PointsLot.id, PointsLot.remaining, PointsLot.pending,
                                                         PointsLot.expires_at).where(PointsLot.member_id == self.member))}
            assert s.scalar(select(func.count()).select_from(PointsEntry)
                            .where(PointsEntry.member_id == self.member, PointsEntry.lot_id.is_not(None),
                                   PointsEntry.lot_id.not_in(list(lots) or [0]))) == 0
        for lot in lots.values():
            assert lot.remaining >= 0 and lot.pending >= 0
            mine = [e for e in entries if e.lot_id == lot.id]
            expired = [e for e in mine if e.kind == "expire"]
            assert len(expired) <= 1
            if expired:
                # it expired with what was left; nothing was taken from it afterwards
                assert lot.remaining == 0 and expired[0].occurred_at >= lot.expires_at
                assert all(e.id < expired[0].id for e in mine if e.kind in ("burn", "adjust") and e.points < 0)
            for e in mine:
                if e.kind == "burn":
                    assert lot.expires_at is None or e.occurred_at < lot.expires_at, "spent after it expired"
        for ref, earned in self.earned.items():
            taken = -sum(e.points for e in entries if e.source_ref == ref and e.kind == "reverse")
            assert taken == self.reversed.get(ref, 0) <= earned


@pytest.mark.parametrize("policy", ["negative", "future"])
def test_ledger_invariants_hold_under_random_histories(rt, policy: str) -> None:  # type: ignore[no-untyped-def]
    machine = type(f"Ledger_{policy}", (LedgerMachine,), {"rt": rt, "policy": policy})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
