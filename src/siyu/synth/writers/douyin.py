"""Douyin shop (抖店) ``order.searchList`` responses, one API page per line (JSON Lines).

Amounts are integers in fen; times are Unix seconds; the buyer is known by ``doudian_open_id``;
the receiver only as masked (``1********35``, ``张**``) and platform-encrypted fields.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import COMPLETED, CREATED_CANCELLED, DOUYIN, PAID, SHIPPED
from siyu.synth.douyin_shop import search_index
from siyu.synth.text import (
    Json,
    concat,
    digits,
    group_offsets,
    json_array,
    mask_middle,
    mask_name,
    random_tokens,
    scramble,
    take,
)
from siyu.synth.world import COLOURS, SIZES
from siyu.synth.writers import pushes
from siyu.synth.writers.common import append_lines

SHOP_ID = 4_263_918
SHOP_NAME = "澜途运动官方旗舰店"
PAGE = 100
# (order_status, desc, main_status, desc)
STATES = {
    "cancelled": (4, "已取消", 4, "已取消"),
    "paid": (2, "备货中", 2, "备货中"),
    "shipped": (3, "已发货", 3, "已全部发货"),
    "completed": (5, "已完成", 5, "已完成"),
    "refunded_before_ship": (4, "已取消", 21, "发货前退款完结"),
    "refunded_after_receipt": (4, "已取消", 39, "收货后退款完结"),
}


def order_ids(order_index: np.ndarray) -> pa.StringArray:
    return concat("69", digits(scramble(order_index, 21, 16), 17))


def sub_order_ids(line_index: np.ndarray) -> pa.StringArray:
    return concat("69", digits(scramble(line_index, 22, 16), 17))


def _region_obj(names: pa.Array, ids: pa.Array) -> pa.Array:
    return Json().s("name", names).s("id", ids).build()


CHUNK_PAGES = 1_000


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    o, ln = brand.orders, brand.lines
    rng = brand.rng("douyin")
    all_orders = np.flatnonzero(o.channel == DOUYIN)
    all_lines = np.flatnonzero(o.channel[ln.order] == DOUYIN)
    line_orders = ln.order[all_lines]
    total = len(all_orders)
    path = "douyin/order_searchList.jsonl"
    (brand.out / path).parent.mkdir(parents=True, exist_ok=True)
    step = PAGE * CHUNK_PAGES
    with open(brand.out / path, "wb") as fh:
        for start in range(0, total, step):
            oi = all_orders[start: start + step]
            a, b = np.searchsorted(line_orders, [oi[0], oi[-1] + 1])
            append_lines(fh, _pages(brand, rng, oi, all_lines[a:b], start // PAGE, total))
    return {path: total, **pushes.douyin(brand, SHOP_ID, _last_week(brand, all_orders, all_lines)),
            **pushes.douyin_members(brand, *_joiners(brand, all_orders))}


JOIN_SHARE = 0.3  # Douyin buyers who join the brand's membership in Douyin (Tmall's: population.tmall_joined)


def _joiners(brand, all_orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Douyin buyers who joined the brand's membership in Douyin, and when: within three weeks of their
    first Douyin order (a seeded generator of its own, so the other files keep their bytes)."""
    o = brand.orders
    rng = brand.rng("douyin-members")
    buyers, first = np.unique(o.person[all_orders], return_index=True)
    joined = rng.random(len(buyers)) < JOIN_SHARE
    end = brand.cal.unix_start + brand.cal.n_days * 86400 - 1
    when = np.minimum(o.ts[all_orders][first] + rng.integers(600, 21 * 86400, size=len(buyers)), end)
    return buyers[joined], when[joined]


