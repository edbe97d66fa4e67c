"""Writing a ``SalesFrame``: new receipts as column loads, everything else by the per-record rules.

Per chunk of receipts: the content fingerprint of every receipt (the same text ``_order_hash`` writes,
built from columns), one join against the stored orders, then
- unchanged receipts: nothing;
- changed receipts (a re-export with corrections): ``write_orders``, which replaces lines and keeps
  refunds exactly as the per-record import does;
- new receipts: their card holders recorded in bulk, ids reserved, orders and lines loaded as columns
  (COPY on PostgreSQL), refunds that arrived first attached.
Everything happens in the caller's unit of work: a failure half-way leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.core.clock import now
from siyu.core.columns import utc_text
from siyu.identity.keyed import record_keyed_profiles
from siyu.ingest import repository as repo
from siyu.ingest.connectors.base import FieldError, reject
from siyu.ingest.connectors.pos import SHOP, PosSales, card_profile
from siyu.ingest.orders import GS, RS, US, _channel_shops, write_orders
from siyu.ingest.sales_frame import SalesFrame
from siyu.ingest.schemas import CARD, ItemIn, OrderIn
from siyu.models import Order, OrderItem

if TYPE_CHECKING:
    from siyu.ingest.service import FileReport, Importer

CHUNK = 250_000  # receipts per step: ~1 GB of Python objects at most, a progress tick every few seconds


def can_take(imp: Importer) -> bool:
    """One POS shop per brand is the rule; a brand whose POS orders live under several shop names needs
    the per-record path's shop reconciliation (``_home_shops``)."""
    pos = imp.channels["pos"]
    return not any(cid == pos and code != SHOP[0] for cid, code in imp.shops)


def import_frame(imp: Importer, path: Path, frame: SalesFrame, report: FileReport,
                 on_progress: Callable[[int], None] | None) -> None:
    _slow_receipts(imp, path, frame, report)
    shop_id = imp._shop("pos", *SHOP)
    check = repo.has_orders(imp.s, shop_id)
    waiting = repo.has_waiting_refunds(imp.s, _channel_shops(imp, shop_id))
    skus = (pa.array(list(imp.skus), pa.string()), np.fromiter(imp.skus.values(), np.int64, len(imp.skus)))
    item_order = frame.items["order"].to_numpy()
    n = frame.orders.num_rows
    for start in range(0, n, CHUNK):
        o = frame.orders.slice(start, CHUNK)
        a, b = np.searchsorted(item_order, [start, start + o.num_rows])
        it = frame.items.slice(a, b - a)
        local = item_order[a:b] - start
        report.read += o.num_rows
        hashes = fingerprints(o, it, local)
        keep = np.ones(o.num_rows, dtype=bool)
        if check:
            keep = _changed_and_unchanged(imp, shop_id, o, it, local, hashes, report)
        _insert_new(imp, shop_id, o.filter(pa.array(keep)), it.filter(pa.array(keep[local])),
                    np.cumsum(keep)[local[keep[local]]] - 1, [h for h, k in zip(hashes, keep, strict=True) if k],
                    skus, waiting, report)
        if on_progress:
            on_progress(o.num_rows)


def _slow_receipts(imp: Importer, path: Path, frame: SalesFrame, report: FileReport) -> None:
    """Rows the column checks did not pass, judged one by one by the per-record connector."""
    for line in frame.empty_receipt_lines:
        report.read += 1
        report.rejected += 1
        imp._report.reject(reject(path, f"line {line}", FieldError("receipt_no", "", "empty")))
    orders, pos = [], PosSales()
    for receipt, rows in frame.slow.items():
        report.read += 1
        try:
            orders.append(pos._order(receipt, rows))
        except FieldError as exc:
            report.rejected += 1
            imp._report.reject(reject(path, f"line {rows[0][0]} (receipt {receipt})", exc))
    for i in range(0, len(orders), imp.batch_size):
        report.add(write_orders(imp, orders[i: i + imp.batch_size]))


def fingerprints(o: pa.Table, it: pa.Table, local: np.ndarray) -> list[str]:
    """``_order_hash`` of each receipt, from columns: same text, same MD5."""
    s = pa.string()
    lines = pc.binary_join_element_wise(
        it["line_no"].cast(s), "", it["sku_code"], it["quantity"].cast(s), it["unit_price_fen"].cast(s),
        it["paid_fen"].cast(s), US)
    offsets = np.zeros(o.num_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(local, minlength=o.num_rows), out=offsets[1:])
    items_text = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), lines.combine_chunks()), RS)
    sold = utc_text(o["sold"])  # '2024-06-18 02:23:45.000000', as fingerprint_text writes it
    card = o["card"]
    pkey = pc.if_else(pc.equal(card, ""), "", pc.binary_join_element_wise("pos", card, ":"))
    head = pc.binary_join_element_wise(
        "completed", "sold", sold, sold, sold, o["total_fen"].cast(s), o["discount_fen"].cast(s), "0",
        o["paid_fen"].cast(s), "", "", "", "", "", "", o["store_code"], o["guide_code"], pkey, "+", US)
    text = pc.binary_join_element_wise(head, items_text, "", GS).cast(pa.binary())
    md5 = hashlib.md5
    return [md5(t, usedforsecurity=False).hexdigest() for t in text.to_pylist()]


