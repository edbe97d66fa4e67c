"""Store POS exports in Siyu's canonical CSV (UTF-8): member cards opened in store, sale lines, returns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import POS
from siyu.synth.text import beijing_time, concat, digits, scramble, take, yuan
from siyu.synth.writers.common import write_csv


def receipt_numbers(order_index: np.ndarray, store: np.ndarray, ts: np.ndarray, codes: list[str]) -> pa.Array:
    return concat(take(codes, store), beijing_time(ts, "%Y%m%d"), digits(order_index % 10**8, 8))


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    o, ln, ids, pop, cat, org, cal = (brand.orders, brand.lines, brand.ids, brand.pop, brand.cat, brand.org,
                                      brand.cal)
    rng = brand.rng("pos")
    counts = {}
    reg = np.flatnonzero(pop.join_channel == 3)
    p = pa.array(reg)
    reg_ts = cal.unix_start + pop.join_day[reg] * 86400 + rng.integers(10 * 3600, 22 * 3600, size=len(reg))
    counts["pos/members.csv"] = write_csv({
        "card_no": ids.card_no.take(pa.array(pop.card_seq[reg])),
        "phone": pa.array(pop.pos_reg_phone[reg]).cast(pa.string()),
        "name": ids.name.take(p),
        "gender": take(["M", "F"], pop.female[reg].astype(int)),
        "birthday": pc.if_else(pa.array(rng.random(len(reg)) < 0.7), ids.birthday.take(p).cast(pa.string()), ""),
        "registered_at": beijing_time(reg_ts),
        "store_code": take(org.store_code, np.maximum(pop.home_store[reg], 0)),
        "guide_code": take(org.guide_code, np.maximum(pop.guide[reg], 0)),
    }, brand.out / "pos/members.csv")

    li = np.flatnonzero(o.channel[ln.order] == POS)
    lo = ln.order[li]
    buyer = o.person[lo]
    # Which card is shown at the till: a POS member's own card almost always; a mini-program member's
    # member code often; nothing for people who never joined.
    oi = np.flatnonzero(o.channel == POS)
    shows = np.zeros(len(o.person), dtype=bool)
    ob = o.person[oi]
    shows[oi] = np.where(pop.join_channel[ob] == 3, rng.random(len(oi)) < 0.95,
                         pop.is_member[ob] & (rng.random(len(oi)) < 0.6))
    card_seq = np.where(pop.join_channel[buyer] == 3, pop.card_seq[buyer], pop.mini_card_seq[buyer])
    card = pc.if_else(pa.array(shows[lo]), ids.card_no.take(pa.array(np.maximum(card_seq, 0))), "")
    brand.pos_cards_shown = np.unique(card_seq[shows[lo] & (card_seq >= 0)])
    receipt = receipt_numbers(lo, o.store[lo], o.ts[lo], org.store_code)
    counts["pos/sales.csv"] = write_csv({
        "receipt_no": receipt,
        "line_no": pa.array(ln.line_no[li]),
        "store_code": take(org.store_code, o.store[lo]),
        "guide_code": take(org.guide_code, np.maximum(o.guide[lo], 0)),
        "card_no": card,
        "sold_at": beijing_time(o.ts[lo]),
        "sku_code": take(cat.sku_code, ln.sku[li]),
        "quantity": pa.array(ln.quantity[li]),
        "unit_price": yuan(ln.unit_price_fen[li]),
        "paid_amount": yuan(ln.paid_fen[li]),
    }, brand.out / "pos/sales.csv")

    rl = li[ln.refunded_fen[li] > 0]
    ro = ln.order[rl]
    counts["pos/returns.csv"] = write_csv({
        "return_no": concat("R", digits(scramble(rl, 41, 12), 12)),
        "receipt_no": receipt_numbers(ro, o.store[ro], o.ts[ro], org.store_code),
        "line_no": pa.array(ln.line_no[rl]),
        "store_code": take(org.store_code, o.store[ro]),
        "returned_at": beijing_time(o.refund_ts[ro]),
        "amount": yuan(ln.refunded_fen[rl]),
        "reason": take(["尺码不合适", "质量问题", "不喜欢"], rl % 3),
    }, brand.out / "pos/returns.csv")
    return counts
