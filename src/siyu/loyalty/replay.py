"""The ledger rebuilt from history: every member's orders, refunds, claims and requests replayed in
memory, each booked at the time it happened, through the same rules and the same booking code as the
live path (``accrual.book_orders``, ``ledger.apply``, ``Book``). Nothing is written.

The live path books a fact when it arrives; when facts arrive as they happen (an order pushed at its
payment, its completion and its refunds pushed when they happen, requests made by members) the live
ledger and the replay are the same ledger, entry for entry (``tests/test_replay.py``). A fact that
arrived late (a refund reported after the member spent the points, a history imported in one go) is
booked by the live path when it arrived, so the two can differ there; ``compare`` says where.

Uses: ``siyu loyalty recompute`` (the batch ledger, compared with the live one) and ``siyu loyalty
simulate`` (history under another programme: liability, tier migration, cost).

What an order looked like at time ``t`` comes from its history: paid at ``paid_at``; finished at its
completion (or, refunded in full without a completion, when the last refund made it whole); its
refunds at their completion (else their request; a refund with neither counts from the payment); a
claimed order became the claimer's at the claim.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from siyu.loyalty import accrual, tiers
from siyu.loyalty.book import Book, InsufficientPoints, Lot
from siyu.loyalty.ledger import apply
from siyu.loyalty.programme import Programme


class Snapshot(NamedTuple):
    """An order as the live path would have read it at one moment (the fields ``accrual`` uses); a tuple,
    made three times an order in a replay."""

    id: int
    status: str
    paid_fen: int
    refunded_fen: int
    paid_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    claimed: bool


class OrderHistory:
    # the row's fields ``at`` reads are copied once: a database row's attribute costs more than a slot's,
    # and a replay makes about three snapshots of every order
    __slots__ = ("cancelled", "claimed_at", "completed_at", "created_at", "finished_at", "id", "owned", "paid_at",
                 "paid_fen", "refunds", "row")

    def __init__(self, row: Any, owned: bool, refunds: list[Any]) -> None:
        self.row, self.owned, self.claimed_at = row, owned, row.claimed_at
        self.id, self.paid_at, self.created_at, self.completed_at = row.id, row.paid_at, row.created_at, row.completed_at
        self.paid_fen, self.cancelled = int(row.paid_fen), row.status == "cancelled"
        # A refund the platform gave no time for (Tmall's order export lists refunds without one) counts
        # from the order's payment: the order is known net of it, as the live path books it on arrival.
        first = row.paid_at or row.created_at
        moves = sorted((r.completed_at or r.requested_at or first, int(r.amount_fen)) for r in refunds)
        rest = int(row.refunded_fen) - sum(f for _, f in moves)
        if rest > 0:  # refunded, by the order, beyond the refunds we hold
            moves = sorted([*moves, (first, rest)])
        self.refunds = moves
        self.finished_at = self._finished()

    def _finished(self) -> datetime | None:
        row = self.row
        if row.status not in accrual.FINISHED or row.paid_at is None:
            return None
        if row.status == "refunded":
            total, whole = 0, None
            for when, fen in self.refunds:
                total += fen
                if total >= row.paid_fen:
                    whole = when
                    break
            ends = [t for t in (row.completed_at, whole) if t is not None]
            return min(ends) if ends else row.paid_at
        return row.completed_at or row.paid_at

    def times(self) -> list[datetime]:
        out = [t for t in (self.paid_at, self.finished_at, self.completed_at, self.claimed_at) if t is not None]
        return out + [when for when, _ in self.refunds] if self.refunds else out

    def at(self, t: datetime) -> Snapshot | None:
        paid_at = self.paid_at
        if paid_at is None or paid_at > t:
            return None
        claimed = self.claimed_at is not None and self.claimed_at <= t
        if not (self.owned or claimed):
            return None
        refunded = min(sum(f for when, f in self.refunds if when <= t), self.paid_fen) if self.refunds else 0
        if self.cancelled:
            status = "cancelled"
        else:
            status = "completed" if self.finished_at is not None and self.finished_at <= t else "paid"
        done = self.completed_at if self.completed_at is not None and self.completed_at <= t else None
        return Snapshot(self.id, status, self.paid_fen, refunded, paid_at, self.created_at, done, claimed)


class MemoryBook:
    """A member's book for a replay: the same ``Book``, in memory, keeping every lot (a refund's own lot
    may be spent) and every entry booked. ``ids`` numbers new lots; a recompute hands out the live
    ledger's own lot ids in order, so both ledgers can be compared lot by lot."""

    def __init__(self, member_id: int, ids: Iterator[int]) -> None:
        self.book = Book(member_id, 0, 0, 0, [])
        self.at: datetime | None = None
        self._ids = ids
        self.entries: list[dict[str, Any]] = []
        self.booked: dict[str, dict[int, int]] = {}  # order → {member: points held}, as ``order_bookings``
        self.counts: dict[str, int] = {}  # order → entries naming it, for the next key

    def new_lot(self, source: tuple[str, str], points: int, earned_at: datetime, expires_at: datetime | None,
                releases_at: datetime | None, pending: bool) -> Lot:
        return Lot(next(self._ids), source[0], source[1], points, 0, 0, earned_at, releases_at if pending else None,
                   expires_at)

    def lots_of(self, source: tuple[str, str]) -> list[Lot]:
        return [lt for lt in self.book.lots if (lt.source_type, lt.source_ref) == source]

    def flush(self) -> None:
        if not self.book.entries:  # most moments book nothing more (a new lot always comes with its entry)
            return
        mid = self.book.member_id
        for e in self.book.entries:
            if e["source_type"] == "order":
                ref = e["source_ref"]
                self.counts[ref] = self.counts.get(ref, 0) + 1
                if e["kind"] in ("earn", "pending", "reverse"):
                    held = self.booked.setdefault(ref, {mid: 0})
                    held[mid] = held.get(mid, 0) + e["points"]
        self.entries += self.book.entries
        self.book.entries, self.book.new_lots = [], []


