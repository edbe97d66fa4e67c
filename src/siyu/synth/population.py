"""The people: who they are, where they live, what they like, how often they buy and through where.

Purchase behaviour follows the buy-till-you-die family (BG/NBD): each person buys at their own rate
λ ~ Gamma while alive, and after each purchase drops out with probability p ~ Beta. That gives the
heavy-tailed frequency and the dropout that RFM, churn tags and CLV models later have to face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.synth.geography import CITIES
from siyu.synth.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from siyu.synth.world import (
    APPAREL_SIZES,
    CATEGORIES,
    COLD_COLOURS,
    KIDS_SIZES,
    SIZE_SYSTEMS,
    WARM_COLOURS,
    Organisation,
)

CHANNELS = ("tmall", "douyin", "miniprogram", "pos")
CHANNEL_SHARE = np.array([0.36, 0.17, 0.20, 0.27])
PHONE_PREFIXES = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158,
                           159, 166, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199])


@dataclass
class Population:
    n: int
    female: np.ndarray
    birth_ordinal: np.ndarray  # proleptic Gregorian ordinal of the birthday
    city: np.ndarray
    district: np.ndarray
    road: np.ndarray
    community: np.ndarray
    building: np.ndarray
    surname: np.ndarray
    given1: np.ndarray
    given2: np.ndarray  # -1: single-character given name
    phone: np.ndarray  # int64; a few families share one
    email_qq: np.ndarray  # 0 = no email
    wechat: np.ndarray  # has a WeChat unionid the brand can see
    acquired_day: np.ndarray
    rate: np.ndarray  # purchases per year while alive
    dropout: np.ndarray
    primary_channel: np.ndarray
    home_store: np.ndarray  # -1: no store in their city
    guide: np.ndarray  # -1: none
    is_member: np.ndarray
    join_channel: np.ndarray  # 2 miniprogram, 3 pos, -1 not a member
    join_day: np.ndarray
    also_joined_mini: np.ndarray  # a POS member who later registered in the mini-program too
    card_seq: np.ndarray  # member card sequence (-1: none)
    mini_card_seq: np.ndarray  # card the mini-program registration got (differs after a dirty POS phone)
    pos_reg_phone: np.ndarray  # phone typed at the POS registration (sometimes the store's walk-in phone)
    wecom_friend: np.ndarray
    wecom_remark_phone: np.ndarray  # phone the guide typed into the contact's remark (0: none)
    tmall_joined: np.ndarray  # joined the brand's membership in its Tmall store (会员通): Tmall sends their phone
    fav_category: np.ndarray
    warm_colour: np.ndarray
    cold_colour: np.ndarray
    apparel_size: np.ndarray  # index into SIZES
    shoe_size: np.ndarray
    has_kids: np.ndarray
    kids_size: np.ndarray
    engagement: np.ndarray  # how much they interact in the mini-program (events per year)


def _ordinal(year: int, month: int, day: int) -> int:
    import datetime as dt

    return dt.date(year, month, day).toordinal()


def build_population(rng: np.random.Generator, n: int, org: Organisation, n_days: int,
                     acquisition_cdf: np.ndarray, end_ordinal: int) -> Population:
    female = rng.random(n) < 0.56
    age = np.clip(rng.normal(31, 9, n), 16, 68)
    birth = (end_ordinal - age * 365.25).astype(np.int64)
    weights = np.array([c[4] for c in CITIES])
    city = rng.choice(len(CITIES), size=n, p=weights / weights.sum())
    n_dist = np.array([len(c[5]) for c in CITIES])
    district = (rng.random(n) * n_dist[city]).astype(np.int64)
    sw = np.array([w for _, w in SURNAMES])
    surname = rng.choice(len(SURNAMES), size=n, p=sw / sw.sum())
    glen = np.where(female, len(GIVEN_FEMALE), len(GIVEN_MALE))
    given1 = (rng.random(n) * glen).astype(np.int64)
    given2 = np.where(rng.random(n) < 0.62, (rng.random(n) * glen).astype(np.int64), -1)

    # Unique 8-digit suffixes through an affine permutation of 0..10^8: no collisions, no big set.
    prefix = PHONE_PREFIXES[rng.integers(len(PHONE_PREFIXES), size=n)]
    a, b = 48_271, int(rng.integers(10**8))
    suffix = (a * np.arange(n, dtype=np.int64) + b) % 10**8
    phone = prefix.astype(np.int64) * 10**8 + suffix
    # ~0.4% share a family phone with someone else: exact matching cannot tell them apart.
    fam = np.flatnonzero(rng.random(n) < 0.004)
    phone[fam] = phone[rng.integers(n, size=len(fam))]
    email_qq = np.where(rng.random(n) < 0.3, rng.integers(10_000_000, 3_999_999_999, size=n), 0)
    wechat = rng.random(n) < 0.96

    acquired = np.searchsorted(acquisition_cdf, rng.random(n) * acquisition_cdf[-1]).clip(0, n_days - 1)
    rate = rng.gamma(shape=1.2, scale=3.9, size=n)  # mean ≈ 4.7 purchases a year while alive
    dropout = rng.beta(1.1, 7.5, size=n)

    home_store = np.full(n, -1, dtype=np.int64)
    for c, stores in org.stores_by_city.items():
        who = np.flatnonzero(city == c)
        home_store[who] = stores[rng.integers(len(stores), size=len(who))]
    has_store = home_store >= 0
    share = np.tile(CHANNEL_SHARE, (n, 1))
    share[~has_store, 3] = 0.0
    share /= share.sum(axis=1, keepdims=True)
    cum = share.cumsum(axis=1)
    primary = (rng.random((n, 1)) > cum).sum(axis=1)

    g_off = org.guides_by_store_offsets
    hs = np.where(has_store, home_store, 0)
    guide = np.where(has_store, g_off[hs] + (rng.random(n) * (g_off[hs + 1] - g_off[hs])).astype(np.int64), -1)

    p_member = np.array([0.42, 0.30, 0.88, 0.72])[primary]
    is_member = rng.random(n) < p_member
    join_channel = np.where(is_member, np.where(has_store & (rng.random(n) < 0.45) | (primary == 3), 3, 2), -1)
    join_channel = np.where(is_member & ~has_store, 2, join_channel)
    join_day = np.clip(acquired + rng.integers(-20, 40, size=n), 0, n_days - 1)
    also_mini = is_member & (join_channel == 3) & (rng.random(n) < 0.35)
    card_seq = np.where(is_member, np.arange(n), -1)
    # Cashiers sometimes type the store's walk-in number, or 13800000000, instead of the customer's phone.
    pos_reg_phone = phone.copy()
    dirty = is_member & (join_channel == 3) & (rng.random(n) < 0.04)
    pos_reg_phone[dirty] = org.store_walkin_phone[hs[dirty]]
    fake = is_member & (join_channel == 3) & (rng.random(n) < 0.005)
    pos_reg_phone[fake] = 13_800_000_000
    # A later mini-program registration is matched to the POS card by phone; with a dirty phone the
    # legacy CRM could not match it, so that person got a second card.
    mini_card = np.where(also_mini & (pos_reg_phone != phone), n + np.arange(n), card_seq)

    wecom = has_store & (rng.random(n) < np.where(is_member, 0.55, 0.12))
    remark = np.where(wecom & (rng.random(n) < 0.4), phone, 0)
    remark = np.where(wecom & (rng.random(n) < 0.01), 13_800_000_000, remark)

    cw = np.array([c.weight for c in CATEGORIES])
    fav_cat = rng.choice(len(CATEGORIES), size=n, p=cw / cw.sum())
    warm = np.array(WARM_COLOURS)[rng.integers(len(WARM_COLOURS), size=n)]
    cold = np.array(COLD_COLOURS)[rng.integers(len(COLD_COLOURS), size=n)]
    # Half the people keep black (or white) all year: colour-by-season tags must see both patterns.
    steady = rng.random(n) < 0.5
    warm = np.where(steady, cold, warm)
    a_start, _ = SIZE_SYSTEMS["apparel"]
    s_start, _ = SIZE_SYSTEMS["shoe"]
    k_start, _ = SIZE_SYSTEMS["kids"]
    app = np.where(female, rng.choice(len(APPAREL_SIZES), n, p=[0.3, 0.4, 0.2, 0.08, 0.02]),
                   rng.choice(len(APPAREL_SIZES), n, p=[0.05, 0.2, 0.35, 0.28, 0.12]))
    shoe = np.where(female, np.clip(np.rint(rng.normal(37.5, 1.2, n)), 35, 45),
                    np.clip(np.rint(rng.normal(42, 1.3, n)), 35, 45)).astype(np.int64) - 35
    age_now = (end_ordinal - birth) / 365.25
    kids = (age_now > 27) & (age_now < 48) & (rng.random(n) < 0.45)
    kid_size = rng.integers(len(KIDS_SIZES), size=n)
    engagement = np.where(is_member, rng.gamma(0.7, 3.0, size=n), 0.0)

    return Population(
        n=n, female=female, birth_ordinal=birth, city=city, district=district,
        road=rng.integers(20, size=n), community=rng.integers(16, size=n),
        building=rng.integers(1, 30, size=n), surname=surname, given1=given1, given2=given2,
        phone=phone, email_qq=email_qq, wechat=wechat, acquired_day=acquired, rate=rate,
        dropout=dropout, primary_channel=primary, home_store=home_store, guide=guide,
        is_member=is_member, join_channel=join_channel, join_day=join_day, also_joined_mini=also_mini,
        card_seq=card_seq, mini_card_seq=mini_card, pos_reg_phone=pos_reg_phone, wecom_friend=wecom,
        wecom_remark_phone=remark, tmall_joined=rng.random(n) < 0.35, fav_category=fav_cat,
        warm_colour=warm, cold_colour=cold, apparel_size=a_start + app, shoe_size=s_start + shoe,
        has_kids=kids, kids_size=k_start + kid_size, engagement=engagement,
    )
