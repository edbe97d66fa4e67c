"""Tiers over time (等级通): qualification, immediate upgrade, scheduled review with downgrade.

A member's tier is a function of their finished orders and the programme, replayed in time order:

- **Qualification** counts spend (net of refunds) or the number of orders, over a window: the whole
  membership (``cumulative``), the last N months (``months``), or the calendar month (``this_month``).
- **Upgrade** happens at once, at the order that qualifies, and the tier is then held for
  ``hold_months`` (保级期).
- **Review**: when the hold ends the member keeps the tier they qualify for then (which may be higher),
  or drops to it — at most ``max_drop`` levels at a time (0: never drop). Each review starts a new hold.

The same timeline gives the tier an order was paid at (its points multiplier) and the tier history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from siyu.core.clock import SHANGHAI
from siyu.loyalty.programme import Programme, Tier


@dataclass(frozen=True)
class Change:
    at: datetime
    from_tier: str
    to_tier: str
    reason: str  # upgrade · review (kept or dropped) · join


_EIGHT = timedelta(hours=8)


def add_months(t: datetime, months: int) -> datetime:
    """``t`` moved by whole months on Beijing's calendar (the 31st to a shorter month's last day)."""
    # Not cached: hashing an aware datetime costs more than this (measured: 1.9 µs a cached call, 0.8 µs
    # this). Beijing has kept UTC+8 without daylight saving since 1992, so a UTC time is shifted by hand.
    fixed = t.tzinfo is UTC and t.year >= 1992
    local = t + _EIGHT if fixed else t.astimezone(SHANGHAI)
    m = local.month - 1 + months
    year, month = local.year + m // 12, m % 12 + 1
    day = local.day if local.day <= 28 else min(local.day, monthrange(year, month)[1])
    if fixed and year >= 1992:
        return local.replace(year=year, month=month, day=day) - _EIGHT
    if fixed:
        local = t.astimezone(SHANGHAI)
    return local.replace(year=year, month=month, day=day).astimezone(t.tzinfo)


def window_start(programme: Programme, at: datetime, joined: datetime) -> datetime:
    q = programme.qualification
    if q.window == "cumulative":
        return joined
    if q.window == "this_month":
        local = at.astimezone(SHANGHAI)
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(at.tzinfo)
    return add_months(at, -q.months)


def measure(programme: Programme, facts: list[tuple[datetime, int]], at: datetime, joined: datetime) -> int:
    """What qualifies at ``at``: net fen spent, or orders placed, inside the window (facts are (when, net
    fen) of finished orders)."""
    start = window_start(programme, at, joined)
    # the last N months: an order exactly N months ago has left the window
    strict = programme.qualification.window == "months"
    inside = [fen for when, fen in facts if (start < when if strict else start <= when) and joined <= when <= at]
    if programme.qualification.basis == "orders":
        return sum(1 for fen in inside if fen > 0)
    return sum(inside)


def qualifying(programme: Programme, facts: list[tuple[datetime, int]], at: datetime, joined: datetime) -> Tier:
    """The tier the member qualifies for at ``at``."""
    return _tier_of(programme, measure(programme, facts, at, joined))


def _tier_of(programme: Programme, have: int) -> Tier:
    if programme.qualification.basis == "orders":
        return max((t for t in programme.tiers if have >= t.min_orders), key=lambda t: t.min_orders)
    return programme.tier_for(have)


class _Rules:
    """What a timeline needs of the programme's qualification, worked out once per member."""

    def __init__(self, programme: Programme) -> None:
        q = programme.qualification
        self.programme = programme
        self.by_orders = q.basis == "orders"
        self.strict = q.window == "months"
        self.months = q.months if q.window == "months" else None  # the usual window, without window_start
        # thresholds ascending: the tier is found by bisection (a timeline asks once per fact)
        self.floors = [t.min_orders if self.by_orders else t.min_spend_fen for t in programme.tiers]
        self.ascending = all(a < b for a, b in zip(self.floors, self.floors[1:], strict=False))


class _Sums:
    """``measure`` over facts sorted by time and all at or after joining, by bisection on running sums
    (a timeline asks it once per fact and per review)."""

    def __init__(self, rules: _Rules, facts: list[tuple[datetime, int]], joined: datetime) -> None:
        self.rules, self.joined = rules, joined
        self.times = [when for when, _ in facts]
        self.sums = [0, *accumulate((fen > 0) if rules.by_orders else fen for _, fen in facts)]

    def tier(self, at: datetime) -> Tier:
        rules = self.rules
        start = add_months(at, -rules.months) if rules.months is not None else \
            window_start(rules.programme, at, self.joined)
        times = self.times
        lo = (bisect_right if rules.strict else bisect_left)(times, start)
        hi = bisect_right(times, at)
        have = self.sums[hi] - self.sums[lo] if hi > lo else 0
        if rules.ascending:  # the last tier whose floor is reached, as ``_tier_of`` picks it
            return rules.programme.tiers[max(bisect_right(rules.floors, have) - 1, 0)]
        return _tier_of(rules.programme, have)