def _state(o, oi: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    st, full = o.status[oi], o.refund_full[oi]
    return np.select([st == CREATED_CANCELLED, full & (st == PAID), full, st == PAID, st == SHIPPED,
                      st == COMPLETED], ["cancelled", "refunded_before_ship", "refunded_after_receipt", "paid",
                                         "shipped", "completed"], "completed")


def _last_week(brand, all_orders: np.ndarray, all_lines: np.ndarray) -> list[dict]:  # type: ignore[no-untyped-def]
    """What Douyin pushed about the last week's orders: their steps, and the after-sales of their lines."""
    o, ln = brand.orders, brand.lines
    oi = all_orders[o.ts[all_orders] >= pushes.since(brand)]
    li = all_lines[np.isin(ln.order[all_lines], oi)]
    subs = sub_order_ids(li).to_pylist()
    lines: dict[int, list[int]] = {}
    for k, order in enumerate(ln.order[li].tolist()):
        lines.setdefault(order, []).append(k)
    out = []
    for i, p_id, state in zip(oi.tolist(), order_ids(oi).to_pylist(), _state(o, oi).tolist(), strict=True):
        ks = lines.get(i, [])
        out.append({"p_id": p_id, "s_ids": [subs[k] for k in ks], "state": state,
                    "pay_time": int(o.paid_ts[i]), "ship_time": int(o.paid_ts[i]) + 86400,
                    "finish_time": int(o.done_ts[i]), "update_time": int(max(o.ts[i], o.refund_ts[i])),
                    "refunds": [(subs[k], int(ln.refunded_fen[li[k]]), int(o.refund_ts[i]))
                                for k in ks if ln.refunded_fen[li[k]] > 0]})
    return out


def _encrypted_tel(rng: np.random.Generator, phone: pa.StringArray) -> pa.StringArray:
    """``#<search index>#<cipher>*<key version>``: the index is the platform's, the same for every order
    to one phone (``douyin_shop.search_index``); the cipher differs per order."""
    random_tokens(rng, len(phone), 40)  # drawn as before, so the fields after it keep their bytes
    distinct = pc.unique(phone)
    index = pa.array([search_index(p) for p in distinct.to_pylist()], pa.string())
    return concat("#", index.take(pc.index_in(phone, distinct)), "#", random_tokens(rng, len(phone), 44),
                  "==*CgwIARCtHBiq")


def _pages(brand, rng, oi: np.ndarray, li: np.ndarray, first_page: int, total: int) -> pa.Array:  # type: ignore[no-untyped-def]
    o, ln, ids, cat = brand.orders, brand.lines, brand.ids, brand.cat
    n = len(oi)
    st = o.status[oi]
    key = _state(o, oi)
    order_status = np.array([STATES[k][0] for k in STATES])
    keys = list(STATES)
    kidx = np.array([keys.index(k) for k in key]) if n else np.zeros(0, int)
    person = pa.array(o.person[oi])
    recv = pa.array(brand.receiver[oi])
    phone = brand.receiver_phone.take(pa.array(oi))
    name = ids.name.take(recv)
    addr = (Json()
            .raw("province", _region_obj(ids.province.take(recv), pa.array(np.full(n, "33"))))
            .raw("city", _region_obj(ids.city.take(recv), pa.array(np.full(n, "330100"))))
            .raw("town", _region_obj(ids.district.take(recv), pa.array(np.full(n, "330106"))))
            .raw("street", _region_obj(pa.array(np.full(n, "")), pa.array(np.full(n, "0"))))
            .s("detail", concat(pc.utf8_slice_codeunits(ids.street.take(recv), 0, 3), "***"))
            .build())
    unpaid = st == CREATED_CANCELLED
    ship_ts = np.where((st == SHIPPED) | (st == COMPLETED), o.paid_ts[oi] + 86400, 0)
    update_ts = np.maximum.reduce([o.ts[oi], o.paid_ts[oi], ship_ts, o.done_ts[oi], o.refund_ts[oi]])

    # sub-orders (one per SKU line)
    lo = ln.order[li]
    sku = ln.sku[li]
    refunded_line = ln.refunded_fen[li] > 0
    spec = concat('[{"name":"颜色","value":"', take(COLOURS, cat.sku_colour[sku]),
                  '"},{"name":"尺码","value":"', take(SIZES, cat.sku_size[sku]), '"}]')
    after_sale = pc.if_else(pa.array(refunded_line),
                            '{"after_sale_status":12,"after_sale_type":2,"refund_status":3}',
                            '{"after_sale_status":0,"after_sale_type":0,"refund_status":0}')
    line_status = order_status[kidx[np.searchsorted(oi, lo)]] if n else np.zeros(0, int)
    line_status = np.where(refunded_line, 4, line_status)
    pay_line = np.where(o.status[lo] == CREATED_CANCELLED, 0, ln.paid_fen[li])
    sku_json = (Json()
                .s("order_id", sub_order_ids(li)).s("parent_order_id", order_ids(lo))
                .s("product_id", concat("36", digits(scramble(ln.product[li], 23, 16), 17)))
                .s("product_name", take(cat.product_name, ln.product[li]))
                .n("sku_id", pa.array(1_700_000_000_000 + sku))
                .s("code", take(cat.sku_code, sku)).raw("spec", spec)
                .n("item_num", ln.quantity[li]).n("origin_amount", ln.unit_price_fen[li] * ln.quantity[li])
                .n("pay_amount", pay_line).n("order_status", line_status)
                .raw("after_sale_info", after_sale).build())
    sku_lists = json_array(sku_json, group_offsets(np.searchsorted(oi, lo), n))

    state_desc = take([STATES[k][1] for k in keys], kidx)
    main = np.array([STATES[k][2] for k in keys])[kidx] if n else np.zeros(0, int)
    main_desc = take([STATES[k][3] for k in keys], kidx)
    promo = np.maximum(o.goods_fen[oi] - o.paid_goods_fen[oi], 0)
    orders_json = (Json()
                   .s("order_id", order_ids(oi)).n("shop_id", np.full(n, SHOP_ID))
                   .s("shop_name", pa.array(np.full(n, SHOP_NAME)))
                   .n("order_status", order_status[kidx] if n else np.zeros(0, int))
                   .s("order_status_desc", state_desc).n("main_status", main).s("main_status_desc", main_desc)
                   .n("b_type", np.full(n, 2)).s("b_type_desc", pa.array(np.full(n, "抖音")))
                   .n("create_time", o.ts[oi]).n("pay_time", np.where(unpaid, 0, o.paid_ts[oi]))
                   .n("finish_time", o.done_ts[oi]).n("update_time", update_ts)
                   .n("order_amount", o.goods_fen[oi] + o.shipping_fen[oi]).n("pay_amount", o.paid_fen[oi])
                   .n("post_amount", o.shipping_fen[oi]).n("promotion_amount", promo)
                   .s("doudian_open_id", ids.douyin_open_id.take(person))
                   .s("encrypt_post_tel", _encrypted_tel(rng, phone))
                   .s("encrypt_post_receiver", concat("#", random_tokens(rng, n, 24), "#"))
                   .s("mask_post_tel", mask_middle(phone, 1, 2, 8))
                   .s("mask_post_receiver", mask_name(name))
                   .raw("mask_post_addr", addr)
                   .raw("sku_order_list", sku_lists).build())
    pages = (n + PAGE - 1) // PAGE
    page_lists = json_array(orders_json, np.minimum(np.arange(pages + 1) * PAGE, n))
    page_no = first_page + np.arange(pages)
    log_ids = concat("2026", digits(scramble(page_no, 24), 18), "A1B2")
    return (Json().const("code", "10000").const("msg", '"success"').const("sub_code", '""')
            .const("sub_msg", '""').s("log_id", log_ids)
            .raw("data", (Json().raw("shop_order_list", page_lists).n("page", page_no)
                          .n("size", np.full(pages, PAGE)).n("total", np.full(pages, total)).build()))
            .build())
