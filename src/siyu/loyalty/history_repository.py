"""What a replay of the loyalty history reads: members' orders with their claims and refunds, the requests
that moved points, and the ledger as booked (to compare with). Reads only; members in slices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.bulk import chunks, one_of
from siyu.models import (
    Member,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsOperation,
)

MOVED = ("会员合并转入", "会员合并转出", "订单转出")  # entries of a merge or a split


def member_slices(session: Session, size: int) -> list[list[int]]:
    ids = list(session.scalars(select(Member.id).where(Member.status == "active").order_by(Member.id)))
    return [ids[i:i + size] for i in range(0, len(ids), size)]


class OrderRow(NamedTuple):
    """An order as a replay reads it (``orders_with_claims``)."""

    member_id: int
    id: int
    status: str
    paid_fen: int
    refunded_fen: int
    paid_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    claimed_at: datetime | None
    claimer: int | None


class MemberRow(NamedTuple):
    """A member as a replay reads it (``repository.active_members``' columns)."""

    id: int
    person_id: int
    joined_at: datetime
    tier: str
    tier_since: datetime | None


class RefundRow(NamedTuple):
    order_id: int
    amount_fen: int
    completed_at: datetime | None
    requested_at: datetime | None


# A replay reads every order and refund of the brand, so these two read through the driver: the ORM's rows
# and type processing cost 11 µs an order, the driver's tuples and ``_utc`` 3 µs (measured on 100,000).
_OWN = ("SELECT m.id, o.id, o.status, o.paid_fen, o.refunded_fen, o.paid_at, o.created_at, o.completed_at, "
        "c.claimed_at, c.member_id FROM members m JOIN orders o ON o.person_id = m.person_id "
        "LEFT JOIN order_claims c ON c.order_id = o.id WHERE m.id {ids} AND (c.id IS NULL OR c.member_id = m.id)")
_CLAIMED = ("SELECT c.member_id, o.id, o.status, o.paid_fen, o.refunded_fen, o.paid_at, o.created_at, "
            "o.completed_at, c.claimed_at, c.member_id FROM order_claims c JOIN orders o ON o.id = c.order_id "
            "WHERE c.member_id {ids}")
_MEMBERS = "SELECT id, person_id, joined_at, tier, tier_since FROM members WHERE id {ids} AND status = 'active'"
_REFUNDS = ("SELECT order_id, amount_fen, completed_at, requested_at FROM refunds WHERE order_id {ids} "
            "AND status = 'success'")
_from_text = datetime.fromisoformat


def _utc(value: str | datetime | None) -> datetime | None:
    """A driver's timestamp as aware UTC: SQLite's text (``UTCDateTime`` writes naive UTC), PostgreSQL's
    ``timestamptz``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return _from_text(value + "+00:00")  # the usual text: one C call gives aware UTC
        except ValueError:
            value = _from_text(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _driver_rows(session: Session, sql: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """``sql`` with ``{ids}`` as "is one of ``ids``", through the driver (no ORM, no type processing)."""
    conn = session.connection()
    # the DBAPI cursor's own tuples, fetched all at once: SQLAlchemy's rows were 7 % of a replay (py-spy)
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute(sql.format(ids="= ANY(%s)"), (list(ids),))
        else:
            cursor.execute(sql.format(ids=f"IN ({','.join('?' * len(ids))})"), tuple(ids))
        return cursor.fetchall()
    finally:
        cursor.close()


def _orders(session: Session, sql: str, ids: Sequence[int]) -> list[OrderRow]:
    if not ids:
        return []
    return [OrderRow(mid, oid, status, int(paid), int(refunded), _utc(paid_at), _utc(created),  # type: ignore[arg-type]
                     _utc(completed), _utc(claimed), claimer)
            for mid, oid, status, paid, refunded, paid_at, created, completed, claimed, claimer
            in _driver_rows(session, sql, ids)]


def orders_with_claims(session: Session, member_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each member's orders, as ``repository.orders_of_members`` gives them, with when a claimed one was
    claimed (``claimed_at``), and whether it is the member's own person's order (else it became theirs by
    the claim)."""
    ids = list(member_ids)
    found: dict[tuple[int, int], tuple[Any, bool]] = {}
    for part in chunks(ids):
        for r in _orders(session, _CLAIMED, part):
            found[(r.member_id, r.id)] = (r, False)
    out: dict[int, list[Any]] = {}
    if not found:  # the usual slice: no claims, every order the member's own (a replay reads millions)
        for part in chunks(ids):
            for r in _orders(session, _OWN, part):
                mine = out.get(r.member_id)
                if mine is None:
                    out[r.member_id] = mine = []
                mine.append((r, True))
        return out
    for part in chunks(ids):
        for r in _orders(session, _OWN, part):  # the member's own person's order: it earned before any claim too
            found[(r.member_id, r.id)] = (found.get((r.member_id, r.id), (r, True))[0], True)
    for (mid, _), pair in found.items():
        out.setdefault(mid, []).append(pair)
    return out


def active_members(session: Session, member_ids: Sequence[int]) -> dict[int, MemberRow]:
    """``repository.active_members`` through the driver, for a replay's slices."""
    return {mid: MemberRow(mid, person, _utc(joined), tier, _utc(since))  # type: ignore[arg-type]
            for part in chunks(list(member_ids))
            for mid, person, joined, tier, since in _driver_rows(session, _MEMBERS, part)}


def refunds_of(session: Session, order_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The successful refunds of these orders (only they moved money)."""
    out: dict[int, list[Any]] = {}
    for part in chunks(list(order_ids)):
        for oid, fen, completed, requested in _driver_rows(session, _REFUNDS, part):
            out.setdefault(oid, []).append(RefundRow(oid, int(fen), _utc(completed), _utc(requested)))
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
