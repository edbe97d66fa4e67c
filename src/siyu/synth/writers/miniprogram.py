"""The brand's own mini-program, in Siyu's canonical JSON Lines (documented in docs/formats.md):
member registrations, orders with their items, and refunds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import COMPLETED, CREATED_CANCELLED, MINI, PAID, SHIPPED
from siyu.synth.text import Json, concat, digits, group_offsets, iso_beijing, json_array, scramble, take, yuan
from siyu.synth.world import COLOURS, SIZES
from siyu.synth.writers import legacy
from siyu.synth.writers.common import write_lines

SOURCES = ("公众号推文", "门店海报", "老客推荐", "直播间", "包裹卡", "导购分享")


def order_numbers(order_index: np.ndarray, ts: np.ndarray) -> pa.StringArray:
    from siyu.synth.text import beijing_time

    return concat("MP", beijing_time(ts, "%Y%m%d"), digits(scramble(order_index, 31, 10), 10))


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    o, ln, ids, pop, cat, org, cal = (brand.orders, brand.lines, brand.ids, brand.pop, brand.cat, brand.org,
                                      brand.cal)
    rng = brand.rng("miniprogram")
    counts = {}

    # Registrations: people who joined here, and POS members who registered here later.
    reg = np.flatnonzero((pop.join_channel == 2) | pop.also_joined_mini)
    later = pop.also_joined_mini[reg]
    reg_day = np.where(later, np.minimum(pop.join_day[reg] + rng.integers(10, 300, size=len(reg)),
                                         cal.n_days - 1), pop.join_day[reg])
    reg_ts = cal.unix_start + reg_day * 86400 + rng.integers(8 * 3600, 23 * 3600, size=len(reg))
    p = pa.array(reg)
    via_guide = (pop.guide[reg] >= 0) & (rng.random(len(reg)) < 0.4)
    guide = np.where(via_guide, pop.guide[reg], 0)
    store = np.where(via_guide, pop.home_store[reg], 0)
    src = np.where(via_guide, 5, rng.integers(0, 5, size=len(reg)))
    fields = {
        "openid": ids.openid.take(p), "unionid": ids.unionid.take(p),
        "member_no": ids.card_no.take(pa.array(pop.mini_card_seq[reg])), "phone": ids.phone.take(p),
        "name": ids.name.take(p), "gender": take(["M", "F"], pop.female[reg].astype(int)),
        "birthday": ids.birthday.take(p).cast(pa.string()), "registered_at": iso_beijing(reg_ts),
        "store_code": pc.if_else(pa.array(via_guide), take(org.store_code, store), None),
        "guide_code": pc.if_else(pa.array(via_guide), take(org.guide_code, guide), None),
        "source": take(SOURCES, src),
    }
    members = Json()
    for k, v in fields.items():
        members = members.s(k, v)
    counts["miniprogram/members.jsonl"] = write_lines(members.build(), brand.out / "miniprogram/members.jsonl")
    counts.update(legacy.write(brand.out, fields, reg_ts))

    oi = np.flatnonzero(o.channel == MINI)
    n = len(oi)
    st = o.status[oi]
    status = np.select([st == CREATED_CANCELLED, o.refund_full[oi], st == PAID, st == SHIPPED, st == COMPLETED],
                       ["cancelled", "refunded", "paid", "shipped", "completed"], "completed")
    li = np.flatnonzero(o.channel[ln.order] == MINI)
    lo = ln.order[li]
    sku = ln.sku[li]
    items = (Json().n("line_no", ln.line_no[li]).s("sku_code", take(cat.sku_code, sku))
             .s("product_code", take(cat.product_code, ln.product[li]))
             .s("title", take(cat.product_name, ln.product[li]))
             .s("colour", take(COLOURS, cat.sku_colour[sku])).s("size", take(SIZES, cat.sku_size[sku]))
             .n("quantity", ln.quantity[li]).raw("unit_price", concat('"', yuan(ln.unit_price_fen[li]), '"'))
             .raw("paid_amount", concat('"', yuan(ln.paid_fen[li]), '"')).build())
    item_lists = json_array(items, group_offsets(np.searchsorted(oi, lo), n))
    person = pa.array(o.person[oi])
    recv = pa.array(brand.receiver[oi])
    is_member = pa.array(pop.is_member[o.person[oi]] & ((pop.join_channel[o.person[oi]] == 2)
                                                        | pop.also_joined_mini[o.person[oi]]))
    unpaid = pa.array(st == CREATED_CANCELLED)
    done = pa.array(st == COMPLETED)
    receiver = (Json().s("name", ids.name.take(recv)).s("phone", brand.receiver_phone.take(pa.array(oi)))
                .s("province", ids.province.take(recv)).s("city", ids.city.take(recv))
                .s("district", ids.district.take(recv)).s("address", ids.street.take(recv)).build())
    has_guide = pa.array(o.guide[oi] >= 0)
    order_no = order_numbers(oi, o.ts[oi])
    orders = (Json().s("order_no", order_no)
              .s("openid", ids.openid.take(person)).s("unionid", ids.unionid.take(person))
              .s("member_no", pc.if_else(is_member, ids.card_no.take(pa.array(np.maximum(pop.mini_card_seq[o.person[oi]], 0))),
                                         None))
              .s("status", pa.array(status))
              .s("created_at", iso_beijing(o.ts[oi]))
              .s("paid_at", pc.if_else(unpaid, None, iso_beijing(o.paid_ts[oi])))
              .s("completed_at", pc.if_else(done, iso_beijing(o.done_ts[oi]), None))
              .raw("total_amount", concat('"', yuan(o.goods_fen[oi] + o.shipping_fen[oi]), '"'))
              .raw("discount_amount", concat('"', yuan(o.goods_fen[oi] - o.paid_goods_fen[oi]), '"'))
              .raw("shipping_amount", concat('"', yuan(o.shipping_fen[oi]), '"'))
              .raw("paid_amount", concat('"', yuan(o.paid_fen[oi]), '"'))
              .s("store_code", pc.if_else(has_guide, take(org.store_code, np.maximum(o.store[oi], 0)), None))
              .s("guide_code", pc.if_else(has_guide, take(org.guide_code, np.maximum(o.guide[oi], 0)), None))
              .raw("receiver", receiver).raw("items", item_lists).build())
    counts["miniprogram/orders.jsonl"] = write_lines(orders, brand.out / "miniprogram/orders.jsonl")

    # Refunds, one record per refunded line (a full refund also returns the shipping fee on its first line).
    rl = li[ln.refunded_fen[li] > 0]
    ro = ln.order[rl]
    amount = ln.refunded_fen[rl] + np.where(o.refund_full[ro] & (ln.line_no[rl] == 1), o.shipping_fen[ro], 0)
    refunds = (Json().s("refund_no", concat("RF", digits(scramble(rl, 32, 12), 12)))
               .s("order_no", order_numbers(ro, o.ts[ro])).n("line_no", ln.line_no[rl])
               .raw("amount", concat('"', yuan(amount), '"')).s("status", pa.array(np.full(len(rl), "success")))
               .s("requested_at", iso_beijing(o.refund_ts[ro] - 86400))
               .s("completed_at", iso_beijing(o.refund_ts[ro]))
               .s("reason", take(["尺码不合适", "不喜欢", "质量问题", "拍错了"], rl % 4)).build())
    counts["miniprogram/refunds.jsonl"] = write_lines(refunds, brand.out / "miniprogram/refunds.jsonl")
    return counts
