"""Tier rules over time: immediate upgrade, a hold, then a review that keeps, raises or drops at most
``max_drop`` levels; windows (cumulative, last N months, this month); spend or order counts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.loyalty import programme
from siyu.loyalty.programme import Qualification
from siyu.loyalty.tiers import Walker, add_months, held_before, tier_at, timeline, walk

JOIN = datetime(2024, 1, 10, 4, 0, tzinfo=UTC)


def prog(**q):  # type: ignore[no-untyped-def]
    p = programme.default().model_copy(deep=True)
    p.qualification = Qualification(**q)
    return p


def fen(yuan: int) -> int:
    return yuan * 100


def test_upgrade_is_immediate_and_the_paying_order_earns_at_the_old_tier() -> None:
    p = prog(window="months", months=12, hold_months=12, max_drop=1)
    paid = datetime(2024, 2, 1, 4, tzinfo=UTC)
    facts = [(paid, fen(1200))]
    line = timeline(p, JOIN, facts, datetime(2024, 6, 1, tzinfo=UTC))
    assert [(c.to_tier, c.reason) for c in line] == [("普通会员", "join"), ("黄金", "upgrade")]
    assert line[1].at == paid
    assert held_before(line, paid) == "普通会员" and tier_at(line, paid) == "黄金"


def test_review_drops_one_level_at_most_and_keeps_a_tier_still_earned() -> None:
    p = prog(window="months", months=12, hold_months=12, max_drop=1)
    big = datetime(2024, 2, 1, 4, tzinfo=UTC)
    facts = [(big, fen(9000))]  # 星耀 at once
    line, review = walk(p, JOIN, facts, datetime(2026, 6, 1, tzinfo=UTC))
    # 2025-02-01: no spend in the last 12 months → down one level to 钻石; 2026-02-01: down to 黄金
    assert [(c.to_tier, c.reason, c.at.date().isoformat()) for c in line[1:]] == [
        ("星耀", "upgrade", "2024-02-01"), ("钻石", "review", "2025-02-01"), ("黄金", "review", "2026-02-01")]
    assert review == add_months(datetime(2026, 2, 1, 4, tzinfo=UTC), 12)
    kept = timeline(p, JOIN, facts + [(datetime(2024, 12, 1, 4, tzinfo=UTC), fen(8000))],
                    datetime(2025, 6, 1, tzinfo=UTC))
    assert [c.to_tier for c in kept] == ["普通会员", "星耀"]  # re-earned within the window: kept


def test_never_drop_and_cumulative_windows() -> None:
    facts = [(datetime(2024, 2, 1, 4, tzinfo=UTC), fen(3500))]
    never = timeline(prog(window="months", months=12, max_drop=0), JOIN, facts, datetime(2027, 1, 1, tzinfo=UTC))
    assert [c.to_tier for c in never] == ["普通会员", "钻石"]
    cumulative = timeline(prog(window="cumulative"), JOIN, facts + [(datetime(2026, 5, 1, 4, tzinfo=UTC), fen(5000))],
                          datetime(2027, 1, 1, tzinfo=UTC))
    assert [c.to_tier for c in cumulative] == ["普通会员", "钻石", "星耀"]


def test_this_month_window_and_order_counts() -> None:
    p = prog(window="this_month", hold_months=1, max_drop=4)
    facts = [(datetime(2024, 3, 5, 4, tzinfo=UTC), fen(600)), (datetime(2024, 3, 20, 4, tzinfo=UTC), fen(500)),
             (datetime(2024, 4, 2, 4, tzinfo=UTC), fen(600))]
    line = timeline(p, JOIN, facts, datetime(2024, 6, 1, tzinfo=UTC))
    # 1,100 in March → 黄金 on the 20th; reviewed a month later (April 20: 600 this month) → 普通会员
    assert [(c.to_tier, c.at.date().isoformat()) for c in line[1:]] == [("黄金", "2024-03-20"), ("普通会员", "2024-04-20")]
    by_orders = programme.default().model_copy(deep=True)
    by_orders.qualification = Qualification(basis="orders", window="cumulative")
    for tier, n in zip(by_orders.tiers, (0, 2, 5, 10, 20), strict=True):
        tier.min_orders = n
    facts = [(datetime(2024, 2, d, 4, tzinfo=UTC), fen(10)) for d in range(1, 6)]
    assert [c.to_tier for c in timeline(by_orders, JOIN, facts, datetime(2024, 3, 1, tzinfo=UTC))] == \
        ["普通会员", "黄金", "钻石"]


# A replay walks each member's timeline again whenever a fact changes, resuming from the state before the
# change (``Walker``); it must give what one walk over the same facts gives, for any order of changes.
_DAYS = st.integers(min_value=-30, max_value=1500)
_FACT = st.tuples(_DAYS, st.integers(min_value=0, max_value=900_000))


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.lists(_FACT, max_size=6), st.integers(min_value=0, max_value=400)), min_size=1,
                      max_size=8),
       window=st.sampled_from(["months", "cumulative", "this_month"]), basis=st.sampled_from(["spend", "orders"]),
       max_drop=st.integers(min_value=0, max_value=2))
def test_a_walker_resumed_after_any_change_equals_one_walk(steps, window, basis, max_drop) -> None:  # type: ignore[no-untyped-def]
    p = prog(window=window, months=6, hold_months=6, max_drop=max_drop, basis=basis)
    walker = Walker(p, JOIN)
    facts: list[tuple[datetime, int]] = []
    until = JOIN
    for added, later in steps:
        new = sorted([*facts[: len(facts) // 2], *((JOIN + timedelta(days=d), f) for d, f in added)])
        changed = list(((Counter(facts) - Counter(new)) + (Counter(new) - Counter(facts))).elements())
        since = min((when for when, _ in changed), default=None)
        until = max([until + timedelta(days=later), *(when for when, _ in new)])
        got = walker.advance(new, since, until)
        assert got == walk(p, JOIN, new, until)
        facts = new
