"""Order points: what each order should have earned, booked as the difference from what it has.

An order earns points from its payment, pending until ``return_window_days`` after it completed, then
available; they expire by the programme's expiry rule counted from the payment. The points are
``floor(net paid × per_yuan × multiplier)``, where the multiplier is the best (or product) of member day,
birthday month and claim, times the multiplier of the tier the member held just before they paid
(``tiers.timeline``: the same rules that set the member's tier).

Re-running books nothing; a refund books the difference as a reversal, from the order's own lot first;
an order now owned by another member (an operator's split) is taken back from the old holder and
credited to the new. A member folded into another by a merge carried its lots over, so what it booked
counts as the survivor's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.identity.arrivals import take_orders
from siyu.loyalty import coupons, tiers
from siyu.loyalty import repository as repo
from siyu.loyalty.ledger import Bookkeeper, Books, reverse
from siyu.loyalty.programme import Programme

EARNING = ("paid", "shipped", "completed", "refunded")  # pending points from payment; refunded nets 0
FINISHED = ("completed", "refunded")  # spend that counts towards a tier


@dataclass
class AccrualReport:
    orders: int = 0
    credited: int = 0
    reversed: int = 0
    entries: int = 0
    members: set[int] = field(default_factory=set)


def _paid(o: Any) -> datetime:
    return o.paid_at or o.created_at


def completion(o: Any) -> datetime:
    """When the order finished: its completion time, or its payment when the source gives none."""
    return o.completed_at or _paid(o)


def tier_facts(member: Any, orders: list[Any]) -> list[tuple[datetime, int]]:
    """(when, net fen) of the member's finished orders, for the tier rules: a claimed order from before
    they joined counts from the day they joined."""
    return [f for o in orders if (f := tier_fact(member, o)) is not None]


def tier_fact(member: Any, o: Any) -> tuple[datetime, int] | None:
    """One order's fact for ``tier_facts`` (None: not finished, it does not count yet)."""
    if o.status not in FINISHED or o.paid_at is None:
        return None
    return (max(o.paid_at, member.joined_at) if o.claimed else o.paid_at, max(o.paid_fen - o.refunded_fen, 0))


def qualifying_orders(session: Session, programme: Programme, member_ids: list[int], own: dict[int, list[Any]]
                      ) -> dict[int, list[Any]]:
    """The orders each member's tier counts: their own (``own``), or under a ``referral`` qualification
    the orders of the members they referred, paid from the referral on."""
    if programme.qualification.basis != "referral":
        return own
    refs = repo.referees(session, member_ids)
    theirs = repo.orders_of_members(session, [r for rs in refs.values() for r, _ in rs])
    return {mid: [o for r, since in rs for o in theirs.get(r, []) if o.paid_at is not None and o.paid_at >= since]
            for mid, rs in refs.items()}


def targets(programme: Programme, member: Any, orders: list[Any], birth_month: int | None, until: datetime,
            qualifying: list[Any] | None = None) -> dict[str, tuple[int, Any]]:
    """order id → (points it should hold now, the order), for one member's orders. Each earns at the tier
    the member held just before paying it (``tiers.timeline`` over the ``qualifying`` orders, by default
    their own)."""
    facts = tier_facts(member, orders if qualifying is None else qualifying)
    changes = tiers.timeline(programme, member.joined_at, facts, until)
    return {str(o.id): (order_target(programme, member, o, birth_month, changes), o)
            for o in sorted(orders, key=lambda o: (_paid(o), o.id))}


def order_target(programme: Programme, member: Any, o: Any, birth_month: int | None, changes: list[tiers.Change]
                 ) -> int:
    """The points one order should hold: its net paid × the multiplier of its payment time and of the tier
    held just before it (``changes``: the member's tier timeline, at least up to the payment)."""
    # a claimed order earns even from before joining: claiming it is the point (订单换积分)
    if o.status not in EARNING or o.paid_at is None or (_paid(o) < member.joined_at and not o.claimed):
        return 0
    paid = _paid(o)
    p, q = programme.earn_ratio(paid, birthday_month=birth_month, tier=tiers.held_before(changes, paid),
                                claimed=o.claimed)
    return max(o.paid_fen - o.refunded_fen, 0) * p // (100 * q)  # ``points_for``, in integers


