"""Orders, their lines and refunds, from every channel, in one canonical lifecycle.

Amounts are integer fen. Status is canonical (see ``ORDER_STATUSES``); the platform's own words are
kept in ``platform_status`` for traceability.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base, created_col, updated_col

# created: placed, not paid · paid: paid, not shipped · shipped · completed: received / trade success
# cancelled: closed before payment · refunded: paid, then fully refunded
ORDER_STATUSES = ("created", "paid", "shipped", "completed", "cancelled", "refunded")
PAID_STATUSES = ("paid", "shipped", "completed", "refunded")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "external_id"),
        Index("ix_orders_paid_at", "paid_at"),
        # real-time OneID asks which buyers sent parcels to a phone
        Index("ix_orders_receiver_phone_bidx", "receiver_phone_bidx"),
        # learning a phone's platform index finds the orders that went to it
        Index("ix_orders_receiver_phone_index", "receiver_phone_index"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("guides.id"))
    status: Mapped[str] = mapped_column(String(16))
    platform_status: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    receiver_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    receiver_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Blind index of the receiver's phone: weak evidence of who bought (gifts go to others), used by
    # OneID only when one phone dominates a buyer's orders.
    receiver_phone_bidx: Mapped[str | None] = mapped_column(String(32))
    receiver_name_bidx: Mapped[str | None] = mapped_column(String(32))  # real names only (not 张**)
    receiver_surname_bidx: Mapped[str | None] = mapped_column(String(32))  # the first character, masked or not
    # The platform's search index of the receiver's phone where it sends no phone (Douyin); once the
    # index's phone is known (``PhoneSearchIndex``), ``receiver_phone_bidx`` is set from it.
    receiver_phone_index: Mapped[str | None] = mapped_column(String(64))
    # The receiver's full phone as its mask (138****1234; '' for a phone of another form): what a
    # phoneless buyer's parcels say of them to OneID's probabilistic step, which compares masks.
    receiver_phone_mask: Mapped[str | None] = mapped_column(String(16))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Blind index of the first three characters of the address's street line (长江路), all Douyin's and
    # Taobao's order APIs leave of it; '' when the address hides it (JD's ******) or has none.
    receiver_street_bidx: Mapped[str | None] = mapped_column(String(32))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    # Hash of the imported content: a re-import with the same hash is "unchanged" and writes nothing.
    row_hash: Mapped[str | None] = mapped_column(String(32))
    imported_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class OrderItem(Base):
    """An order line. ``order_id`` and ``sku_id`` carry no row-level foreign key: lines are only ever
    written by the importer in the same unit of work as their order (ids it has just reserved), and at
    ten million lines the per-row key check was a third of PostgreSQL's load time (measured: COPY of 10M
    lines 24 s without, 54 s with the order key). ``tests/test_sales_bulk.py`` checks there are no orphans."""

    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    line_no: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(64))
    sku_id: Mapped[int | None] = mapped_column(Integer)
    sku_code: Mapped[str | None] = mapped_column(String(64))
    product_code: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(255))
    colour: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[str | None] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = updated_col()


class Refund(Base):
    """A refund as the platform reports it. It may arrive before its order; ``order_id`` is then empty
    until the order is imported, and the refund is applied then."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("shop_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    order_external_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int | None] = mapped_column(Integer)
    item_external_id: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # requested · success · closed (refused / withdrawn): only ``success`` changes money.
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(128))
    # Reported inside the order export (Tmall, Douyin): each new export of the order replaces them all.
    embedded: Mapped[bool] = mapped_column(Boolean, default=False)
    row_hash: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = updated_col()
