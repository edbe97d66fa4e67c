"""What a replay of the loyalty history reads: members' orders with their claims and refunds, the requests
that moved points, and the ledger as booked (to compare with). Reads only; members in slices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.core.bulk import one_of
from siyu.models import (
    Member,
    Order,
    OrderClaim,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsOperation,
    Refund,
)

MOVED = ("会员合并转入", "会员合并转出", "订单转出")  # entries of a merge or a split


def member_slices(session: Session, size: int) -> list[list[int]]:
    ids = list(session.scalars(select(Member.id).where(Member.status == "active").order_by(Member.id)))
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def orders_with_claims(session: Session, member_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each member's orders, as ``repository.orders_of_members`` gives them, with when a claimed one was
    claimed (``claimed_at``), and whether it is the member's own person's order (else it became theirs by
    the claim)."""
    cols = (Order.id, Order.status, Order.paid_fen, Order.refunded_fen, Order.paid_at, Order.created_at,
            Order.completed_at)
    own = (select(Member.id.label("member_id"), *cols, OrderClaim.claimed_at, OrderClaim.member_id.label("claimer"))
           .join(Order, Order.person_id == Member.person_id)
           .join(OrderClaim, OrderClaim.order_id == Order.id, isouter=True)
           .where(one_of(session, Member.id, member_ids),
                  or_(OrderClaim.id.is_(None), OrderClaim.member_id == Member.id)))
    claimed = (select(OrderClaim.member_id, *cols, OrderClaim.claimed_at, OrderClaim.member_id.label("claimer"))
               .join(Order, Order.id == OrderClaim.order_id).where(one_of(session, OrderClaim.member_id, member_ids)))
    found: dict[tuple[int, int], tuple[Any, bool]] = {}
    for r in session.execute(claimed):
        found[(r.member_id, r.id)] = (r, False)
    out: dict[int, list[Any]] = {}
    if not found:  # the usual slice: no claims, every order the member's own (a replay reads millions)
        for r in session.execute(own):
            mine = out.get(r.member_id)
            if mine is None:
                out[r.member_id] = mine = []
            mine.append((r, True))
        return out
    for r in session.execute(own):  # the member's own person's order: it earned before any claim too
        found[(r.member_id, r.id)] = (found.get((r.member_id, r.id), (r, True))[0], True)
    for (mid, _), pair in found.items():
        out.setdefault(mid, []).append(pair)
    return out


def refunds_of(session: Session, order_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The successful refunds of these orders (only they moved money)."""
    out: dict[int, list[Any]] = {}
    ids = list(order_ids)
    for i in range(0, len(ids), 20_000):
        stmt = (select(Refund.order_id, Refund.amount_fen, Refund.completed_at, Refund.requested_at)
                .where(one_of(session, Refund.order_id, ids[i:i + 20_000]), Refund.status == "success"))
        for r in session.execute(stmt):
            out.setdefault(r.order_id, []).append(r)
    return out


def operations_of(session: Session, member_ids: Sequence[int]) -> dict[int, list[Any]]:
    stmt = (select(PointsOperation.member_id, PointsOperation.key, PointsOperation.kind, PointsOperation.points,
                   PointsOperation.request, PointsOperation.occurred_at)
            .where(one_of(session, PointsOperation.member_id, member_ids)).order_by(PointsOperation.id))
    out: dict[int, list[Any]] = {}
    for r in session.execute(stmt):
        out.setdefault(r.member_id, []).append(r)
    return out


def moved_members(session: Session, member_ids: Sequence[int]) -> set[int]:
    """Members whose books a merge or a split moved points into or out of."""
    stmt = select(PointsEntry.member_id).where(one_of(session, PointsEntry.member_id, member_ids),
                                               PointsEntry.reason.in_(MOVED)).distinct()
    return set(session.scalars(stmt))


def booked(session: Session, member_ids: Sequence[int]) -> tuple[dict[int, list[Any]], dict[int, list[Any]],
                                                                    dict[int, Any]]:
    """The ledger as booked, for comparison: entries, lots and accounts per member."""
    entries: dict[int, list[Any]] = {}
    for r in session.execute(select(PointsEntry.member_id, PointsEntry.idempotency_key, PointsEntry.kind,
                                    PointsEntry.account, PointsEntry.points, PointsEntry.lot_id, PointsEntry.reason,
                                    PointsEntry.source_type, PointsEntry.source_ref, PointsEntry.occurred_at,
                                    PointsEntry.expires_at)
                             .where(one_of(session, PointsEntry.member_id, member_ids))):
        entries.setdefault(r.member_id, []).append(r)
    lots: dict[int, list[Any]] = {}
    for r in session.execute(select(PointsLot.member_id, PointsLot.id, PointsLot.source_type, PointsLot.source_ref,
                                    PointsLot.points, PointsLot.remaining, PointsLot.pending, PointsLot.earned_at,
                                    PointsLot.releases_at, PointsLot.expires_at)
                             .where(one_of(session, PointsLot.member_id, member_ids))):
        lots.setdefault(r.member_id, []).append(r)
    accounts = {r.member_id: r for r in session.execute(
        select(PointsAccount.member_id, PointsAccount.available, PointsAccount.pending, PointsAccount.debt)
        .where(one_of(session, PointsAccount.member_id, member_ids)))}
    return entries, lots, accounts
