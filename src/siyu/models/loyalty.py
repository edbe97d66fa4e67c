"""The points ledger: append-only entries in three accounts per member, earned points kept in lots.

Accounts: ``available`` (spendable), ``pending`` (an order's points before its return window closes) and
``debt`` (points a refund took back after they were spent, owed from future earnings; never above 0).
A release is a pair of entries (pending −N, available +N) on one lot; a member's net points are the sum
of all their entries. ``points_accounts`` and the lots' ``remaining`` / ``pending`` are caches of those
sums, written in the same transaction as the entries; ``siyu loyalty check`` proves they still agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base, created_col


class PointsEntry(Base):
    __tablename__ = "points_ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # earn · pending · release · burn · expire · reverse · adjust
    kind: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(9), default="available")  # available · pending · debt
    points: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_lots.id"), index=True)
    reason: Mapped[str] = mapped_column(String(64))
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    # Unique: a retried award finds its key taken and writes nothing.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_col()

    # source_ref first: it is what a lookup names (an order, a reward); the type alone selects half the table
    __table_args__ = (Index("ix_points_ledger_source", "source_ref", "source_type"),)


class PointsLot(Base):
    """Points earned together, with one expiry date; spent, expired and reversed lot by lot."""

    __tablename__ = "points_lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    source_type: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(BigInteger)  # as earned
    remaining: Mapped[int] = mapped_column(BigInteger, default=0)  # available, unspent (cache)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)  # not yet released (cache)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Pending points become available then; NULL while the order has not completed.
    releases_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_col()

    __table_args__ = (Index("ix_points_lots_member_expiry", "member_id", "expires_at"),
                      Index("ix_points_lots_source", "source_ref", "source_type"))


class PointsAccount(Base):
    """A member's balances (a cache of the ledger) and the row every change to them locks first."""

    __tablename__ = "points_accounts"
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debt: Mapped[int] = mapped_column(BigInteger, default=0)
    # The earliest release or expiry still to happen: an operation before it has nothing to catch up.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)


class PointsOperation(Base):
    """One request that moved points (a redemption, a claim, an award): its key makes a retry a replay."""

    __tablename__ = "points_operations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)
    # What was asked: the same key with another request is refused, not replayed.
    fingerprint: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[dict] = mapped_column(JSON)
    # The request itself (reason, source, actor): what a replay of history under other rules re-prices.
    request: Mapped[dict | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_col()


class OrderClaim(Base):
    """An order from another platform claimed by a member (订单换积分): it earns for them from then on."""

    __tablename__ = "order_claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)  # claimed once, by one member
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RewardStock(Base):
    """How many of a catalogue reward have been redeemed: the row a redemption locks to respect the stock."""

    __tablename__ = "reward_stock"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    redeemed: Mapped[int] = mapped_column(Integer, default=0)


class TierChange(Base):
    """A member's tier history: every upgrade and review, with when and why."""

    __tablename__ = "tier_changes"
    __table_args__ = (UniqueConstraint("member_id", "changed_at", "to_tier"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_tier: Mapped[str] = mapped_column(String(32))
    to_tier: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))  # join · upgrade · review
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_col()


class Coupon(Base):
    """A coupon issued to a member from a template; used once, against one order, before it expires."""

    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    template: Mapped[str] = mapped_column(String(32))
    # Why it was issued (new_member, upgrade:黄金, reward:COUPON-20…); unique with the slot, so a retried
    # issuance finds its coupons and issues nothing.
    issue_key: Mapped[str] = mapped_column(String(128), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_order: Mapped[str | None] = mapped_column(String(64))
    off_fen: Mapped[int | None] = mapped_column(BigInteger)


class ProgrammeVersion(Base):
    """Each programme the brand ran, with who recorded it and when: the rules are configuration, and a
    change to them is kept like a change to the books."""

    __tablename__ = "programme_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PricingIdentity(Base):
    """A pricing identity granted to a member (员工价 · 亲友价): who granted it, when, until when, and
    when it was revoked (kept, never deleted: a price given is explained by the identity then held)."""

    __tablename__ = "pricing_identities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    identity: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PriceUse(Base):
    """A price given at checkout for one order (list, member price or a pricing identity), kept so that an
    identity's limits (orders or amount a month or a year) count what was really used. One per member and
    order: the same checkout again answers the same; a cancelled order's use no longer counts."""

    __tablename__ = "price_uses"
    __table_args__ = (UniqueConstraint("member_id", "order_ref", name="uq_price_uses_member_order"),
                      Index("ix_price_uses_member_basis_used", "member_id", "basis", "used_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    order_ref: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(String(32))  # list · member_price · the identity's code
    label: Mapped[str] = mapped_column(String(32))  # as the member was told (黄金会员价, 员工价…)
    percent: Mapped[int] = mapped_column(Integer)
    list_fen: Mapped[int] = mapped_column(BigInteger)
    pays_fen: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