def accrue(session: Session, programme: Programme, member_ids: list[int] | None = None,
           at: datetime | None = None, *, tiers_too: bool = False) -> AccrualReport:
    """Book order points for these members (all active members when None), then what fell due by ``at``;
    with ``tiers_too``, set their tiers from the same orders (read once)."""
    at = at or now()
    report = AccrualReport()
    members = repo.active_members(session, member_ids)
    folded = repo.folded_into(session, members)
    window = timedelta(days=programme.points.return_window_days)
    ids = sorted(members)
    for part in [ids[i:i + 1000] for i in range(0, len(ids), 1000)]:
        books = Books(session, part, at)  # locked before the bookings are read: a concurrent accrual waits
        orders = repo.orders_of_members(session, part)
        quals = qualifying_orders(session, programme, part, orders)
        births = repo.birth_months(session, part)
        refs = [str(o.id) for os in orders.values() for o in os]
        booked, counts = repo.order_bookings(session, part, refs)
        # entries the lock's catch-up just booked count too: an order's next key is then the same whenever
        # the releases before it were booked (here, by a nightly run, or by a replay of history)
        for ob in books.open.values():
            for e in ob.book.entries:
                if e["source_type"] == "order":
                    counts[e["source_ref"]] = counts.get(e["source_ref"], 0) + 1
        held: dict[int, list[tuple[str, int]]] = {}
        for ref, by_member in booked.items():
            for m, p in by_member.items():
                if p > 0:
                    held.setdefault(m, []).append((ref, p))
        for mid in part:
            mine = targets(programme, members[mid], orders.get(mid, []), births.get(mid), at, quals.get(mid, []))
            report.orders += len(mine)
            gone = [(ref, p) for ref, p in held.get(mid, []) if ref not in mine]
            book_orders(books.open[mid], mine, gone, booked, counts, folded, window, programme, report)
        report.entries += sum(len(ob.book.entries) for ob in books.open.values())
        books.close()
        if tiers_too:
            _set_tiers(session, programme, members, part, quals, at, defaultdict(int))
    return report


def book_orders(ob: Bookkeeper, mine: dict[str, tuple[int, Any]], gone: list[tuple[str, int]],
                 booked: dict[str, dict[int, int]], counts: dict[str, int], folded: dict[int, int],
                 window: timedelta, programme: Programme, report: AccrualReport) -> None:
    """``gone``: orders this member holds points for and no longer owns (moved to another by a split)."""
    mid = ob.book.member_id
    _schedule_releases(ob, mine, window)

    def mine_too(m: int) -> bool:
        return m == mid or folded.get(m) == mid

    changes = []
    for ref, (want, o) in mine.items():
        held = booked.get(ref)
        if not held:
            have = 0
        elif len(held) == 1 and mid in held:  # the usual case: only this member ever held it
            have = held[mid]
        else:
            have = sum(p for m, p in held.items() if mine_too(m))
        if want != have:
            changes.append((ref, want, have, o))
    if not changes and not gone:
        return
    for ref, p in gone:
        reverse(ob, ("order", ref), p, key=f"order:{ref}:{counts.get(ref, 0)}", reason="订单转出")
        report.reversed += p
    for ref, want, have, o in changes:
        key = f"order:{ref}:{counts.get(ref, 0)}"
        if want > have:
            paid = _paid(o)
            releases = completion(o) + window if o.status in FINISHED else None
            lot = ob.new_lot(("order", ref), want - have, paid, programme.points.expiry.expires_at(paid),
                             releases, pending=True)
            ob.book.credit(lot, want - have, pending=True, reason="订单积分", key=key, when=paid)
            report.credited += want - have
        else:
            reverse(ob, ("order", ref), have - want, key=key, reason="退款扣回积分")
            report.reversed += have - want
    ob.book.catch_up(ob.at)  # an old order's points released (and perhaps expired) at once
    report.members.add(mid)


