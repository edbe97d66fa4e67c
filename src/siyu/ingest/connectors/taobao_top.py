"""Taobao Open Platform (TOP) responses: ``taobao.trades.sold.get`` and ``taobao.refunds.receive.get``.

What TOP sends (JSON format, ``format=json``): ``{"trades_sold_get_response": {"total_results": …,
"has_next": …, "trades": {"trade": [...]}}}``, each trade with its sub-orders in ``orders.order``; errors
arrive as ``{"error_response": {"code", "msg", "sub_code", "sub_msg"}}``. Amounts are yuan strings
(``"200.07"``), times Beijing-time strings. The buyer is ``buyer_open_uid`` (per application); the
receiver's phone is masked (``138****1234``) unless the shop decrypted it. ``oaid`` identifies the
*receiver* (name, phone, address), not the buyer, so it is not used to join people.

A trade does not carry refund amounts: ``TRADE_CLOSED`` (paid, then refunded in full) sets the status,
and the amounts come from ``taobao.refunds.receive.get``, one refund per sub-order (``oid``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.api import ApiError, as_list, dig, quantity, records, text, yuan
from siyu.ingest.connectors.base import FieldError, Probe, opt, req
from siyu.ingest.schemas import (
    MASKED_PHONE,
    TAOBAO_NICK,
    TAOBAO_OUID,
    Ident,
    ItemIn,
    OrderIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
)

TRADE_STATUS = {
    "TRADE_NO_CREATE_PAY": "created", "WAIT_BUYER_PAY": "created", "PAY_PENDING": "created",
    "WAIT_PRE_AUTH_CONFIRM": "created", "WAIT_SELLER_SEND_GOODS": "paid", "PAID_FORBID_CONSIGN": "paid",
    "SELLER_CONSIGNED_PART": "shipped", "WAIT_BUYER_CONFIRM_GOODS": "shipped", "TRADE_BUYER_SIGNED": "shipped",
    "TRADE_FINISHED": "completed", "TRADE_CLOSED": "refunded", "TRADE_CLOSED_BY_TAOBAO": "cancelled",
}
REFUND_STATUS = {
    "WAIT_SELLER_AGREE": "requested", "WAIT_BUYER_RETURN_GOODS": "requested",
    "WAIT_SELLER_CONFIRM_GOODS": "requested", "SELLER_REFUSE_BUYER": "closed", "CLOSED": "closed",
    "SUCCESS": "success",
}
_PROPS = re.compile(r"(颜色分类|颜色|尺码|尺寸|鞋码)[：:]([^;；]+)")


def _error(resp: dict[str, Any]) -> None:
    err = resp.get("error_response")
    if isinstance(err, dict):
        detail = err.get("sub_msg") or err.get("msg") or "no message"
        raise ApiError("error_response.code", err.get("sub_code") or err.get("code"), f"API error response: {detail}")


def _trades(resp: dict[str, Any]) -> list[Any]:
    _error(resp)
    body = resp.get("trades_sold_get_response") or resp.get("open_trades_sold_get_response")
    if not isinstance(body, dict):
        raise ApiError("trades_sold_get_response", "", "missing response body")
    return as_list(dig(body, "trades", "trade"), "trades.trade")


def _tid(obj: dict[str, Any], field: str) -> str:
    return req(obj, f"{field}_str", text) if obj.get(f"{field}_str") else req(obj, field, text)


def _trade(obj: dict[str, Any]) -> OrderIn:
    tid = _tid(obj, "tid")
    raw_status = req(obj, "status", text)
    status = TRADE_STATUS.get(raw_status)
    if status is None:
        raise FieldError("status", raw_status, "unknown Taobao trade status")
    created = req(obj, "created", lambda v: nz.beijing_text(v, allow_blank=False))
    paid_at = opt(obj, "pay_time", nz.beijing_text)
    paid = req(obj, "payment", yuan)
    if status == "refunded" and paid_at is None:
        status = "cancelled"  # closed before payment: nothing to refund
    ouid = opt(obj, "buyer_open_uid", text)
    nick = opt(obj, "buyer_nick", nz.text)
    if not ouid and not nick:
        raise FieldError("buyer_open_uid", "", "a trade needs buyer_open_uid or buyer_nick")
    profile = ProfileIn(channel="tmall", external_id=ouid or nick or "", seen_at=created)
    if ouid:
        profile.idents.append(Ident(TAOBAO_OUID, ouid))
    if nick and "*" not in nick:  # a desensitised nick (t**1) identifies nobody
        profile.idents.append(Ident(TAOBAO_NICK, nick))
    full, masked = opt(obj, "receiver_mobile", nz.phone_or_masked) or (None, None)
    if masked or full:
        profile.idents.append(Ident(MASKED_PHONE, masked or nz.mask_phone(full or "")))
    shop = opt(obj, "seller_nick", nz.text) or "tmall"
    items = []
    for i, o in enumerate(as_list(dig(obj, "orders", "order"), "orders.order"), start=1):
        where = f"orders.order[{i - 1}]"
        if not isinstance(o, dict):
            raise FieldError(where, repr(o)[:80], "expected a sub-order object")
        qty = req(o, "num", quantity)
        props = dict(_PROPS.findall(opt(o, "sku_properties_name", nz.text) or ""))
        items.append(ItemIn(
            line_no=i, quantity=qty, unit_price_fen=req(o, "price", yuan),
            paid_fen=opt(o, "payment", yuan) or 0, external_id=_tid(o, "oid"),
            sku_code=opt(o, "outer_sku_id", text), product_code=opt(o, "outer_iid", text),
            title=opt(o, "title", nz.text), colour=props.get("颜色分类") or props.get("颜色"),
            size=props.get("尺码") or props.get("尺寸") or props.get("鞋码")))
    if not items:
        raise FieldError("orders.order", "", "a trade needs at least one sub-order (ask for the orders field)")
    goods = sum(i.unit_price_fen * i.quantity for i in items)
    return OrderIn(
        channel="tmall", shop_code=shop, shop_name=shop, external_id=tid, status=status,
        platform_status=raw_status, created_at=created, profile=profile, paid_at=paid_at,
        completed_at=opt(obj, "end_time", nz.beijing_text) if status == "completed" else None,
        total_fen=opt(obj, "total_fee", yuan) or goods, discount_fen=opt(obj, "discount_fee", yuan) or 0,
        shipping_fen=opt(obj, "post_fee", yuan) or 0, paid_fen=paid if paid_at else 0,
        receiver_name=opt(obj, "receiver_name", nz.text), receiver_phone=full,
        receiver_phone_masked=masked,
        address=opt(obj, "receiver_address", nz.text), province=opt(obj, "receiver_state", nz.text),
        city=opt(obj, "receiver_city", nz.text), district=opt(obj, "receiver_district", nz.text), items=items)


class TopTrades:
    name, priority = "taobao_trades", 20

    def detect(self, probe: Probe) -> bool:
        obj = probe.first_json
        return isinstance(obj, dict) and ("trades_sold_get_response" in obj or "open_trades_sold_get_response" in obj)

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        yield from records(path, _trades, _trade, lambda o: str(o.get("tid_str") or o.get("tid") or "") or None)


def _refunds(resp: dict[str, Any]) -> list[Any]:
    _error(resp)
    body = resp.get("refunds_receive_get_response")
    if not isinstance(body, dict):
        raise ApiError("refunds_receive_get_response", "", "missing response body")
    return as_list(dig(body, "refunds", "refund"), "refunds.refund")


def _refund(obj: dict[str, Any]) -> RefundIn:
    refund_id = req(obj, "refund_id", text)
    tid = _tid(obj, "tid")
    raw = req(obj, "status", text)
    status = REFUND_STATUS.get(raw)
    if status is None:
        raise FieldError("status", raw, "unknown Taobao refund status")
    oid = _tid(obj, "oid") if obj.get("oid") or obj.get("oid_str") else None
    modified = opt(obj, "modified", nz.beijing_text)
    return RefundIn(channel="tmall", shop_code=opt(obj, "seller_nick", nz.text) or "tmall", external_id=refund_id,
                    order_external_id=tid, amount_fen=req(obj, "refund_fee", yuan), status=status,
                    # oid == tid: a refund of the trade itself (postage), not of one line
                    item_external_id=oid if oid and oid != tid else None,
                    requested_at=opt(obj, "created", nz.beijing_text),
                    completed_at=modified if status == "success" else None, reason=opt(obj, "reason", nz.text))


class TopRefunds:
    name, priority = "taobao_refunds", 30

    def detect(self, probe: Probe) -> bool:
        obj = probe.first_json
        return isinstance(obj, dict) and "refunds_receive_get_response" in obj

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        yield from records(path, _refunds, _refund, lambda o: str(o.get("refund_id") or "") or None)
