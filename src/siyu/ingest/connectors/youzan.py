"""Youzan (有赞) shop orders: responses of ``youzan.trades.sold.get`` 4.x.

``{"success": true, "code": 200, "data": {"total_results": …, "full_order_info_list": [{"full_order_info":
{"order_info", "buyer_info", "pay_info", "address_info", "orders": [...]}, "refund_order": [...]}]}}``;
an error is ``success: false`` with ``code`` and ``message``. Amounts are yuan strings, times Beijing
time. Youzan is a brand's own WeChat store, so the buyer's phone (``buyer_info.buyer_phone``) is usually
in clear, next to ``yz_open_id``. Refunds are read from ``refund_order`` (one per refund, naming the
sub-orders in ``oids``); a trade closed after payment with no refund listed was refunded in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.api import ApiError, as_list, dig, quantity, records, text, yuan
from siyu.ingest.connectors.base import FieldError, Probe, opt, req
from siyu.ingest.schemas import (
    MASKED_PHONE,
    PHONE,
    YOUZAN,
    Ident,
    ItemIn,
    OrderIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
)

STATUS = {
    "WAIT_BUYER_PAY": "created", "TRADE_PAID": "paid", "WAIT_CONFIRM": "paid", "WAIT_SELLER_SEND_GOODS": "paid",
    "WAIT_BUYER_CONFIRM_GOODS": "shipped", "TRADE_SUCCESS": "completed", "TRADE_CLOSED": "closed",
}
# refund_order[].refund_state: 1 applied … 60 refunded (退款成功); 50/-1 closed or refused
REFUND_STATE = {60: "success", 50: "closed", -1: "closed"}


def _list(resp: dict[str, Any]) -> list[Any]:
    if resp.get("success") is False or resp.get("code") not in (200, None):
        raise ApiError("code", resp.get("code"), f"API error response: {resp.get('message') or 'no message'}")
    data = resp.get("data") if "data" in resp else resp.get("response")
    if not isinstance(data, dict):
        raise ApiError("data", "", "missing response body")
    return as_list(data.get("full_order_info_list"), "full_order_info_list")


def _props(raw: Any) -> dict[str, str]:
    """``sku_properties_name`` is a JSON string: ``[{"k":"颜色","v":"黑色"}, …]``."""
    if not raw:
        return {}
    try:
        value = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        return {}
    return {str(p.get("k")): str(p.get("v")) for p in value if isinstance(p, dict)} if isinstance(value, list) else {}


def _section(full: dict[str, Any], name: str) -> dict[str, Any]:
    value = full.get(name) or {}
    if not isinstance(value, dict):
        raise FieldError(name, repr(value)[:80], "expected an object")
    return value


def trade_record(entry: dict[str, Any]) -> OrderIn:
    """One ``full_order_info_list`` entry (or a push's ``full_order_info``) as a canonical order."""
    full = entry.get("full_order_info")
    if not isinstance(full, dict):
        raise FieldError("full_order_info", repr(full)[:80], "expected an object")
    info, buyer, pay, addr = (_section(full, n) for n in ("order_info", "buyer_info", "pay_info", "address_info"))
    tid = req(info, "tid", text)
    raw = req(info, "status", text)
    status = STATUS.get(raw)
    if status is None:
        raise FieldError("order_info.status", raw, "unknown Youzan trade status")
    created = req(info, "created", lambda v: nz.beijing_text(v, allow_blank=False))
    paid_at = opt(info, "pay_time", nz.beijing_text)
    paid = req(pay, "payment", yuan) if paid_at else 0
    open_id = opt(buyer, "yz_open_id", text)
    try:
        full_phone, masked = nz.phone_or_masked(buyer.get("buyer_phone"))
    except ValueError as exc:
        raise FieldError("buyer_info.buyer_phone", str(buyer.get("buyer_phone")), str(exc)) from None
    if not open_id and not full_phone:
        raise FieldError("buyer_info.yz_open_id", "", "a trade needs yz_open_id or buyer_phone")
    profile = ProfileIn(channel="youzan", external_id=open_id or full_phone or "", seen_at=created)
    if open_id:
        profile.idents.append(Ident(YOUZAN, open_id))
    if full_phone:
        profile.idents.append(Ident(PHONE, full_phone))
    elif masked:
        profile.idents.append(Ident(MASKED_PHONE, masked))
    items = []
    for i, o in enumerate(as_list(full.get("orders"), "orders"), start=1):
        if not isinstance(o, dict):
            raise FieldError(f"orders[{i - 1}]", repr(o)[:80], "expected an object")
        props = _props(o.get("sku_properties_name"))
        items.append(ItemIn(line_no=i, quantity=req(o, "num", quantity), unit_price_fen=req(o, "price", yuan),
                            paid_fen=opt(o, "payment", yuan) or 0, external_id=opt(o, "oid", text),
                            sku_code=opt(o, "outer_sku_id", text), product_code=opt(o, "outer_item_id", text),
                            title=opt(o, "title", nz.text), colour=props.get("颜色"),
                            size=props.get("尺码") or props.get("尺寸")))
    if not items:
        raise FieldError("orders", "", "a trade needs at least one sub-order")
    shop = opt(info, "node_kdt_id", text) or opt(info, "kdt_id", text) or "youzan"
    refunds = []
    line_of = {it.external_id: it.line_no for it in items}
    for k, r in enumerate(as_list(entry.get("refund_order"), "refund_order")):
        if not isinstance(r, dict):
            raise FieldError(f"refund_order[{k}]", repr(r)[:80], "expected an object")
        state = opt(r, "refund_state", lambda v: int(v))
        oids = [s for s in str(r.get("oids") or "").split(",") if s]
        refunds.append(RefundIn(
            channel="youzan", shop_code=shop, external_id=req(r, "refund_id", text), order_external_id=tid,
            amount_fen=req(r, "refund_fee", yuan), status=REFUND_STATE.get(state or 0, "requested"),
            line_no=line_of.get(oids[0]) if len(oids) == 1 else None,
            item_external_id=oids[0] if len(oids) == 1 else None))
    if status == "closed":
        status = "refunded" if paid > 0 else "cancelled"
        if status == "refunded" and not refunds:
            refunds.append(RefundIn(channel="youzan", shop_code=shop, external_id=f"{tid}:closed",
                                    order_external_id=tid, amount_fen=paid, status="success"))
    return OrderIn(
        channel="youzan", shop_code=shop, shop_name="有赞微商城", external_id=tid, status=status,
        platform_status=opt(info, "status_str", nz.text) or raw, created_at=created, profile=profile,
        paid_at=paid_at, completed_at=opt(info, "success_time", nz.beijing_text) if status == "completed" else None,
        total_fen=opt(pay, "total_fee", yuan) or 0, shipping_fen=opt(pay, "post_fee", yuan) or 0, paid_fen=paid,
        receiver_name=opt(addr, "receiver_name", nz.text),
        receiver_phone=(opt(addr, "receiver_tel", nz.phone_or_masked) or (None, None))[0],
        address=opt(addr, "delivery_address", nz.text), province=opt(addr, "delivery_province", nz.text),
        city=opt(addr, "delivery_city", nz.text), district=opt(addr, "delivery_district", nz.text),
        items=items, refunds=refunds)


class YouzanTrades:
    name, priority = "youzan_trades", 20

    def detect(self, probe: Probe) -> bool:
        obj = probe.first_json
        body = obj.get("data") if isinstance(obj, dict) else None
        return isinstance(body, dict) and "full_order_info_list" in body

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        yield from records(path, _list, trade_record, lambda e: str(dig(e, "full_order_info", "order_info", "tid") or "") or None)
