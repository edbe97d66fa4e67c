"""Bulk reads and writes for imported facts: channels, shops, catalogue, organisation, orders, refunds,
events. Only SQLAlchemy Core statements; the service decides what to write."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from siyu.core.bulk import chunks, insert_many, insert_statement, run, update_many
from siyu.core.columns import has_any, hold_write_lock, load, reserve_ids, stage_keys
from siyu.models import (
    Channel,
    Event,
    Guide,
    ImportRun,
    InboxMessage,
    Order,
    OrderItem,
    PhoneSearchIndex,
    Product,
    Profile,
    ProfilePerson,
    Refund,
    Region,
    Shop,
    Sku,
    Store,
)


def code_map(session: Session, model: Any) -> dict[str, int]:
    return {code: id_ for id_, code in run(session, _codes(model))}


@lru_cache(maxsize=32)
def _codes(model: Any) -> Any:
    # built once: every push reads the channel, shop, store and guide maps (profiled, demo pushes)
    return select(model.id, model.code)


_SHOPS = select(Shop.id, Shop.channel_id, Shop.code)


def ensure_channels(session: Session, channels: Sequence[tuple[str, str, str, str]]) -> dict[str, int]:
    have = code_map(session, Channel)
    missing = [c for c in channels if c[0] not in have]
    if missing:  # another request may be adding them at this moment: theirs or ours, one row each
        insert_many(session, Channel, [{"code": c, "name_zh": zh, "name_en": en, "kind": k}
                                       for c, zh, en, k in missing], skip_conflicts_on=("code",))
        have = code_map(session, Channel)
    return have


def shop_map(session: Session) -> dict[tuple[int, str], int]:
    return {(cid, code): sid for sid, cid, code in run(session, _SHOPS)}


def add_shop(session: Session, channel_id: int, code: str, name: str) -> None:
    insert_many(session, Shop, [{"channel_id": channel_id, "code": code, "name": name}],
                skip_conflicts_on=("channel_id", "code"))


def upsert_by_code(session: Session, model: Any, rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Master data keyed by ``code``: insert new, update changed, leave equal rows alone."""
    if not rows:
        return 0, 0, 0
    cols = [c for c in rows[0] if c != "code"]
    existing: dict[str, Any] = {}
    for part in chunks([r["code"] for r in rows]):
        for row in session.execute(select(model.id, model.code, *[getattr(model, c) for c in cols])
                                   .where(model.code.in_(part))):
            existing[row.code] = row
    new, changed, same = [], [], 0
    for r in rows:
        old = existing.get(r["code"])
        if old is None:
            new.append(r)
        elif any(getattr(old, c) != r[c] for c in cols):
            changed.append({"id": old.id, **{c: r[c] for c in cols}})
        else:
            same += 1
    insert_many(session, model, new)
    update_many(session, model, changed)
    return len(new), len(changed), same


def ensure_regions(session: Session, regions: dict[str, str]) -> dict[str, int]:
    have = code_map(session, Region)
    missing = [{"code": c, "name": n} for c, n in regions.items() if c not in have]
    if missing:
        session.execute(insert(Region), missing)
        have = code_map(session, Region)
    return have


def orders_by_key(session: Session, shop_id: int, external_ids: Sequence[str]) -> dict[str, Any]:
    found = {}
    for part in chunks(list(external_ids)):
        for row in session.execute(select(Order.id, Order.external_id, Order.row_hash)
                                   .where(Order.shop_id == shop_id, Order.external_id.in_(part))):
            found[row.external_id] = row
    return found


def learned_phones(session: Session, indexes: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(platform, search index) → the phone's blind index, for the indexes already learned."""
    found: dict[tuple[str, str], str] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, index in indexes:
        by_platform.setdefault(platform, []).append(index)
    for platform, values in by_platform.items():
        for part in chunks(sorted(values)):
            for index, bidx in session.execute(
                    select(PhoneSearchIndex.search_index, PhoneSearchIndex.phone_bidx)
                    .where(PhoneSearchIndex.platform == platform, PhoneSearchIndex.search_index.in_(part))):
                found[(platform, index)] = bidx
    return found


def order_state(session: Session, shop_ids: Sequence[int], external_id: str) -> Any:
    return session.execute(select(Order.id, Order.shop_id, Order.status, Order.paid_fen, Order.refunded_fen)
                           .where(Order.shop_id.in_(list(shop_ids)), Order.external_id == external_id)).first()


def set_order_status(session: Session, order_id: int, status: str, platform_status: str, completed_at: Any,
                     stamp: Any) -> None:
    values = {"status": status, "platform_status": platform_status, "updated_at": stamp}
    if completed_at is not None:
        values["completed_at"] = completed_at
    session.execute(update(Order).where(Order.id == order_id).values(**values))


def order_shops(session: Session, shop_ids: Sequence[int], external_ids: Sequence[str]) -> dict[str, int]:
    """Which of ``shop_ids`` already holds each order number."""
    found = {}
    for part in chunks(list(external_ids)):
        for sid, ext in session.execute(select(Order.shop_id, Order.external_id)
                                        .where(Order.shop_id.in_(list(shop_ids)), Order.external_id.in_(part))):
            found[ext] = sid
    return found


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    insert_many(session, model, rows)


def update_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    update_many(session, model, rows)


def delete_items(session: Session, order_ids: Sequence[int]) -> None:
    for part in chunks(list(order_ids)):
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_(part)))


