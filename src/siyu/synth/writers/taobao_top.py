"""The last 90 days of Tmall orders as TOP responses: ``taobao.trades.sold.get`` (100 trades per line) and
``taobao.refunds.receive.get`` (100 refunds per line), with the documented envelopes and field names."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import COMPLETED, CREATED_CANCELLED, PAID, SHIPPED
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

PAGE = 100
SELLER_NICK = "澜途官方旗舰店"


def write(brand, oi: np.ndarray) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from siyu.synth.writers.tmall import order_numbers, sub_order_numbers

    o, ln, ids, cat = brand.orders, brand.lines, brand.ids, brand.cat
    n = len(oi)
    tid = order_numbers(oi)
    in_top = np.zeros(len(o.person), dtype=bool)
    in_top[oi] = True
    li = np.flatnonzero(in_top[ln.order])
    lo = ln.order[li]
    sku = ln.sku[li]
    oid = sub_order_numbers(li)
    refunded_line = ln.refunded_fen[li] > 0
    unpaid_line = o.status[lo] == CREATED_CANCELLED
    sub = (Json().s("oid", oid).s("oid_str", oid).s("title", take(cat.product_name, ln.product[li]))
           .s("price", yuan(ln.unit_price_fen[li])).n("num", ln.quantity[li])
           .s("total_fee", yuan(ln.unit_price_fen[li] * ln.quantity[li]))
           .s("payment", yuan(np.where(unpaid_line, 0, ln.paid_fen[li])))
           .s("outer_iid", take(cat.product_code, ln.product[li])).s("outer_sku_id", take(cat.sku_code, sku))
           .s("sku_properties_name", concat("颜色分类:", take(COLOURS, cat.sku_colour[sku]), ";尺码:",
                                            take(SIZES, cat.sku_size[sku])))
           .s("refund_status", take(["NO_REFUND", "SUCCESS"], refunded_line.astype(int))).build())
    subs = json_array(sub, group_offsets(np.searchsorted(oi, lo), n))

    st = o.status[oi]
    unpaid = st == CREATED_CANCELLED
    code = np.select([unpaid, o.refund_full[oi], st == PAID, st == SHIPPED, st == COMPLETED], [0, 1, 2, 3, 4], 4)
    status = take(["TRADE_CLOSED_BY_TAOBAO", "TRADE_CLOSED", "WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_CONFIRM_GOODS",
                   "TRADE_FINISHED"], code)
    person = pa.array(o.person[oi])
    recv = pa.array(brand.receiver[oi])
    none = pa.nulls(n, pa.string())
    modified = np.maximum.reduce([o.ts[oi], o.paid_ts[oi], o.done_ts[oi], o.refund_ts[oi]])
    trades = (Json().s("tid", tid).s("tid_str", tid).s("seller_nick", pa.array(np.full(n, SELLER_NICK)))
              .s("buyer_open_uid", ids.taobao_open_uid.take(person)).s("buyer_nick", ids.taobao_nick.take(person))
              .s("status", status).const("type", '"fixed"').s("created", beijing_time(o.ts[oi]))
              .s("pay_time", pc.if_else(pa.array(unpaid), none, beijing_time(o.paid_ts[oi])))
              .s("end_time", pc.if_else(pa.array(st == COMPLETED), beijing_time(o.done_ts[oi]), none))
              .s("modified", beijing_time(modified))
              .s("total_fee", yuan(o.goods_fen[oi])).s("discount_fee", yuan(o.goods_fen[oi] - o.paid_goods_fen[oi]))
              .s("post_fee", yuan(o.shipping_fen[oi])).s("payment", yuan(o.paid_fen[oi]))
              .s("receiver_name", mask_name(ids.name.take(recv)))
              .s("receiver_mobile", mask_middle(brand.receiver_phone.take(pa.array(oi)), 3, 4, 4))
              .s("receiver_state", ids.province.take(recv)).s("receiver_city", ids.city.take(recv))
              .s("receiver_district", ids.district.take(recv))
              .s("receiver_address", concat(pc.utf8_slice_codeunits(ids.street.take(recv), 0, 3), "**号"))
              .s("oaid", ids.oaid.take(recv)).raw("orders", Json().raw("order", subs).build()).build())
    path = "tmall/top/trades_sold_get.jsonl"
    _pages(brand, "trades_sold_get_response", "trades", "trade", trades, path, salt=51)

    # refunds: one per refunded sub-order, and the postage of a trade refunded in full (oid = tid)
    rl = np.flatnonzero(refunded_line)
    ship = np.flatnonzero(o.refund_full[oi] & (o.shipping_fen[oi] > 0))
    r_order = np.concatenate([lo[rl], oi[ship]])
    r_oid = pa.concat_arrays([oid.take(pa.array(rl)), tid.take(pa.array(ship))])
    r_fee = np.concatenate([ln.refunded_fen[li][rl], o.shipping_fen[oi][ship]])
    r_key = np.concatenate([li[rl] * 2, oi[ship] * 2 + 1])
    order = np.argsort(r_order, kind="stable")
    r_order, r_oid, r_fee, r_key = r_order[order], r_oid.take(pa.array(order)), r_fee[order], r_key[order]
    m = len(r_order)
    refunds = (Json().s("refund_id", concat("1582", digits(scramble(r_key, 52, 12), 12)))
               .s("tid", order_numbers(r_order)).s("oid", r_oid).s("seller_nick", pa.array(np.full(m, SELLER_NICK)))
               .s("buyer_open_uid", ids.taobao_open_uid.take(pa.array(o.person[r_order])))
               .s("refund_fee", yuan(r_fee)).const("status", '"SUCCESS"')
               .s("created", beijing_time(o.refund_ts[r_order] - 86400))
               .s("modified", beijing_time(o.refund_ts[r_order])).const("reason", '"不想要了"').build())
    rpath = "tmall/top/refunds_receive_get.jsonl"
    _pages(brand, "refunds_receive_get_response", "refunds", "refund", refunds, rpath, salt=53)
    return {path: n, rpath: m}


def _pages(brand, response: str, outer: str, inner: str, items: pa.Array, path: str, salt: int) -> None:  # type: ignore[no-untyped-def]
    n = len(items)
    pages = (n + PAGE - 1) // PAGE
    lists = json_array(items, np.minimum(np.arange(pages + 1) * PAGE, n))
    body = (Json().n("total_results", np.full(pages, n))
            .raw("has_next", take(["true", "false"], (np.arange(pages) == pages - 1).astype(int)))
            .raw(outer, Json().raw(inner, lists).build())
            .s("request_id", concat("16mrx", digits(scramble(np.arange(pages), salt, 8), 8))).build())
    write_lines(Json().raw(response, body).build(), brand.out / path)
