"""The whole ledger replayed from history (``replay``), member slice by member slice: compared with the
live ledger (``recompute``), or under another programme beside the current one (``simulate``). Reads
only; nothing here writes.

Members whose points a merge or a split moved are replayed in ``simulate`` with their current orders
as if they had always been theirs, and left out of ``recompute``'s comparison (their live ledger holds
the move itself, which history as it is now no longer shows).
"""

from __future__ import annotations

import gc
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from siyu.loyalty import history_repository as hist
from siyu.loyalty import repository as repo
from siyu.loyalty import tiers
from siyu.loyalty.book import Book
from siyu.loyalty.ledger import lot_from_row
from siyu.loyalty.programme import Programme
from siyu.loyalty.replay import OrderHistory, Outcome, replay_member

Progress = Callable[[int, int], None]
FRESH_IDS = 10**15  # lot ids a recompute makes beyond the live ones (lots the live path never made)


@dataclass
class Member:
    row: Any
    birth_month: int | None
    orders: list[OrderHistory]
    ops: list[Any]
    moved: bool
    live: tuple[list[Any], list[Any], Any] | None = None  # entries, lots, account (recompute only)
    referee_orders: list[OrderHistory] = field(default_factory=list)  # paid from each referral on


def _slice(session: Session, part: list[int], with_ledger: bool) -> Iterator[Member]:
    if not part:
        return
    rows = hist.active_members(session, part)
    births = repo.birth_months(session, part)
    orders = hist.orders_with_claims(session, part)
    refunds = hist.refunds_of(session, [r.id for pairs in orders.values() for r, _ in pairs])
    ops = hist.operations_of(session, part)
    moved = hist.moved_members(session, part)
    entries, lots, accounts = hist.booked(session, part) if with_ledger else ({}, {}, {})
    referred = _referee_orders(session, part)
    for mid in part:
        yield Member(rows[mid], births.get(mid),
                     [OrderHistory(r, owned, refunds.get(r.id, [])) for r, owned in orders.get(mid, [])],
                     ops.get(mid, []), mid in moved,
                     (entries.get(mid, []), lots.get(mid, []), accounts.get(mid)) if with_ledger else None,
                     referred.get(mid, []))


def _referee_orders(session: Session, part: list[int]) -> dict[int, list[OrderHistory]]:
    """referrer → the histories of their referees' orders paid from the referral on."""
    refs = repo.referees(session, part)
    if not refs:
        return {}
    orders = hist.orders_with_claims(session, [r for rs in refs.values() for r, _ in rs])
    refunds = hist.refunds_of(session, [r.id for pairs in orders.values() for r, _ in pairs])
    return {mid: [OrderHistory(o, owned, refunds.get(o.id, [])) for r, since in rs for o, owned in orders.get(r, [])
                  if o.paid_at is not None and o.paid_at >= since] for mid, rs in refs.items()}


# -- recompute: the batch ledger beside the live one -------------------------------------------------


@dataclass
class Difference:
    member_id: int
    what: str  # entries · lots · balances · tier
    live: Any
    rebuilt: Any


@dataclass
class RecomputeReport:
    members: int = 0
    orders: int = 0
    entries: int = 0
    equal: int = 0
    left_out: int = 0  # moved by a merge or a split
    refused: int = 0
    differences: list[Difference] = field(default_factory=list)
    differing: int = 0
    keep: int = 20  # differences kept
    # of those, members whose balances and tier still agree: the same points by other entries (a fact
    # the live path learnt after it happened, e.g. a history imported at once, books net from the start)
    same_balances: int = 0


def _entry(e: Any) -> tuple[Any, ...]:
    get = e.get if isinstance(e, dict) else e._asdict().get
    return (get("idempotency_key"), get("kind"), get("account"), int(get("points")), get("lot_id"), get("reason"),
            get("source_type"), get("source_ref"), get("occurred_at"), get("expires_at"))


def _differences(m: Member, out: Outcome, at: datetime) -> list[Difference]:
    assert m.live is not None
    entries, lots, account = m.live
    # the live ledger as of ``at``: what fell due since its last booking is booked in memory (as ``peek``)
    live = Book(m.row.id, int(account.available), int(account.pending), int(account.debt),
                [lot_from_row(r) for r in lots if r.remaining or r.pending]) if account else Book(m.row.id, 0, 0, 0, [])
    live.catch_up(at)
    now = {lt.id: lt for lt in live.lots}
    found = []
    live_e, built_e = Counter(map(_entry, [*entries, *live.entries])), Counter(map(_entry, out.book.entries))
    if live_e != built_e:
        found.append(Difference(m.row.id, "entries", sorted(live_e - built_e, key=str)[:3],
                                sorted(built_e - live_e, key=str)[:3]))
    live_l = sorted((lt.id, int(lt.points), now[lt.id].remaining if lt.id in now else int(lt.remaining),
                     now[lt.id].pending if lt.id in now else int(lt.pending), lt.releases_at, lt.expires_at)
                    for lt in lots)
    built_l = sorted((lt.id, lt.points, lt.remaining, lt.pending, lt.releases_at, lt.expires_at)
                     for lt in out.book.book.lots)
    if live_l != built_l:
        found.append(Difference(m.row.id, "lots", len(live_l), len(built_l)))
    b = out.book.book
    live_b = (live.available, live.pending, live.debt)
    if live_b != (b.available, b.pending, b.debt):
        found.append(Difference(m.row.id, "balances", live_b, (b.available, b.pending, b.debt)))
    # the live tier is as of its last assignment (a review due since is applied by the next run): the
    # replay must agree on the tier it shows from the time it shows it
    since = m.row.tier_since or m.row.joined_at
    if m.row.tier != tiers.tier_at(out.tiers, since):
        found.append(Difference(m.row.id, "tier", m.row.tier, tiers.tier_at(out.tiers, since)))
    return found