def refunds_by_key(session: Session, shop_id: int, external_ids: Sequence[str]) -> dict[str, Any]:
    found = {}
    for part in chunks(list(external_ids)):
        for row in session.execute(select(Refund.id, Refund.external_id, Refund.row_hash, Refund.order_id)
                                   .where(Refund.shop_id == shop_id, Refund.external_id.in_(part))):
            found[row.external_id] = row
    return found


def embedded_refunds_of(session: Session, order_ids: Sequence[int]) -> list[Any]:
    out = []
    for part in chunks(list(order_ids)):
        out.extend(session.execute(select(Refund.id, Refund.order_id, Refund.external_id)
                                   .where(Refund.order_id.in_(part), Refund.embedded.is_(True))))
    return out


def delete_refunds(session: Session, ids: Sequence[int]) -> None:
    for part in chunks(list(ids)):
        session.execute(delete(Refund).where(Refund.id.in_(part)))


def attach_waiting_refunds(session: Session, shop_ids: Sequence[int], home: int,
                           order_ids: dict[str, int]) -> set[int]:
    """Refunds that arrived before their order now point at it, and move to its shop (a refund may have
    come under another name of the same shop); returns the orders that got one.

    Waiting refunds are few (``order_id IS NULL`` is indexed), so they are read once and matched here
    rather than probed with one UPDATE per new order."""
    if not order_ids:
        return set()
    waiting = session.execute(select(Refund.id, Refund.order_external_id)
                              .where(Refund.shop_id.in_(list(shop_ids)), Refund.order_id.is_(None))).all()
    moves = [{"id": rid, "order_id": order_ids[ext], "shop_id": home} for rid, ext in waiting if ext in order_ids]
    update_many(session, Refund, moves)
    return {m["order_id"] for m in moves}


def recompute_refunded(session: Session, order_ids: Sequence[int], stamp: Any) -> None:
    """Refunded amounts on orders and lines are the sum of their successful refunds; a paid order
    refunded in full becomes ``refunded``."""
    ok = Refund.status == "success"
    for part in chunks(sorted(set(order_ids))):
        # A refund that names its sub-order (TOP's oid) rather than a line number gets the line's number
        # once the order's lines are known.
        line = (select(OrderItem.line_no).where(OrderItem.order_id == Refund.order_id,
                                                OrderItem.external_id == Refund.item_external_id)
                .limit(1).scalar_subquery())
        session.execute(update(Refund).where(Refund.order_id.in_(part), Refund.line_no.is_(None),
                                             Refund.item_external_id.is_not(None))
                        .values(line_no=line).execution_options(synchronize_session=False))
        line_sum = (select(func.coalesce(func.sum(Refund.amount_fen), 0))
                    .where(Refund.order_id == OrderItem.order_id, Refund.line_no == OrderItem.line_no, ok)
                    .scalar_subquery())
        session.execute(update(OrderItem).where(OrderItem.order_id.in_(part))
                        .values(refunded_fen=line_sum, updated_at=stamp)
                        .execution_options(synchronize_session=False))
        order_sum = (select(func.coalesce(func.sum(Refund.amount_fen), 0))
                     .where(Refund.order_id == Order.id, ok).scalar_subquery())
        session.execute(update(Order).where(Order.id.in_(part)).values(refunded_fen=order_sum, updated_at=stamp)
                        .execution_options(synchronize_session=False))
        session.execute(update(Order).where(and_(Order.id.in_(part), Order.paid_fen > 0,
                                                 Order.refunded_fen >= Order.paid_fen,
                                                 Order.status.in_(("paid", "shipped", "completed"))))
                        .values(status="refunded").execution_options(synchronize_session=False))


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert events, skipping any message id already stored (a concurrent request may have written it)."""
    if not rows:
        return
    insert_many(session, Event, rows, skip_conflicts_on=("message_id",))


def claim_message(session: Session, source: str, message_id: str, kind: str, stamp: Any) -> bool:
    """Record a push as received; False if it was received before (then it must not be applied again).
    A concurrent delivery of the same message waits on the unique key and then finds it taken."""
    values = {"source": source, "message_id": message_id, "kind": kind[:64], "outcome": "received",
              "received_at": stamp}
    return run(session, _claim(session.get_bind().dialect.name), values).scalar() is not None


@lru_cache(maxsize=4)
def _claim(dialect_name: str) -> Any:
    # built once per dialect: building it anew was most of a push's claim (profiled, demo pushes)
    return insert_statement(InboxMessage, dialect_name, ("source", "message_id")).returning(InboxMessage.id)


_SETTLE = (update(InboxMessage).where(InboxMessage.source == bindparam("s"), InboxMessage.message_id == bindparam("m"))
           .values(outcome=bindparam("outcome"), detail=bindparam("detail")))


def settle_message(session: Session, source: str, message_id: str, outcome: str, detail: str | None) -> None:
    run(session, _SETTLE, {"s": source, "m": message_id, "outcome": outcome, "detail": (detail or "")[:255] or None})



def known_message_ids(session: Session, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(list(ids)):
        found.update(session.scalars(select(Event.message_id).where(Event.message_id.in_(part))))
    return found


def sku_map(session: Session) -> dict[str, int]:
    return code_map(session, Sku)


def product_map(session: Session) -> dict[str, int]:
    return code_map(session, Product)


def store_map(session: Session) -> dict[str, int]:
    return code_map(session, Store)


def guide_map(session: Session) -> dict[str, int]:
    return code_map(session, Guide)


def refresh_statistics(session: Session) -> None:
    """PostgreSQL: refresh the planner's statistics after a bulk import. Without them the planner takes
    freshly loaded tables for nearly empty ones, and a real-time resolution's identifier look-up became
    a hash join over every identifier: 12.7 ms a call instead of 0.1 ms on the demo brand (measured, with
    autovacuum off; with it on, until its next pass). SQLite plans these look-ups by its indexes alone."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))