@dataclass
class Outcome:
    """One member's replay: the book at the end, the tier history, and the requests refused."""

    book: MemoryBook
    tiers: list[tiers.Change]
    refused: int


ACTIVITY_SOURCES = ("registration", "checkin", "checkin_streak", "article", "live_subscribe", "survey")


def priced(op: Any, programme: Programme, recorded: Programme | None) -> int:
    """What a request moves under ``programme``: as recorded, unless re-pricing (``recorded`` is the
    programme it ran under) an activity's points or a catalogue reward's price that the programme sets."""
    source = (op.request or {}).get("source") or [None, None]
    if recorded is None or op.kind not in ("earn", "burn"):
        return int(op.points)
    if op.kind == "earn" and source[0] in ACTIVITY_SOURCES:
        a = programme.activities
        return {"checkin": a.checkin, "checkin_streak": a.checkin_streak.bonus}.get(
            source[0], getattr(a, source[0], op.points))
    if op.kind == "burn" and source[0] == "reward":
        old, new = recorded.reward(source[1]), programme.reward(source[1])
        if old is not None and new is not None:
            return new.points * (int(op.points) // old.points)
    return int(op.points)


Moment = tuple[datetime, int, list[Any], list[Any]]


def _moments(orders: list[OrderHistory], counted: list[OrderHistory], ops: list[Any], until: datetime
             ) -> list[Moment]:
    """The moments to replay, in order: (time, 0, the orders whose facts changed then (each once, in the
    history's order), the counted orders' likewise) and (time, 1, the requests made then, []). One sort,
    no dictionary: hashing an aware datetime costs about a microsecond, and a history has several per
    order."""
    n = len(orders)
    items = [(t, 0, i) for i, o in enumerate(orders) for t in o.times() if t <= until]
    if counted is not orders:
        items += [(t, 0, n + i) for i, o in enumerate(counted) for t in o.times() if t <= until]
    items += [(op.occurred_at, 1, i) for i, op in enumerate(ops) if op.occurred_at <= until]
    items.sort()
    out: list[Moment] = []
    here: list[Any] = []
    there: list[Any] = []
    last_t, last_rank = None, -1
    for t, rank, i in items:
        if rank != last_rank or t != last_t:
            last_t, last_rank, here, there = t, rank, [], []
            out.append((t, rank, here, there))
        if rank:
            here.append(ops[i])
        elif i < n:
            if not here or here[-1] is not orders[i]:  # an order with two facts at one time, once
                here.append(orders[i])
        elif not there or there[-1] is not counted[i - n]:
            there.append(counted[i - n])
    return out


def replay_member(programme: Programme, member: Any, birth_month: int | None, orders: list[OrderHistory],
                  ops: list[Any], until: datetime, ids: Iterator[int] | None = None,
                  recorded: Programme | None = None, referee_orders: tuple[OrderHistory, ...] | list[OrderHistory] = ()
                  ) -> Outcome:
    """The member's ledger from their history up to ``until``. Order facts at one time are booked as one
    accrual (as the live path books an arrival), then the requests made at that time."""
    mb = MemoryBook(member.id, ids or itertools.count(1))
    window = timedelta(days=programme.points.return_window_days)
    report = accrual.AccrualReport()
    # the orders the tier counts: the member's own, or under a referral qualification their referees'
    counted = list(referee_orders) if programme.qualification.basis == "referral" else orders
    moments = _moments(orders, counted, ops, until)
    state: dict[int, Snapshot] = {}  # the orders as the live path would read them now
    counted_state: dict[int, Snapshot] = state if counted is orders else {}
    # each counted order's tier fact (``accrual.tier_facts`` of its snapshot), kept up to date as orders
    # change: re-deriving every fact at every event made a long history quadratic
    fact_of: dict[int, tuple[datetime, int]] = {}
    facts: list[tuple[datetime, int]] | None = None
    changes: list[tiers.Change] = []
    review: datetime | None = None  # the next review after the timeline ``changes`` was walked
    walker = tiers.Walker(programme, member.joined_at)
    # A member whose orders, counted in full, cannot reach the first tier above the base holds the base tier
    # at every moment: the timeline is the join alone and is not walked (members with a few small orders).
    fixed = walker.out_of_reach([o.paid_fen for o in counted])
    if fixed:
        facts = []
        changes, review = walker.advance(facts, None, member.joined_at)
    refused = 0
    worth: dict[int, tuple[tuple[Any, ...], int]] = {}  # order → (what its points depend on, its points)
    for t, rank, here, there in moments:
        mb.at = t
        mb.book.catch_up(t)
        mb.flush()
        if rank == 0:
            touched = []
            for o in here:
                snap = o.at(t)
                if snap is not None:
                    state[snap.id] = snap
                    touched.append(snap)
            for o in there:
                snap = o.at(t)
                if snap is not None:
                    counted_state[snap.id] = snap
            # the tier facts of the orders that changed now; ``since``: the earliest time a fact changed at
            counted_now = touched if counted is orders else [counted_state[o.id] for o in there
                                                                 if o.id in counted_state]
            since = None
            for s in [] if fixed else counted_now:
                fact = accrual.tier_fact(member, s)
                old_fact = fact_of.get(s.id)
                if fact != old_fact:
                    if fact is None:
                        del fact_of[s.id]
                    else:
                        fact_of[s.id] = fact
                    when = min(f[0] for f in (fact, old_fact) if f is not None)
                    since = when if since is None else min(since, when)
            # What ``accrual.targets`` gives, computed only where it can have changed: the orders that
            # changed now, and when the tier facts changed at time w, every order paid after w (the tier
            # held before an order depends only on what happened before it); the timeline is walked again
            # when the facts changed or an order was paid after the next review it had to come.
            stale = review is not None and any(s.paid_at > review for s in touched)  # type: ignore[operator]
            if not fixed and (since is not None or facts is None or stale):
                facts = sorted(fact_of.values())
                before = changes
                changes, review = walker.advance(facts, since, t)
                # a timeline that did not move leaves every other order's tier, and so its points, as it was
                if since is not None and changes != before:
                    seen = {s.id for s in touched}
                    touched += [s for s in state.values() if s.paid_at >= since and s.id not in seen]  # type: ignore[operator]
            if len(touched) > 1:
                touched.sort(key=lambda s: (s.paid_at, s.id))
            mine = {}
            for s in touched:
                # what an order should hold depends on whether it earns, its refunds, its claim and the
                # timeline; an order touched again with none of them moved (most completions) holds the same
                key = (s.status in accrual.EARNING, s.refunded_fen, s.claimed, changes)
                last = worth.get(s.id)
                if last is None or last[0] != key:
                    last = worth[s.id] = (key, accrual.order_target(programme, member, s, birth_month, changes))
                mine[str(s.id)] = (last[1], s)
            accrual.book_orders(mb, mine, [], mb.booked, mb.counts, {}, window, programme, report)
        else:
            for op in here:
                if op.request is None:  # recorded before requests were kept: cannot be re-booked
                    refused += 1
                    continue
                points = priced(op, programme, recorded)
                if points == 0:
                    continue
                try:
                    apply(mb, programme, op.kind, points, op.key, op.request, t)
                except InsufficientPoints:
                    refused += 1  # under other rules the member would not have had the points
        mb.flush()
    mb.at = until
    mb.book.catch_up(until)
    mb.flush()
    # Every moment up to ``until`` was replayed, and every change of a fact walked the timeline again, so
    # its facts are the member's facts at ``until``: it only has to reach ``until`` (reviews due by then).
    if facts is None or (review is not None and review <= until):
        changes, review = walker.advance(facts or [], None, until)
    return Outcome(mb, changes, refused)
