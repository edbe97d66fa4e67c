"""The brand's Youzan (有赞) WeChat store as ``youzan.trades.sold.get`` 4.x responses, 50 trades per line.

Amounts are yuan strings, times Beijing time; Youzan knows the buyer by ``yz_open_id`` and, being the
brand's own store, by the phone in clear. Refunds are listed in ``refund_order`` per trade: one per
refunded line (naming it in ``oids``) and one for the postage of a trade refunded in full. The last
week's trades are not in the export: they are Youzan's trade pushes (``_pushes/youzan.jsonl``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import COMPLETED, CREATED_CANCELLED, PAID, SHIPPED, YOUZAN
from siyu.synth.text import (
    Json,
    beijing_time,
    concat,
    digits,
    group_offsets,
    json_array,
    scramble,
    take,
    yuan,
)
from siyu.synth.world import COLOURS, SIZES
from siyu.synth.writers import pushes
from siyu.synth.writers.common import write_lines

KDT_ID = 44_001_234
PAGE = 50


def order_ids(order_index: np.ndarray, ts: np.ndarray) -> pa.StringArray:
    day = beijing_time(ts, "%Y%m%d")
    return concat("E", day, digits(scramble(order_index, 41, 12), 12))


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    o, ln, ids, cat = brand.orders, brand.lines, brand.ids, brand.cat
    oi = np.flatnonzero(o.channel == YOUZAN)
    n = len(oi)
    tid = order_ids(oi, o.ts[oi])
    li = np.flatnonzero(o.channel[ln.order] == YOUZAN)
    lo = ln.order[li]
    pos = np.searchsorted(oi, lo)
    sku = ln.sku[li]
    oid = concat("3", digits(scramble(li, 42, 12), 12))
    props = concat('[{\\"k\\":\\"颜色\\",\\"v\\":\\"', take(COLOURS, cat.sku_colour[sku]),
                   '\\"},{\\"k\\":\\"尺码\\",\\"v\\":\\"', take(SIZES, cat.sku_size[sku]), '\\"}]')
    unpaid_line = o.status[lo] == CREATED_CANCELLED
    items = (Json().s("oid", oid).n("num", ln.quantity[li]).s("price", yuan(ln.unit_price_fen[li]))
             .s("payment", yuan(np.where(unpaid_line, 0, ln.paid_fen[li])))
             .s("total_fee", yuan(ln.unit_price_fen[li] * ln.quantity[li]))
             .s("outer_sku_id", take(cat.sku_code, sku)).s("outer_item_id", take(cat.product_code, ln.product[li]))
             .s("title", take(cat.product_name, ln.product[li])).s("sku_properties_name", props).build())
    item_lists = json_array(items, group_offsets(pos, n))

    # refunds: refunded lines, then the postage of trades refunded in full
    rl = np.flatnonzero(ln.refunded_fen[li] > 0)
    ship = np.flatnonzero(o.refund_full[oi] & (o.shipping_fen[oi] > 0))
    line_refunds = (Json().s("refund_id", concat("2019", digits(scramble(li[rl], 43, 12), 12)))
                    .s("oids", oid.take(pa.array(rl))).s("refund_fee", yuan(ln.refunded_fen[li][rl]))
                    .n("refund_state", np.full(len(rl), 60)).n("refund_type", np.full(len(rl), 1)).build())
    post_refunds = (Json().s("refund_id", concat("2020", digits(scramble(oi[ship], 44, 12), 12)))
                    .s("oids", pa.array(np.full(len(ship), ""))).s("refund_fee", yuan(o.shipping_fen[oi][ship]))
                    .n("refund_state", np.full(len(ship), 60)).n("refund_type", np.full(len(ship), 1)).build())
    owner = np.concatenate([pos[rl], ship])
    order = np.argsort(owner, kind="stable")
    refunds = pa.concat_arrays([line_refunds, post_refunds]).take(pa.array(order))
    refund_lists = json_array(refunds, group_offsets(owner[order], n))

    st = o.status[oi]
    unpaid = st == CREATED_CANCELLED
    code = np.select([unpaid | o.refund_full[oi], st == PAID, st == SHIPPED, st == COMPLETED], [0, 1, 2, 3], 3)
    status = take(["TRADE_CLOSED", "WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_CONFIRM_GOODS", "TRADE_SUCCESS"], code)
    status_str = take(["已关闭", "待发货", "已发货", "已完成"], code)
    person = pa.array(o.person[oi])
    recv = pa.array(brand.receiver[oi])
    none = pa.nulls(n, pa.string())
    update = np.maximum.reduce([o.ts[oi], o.paid_ts[oi], o.done_ts[oi], o.refund_ts[oi]])
    info = (Json().s("tid", tid).s("status", status).s("status_str", status_str)
            .s("created", beijing_time(o.ts[oi]))
            .s("pay_time", pc.if_else(pa.array(unpaid), none, beijing_time(o.paid_ts[oi])))
            .s("success_time", pc.if_else(pa.array(st == COMPLETED), beijing_time(o.done_ts[oi]), none))
            .s("update_time", beijing_time(update)).n("node_kdt_id", np.full(n, KDT_ID)).n("type", np.zeros(n, int))
            .build())
    buyer = (Json().s("yz_open_id", ids.yz_open_id.take(person)).s("buyer_phone", ids.phone.take(person))
             .n("fans_type", np.ones(n, int)).build())
    pay = (Json().s("payment", yuan(o.paid_fen[oi])).s("total_fee", yuan(o.goods_fen[oi] + o.shipping_fen[oi]))
           .s("post_fee", yuan(o.shipping_fen[oi])).build())
    addr = (Json().s("receiver_name", ids.name.take(recv)).s("receiver_tel", brand.receiver_phone.take(pa.array(oi)))
            .s("delivery_province", ids.province.take(recv)).s("delivery_city", ids.city.take(recv))
            .s("delivery_district", ids.district.take(recv)).s("delivery_address", ids.street.take(recv)).build())
    full = (Json().raw("order_info", info).raw("buyer_info", buyer).raw("pay_info", pay).raw("address_info", addr)
            .raw("orders", item_lists).build())
    entries = Json().raw("full_order_info", full).raw("refund_order", refund_lists).build()
    # The export was pulled a week before the end; the trades since then reached the brand as pushes.
    recent = o.ts[oi] >= pushes.since(brand)
    counts = pushes.youzan(brand, KDT_ID, entries.filter(pa.array(recent)).to_pylist(), update[recent])
    entries = entries.filter(pa.array(~recent))
    n = len(entries)
    pages = (n + PAGE - 1) // PAGE
    lists = json_array(entries, np.minimum(np.arange(pages + 1) * PAGE, n))
    data = Json().n("total_results", np.full(pages, n)).raw("full_order_info_list", lists).build()
    resp = (Json().s("trace_id", concat("yz7-0a34f88b-", digits(scramble(np.arange(pages), 45, 12), 13)))
            .const("code", "200").const("success", "true").const("message", '"successful"').raw("data", data).build())
    path = "youzan/trades_sold_get.jsonl"
    write_lines(resp, brand.out / path)
    return {path: n, **counts}