def add_import_run(session: Session, **fields: Any) -> None:
    session.execute(insert(ImportRun).values(**fields))


# -- column bulk (the sales import) --------------------------------------------------------------------
def has_orders(session: Session, shop_id: int) -> bool:
    return has_any(session, Order, shop_id=shop_id)


def order_hashes(session: Session, shop_id: int, external_ids: Any) -> dict[str, tuple[int, str | None]]:
    """external_id → (order id, row hash) of the given keys already stored in ``shop_id``."""
    keys = stage_keys(session, external_ids)
    rows = session.execute(select(Order.external_id, Order.id, Order.row_hash)
                           .join(keys, keys.c.k == Order.external_id).where(Order.shop_id == shop_id))
    return {r.external_id: (r.id, r.row_hash) for r in rows}


def has_waiting_refunds(session: Session, shop_ids: Sequence[int]) -> bool:
    q = select(Refund.id).where(Refund.shop_id.in_(list(shop_ids)), Refund.order_id.is_(None)).limit(1)
    return session.execute(q).first() is not None


def new_ids(session: Session, model: Any, n: int) -> Any:
    hold_write_lock(session, model)
    return reserve_ids(session, model, n)


def load_rows(session: Session, model: Any, table: Any, constants: dict[str, Any] | None = None,
              same: dict[str, str] | None = None) -> None:
    load(session, model, table, constants, same)


def _profiles_of(person_id: int) -> Any:
    return select(ProfilePerson.profile_id).where(ProfilePerson.person_id == person_id)


def orders_of_person(session: Session, person_id: int, limit: int) -> list[Any]:
    """A person's orders in every channel (through the profiles they hold now), newest first."""
    return list(session.execute(
        select(Order.id, Order.external_id, Order.status, Order.created_at, Order.paid_at, Order.paid_fen,
               Order.refunded_fen, Order.item_count, Channel.code.label("channel"), Shop.name.label("shop"),
               Store.name.label("store"), Guide.name.label("guide"))
        .join(Shop, Shop.id == Order.shop_id).join(Channel, Channel.id == Shop.channel_id)
        .outerjoin(Store, Store.id == Order.store_id).outerjoin(Guide, Guide.id == Order.guide_id)
        .where(Order.profile_id.in_(_profiles_of(person_id)))
        .order_by(func.coalesce(Order.paid_at, Order.created_at).desc(), Order.id.desc()).limit(limit)))


def events_of_person(session: Session, person_id: int, limit: int) -> list[Any]:
    """Their interactions and the notes written about them, newest first."""
    return list(session.execute(
        select(Event.id, Event.type, Event.occurred_at, Event.properties)
        .where((Event.profile_id.in_(_profiles_of(person_id))) | (Event.person_id == person_id))
        .order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)))


def guides_of_person(session: Session, person_id: int) -> list[Any]:
    """The guides and stores their profiles name: the WeCom friendship (a ``wecom`` profile: which guide,
    since when, through which live code) and the store or guide they registered with."""
    return list(session.execute(
        select(Channel.code.label("channel"), Guide.name.label("guide"), Guide.code.label("guide_code"),
               Store.name.label("store"), Profile.first_seen_at, Profile.registered_at, Profile.source)
        .join(ProfilePerson, ProfilePerson.profile_id == Profile.id).join(Channel, Channel.id == Profile.channel_id)
        .outerjoin(Guide, Guide.id == Profile.guide_id).outerjoin(Store, Store.id == Profile.store_id)
        .where(ProfilePerson.person_id == person_id, (Profile.guide_id.is_not(None)) | (Profile.store_id.is_not(None)))
        .order_by(Profile.first_seen_at)))
