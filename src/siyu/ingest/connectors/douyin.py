"""Douyin shop (抖店) ``order.searchList`` responses (one per line, or one response per file).

Amounts are fen, times Unix seconds. The buyer is ``doudian_open_id``; the receiver's phone is only
masked (``1********35``) or platform-encrypted. The ciphertext ``encrypt_post_tel`` begins with the
platform's search index of the phone (``#<index>#<cipher>…``), kept as the order's
``receiver_phone_index``: once the shop has asked Douyin for the index of a phone it knows
(``order.getSearchIndex``), the order's receiver is that phone, evidence of the buyer as any receiver
phone is. A sub-order whose
``after_sale_info.refund_status`` is 3 (退款成功) was refunded in full; a fully refunded order
(``main_status`` 21 / 22 / 39) also returns what its lines do not cover (shipping).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.api import ApiError, dig, records
from siyu.ingest.connectors.base import FieldError, Probe, conv, opt, req
from siyu.ingest.schemas import (
    DOUYIN,
    MASKED_PHONE,
    Ident,
    ItemIn,
    OrderIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
)

# order_status → canonical; 4 (已取消) is refined by whether the order was ever paid.
ORDER_STATUS = {1: "created", 105: "paid", 2: "paid", 101: "shipped", 3: "shipped", 4: "closed", 5: "completed"}
REFUNDED_MAIN = {21, 22, 39}
SEARCHABLE = re.compile(r"#([A-Za-z0-9+/=]{8,64})#")


def _int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError("expected an integer")
    return raw


def _unix(raw: Any) -> Any:
    return nz.unix_time(raw)


def _text(raw: Any) -> str:
    if not isinstance(raw, str | int):
        raise ValueError("expected text")
    return str(raw).strip()


def _orders(resp: dict[str, Any]) -> list[Any]:
    if resp.get("code") != 10000:
        raise ApiError("code", resp.get("code"),
                       f"API error response: {resp.get('msg') or resp.get('sub_msg') or 'no message'}")
    orders = dig(resp, "data", "shop_order_list")
    if not isinstance(orders, list):
        raise ApiError("data.shop_order_list", "", "missing order list")
    return orders


def _spec(spec: Any) -> tuple[str | None, str | None]:
    colour = size = None
    if isinstance(spec, list):
        for s in spec:
            if isinstance(s, dict):
                if s.get("name") in ("颜色", "颜色分类"):
                    colour = str(s.get("value"))
                elif s.get("name") in ("尺码", "尺寸"):
                    size = str(s.get("value"))
    return colour, size


class DouyinOrders:
    name, priority = "douyin_orders", 20

    def detect(self, probe: Probe) -> bool:
        obj = probe.first_json
        return isinstance(obj, dict) and isinstance(obj.get("data"), dict) and "shop_order_list" in obj["data"]

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        yield from records(path, _orders, self._order, lambda o: str(o.get("order_id") or "") or None)

    def _order(self, obj: dict[str, Any]) -> OrderIn:
        order_id = req(obj, "order_id", _text)
        code = req(obj, "order_status", _int)
        status = ORDER_STATUS.get(code)
        if status is None:
            raise FieldError("order_status", str(code), "unknown Douyin order status")
        main = opt(obj, "main_status", _int)
        paid = req(obj, "pay_amount", nz.fen_from_fen)
        pay_time = opt(obj, "pay_time", _unix)
        if status == "closed" or main in REFUNDED_MAIN:
            status = "refunded" if paid > 0 and pay_time is not None else "cancelled"
        created = req(obj, "create_time", lambda v: nz.unix_time(v, allow_zero=False))
        open_id = req(obj, "doudian_open_id", _text)
        profile = ProfileIn(channel="douyin", external_id=open_id, idents=[Ident(DOUYIN, open_id)], seen_at=created)
        masked = opt(obj, "mask_post_tel", _text)
        if masked:
            profile.idents.append(Ident(MASKED_PHONE, masked))
        index = None
        cipher = opt(obj, "encrypt_post_tel", _text)
        if cipher:
            found = SEARCHABLE.match(cipher)
            if found is None:
                raise FieldError("encrypt_post_tel", cipher[:24], "not Douyin's #<search index>#<cipher> form")
            index = found.group(1)
        addr = obj.get("mask_post_addr") or obj.get("post_addr") or {}
        region = {k: (addr.get(k) or {}).get("name") if isinstance(addr.get(k), dict) else None
                  for k in ("province", "city", "town")} if isinstance(addr, dict) else {}
        skus = obj.get("sku_order_list")
        if not isinstance(skus, list) or not skus:
            raise FieldError("sku_order_list", repr(skus)[:80], "an order needs at least one sub-order")
        items, refunds = [], []
        for i, s in enumerate(skus, start=1):
            if not isinstance(s, dict):
                raise FieldError(f"sku_order_list[{i - 1}]", repr(s)[:80], "expected an object")
            qty = req(s, "item_num", _int)
            if qty <= 0:
                raise FieldError(f"sku_order_list[{i - 1}].item_num", str(qty), "must be positive")
            origin = req(s, "origin_amount", nz.fen_from_fen)
            line_paid = req(s, "pay_amount", nz.fen_from_fen)
            colour, size = _spec(s.get("spec"))
            sub_id = req(s, "order_id", _text)
            items.append(ItemIn(line_no=i, quantity=qty, unit_price_fen=origin // qty, paid_fen=line_paid,
                                external_id=sub_id, sku_code=opt(s, "code", _text),
                                title=opt(s, "product_name", nz.text), colour=colour, size=size))
            after = s.get("after_sale_info") or {}
            if isinstance(after, dict) and after.get("refund_status") == 3 and line_paid > 0:
                refunds.append(RefundIn(channel="douyin", shop_code=str(obj.get("shop_id") or "douyin"),
                                        external_id=sub_id, order_external_id=order_id, line_no=i,
                                        item_external_id=sub_id, amount_fen=line_paid, status="success"))
        shop_code = str(req(obj, "shop_id", _text))
        if status == "refunded":
            rest = paid - sum(r.amount_fen for r in refunds)
            if rest > 0:
                refunds.append(RefundIn(channel="douyin", shop_code=shop_code, external_id=f"{order_id}:order",
                                        order_external_id=order_id, amount_fen=rest, status="success"))
        for r in refunds:
            r.shop_code = shop_code
        shipping = opt(obj, "post_amount", nz.fen_from_fen) or 0
        return OrderIn(
            channel="douyin", shop_code=shop_code, shop_name=opt(obj, "shop_name", nz.text) or "抖店",
            external_id=order_id, status=status, platform_status=str(obj.get("order_status_desc") or code),
            created_at=created, profile=profile, paid_at=pay_time, completed_at=opt(obj, "finish_time", _unix),
            total_fen=opt(obj, "order_amount", nz.fen_from_fen) or paid,
            discount_fen=opt(obj, "promotion_amount", nz.fen_from_fen) or 0, shipping_fen=shipping, paid_fen=paid,
            province=region.get("province"), city=region.get("city"), district=region.get("town"),
            # the street line as Douyin masks it (长江路***): its start is evidence, as TOP's (长江路**号)
            address=conv("mask_post_addr.detail", addr["detail"], nz.text)
            if isinstance(addr, dict) and addr.get("detail") else None,
            # the receiver's name as Douyin shows it (张**): its surname is evidence, as JD's and TOP's
            receiver_name=opt(obj, "mask_post_receiver", nz.text),
            receiver_phone_index=index, receiver_phone_masked=masked, items=items, refunds=refunds)
