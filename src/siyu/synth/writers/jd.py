"""JD POP orders as ``jingdong.pop.order.search`` responses, one API page (50 orders) per line.

Amounts are yuan strings, times Beijing time; the buyer is ``open_id_buyer``; the consignee's mobile
is masked (``138****1234``). JOS reports a refund only as an order cancelled after payment.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import COMPLETED, CREATED_CANCELLED, JD, PAID, SHIPPED
from siyu.synth.text import (
    Json,
    beijing_time,
    concat,
    digits,
    group_offsets,
    json_array,
    mask_middle,
    mask_name,
    scramble,
    take,
    yuan,
)
from siyu.synth.world import COLOURS, SIZES
from siyu.synth.writers.common import write_lines

VENDER_ID = "10086123"
PAGE = 50


def order_ids(order_index: np.ndarray) -> pa.StringArray:
    return concat("2", digits(scramble(order_index, 31, 10), 11))


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    o, ln, ids, cat = brand.orders, brand.lines, brand.ids, brand.cat
    oi = np.flatnonzero(o.channel == JD)
    n = len(oi)
    li = np.flatnonzero(o.channel[ln.order] == JD)
    lo = ln.order[li]
    sku = ln.sku[li]
    items = (Json().s("skuId", concat("1000", digits(sku, 8))).s("outerSkuId", take(cat.sku_code, sku))
             .s("skuName", concat(take(cat.product_name, ln.product[li]), " ", take(COLOURS, cat.sku_colour[sku]),
                                  " ", take(SIZES, cat.sku_size[sku])))
             .s("jdPrice", yuan(ln.unit_price_fen[li])).s("itemTotal", pa.array(ln.quantity[li]).cast(pa.string()))
             .s("productNo", take(cat.product_code, ln.product[li])).build())
    item_lists = json_array(items, group_offsets(np.searchsorted(oi, lo), n))
    st = o.status[oi]
    unpaid = st == CREATED_CANCELLED
    cancelled = unpaid | o.refund_full[oi]
    code = np.select([cancelled, st == PAID, st == SHIPPED, st == COMPLETED], [0, 1, 2, 3], 3)
    state = take(["TRADE_CANCELED", "WAIT_SELLER_STOCK_OUT", "WAIT_GOODS_RECEIVE_CONFIRM", "FINISHED_L"], code)
    remark = take(["取消", "等待出库", "等待确认收货", "完成"], code)
    recv = pa.array(brand.receiver[oi])
    phone = brand.receiver_phone.take(pa.array(oi))
    modified = np.maximum.reduce([o.ts[oi], o.paid_ts[oi], o.done_ts[oi], o.refund_ts[oi]])
    none = pa.nulls(n, pa.string())
    orders = (Json().s("orderId", order_ids(oi)).s("venderId", pa.array(np.full(n, VENDER_ID)))
              .s("orderType", pa.array(np.full(n, "22"))).s("payType", pa.array(np.full(n, "4-在线支付")))
              .s("orderTotalPrice", yuan(o.goods_fen[oi] + o.shipping_fen[oi]))
              .s("orderSellerPrice", yuan(o.paid_fen[oi])).s("orderPayment", yuan(o.paid_fen[oi]))
              .s("freightPrice", yuan(o.shipping_fen[oi]))
              .s("sellerDiscount", yuan(np.maximum(o.goods_fen[oi] - o.paid_goods_fen[oi], 0)))
              .s("orderState", state).s("orderStateRemark", remark)
              .s("orderStartTime", beijing_time(o.ts[oi]))
              .s("paymentConfirmTime", _or_null(unpaid, beijing_time(o.paid_ts[oi]), none))
              .s("orderEndTime", _or_null(st != COMPLETED, beijing_time(o.done_ts[oi]), none))
              .s("modified", beijing_time(modified))
              .s("open_id_buyer", ids.jd_open_id.take(pa.array(o.person[oi])))
              .raw("consigneeInfo", Json().s("fullname", mask_name(ids.name.take(recv)))
                   .s("mobile", mask_middle(phone, 3, 4, 4)).s("fullAddress", concat(
                       ids.province.take(recv), ids.city.take(recv), ids.district.take(recv), "******"))
                   .s("province", ids.province.take(recv)).s("city", ids.city.take(recv))
                   .s("county", ids.district.take(recv)).build())
              .raw("itemInfoList", item_lists).build())
    pages = (n + PAGE - 1) // PAGE
    lists = json_array(orders, np.minimum(np.arange(pages + 1) * PAGE, n))
    result = (Json().const("apiResult", '{"success":true,"code":"0","chineseErrCode":"成功","englishErrCode":"success"}')
              .n("orderTotal", np.full(pages, n)).raw("orderInfoList", lists).build())
    body = Json().const("code", '"0"').raw("searchorderinfo_result", result).build()
    path = "jd/pop_order_search.jsonl"
    write_lines(Json().raw("jingdong_pop_order_search_responce", body).build(), brand.out / path)
    return {path: n}


def _or_null(mask: np.ndarray, values: pa.Array, null: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), null, values)
