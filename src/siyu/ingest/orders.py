"""Writing orders, their lines and refunds: new, changed or unchanged by content hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from siyu.core.clock import now
from siyu.identity.arrivals import note_arrived, note_orders
from siyu.identity.profiles import name_indexes, record_profiles, street_index
from siyu.ingest import repository as repo
from siyu.ingest.normalize import receiver_mask
from siyu.ingest.schemas import OrderIn, RefundIn
from siyu.models import Order, OrderItem, Refund

if TYPE_CHECKING:
    from siyu.ingest.service import Importer


def row_hash(*parts: object) -> str:
    return hashlib.md5(repr(parts).encode(), usedforsecurity=False).hexdigest()


# Separators of the order fingerprint: control characters no export puts inside a value.
US, RS, GS = "\x1f", "\x1e", "\x1d"


def fingerprint_text(v: object) -> str:
    """One value as the fingerprint writes it; ``sales_bulk`` builds the same text from columns."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(v)


def _order_hash(o: OrderIn, profile_key: tuple[str, str] | None) -> str:
    """MD5 of the order's imported content as text (not ``repr``): the column import computes the
    same text for millions of orders at once, so both paths agree on what "unchanged" means."""
    t = fingerprint_text
    head = (o.status, o.platform_status, o.created_at, o.paid_at, o.completed_at, o.total_fen, o.discount_fen,
            o.shipping_fen, o.paid_fen, o.receiver_name, o.receiver_phone, o.address, o.province, o.city,
            o.district, o.store_code, o.guide_code, f"{profile_key[0]}:{profile_key[1]}" if profile_key else None,
            "-" if o.items is None else "+") + ((o.receiver_phone_index,) if o.receiver_phone_index else ()) + (
            (o.receiver_phone_masked,) if o.receiver_phone_masked else ())
    items = RS.join(US.join(map(t, (i.line_no, i.external_id, i.sku_code, i.quantity, i.unit_price_fen, i.paid_fen)))
                    for i in o.items or [])
    refunds = RS.join(US.join(map(t, r)) for r in
                      sorted(((r.external_id, r.amount_fen, r.status, r.line_no) for r in o.refunds),
                             key=lambda r: tuple(map(t, r))))
    text = US.join(map(t, head)) + GS + items + GS + refunds
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _refund_hash(r: RefundIn) -> str:
    return row_hash(r.order_external_id, r.line_no, r.item_external_id, r.amount_fen, r.status, r.requested_at,
                    r.completed_at, r.reason)


def write_orders(imp: Importer, batch: list[OrderIn]) -> dict[str, int]:
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    latest: dict[tuple[str, str, str], OrderIn] = {}
    for o in batch:  # the same order twice in one batch: the later row is the newer export
        latest[(o.channel, o.shop_code, o.external_id)] = o
    profile_ids, _ = record_profiles(imp.s, imp.vault, imp.lookups,
                                     [o.profile for o in latest.values() if o.profile is not None])
    by_shop: dict[int, list[OrderIn]] = {}
    for o in latest.values():
        by_shop.setdefault(imp._shop(o.channel, o.shop_code, o.shop_name), []).append(o)
    by_shop = _home_shops(imp, by_shop)
    # receivers known only by a platform's phone index: the phone, where the index has been learned
    learned = repo.learned_phones(imp.s, {(o.channel, o.receiver_phone_index) for o in latest.values()
                                          if o.receiver_phone_index and not o.receiver_phone})
    touched: list[int] = []
    stamp = now()
    for shop_id, orders in by_shop.items():
        existing = repo.orders_by_key(imp.s, shop_id, [o.external_id for o in orders])
        new_rows, changed_rows, changed_orders, new_orders = [], [], [], []
        for o in orders:
            pkey = (o.profile.channel, o.profile.external_id) if o.profile else None
            h = _order_hash(o, pkey)
            old = existing.get(o.external_id)
            if old is not None and old.row_hash == h:
                counts["unchanged"] += 1
                continue
            row = _order_row(imp, shop_id, o, profile_ids.get(pkey) if pkey else None, h, stamp)
            if row["receiver_phone_bidx"] is None and o.receiver_phone_index:
                row["receiver_phone_bidx"] = learned.get((o.channel, o.receiver_phone_index))
            if old is None:
                row["imported_at"] = stamp
                new_rows.append(row)
                new_orders.append(o)
            else:
                row["id"] = old.id
                changed_rows.append(row)
                changed_orders.append((old.id, o))
        repo.insert_rows(imp.s, Order, new_rows)
        repo.update_rows(imp.s, Order, changed_rows)
        # a receiver phone, or name, is identity evidence for the buyer (analytics.oneid counts usual ones)
        note_arrived(imp.s, (r["profile_id"] for r in new_rows + changed_rows
                             if r.get("receiver_phone_bidx") or r.get("receiver_surname_bidx")))
        counts["inserted"] += len(new_rows)
        counts["updated"] += len(changed_rows)
        ids = {o.external_id: oid for oid, o in changed_orders}
        if new_orders:
            fresh = repo.orders_by_key(imp.s, shop_id, [o.external_id for o in new_orders])
            ids.update({k: v.id for k, v in fresh.items()})
        # Lines: replaced as a whole when an order changes (None = lines live in another file).
        written = [(ids[o.external_id], o) for o in new_orders] + changed_orders
        note_orders(imp.s, (oid for oid, _ in written))
        with_lines = [(oid, o) for oid, o in written if o.items is not None]
        repo.delete_items(imp.s, [oid for oid, o in changed_orders if o.items is not None])
        repo.insert_rows(imp.s, OrderItem, [_item_row(imp, oid, it, stamp) for oid, o in with_lines
                                            for it in o.items or []])
        _sync_embedded_refunds(imp, shop_id, written, stamp)
        attached = repo.attach_waiting_refunds(imp.s, _channel_shops(imp, shop_id), shop_id,
                                               {o.external_id: ids[o.external_id] for o in new_orders})
        # Refunded sums change only where refunds were written, attached or may have vanished.
        touched.extend(oid for oid, o in changed_orders)
        touched.extend(oid for oid, o in written if o.refunds)
        touched.extend(attached)
    repo.recompute_refunded(imp.s, touched, stamp)
    return counts


