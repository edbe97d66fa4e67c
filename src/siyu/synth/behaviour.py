"""What people do: orders and their lines, refunds, and interaction events — all as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.synth.calendar import Calendar, seconds_of_day
from siyu.synth.population import CHANNEL_SHARE, Population
from siyu.synth.world import CATEGORIES, SIZE_SYSTEMS, Catalogue, Organisation

TMALL, DOUYIN, MINI, POS, JD, YOUZAN = range(6)
# canonical order status codes used inside the generator
CREATED_CANCELLED, PAID, SHIPPED, COMPLETED = range(4)


@dataclass
class Orders:
    person: np.ndarray
    channel: np.ndarray
    day: np.ndarray
    ts: np.ndarray  # Unix seconds of creation
    paid_ts: np.ndarray  # 0 when never paid
    status: np.ndarray
    store: np.ndarray  # -1: none (POS store, or the store a guide's share was attributed to)
    guide: np.ndarray
    n_lines: np.ndarray
    line_start: np.ndarray
    goods_fen: np.ndarray  # list price × qty, before discounts
    paid_goods_fen: np.ndarray
    shipping_fen: np.ndarray
    paid_fen: np.ndarray
    refunded_fen: np.ndarray
    refund_ts: np.ndarray  # 0: no refund
    refund_full: np.ndarray
    done_ts: np.ndarray  # when the buyer confirmed receipt (0: not completed)
    # A gift sent to someone else: the receiver name and phone are not the buyer's.
    gift: np.ndarray


@dataclass
class Lines:
    order: np.ndarray
    line_no: np.ndarray
    sku: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price_fen: np.ndarray
    paid_fen: np.ndarray
    refunded_fen: np.ndarray


@dataclass
class Events:
    person: np.ndarray
    kind: np.ndarray  # 0 checkin, 1 article_read, 2 live_subscribe, 3 survey_answer
    ts: np.ndarray
    article: np.ndarray
    seconds: np.ndarray
    forwards: np.ndarray
    live: np.ndarray
    question: np.ndarray
    answer: np.ndarray


EVENT_TYPES = ("checkin", "article_read", "live_subscribe", "survey_answer")


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    cs = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    base = np.where(counts > 0, cs[np.clip(starts, 0, len(cs) - 1)] - values[np.clip(starts, 0, len(cs) - 1)], 0)
    return cs - np.repeat(base, counts)


def make_orders(rng: np.random.Generator, pop: Population, cal: Calendar, org: Organisation) -> Orders:
    n = pop.n
    buys = ~(pop.is_member & (rng.random(n) < 0.12))
    # Purchases until dropout, if time were unlimited (BG/NBD): Geometric(p); minus the first one.
    repeats = np.minimum(rng.geometric(np.clip(pop.dropout, 0.02, 1.0)) - 1, 150)
    repeats = np.where(buys, repeats, 0)
    eff = cal.effective_end
    day_len = np.diff(np.concatenate([[0.0], eff]))
    u0 = eff[pop.acquired_day] - day_len[pop.acquired_day] * rng.random(n)
    gaps = rng.exponential(1.0, size=int(repeats.sum())) * np.repeat(365.0 / np.maximum(pop.rate, 0.05), repeats)
    u = np.repeat(u0, repeats) + _group_cumsum(gaps, repeats)
    rep_person = np.repeat(np.arange(n), repeats)
    keep = u < eff[-1]
    first_person = np.flatnonzero(buys)
    person = np.concatenate([first_person, rep_person[keep]])
    day = np.concatenate([pop.acquired_day[first_person],
                          np.searchsorted(eff, u[keep], side="right").clip(0, cal.n_days - 1)])
    is_first = np.zeros(len(person), dtype=bool)
    is_first[: len(first_person)] = True
    order = np.lexsort((day, person))  # group by person, in time order
    person, day, is_first = person[order], day[order], is_first[order]
    m = len(person)

    has_store = pop.home_store[person] >= 0
    share = np.tile(CHANNEL_SHARE, (m, 1))
    share[~has_store, POS] = 0
    share /= share.sum(axis=1, keepdims=True)
    random_channel = (rng.random((m, 1)) > share.cumsum(axis=1)).sum(axis=1)
    channel = np.where(rng.random(m) < 0.72, pop.primary_channel[person], random_channel)
    jc = pop.join_channel[person]
    channel = np.where(is_first & (jc == 3), POS, channel)
    channel = np.where(is_first & (jc == 2) & (rng.random(m) < 0.6), MINI, channel)
    channel = np.where((channel == POS) & ~has_store, pop.primary_channel[person], channel)
    channel = np.where((channel == POS) & ~has_store, TMALL, channel)

    in_store = channel == POS
    ts = cal.unix_start + day.astype(np.int64) * 86400 + seconds_of_day(rng, in_store)

    store = np.full(m, -1, dtype=np.int64)
    home = pop.home_store[person]
    n_stores = len(org.store_code)
    travel = rng.random(m) < 0.04
    store = np.where(in_store, np.where(travel, rng.integers(n_stores, size=m), home), -1)
    guide = np.full(m, -1, dtype=np.int64)
    g_off = org.guides_by_store_offsets
    s = np.clip(store, 0, None)
    store_guide = g_off[s] + (rng.random(m) * (g_off[s + 1] - g_off[s])).astype(np.int64)
    own_guide = pop.guide[person]
    guide = np.where(in_store, np.where(store == home, own_guide, store_guide), -1)
    # A mini-program order placed through the member's guide's share link counts for that guide and store.
    shared = (channel == MINI) & (own_guide >= 0) & (rng.random(m) < 0.3)
    guide = np.where(shared, own_guide, guide)
    store = np.where(shared, home, store)

    n_lines = 1 + np.minimum(rng.poisson(1.5, size=m), 7)
    unpaid = (~in_store) & (rng.random(m) < 0.04)
    age = cal.n_days - 1 - day
    status = np.where(unpaid, CREATED_CANCELLED,
                      np.where(in_store | (age > 8), COMPLETED, np.where(age > 2, SHIPPED, PAID)))
    paid_ts = np.where(unpaid, 0, ts + np.where(in_store, 0, rng.integers(5, 900, size=m)))
    return Orders(person=person, channel=channel, day=day, ts=ts, paid_ts=paid_ts, status=status,
                  store=store, guide=guide, n_lines=n_lines, line_start=np.cumsum(n_lines) - n_lines,
                  goods_fen=np.zeros(m, np.int64), paid_goods_fen=np.zeros(m, np.int64),
                  shipping_fen=np.zeros(m, np.int64), paid_fen=np.zeros(m, np.int64),
                  refunded_fen=np.zeros(m, np.int64), refund_ts=np.zeros(m, np.int64),
                  refund_full=np.zeros(m, bool), done_ts=np.zeros(m, np.int64), gift=(~in_store) & (rng.random(m) < 0.05))


def move_to_other_platforms(rng: np.random.Generator, pop: Population, orders: Orders) -> None:
    """Some platform shoppers buy on JD instead of Tmall, and some WeChat buyers in the brand's Youzan
    store instead of its mini-program: a person-level habit, so each person's JD or Youzan account
    recurs. Runs before lines and refunds are drawn; it only relabels channels."""
    jd_shopper = rng.random(pop.n) < 0.2
    youzan_shopper = rng.random(pop.n) < 0.25
    m = len(orders.person)
    p = orders.person
    orders.channel[:] = np.where((orders.channel == TMALL) & jd_shopper[p] & (rng.random(m) < 0.7), JD,
                                 orders.channel)
    # Orders a guide shared through the mini-program stay there (they carry the guide).
    orders.channel[:] = np.where((orders.channel == MINI) & youzan_shopper[p] & (orders.guide < 0)
                                 & (rng.random(m) < 0.6), YOUZAN, orders.channel)


def make_lines(rng: np.random.Generator, pop: Population, cal: Calendar, cat: Catalogue,
               orders: Orders) -> Lines:
    m = len(orders.person)
    order = np.repeat(np.arange(m), orders.n_lines)
    line_no = np.arange(len(order)) - np.repeat(orders.line_start, orders.n_lines) + 1
    k = len(order)
    person = orders.person[order]
    cold = cal.is_cold(orders.day[order])
    base = np.array([c.weight for c in CATEGORIES])
    bias = np.array([c.cold_bias for c in CATEGORIES])
    category = np.empty(k, dtype=np.int64)
    for mask, w in ((cold, base * bias), (~cold, base / bias)):
        cdf = np.cumsum(w) / w.sum()
        category[mask] = np.searchsorted(cdf, rng.random(int(mask.sum())), side="right")
    category = np.where(rng.random(k) < 0.5, pop.fav_category[person], category)
    kids = CATEGORIES.index(next(c for c in CATEGORIES if c.code == "KD"))
    category = np.where((category == kids) & ~pop.has_kids[person], 1, category)
    gender = np.where(pop.female[person], 0, 1)
    start, count = cat.eligible_offsets[category, gender, 0], cat.eligible_offsets[category, gender, 1]
    product = cat.eligible_products[start + (rng.random(k) * count).astype(np.int64)]
    pref = np.where(cold, pop.cold_colour[person], pop.warm_colour[person])
    random_colour = cat.palette_list[product, (rng.random(k) * cat.palette_len[product]).astype(np.int64)]
    colour = np.where(cat.palette[product, pref] & (rng.random(k) < 0.75), pref, random_colour)
    system = np.array([c.sizes for c in CATEGORIES])[cat.product_category[product]]
    size = np.full(k, SIZE_SYSTEMS["one"][0], dtype=np.int64)
    size = np.where(system == "apparel", pop.apparel_size[person], size)
    size = np.where(system == "shoe", pop.shoe_size[person], size)
    size = np.where(system == "kids", pop.kids_size[person], size)
    # Sometimes one size up or down: gifts, a different cut.
    a0, ac = SIZE_SYSTEMS["apparel"]
    wobble = (system == "apparel") & (rng.random(k) < 0.1)
    size = np.where(wobble, np.clip(size + rng.choice([-1, 1], size=k), a0, a0 + ac - 1), size)
    sku = cat.sku_lookup[product, colour, size]
    qty = np.where(rng.random(k) < 0.9, 1, np.where(rng.random(k) < 0.8, 2, 3))
    unit = cat.sku_price_fen[sku]
    peak = cal.is_peak(orders.day)
    factor = np.where(peak, np.array([0.70, 0.75, 0.80])[rng.integers(3, size=m)],
                      np.array([1.0, 1.0, 0.95, 0.9, 0.85])[rng.integers(5, size=m)])
    paid = np.rint(unit * qty * factor[order]).astype(np.int64)
    return Lines(order=order, line_no=line_no, sku=sku, product=product, quantity=qty,
                 unit_price_fen=unit, paid_fen=paid, refunded_fen=np.zeros(k, np.int64))


def settle(rng: np.random.Generator, cal: Calendar, orders: Orders, lines: Lines) -> None:
    """Order totals, shipping and refunds (about 7% of paid orders, some partial)."""
    m = len(orders.person)
    orders.goods_fen[:] = np.bincount(lines.order, weights=lines.unit_price_fen * lines.quantity,
                                      minlength=m).astype(np.int64)
    orders.paid_goods_fen[:] = np.bincount(lines.order, weights=lines.paid_fen, minlength=m).astype(np.int64)
    online = orders.channel != POS
    orders.shipping_fen[:] = np.where(online & (orders.paid_goods_fen < 9900), 1000, 0)
    paid = orders.status != CREATED_CANCELLED
    orders.paid_fen[:] = np.where(paid, orders.paid_goods_fen + orders.shipping_fen, 0)

    refund_ts = orders.paid_ts + rng.integers(1, 15, size=m) * 86400 + rng.integers(0, 86400, size=m)
    end_ts = cal.unix_start + cal.n_days * 86400
    refunded = paid & (rng.random(m) < 0.075) & (refund_ts < end_ts)
    # JD's order search can only say "cancelled after payment": its refunds are whole orders.
    full = refunded & ((orders.n_lines == 1) | (rng.random(m) < 0.5) | (orders.channel == JD))
    partial = refunded & ~full
    # Partial: one line, usually all of it, sometimes part (a price-protection or damage settlement).
    chosen_line = orders.line_start + (rng.random(m) * orders.n_lines).astype(np.int64)
    ol = lines.order
    line_full = full[ol]
    lines.refunded_fen[:] = np.where(line_full, lines.paid_fen, 0)
    pl = chosen_line[partial]
    portion = np.where(rng.random(len(pl)) < 0.85, 1.0, rng.uniform(0.3, 0.7, size=len(pl)))
    # Douyin refunds whole sub-orders (售后 per SKU line); it never reports part of a line.
    portion = np.where(orders.channel[partial] == DOUYIN, 1.0, portion)
    lines.refunded_fen[pl] = np.maximum(1, np.rint(lines.paid_fen[pl] * portion)).astype(np.int64)
    orders.refunded_fen[:] = np.bincount(ol, weights=lines.refunded_fen, minlength=m).astype(np.int64)
    orders.refunded_fen[:] += np.where(full, orders.shipping_fen, 0)
    orders.refund_ts[:] = np.where(refunded, refund_ts, 0)
    orders.refund_full[:] = full
    confirm = np.minimum(orders.paid_ts + rng.integers(3, 9, size=m) * 86400 + rng.integers(0, 86400, size=m),
                         end_ts - 3600)
    done = orders.status == COMPLETED
    orders.done_ts[:] = np.where(done, np.where(online, confirm, orders.paid_ts), 0)


def make_events(rng: np.random.Generator, pop: Population, cal: Calendar, has_openid: np.ndarray) -> Events:
    who = np.flatnonzero(pop.is_member & has_openid & (pop.engagement > 0))
    years = np.maximum(cal.n_days - pop.join_day[who], 1) / 365.0
    sessions = np.minimum(rng.poisson(pop.engagement[who] * years), 400)
    person = np.repeat(who, sessions)
    first = np.repeat(pop.join_day[who], sessions)
    day = first + (rng.random(len(person)) * (cal.n_days - first)).astype(np.int64)
    kind = np.searchsorted(np.cumsum([0.45, 0.33, 0.14, 0.08]), rng.random(len(person)), side="right")
    # A check-in session is a streak of consecutive days (7-day streaks earn a bonus later).
    streak = np.where(kind == 0, np.minimum(rng.geometric(0.22, size=len(person)), 14), 1)
    person = np.repeat(person, streak)
    offset = np.arange(int(streak.sum())) - np.repeat(np.cumsum(streak) - streak, streak)
    day = np.repeat(day, streak) + offset
    kind = np.repeat(kind, streak)
    keep = day < cal.n_days
    person, day, kind = person[keep], day[keep], kind[keep]
    k = len(person)
    ts = cal.unix_start + day * 86400 + rng.integers(8 * 3600, 23 * 3600, size=k)
    order = np.lexsort((ts, person))
    person, kind, ts = person[order], kind[order], ts[order]
    seconds = np.rint(rng.lognormal(3.6, 1.0, size=k)).astype(np.int64).clip(1, 1800)
    forwards = np.where(rng.random(k) < 0.15, rng.poisson(2.0, size=k), 0)
    question = rng.integers(2, size=k)
    # Answers follow the truth, so survey tags can be checked: question 1 asks about children at school.
    sport = rng.integers(5, size=k)
    answer = np.where(question == 1, np.where(pop.has_kids[person], 0, 1), sport)
    return Events(person=person, kind=kind, ts=ts, article=rng.integers(1, 41, size=k), seconds=seconds,
                  forwards=forwards, live=rng.integers(1, 60, size=k), question=question, answer=answer)