def _schedule_releases(ob: Bookkeeper, mine: dict[str, tuple[int, Any]], window: timedelta) -> None:
    """Pending order lots with no release date whose order has since finished: the date is now known."""
    due = False
    for lt in ob.book.lots:
        if lt.source_type == "order" and lt.pending > 0 and lt.releases_at is None and lt.source_ref in mine:
            o = mine[lt.source_ref][1]
            if o.status in FINISHED:
                lt.releases_at, lt.changed, due = completion(o) + window, True, True
    if due:
        ob.book.catch_up(ob.at)


def accrue_arrived(session: Session, programme: Programme, at: datetime | None = None) -> AccrualReport:
    """Book the points of the orders this unit of work wrote (``identity.arrivals.note_orders``), for the
    members who hold them now (after OneID resolved the arrivals): one points balance across channels,
    up to date as soon as an order is accepted."""
    order_ids = take_orders(session)
    if not order_ids:
        return AccrualReport()
    at = at or now()
    members = repo.members_of_orders(session, sorted(order_ids))
    if programme.qualification.basis == "referral":  # a referee's order moves their referrer's tier too
        members = sorted({*members, *repo.referrers_of(session, members)})
    return accrue(session, programme, members, at, tiers_too=True)  # an upgrade is immediate


def assign_tiers(session: Session, programme: Programme, member_ids: list[int] | None, at: datetime
                 ) -> tuple[int, dict[str, int]]:
    """Each member's tier as of ``at`` by the tier rules (``tiers.timeline``), and its history recorded.
    Returns how many members changed tier and the distribution."""
    members = repo.active_members(session, member_ids)
    ids = sorted(members)
    moved, dist = 0, defaultdict(int)  # type: ignore[var-annotated]
    for part in [ids[i:i + 2000] for i in range(0, len(ids), 2000)]:
        quals = qualifying_orders(session, programme, part, repo.orders_of_members(session, part))
        n = _set_tiers(session, programme, members, part, quals, at, dist)
        moved += n
    return moved, dict(dist)


def _set_tiers(session: Session, programme: Programme, members: dict[int, Any], part: list[int],
               orders: dict[int, list[Any]], at: datetime, dist: dict[str, int]) -> int:
    """Tiers of ``part`` from their qualifying orders; the history is written only for members whose tier moved
    (rows already recorded are skipped, never rewritten)."""
    updates, changes, gifts, moved = [], [], [], 0
    for mid in part:
        m = members[mid]
        line = tiers.timeline(programme, m.joined_at, tier_facts(m, orders.get(mid, [])), at)
        now_tier = line[-1]
        dist[now_tier.to_tier] += 1
        if m.tier != now_tier.to_tier or m.tier_since != now_tier.at:
            moved += m.tier != now_tier.to_tier
            updates.append({"id": mid, "tier": now_tier.to_tier, "tier_since": now_tier.at, "updated_at": at})
            changes += [{"member_id": mid, "from_tier": c.from_tier, "to_tier": c.to_tier, "reason": c.reason,
                         "changed_at": c.at, "created_at": at} for c in line]
            # 升级礼: once per tier reached (a later review that drops and a new upgrade do not repeat it)
            gifts += [row for c in line if c.reason == "upgrade"
                      for row in coupons.pack_rows(programme, mid, "upgrade", f"upgrade:{c.to_tier}", c.at)]
    repo.update_members(session, updates)
    repo.record_tier_changes(session, changes)
    coupons.issue_many(session, gifts)
    return moved