def _channel_shops(imp: Importer, shop_id: int) -> list[int]:
    channel = next(cid for (cid, _code), sid in imp.shops.items() if sid == shop_id)
    return [sid for (cid, _code), sid in imp.shops.items() if cid == channel]


def _home_shops(imp: Importer, by_shop: dict[int, list[Any]], key: str = "external_id") -> dict[int, list[Any]]:
    """Platform order numbers are unique across a platform, and one shop reaches Siyu under two names
    (the seller centre's shop id in its CSV, the seller nick in TOP responses): an order already stored
    under another shop of the same channel stays there instead of being stored twice."""
    out: dict[int, list[Any]] = {}
    for shop_id, items in by_shop.items():
        siblings = [sid for sid in _channel_shops(imp, shop_id) if sid != shop_id]
        home = repo.order_shops(imp.s, siblings, sorted({getattr(x, key) for x in items})) if siblings else {}
        for x in items:
            out.setdefault(home.get(getattr(x, key), shop_id), []).append(x)
    return out


def _order_row(imp: Importer, shop_id: int, o: OrderIn, profile_id: int | None, h: str, stamp: Any) -> dict[str, Any]:
    v = imp.vault
    phone = o.receiver_phone
    return {
        "shop_id": shop_id, "external_id": o.external_id, "profile_id": profile_id,
        "store_id": imp._code(imp.stores, "store_code", o.store_code),
        "guide_id": imp._code(imp.guides, "guide_code", o.guide_code), "status": o.status,
        "platform_status": (o.platform_status or "")[:64] or None, "created_at": o.created_at,
        "paid_at": o.paid_at, "completed_at": o.completed_at, "total_fen": o.total_fen,
        "discount_fen": o.discount_fen, "shipping_fen": o.shipping_fen, "paid_fen": o.paid_fen,
        "refunded_fen": 0, "item_count": sum(i.quantity for i in o.items or []),
        "receiver_name_enc": v.encrypt(o.receiver_name, "order.receiver_name"),
        **name_indexes(v, o.channel, o.receiver_name, "receiver_"),
        "receiver_phone_enc": v.encrypt(phone, "order.receiver_phone"),
        "receiver_phone_bidx": v.blind_index("phone", phone) if phone else None,
        "receiver_phone_index": o.receiver_phone_index, "receiver_phone_mask": receiver_mask(phone, o.receiver_phone_masked),
        "address_enc": v.encrypt(o.address, "order.address"),
        "receiver_street_bidx": street_index(v, o.address, o.province, o.city, o.district),
        "province": o.province, "city": o.city,
        "district": o.district, "row_hash": h, "updated_at": stamp,
    }


def _item_row(imp: Importer, order_id: int, it: Any, stamp: Any) -> dict[str, Any]:
    return {
        "order_id": order_id, "line_no": it.line_no, "external_id": it.external_id,
        "sku_id": imp.skus.get(it.sku_code or ""), "sku_code": it.sku_code, "product_code": it.product_code,
        "title": it.title, "colour": it.colour, "size": it.size, "quantity": it.quantity,
        "unit_price_fen": it.unit_price_fen, "paid_fen": it.paid_fen, "refunded_fen": 0, "updated_at": stamp,
    }