def _changed_and_unchanged(imp: Importer, shop_id: int, o: pa.Table, it: pa.Table, local: np.ndarray,
                           hashes: list[str], report: FileReport) -> np.ndarray:
    """Receipts already stored: unchanged ones are counted, changed ones rewritten by ``write_orders``.
    Returns the mask of receipts that are new."""
    stored = repo.order_hashes(imp.s, shop_id, o["receipt"].combine_chunks())
    if not stored:
        return np.ones(o.num_rows, dtype=bool)
    receipts = o["receipt"].to_pylist()
    new = np.array([r not in stored for r in receipts], dtype=bool)
    changed = [i for i, r in enumerate(receipts) if r in stored and stored[r][1] != hashes[i]]
    report.unchanged += int((~new).sum()) - len(changed)
    if changed:
        report.add(write_orders(imp, [_order_in(o, it, local, i) for i in changed]))
    return new


def _order_in(o: pa.Table, it: pa.Table, local: np.ndarray, i: int) -> OrderIn:
    """Receipt ``i`` as the per-record connector would have built it."""
    head = o.slice(i, 1).to_pylist()[0]
    rows = it.filter(pa.array(local == i)).to_pylist()
    sold, card = head["sold"], head["card"]
    items = [ItemIn(line_no=r["line_no"], quantity=r["quantity"], unit_price_fen=r["unit_price_fen"],
                    paid_fen=r["paid_fen"], sku_code=r["sku_code"]) for r in rows]
    return OrderIn(channel="pos", shop_code=SHOP[0], shop_name=SHOP[1], external_id=head["receipt"],
                   status="completed", platform_status="sold", created_at=sold, paid_at=sold, completed_at=sold,
                   total_fen=head["total_fen"], discount_fen=head["discount_fen"], paid_fen=head["paid_fen"],
                   profile=card_profile(card, seen_at=sold) if card else None, store_code=head["store_code"],
                   guide_code=head["guide_code"] or None, items=items)


def _lookup(values: pa.ChunkedArray, keys: pa.Array, ids: np.ndarray) -> pa.Array:
    """code → id through a value set; unknown codes become null."""
    pos = pc.index_in(values, value_set=keys)
    return pc.take(pa.array(ids, pa.int64()), pos) if len(ids) else pa.nulls(len(values), pa.int64())


def _codes(imp: Importer, values: pa.ChunkedArray, table: dict[str, int], field_: str) -> pa.Array:
    """Store or guide ids; a code the brand has not imported is kept as null and counted as a warning
    per record, as ``Importer._code`` does."""
    named = values.filter(pc.not_equal(values, ""))
    counts = pc.value_counts(named).to_pylist() if len(named) else []
    for c in counts:
        if c["values"] not in table:
            imp._report.warn(field_, c["values"], "unknown code; the record was kept without it", c["counts"])
    keys = [c["values"] for c in counts if c["values"] in table]
    return _lookup(values, pa.array(keys, pa.string()), np.array([table[k] for k in keys], dtype=np.int64))


def _profiles(imp: Importer, o: pa.Table, stamp: datetime) -> pa.Array:
    carded = o.filter(pc.not_equal(o["card"], ""))
    if carded.num_rows == 0:
        return pa.nulls(o.num_rows, pa.int64())
    firsts = carded.group_by("card").aggregate([("sold", "min")])
    first_seen = dict(zip(firsts["card"].to_pylist(), firsts["sold_min"].to_pylist(), strict=True))
    ids, _ = record_keyed_profiles(imp.s, imp.vault, imp.channels["pos"], CARD, first_seen, stamp)
    return _lookup(o["card"], pa.array(list(ids), pa.string()), np.fromiter(ids.values(), np.int64, len(ids)))


def _insert_new(imp: Importer, shop_id: int, o: pa.Table, it: pa.Table, local: np.ndarray, hashes: list[str],
                skus: tuple[pa.Array, np.ndarray], waiting: bool, report: FileReport) -> None:
    n = o.num_rows
    if n == 0:
        return
    stamp = now()
    ids = repo.new_ids(imp.s, Order, n)
    repo.load_rows(imp.s, Order, pa.table({
        "id": ids, "external_id": o["receipt"], "profile_id": _profiles(imp, o, stamp),
        "store_id": _codes(imp, o["store_code"], imp.stores, "store_code"),
        "guide_id": _codes(imp, o["guide_code"], imp.guides, "guide_code"), "created_at": o["sold"],
        "total_fen": o["total_fen"], "discount_fen": o["discount_fen"], "paid_fen": o["paid_fen"],
        "item_count": o["item_count"], "row_hash": pa.array(hashes, pa.string()),
    }), constants={"shop_id": shop_id, "status": "completed", "platform_status": "sold", "shipping_fen": 0,
                   "refunded_fen": 0, "imported_at": stamp, "updated_at": stamp},
        same={"paid_at": "created_at", "completed_at": "created_at"})
    repo.load_rows(imp.s, OrderItem, pa.table({
        "order_id": ids[local], "line_no": it["line_no"], "sku_id": _lookup(it["sku_code"], *skus),
        "sku_code": it["sku_code"], "quantity": it["quantity"], "unit_price_fen": it["unit_price_fen"],
        "paid_fen": it["paid_fen"],
    }), constants={"refunded_fen": 0, "updated_at": stamp})
    report.inserted += n
    if waiting:
        attached = repo.attach_waiting_refunds(imp.s, _channel_shops(imp, shop_id), shop_id,
                                               dict(zip(o["receipt"].to_pylist(), ids.tolist(), strict=True)))
        repo.recompute_refunded(imp.s, sorted(attached), stamp)