def timeline(programme: Programme, joined: datetime, facts: list[tuple[datetime, int]], until: datetime
             ) -> list[Change]:
    """Every tier change from joining to ``until``, in order; the first is the join itself."""
    return walk(programme, joined, facts, until)[0]


def walk(programme: Programme, joined: datetime, facts: list[tuple[datetime, int]], until: datetime
         ) -> tuple[list[Change], datetime | None]:
    """The changes up to ``until`` and the next review still to come (None at the base tier)."""
    return Walker(programme, joined).advance(sorted(facts), None, until)


class Walker:
    """One member's timeline, walked again as their facts change over a replay of their history: a
    change from time ``since`` on resumes from the walk's state just before ``since`` (that state
    depends only on the facts before it), instead of walking from joining. A history of n orders was
    walked n times from the start."""

    def __init__(self, programme: Programme, joined: datetime) -> None:
        self.programme, self.joined = programme, joined
        self.rules = _Rules(programme)
        self.facts: list[tuple[datetime, int]] = []
        self.sums: _Sums | None = None
        self.current = programme.tiers[0]
        self.changes = [Change(joined, "", self.current.name, "join")]
        self.review_at: datetime | None = None
        self.i = 0  # facts walked
        # before each event walked: (its time, facts walked, tier, next review, changes so far)
        self.marks: list[tuple[datetime, int, Tier, datetime | None, int]] = []

    def out_of_reach(self, fens: list[int]) -> bool:
        """Whether orders of these amounts, all finished and never refunded, stay below every tier above the
        base in any window: then the member holds the base tier throughout."""
        floors = self.rules.floors[1:]
        most = sum(1 for f in fens if f > 0) if self.rules.by_orders else sum(fens)
        return not floors or most < min(floors)

    def advance(self, facts: list[tuple[datetime, int]], since: datetime | None, until: datetime
                ) -> tuple[list[Change], datetime | None]:
        """The timeline up to ``until`` (never earlier than the last call's) over ``facts`` (sorted), which
        differ from the last call's only at or after ``since`` (None: the same facts)."""
        if since is not None or self.sums is None:
            self.facts = [f for f in facts if f[0] >= self.joined]
            self.sums = _Sums(self.rules, self.facts, self.joined)
            if since is not None:
                k = bisect_left(self.marks, since, key=lambda m: m[0])
                if k < len(self.marks):
                    _, self.i, self.current, self.review_at, n = self.marks[k]
                    del self.marks[k:], self.changes[n:]
        self._run(until)
        return list(self.changes), self.review_at

    def _run(self, until: datetime) -> None:
        programme, facts, sums, changes, marks = self.programme, self.facts, self.sums, self.changes, self.marks
        assert sums is not None
        level, tiers = programme.tier_levels, programme.tiers
        hold, max_drop = programme.qualification.hold_months, programme.qualification.max_drop
        i, current, review_at = self.i, self.current, self.review_at
        while True:
            next_fact = facts[i][0] if i < len(facts) else None
            if review_at is not None and review_at <= until and (next_fact is None or review_at < next_fact):
                marks.append((review_at, i, current, review_at, len(changes)))
                q = sums.tier(review_at)
                floor = max(level[current.name] - max_drop, 0) if max_drop else level[current.name]
                new = tiers[max(level[q.name], floor)]
                if new.name != current.name:
                    changes.append(Change(review_at, current.name, new.name, "review"))
                current = new
                review_at = add_months(review_at, hold) if level[current.name] > 0 else None
                continue
            if next_fact is None or next_fact > until:
                break
            marks.append((next_fact, i, current, review_at, len(changes)))
            q = sums.tier(next_fact)
            if level[q.name] > level[current.name]:
                changes.append(Change(next_fact, current.name, q.name, "upgrade"))
                current = q
                review_at = add_months(next_fact, hold)
            i += 1
        self.i, self.current, self.review_at = i, current, review_at


def tier_at(changes: list[Change], at: datetime) -> str:
    """The tier held at ``at`` (a change at exactly ``at`` counts: the order that upgrades earns at the
    old tier — see ``held_before``)."""
    name = changes[0].to_tier
    for c in changes:
        if c.at > at:
            break
        name = c.to_tier
    return name


def held_before(changes: list[Change], at: datetime) -> str:
    """The tier held just before ``at``: what an order paid at ``at`` earns at."""
    name = changes[0].to_tier
    for c in changes[1:]:
        if c.at >= at:
            break
        name = c.to_tier
    return name