def _refund_row(shop_id: int, r: RefundIn, order_id: int | None, embedded: bool, stamp: Any) -> dict[str, Any]:
    return {
        "shop_id": shop_id, "external_id": r.external_id, "order_external_id": r.order_external_id,
        "order_id": order_id, "line_no": r.line_no, "item_external_id": r.item_external_id,
        "amount_fen": r.amount_fen, "status": r.status, "requested_at": r.requested_at,
        "completed_at": r.completed_at, "reason": r.reason, "embedded": embedded, "row_hash": _refund_hash(r),
        "updated_at": stamp,
    }


def _sync_embedded_refunds(imp: Importer, shop_id: int, orders: list[tuple[int, OrderIn]], stamp: Any) -> None:
    """An order export states all of its refunds: add new ones, update changed ones, drop vanished ones."""
    if not orders:
        return
    wanted = {r.external_id: (oid, r) for oid, o in orders for r in o.refunds}
    stale = [row.id for row in repo.embedded_refunds_of(imp.s, [oid for oid, _ in orders])
             if row.external_id not in wanted]
    repo.delete_refunds(imp.s, stale)
    _upsert_refunds(imp, shop_id, {k: (oid, r) for k, (oid, r) in wanted.items()}, embedded=True, stamp=stamp)


def _upsert_refunds(imp: Importer, shop_id: int, wanted: dict[str, tuple[int | None, RefundIn]], *,
                    embedded: bool, stamp: Any) -> dict[str, int]:
    existing = repo.refunds_by_key(imp.s, shop_id, list(wanted))
    new, changed, same = [], [], 0
    for ext, (oid, r) in wanted.items():
        old = existing.get(ext)
        row = _refund_row(shop_id, r, oid, embedded, stamp)
        if old is None:
            new.append(row)
        elif old.row_hash != row["row_hash"] or (oid is not None and old.order_id != oid):
            row["id"] = old.id
            changed.append(row)
        else:
            same += 1
    repo.insert_rows(imp.s, Refund, new)
    repo.update_rows(imp.s, Refund, changed)
    return {"inserted": len(new), "updated": len(changed), "unchanged": same}


def write_refunds(imp: Importer, batch: list[RefundIn]) -> dict[str, int]:
    """Refunds sent on their own (mini-program, POS returns); one whose order has not arrived yet is kept
    and applied when the order is imported."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    by_shop: dict[int, dict[str, RefundIn]] = {}
    grouped: dict[int, list[RefundIn]] = {}
    for r in batch:
        grouped.setdefault(imp._shop(r.channel, r.shop_code, r.shop_code), []).append(r)
    for sid, refunds in _home_shops(imp, grouped, key="order_external_id").items():
        for r in refunds:
            by_shop.setdefault(sid, {})[r.external_id] = r
    stamp = now()
    touched: list[int] = []
    for shop_id, refunds in by_shop.items():
        orders = repo.orders_by_key(imp.s, shop_id, sorted({r.order_external_id for r in refunds.values()}))
        wanted = {}
        for ext, r in refunds.items():
            found = orders.get(r.order_external_id)
            wanted[ext] = (found.id if found else None, r)
            if found:
                touched.append(found.id)
        c = _upsert_refunds(imp, shop_id, wanted, embedded=False, stamp=stamp)
        for k in counts:
            counts[k] += c[k]
    repo.recompute_refunded(imp.s, touched, stamp)
    note_orders(imp.s, touched)
    return counts


# How far along an order is; a push never moves an order back (pushes arrive out of order).
LIFECYCLE = {"created": 0, "paid": 1, "shipped": 2, "completed": 3, "cancelled": 4, "refunded": 4}


def apply_status(imp: Importer, channel: str, external_id: str, status: str, platform_status: str,
                 at: Any, refund_id: str) -> str:
    """A platform's status push for one order: ``applied``, ``stale`` (the order is already further
    along) or ``no_order`` (not imported yet: the next export or API pull brings it with its status).

    ``closed`` means cancelled before payment, or refunded in full after it: then the part not yet
    refunded is recorded as one refund named ``refund_id``, as the order exports do.
    """
    channel_id = imp.channels[channel]
    row = repo.order_state(imp.s, [sid for (cid, _), sid in imp.shops.items() if cid == channel_id], external_id)
    if row is None:
        return "no_order"
    if status == "closed":
        rest = row.paid_fen - row.refunded_fen
        if row.paid_fen > 0 and rest > 0:
            shop_code = next(code for (cid, code), sid in imp.shops.items() if sid == row.shop_id)
            write_refunds(imp, [RefundIn(channel=channel, shop_code=shop_code, external_id=refund_id,
                                         order_external_id=external_id, amount_fen=rest, status="success",
                                         completed_at=at)])
            return "applied"
        status = "refunded" if row.paid_fen > 0 else "cancelled"
    if row.status in ("cancelled", "refunded") or LIFECYCLE[status] < LIFECYCLE[row.status]:
        return "stale"
    repo.set_order_status(imp.s, row.id, status, platform_status[:64],
                          at if status == "completed" else None, now())
    note_orders(imp.s, [row.id])
    return "applied"