def recompute(session: Session, programme: Programme, at: datetime, *, slice_size: int = 2000,
              progress: Progress | None = None, keep: int = 20, workers: int = 1, url: str | None = None
              ) -> RecomputeReport:
    """Replay every member's history up to ``at`` and compare with the live ledger: entries (each with
    its key, amount, lot and times), lots, balances and tier. ``keep``: differences kept for the report."""
    return run(session, partial(_recompute_slice, programme=programme, at=at, keep=keep), _merge_reports,
               slice_size=slice_size, progress=progress, workers=workers, url=url)


def _recompute_slice(session: Session, part: list[int], *, programme: Programme, at: datetime, keep: int
                     ) -> RecomputeReport:
    report = RecomputeReport(keep=keep)
    for m in _slice(session, part, True):
        report.members += 1
        report.orders += len(m.orders)
        if m.moved:
            report.left_out += 1
            continue
        assert m.live is not None
        ids = itertools.chain(sorted(lt.id for lt in m.live[1]), itertools.count(FRESH_IDS))
        out = replay_member(programme, m.row, m.birth_month, m.orders, m.ops, at, ids,
                            referee_orders=m.referee_orders)
        report.entries += len(out.book.entries)
        report.refused += out.refused
        found = _differences(m, out, at)
        if found:
            report.differing += 1
            report.same_balances += all(d.what in ("entries", "lots") for d in found)
            report.differences += found[:max(keep - len(report.differences), 0)]
        else:
            report.equal += 1
    return report


def _merge_reports(a: RecomputeReport, b: RecomputeReport) -> RecomputeReport:
    for name in ("members", "orders", "entries", "equal", "left_out", "refused", "differing", "same_balances"):
        setattr(a, name, getattr(a, name) + getattr(b, name))
    a.differences += b.differences[:max(a.keep - len(a.differences), 0)]
    return a


# -- simulate: history under another programme ------------------------------------------------------


