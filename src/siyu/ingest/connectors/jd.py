"""JD (京东) POP shop orders: responses of ``jingdong.pop.order.search`` (JOS).

JOS wraps the result as ``{"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result":
{"apiResult": {"success": true, …}, "orderInfoList": [...], "orderTotal": …}}}`` (JOS spells it
"responce"); errors come as ``{"error_response": {"code", "zh_desc", "en_desc"}}``. Amounts are yuan
strings, times Beijing-time strings. The buyer is ``open_id_buyer`` (or the older ``pin``); the
consignee's mobile is masked (``138****1234``), so it never joins people on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.api import ApiError, as_list, dig, quantity, records, text, yuan
from siyu.ingest.connectors.base import FieldError, Probe, opt, req
from siyu.ingest.schemas import (
    JD_PIN,
    MASKED_PHONE,
    Ident,
    ItemIn,
    OrderIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
)

ORDER_STATE = {
    "WAIT_SELLER_STOCK_OUT": "paid", "WAIT_SELLER_DELIVERY": "paid", "LOCKED": "paid", "PAUSE": "paid",
    "POP_ORDER_PAUSE": "paid", "WAIT_GOODS_RECEIVE_CONFIRM": "shipped", "FINISHED_L": "completed",
    "TRADE_CANCELED": "cancelled", "NOT_PAY": "created", "WAIT_BUYER_PAY": "created",
}
RESPONSE = "jingdong_pop_order_search_responce"


def _orders(resp: dict[str, Any]) -> list[Any]:
    err = resp.get("error_response")
    if isinstance(err, dict):
        raise ApiError("error_response.code", err.get("code"),
                       f"API error response: {err.get('zh_desc') or err.get('en_desc') or 'no message'}")
    result = dig(resp, RESPONSE, "searchorderinfo_result")
    if not isinstance(result, dict):
        raise ApiError("searchorderinfo_result", "", "missing response body")
    api = result.get("apiResult")
    if isinstance(api, dict) and api.get("success") is False:
        raise ApiError("apiResult.code", api.get("code"),
                       f"API error response: {api.get('chineseErrCode') or api.get('englishErrCode') or 'no message'}")
    return as_list(result.get("orderInfoList"), "orderInfoList")


def _order(obj: dict[str, Any]) -> OrderIn:
    order_id = req(obj, "orderId", text)
    raw_state = req(obj, "orderState", text)
    status = ORDER_STATE.get(raw_state)
    if status is None:
        raise FieldError("orderState", raw_state, "unknown JD order state")
    created = req(obj, "orderStartTime", lambda v: nz.beijing_text(v, allow_blank=False))
    paid_at = opt(obj, "paymentConfirmTime", nz.beijing_text)
    paid = req(obj, "orderPayment", yuan)
    if status == "cancelled" and paid_at is not None and paid > 0:
        status = "refunded"  # cancelled after payment: JD refunds the whole order
    buyer = opt(obj, "open_id_buyer", text) or opt(obj, "pin", text)
    if not buyer:
        raise FieldError("open_id_buyer", "", "an order needs open_id_buyer or pin")
    profile = ProfileIn(channel="jd", external_id=buyer, idents=[Ident(JD_PIN, buyer)], seen_at=created)
    consignee = obj.get("consigneeInfo") or {}
    if not isinstance(consignee, dict):
        raise FieldError("consigneeInfo", repr(consignee)[:80], "expected an object")
    full, masked = opt(consignee, "mobile", nz.phone_or_masked) or (None, None)
    if masked or full:
        profile.idents.append(Ident(MASKED_PHONE, masked or nz.mask_phone(full or "")))
    items = []
    for i, it in enumerate(as_list(obj.get("itemInfoList"), "itemInfoList"), start=1):
        if not isinstance(it, dict):
            raise FieldError(f"itemInfoList[{i - 1}]", repr(it)[:80], "expected an object")
        qty = req(it, "itemTotal", quantity)
        price = req(it, "jdPrice", yuan)
        items.append(ItemIn(line_no=i, quantity=qty, unit_price_fen=price, paid_fen=price * qty,
                            external_id=opt(it, "skuId", text), sku_code=opt(it, "outerSkuId", text),
                            product_code=opt(it, "productNo", text), title=opt(it, "skuName", nz.text)))
    if not items:
        raise FieldError("itemInfoList", "", "an order needs at least one item")
    # JD states the seller's discount per order: spread it over the lines in proportion to their value.
    discount = opt(obj, "sellerDiscount", yuan) or 0
    goods = sum(i.paid_fen for i in items)
    if discount and goods:
        left = discount
        for n, it in enumerate(items):
            share = left if n == len(items) - 1 else discount * it.paid_fen // goods
            it.paid_fen -= min(share, it.paid_fen)
            left -= share
    shop = opt(obj, "venderId", text) or "jd"
    order = OrderIn(
        channel="jd", shop_code=shop, shop_name=f"京东 {shop}", external_id=order_id, status=status,
        platform_status=opt(obj, "orderStateRemark", nz.text) or raw_state, created_at=created, profile=profile,
        paid_at=paid_at, completed_at=opt(obj, "orderEndTime", nz.beijing_text) if status == "completed" else None,
        total_fen=opt(obj, "orderTotalPrice", yuan) or goods, discount_fen=discount,
        shipping_fen=opt(obj, "freightPrice", yuan) or 0, paid_fen=paid if paid_at else 0,
        receiver_name=opt(consignee, "fullname", nz.text), receiver_phone=full,
        receiver_phone_masked=masked,
        address=opt(consignee, "fullAddress", nz.text), province=opt(consignee, "province", nz.text),
        city=opt(consignee, "city", nz.text), district=opt(consignee, "county", nz.text), items=items)
    if status == "refunded":
        order.refunds.append(RefundIn(channel="jd", shop_code=shop, external_id=f"{order_id}:cancel",
                                      order_external_id=order_id, amount_fen=order.paid_fen, status="success",
                                      completed_at=opt(obj, "modified", nz.beijing_text)))
    return order


class JdOrders:
    name, priority = "jd_orders", 20

    def detect(self, probe: Probe) -> bool:
        return isinstance(probe.first_json, dict) and RESPONSE in probe.first_json

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        yield from records(path, _orders, _order, lambda o: str(o.get("orderId") or "") or None)
