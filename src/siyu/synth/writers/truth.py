"""Ground truth: which real person stands behind every profile and every order the platforms exported.

Written under ``_truth/`` (Parquet). Siyu's importer never reads it; ``siyu oneid evaluate`` and the
tests do.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from siyu.synth.behaviour import DOUYIN, JD, MINI, POS, TMALL, YOUZAN
from siyu.synth.text import concat, digits
from siyu.synth.writers import douyin, jd, miniprogram, pos, tmall, youzan


def person_keys(index: np.ndarray) -> pa.Array:
    return concat("P", digits(index, 8))


def _flat(parts: list) -> pa.ChunkedArray:  # type: ignore[type-arg]
    chunks = []
    for p in parts:
        chunks.extend(p.chunks if isinstance(p, pa.ChunkedArray) else [p])
    return pa.chunked_array(chunks, type=pa.string())


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    o, pop, ids, org = brand.orders, brand.pop, brand.ids, brand.org
    out = brand.out / "_truth"
    out.mkdir(parents=True, exist_ok=True)
    chans, keys, persons = [], [], []

    def add(channel: str, key: pa.Array, who: np.ndarray) -> None:
        chans.append(pa.array(np.full(len(who), channel)))
        keys.append(key)
        persons.append(person_keys(who))

    # Tmall buyers are known by nick in the CSV export and by open uid in TOP responses (recent orders).
    recent = o.ts >= tmall.top_cutoff(brand)
    for code, mask, col in (("tmall", (o.channel == TMALL) & ~recent, ids.taobao_nick),
                            ("tmall", (o.channel == TMALL) & recent, ids.taobao_open_uid),
                            ("douyin", o.channel == DOUYIN, ids.douyin_open_id),
                            ("jd", o.channel == JD, ids.jd_open_id), ("youzan", o.channel == YOUZAN, ids.yz_open_id)):
        who = np.unique(o.person[mask])
        add(code, col.take(pa.array(who)), who)
    # Buyers who joined in the Tmall store: the member centre's call is a record of its own.
    if brand.tmall_members is not None:
        joined = brand.tmall_members
        add("tmall", concat("member:", ids.taobao_nick.take(pa.array(joined))), joined)
    mini = np.flatnonzero(brand.has_openid | np.isin(np.arange(pop.n), brand.events.person))
    add("miniprogram", ids.openid.take(pa.array(mini)), mini)
    cards = np.flatnonzero(pop.join_channel == 3)
    add("pos", ids.card_no.take(pa.array(pop.card_seq[cards])), cards)
    # Mini-program cards shown at a POS till become POS profiles too (only those shown: a card no POS
    # file names is no record).
    shown = brand.pos_cards_shown if brand.pos_cards_shown is not None else np.zeros(0, np.int64)
    other = np.flatnonzero(pop.is_member & (pop.join_channel != 3) & np.isin(pop.mini_card_seq, shown))
    add("pos", ids.card_no.take(pa.array(pop.mini_card_seq[other])), other)
    also = np.flatnonzero(pop.also_joined_mini & (pop.mini_card_seq != pop.card_seq)
                          & np.isin(pop.mini_card_seq, shown))
    add("pos", ids.card_no.take(pa.array(pop.mini_card_seq[also])), also)
    friends = np.flatnonzero(pop.wecom_friend & (pop.guide >= 0))
    add("wecom", ids.external_userid.take(pa.array(friends)), friends)
    profiles = pa.table({"channel": _flat(chans), "external_id": _flat(keys), "person": _flat(persons)})
    pq.write_table(profiles, out / "profiles.parquet")

    order_keys = []
    for ch, name in ((TMALL, "tmall"), (DOUYIN, "douyin"), (MINI, "miniprogram"), (POS, "pos"), (JD, "jd"),
                     (YOUZAN, "youzan")):
        oi = np.flatnonzero(o.channel == ch)
        if ch == TMALL:
            key = tmall.order_numbers(oi)
        elif ch == DOUYIN:
            key = douyin.order_ids(oi)
        elif ch == JD:
            key = jd.order_ids(oi)
        elif ch == YOUZAN:
            key = youzan.order_ids(oi, o.ts[oi])
        elif ch == MINI:
            key = miniprogram.order_numbers(oi, o.ts[oi])
        else:
            key = pos.receipt_numbers(oi, o.store[oi], o.ts[oi], org.store_code)
        order_keys.append(pa.table({"channel": pa.array(np.full(len(oi), name)), "order_id": key,
                                    "person": person_keys(o.person[oi])}))
    orders = pa.concat_tables(order_keys)
    pq.write_table(orders, out / "orders.parquet")
    return {"_truth/profiles.parquet": profiles.num_rows, "_truth/orders.parquet": orders.num_rows}