@dataclass
class Totals:
    """One programme's outcome over every member, at the simulation's time."""

    available: int = 0
    pending: int = 0
    owed: int = 0
    expiring_30: int = 0
    expiring_90: int = 0
    issued: int = 0  # order and activity points credited, net of refunds' reversals
    redeemed: int = 0
    expired: int = 0
    refused: int = 0  # redemptions the members could no longer have paid for
    upgrades: int = 0  # tiers first reached (each an upgrade gift)
    tiers: Counter[str] = field(default_factory=Counter)

    @property
    def liability(self) -> int:
        return self.available + self.pending - self.owed

    def merge(self, other: Totals) -> None:
        for name in ("available", "pending", "owed", "expiring_30", "expiring_90", "issued", "redeemed", "expired",
                     "refused", "upgrades"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.tiers.update(other.tiers)

    def add(self, out: Outcome, at: datetime) -> None:
        b = out.book.book
        self.available += b.available
        self.pending += b.pending
        self.owed -= b.debt
        for lt in b.lots:
            if lt.remaining > 0 and lt.expires_at is not None and at < lt.expires_at:
                if lt.expires_at <= at + timedelta(days=30):
                    self.expiring_30 += lt.remaining
                if lt.expires_at <= at + timedelta(days=90):
                    self.expiring_90 += lt.remaining
        for e in out.book.entries:
            kind = e["kind"]
            if kind in ("earn", "pending", "reverse"):
                self.issued += e["points"]
            elif kind == "burn":
                self.redeemed -= e["points"]
            elif kind == "expire":
                self.expired -= e["points"]
        self.refused += out.refused
        self.upgrades += len({c.to_tier for c in out.tiers if c.reason == "upgrade"})
        self.tiers[out.tiers[-1].to_tier] += 1


@dataclass
class Simulation:
    at: datetime
    members: int
    orders: int
    current: Totals
    candidate: Totals
    migration: Counter[tuple[str, str]]  # (tier under the current rules, under the new) → members
    point_value_fen: float | None  # what a point is worth at checkout (the cash reward), if there is one

    def cost_fen(self, which: Totals) -> float | None:
        return which.liability * self.point_value_fen if self.point_value_fen is not None else None


def point_value_fen(programme: Programme) -> float | None:
    cash = next((r for r in programme.rewards if r.kind == "cash" and r.value), None)
    return float(cash.value) * 100 / cash.points if cash and cash.value else None


def replay_all(session: Session, programme: Programme, at: datetime, *, slice_size: int = 2000,
               progress: Progress | None = None, workers: int = 1, url: str | None = None) -> tuple[int, int, Totals]:
    """The batch ledger: every member's history replayed up to ``at``; (members, orders, totals)."""
    return run(session, partial(_replay_slice, programme=programme, at=at), _merge_totals,
               slice_size=slice_size, progress=progress, workers=workers, url=url)


def _replay_slice(session: Session, part: list[int], *, programme: Programme, at: datetime
                  ) -> tuple[int, int, Totals]:
    totals, orders = Totals(), 0
    for m in _slice(session, part, False):
        orders += len(m.orders)
        totals.add(replay_member(programme, m.row, m.birth_month, m.orders, m.ops, at,
                                 referee_orders=m.referee_orders), at)
    return len(part), orders, totals


def _merge_totals(a: tuple[int, int, Totals], b: tuple[int, int, Totals]) -> tuple[int, int, Totals]:
    a[2].merge(b[2])
    return a[0] + b[0], a[1] + b[1], a[2]


def simulate(session: Session, candidate: Programme, current: Programme, at: datetime, *, slice_size: int = 2000,
             progress: Progress | None = None, workers: int = 1, url: str | None = None) -> Simulation:
    """Every member's history replayed up to ``at`` under the current programme and under ``candidate``
    (activity points and reward prices re-priced by it), side by side. Writes nothing."""
    n, orders, now_t, new_t, migration = run(
        session, partial(_simulate_slice, candidate=candidate, current=current, at=at), _merge_simulations,
        slice_size=slice_size, progress=progress, workers=workers, url=url)
    return Simulation(at, n, orders, now_t, new_t, migration, point_value_fen(candidate))


SimPart = tuple[int, int, Totals, Totals, Counter[tuple[str, str]]]


def _simulate_slice(session: Session, part: list[int], *, candidate: Programme, current: Programme, at: datetime
                    ) -> SimPart:
    now_t, new_t, migration = Totals(), Totals(), Counter()  # type: ignore[var-annotated]
    orders = 0
    for m in _slice(session, part, False):
        orders += len(m.orders)
        base = replay_member(current, m.row, m.birth_month, m.orders, m.ops, at, referee_orders=m.referee_orders)
        cand = replay_member(candidate, m.row, m.birth_month, m.orders, m.ops, at, recorded=current,
                             referee_orders=m.referee_orders)
        now_t.add(base, at)
        new_t.add(cand, at)
        migration[(base.tiers[-1].to_tier, cand.tiers[-1].to_tier)] += 1
    return len(part), orders, now_t, new_t, migration


def _merge_simulations(a: SimPart, b: SimPart) -> SimPart:
    a[2].merge(b[2])
    a[3].merge(b[3])
    a[4].update(b[4])
    return a[0] + b[0], a[1] + b[1], a[2], a[3], a[4]


# -- running slices, in this process or in several ---------------------------------------------------

R = TypeVar("R")
_worker_db: Any = None


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector run 70 times less often while slices replay: a replay makes millions of
    short-lived tuples, dicts and lots, and the collector's passes over them cost 4-6 % of it (measured on
    100,000 orders: 4.9 s against 4.6-4.7 s). It still runs, so a cycle left behind is still collected."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run(session: Session, work: Callable[[Session, list[int]], R], merge: Callable[[R, R], R], *,
        slice_size: int, progress: Progress | None, workers: int, url: str | None) -> R:
    """``work`` over every slice of active members, results merged in slice order. With ``workers`` > 1
    and the database ``url``, slices run in that many processes, each with its own connection (members
    are replayed independently of one another, so the result is the same)."""
    slices = hist.member_slices(session, slice_size)
    total, done = sum(len(p) for p in slices), 0
    if workers > 1 and url and len(slices) > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(min(workers, len(slices))) as pool:
            parts = pool.imap(_in_worker, [(url, work, p) for p in slices])
            result = None
            for part, got in zip(slices, parts, strict=True):
                result = got if result is None else merge(result, got)
                done += len(part)
                if progress:
                    progress(done, total)
            assert result is not None
            return result
    result = work(session, [])
    for part in slices:
        with _fewer_collections():
            result = merge(result, work(session, part))
        done += len(part)
        if progress:
            progress(done, total)
    return result


def _in_worker(job: tuple[str, Callable[[Session, list[int]], R], list[int]]) -> R:
    global _worker_db
    url, work, part = job
    if _worker_db is None:
        from siyu.core.db import Database

        _worker_db = Database(url)
    with _worker_db.read_only() as session, _fewer_collections():
        return work(session, part)
