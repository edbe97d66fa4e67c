"""Every identifier a channel knows a person by, built for the whole population at once.

Random ids are drawn from their own generator per kind, so adding a kind never changes the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.geography import CITIES, COMMUNITIES, ROADS
from siyu.synth.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from siyu.synth.population import Population
from siyu.synth.text import ALNUM, DIGITS, concat, digits, random_tokens, take


@dataclass
class Identifiers:
    name: pa.StringArray
    phone: pa.StringArray
    email: pa.StringArray  # null when none
    province: pa.StringArray
    city: pa.StringArray
    district: pa.StringArray
    street: pa.StringArray  # road, number, community, building — without province/city/district
    postcode: pa.StringArray
    birthday: pa.Array  # date32
    taobao_nick: pa.StringArray
    taobao_open_uid: pa.StringArray
    oaid: pa.StringArray
    douyin_open_id: pa.StringArray
    openid: pa.StringArray
    unionid: pa.StringArray  # null for the few without a visible unionid
    external_userid: pa.StringArray
    card_no: pa.StringArray  # brand member card per card sequence number
    jd_open_id: pa.StringArray
    yz_open_id: pa.StringArray


def _perm(values: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection on 0..modulus-1: unique ids that do not look sequential."""
    return (values.astype(np.int64) * 7_919 + salt) % modulus


def build_identifiers(seed_seq: np.random.SeedSequence, pop: Population) -> Identifiers:
    rngs = [np.random.default_rng(s) for s in seed_seq.spawn(8)]
    n = pop.n
    idx = np.arange(n)
    fem = pa.array(pop.female)
    g1 = pc.if_else(fem, take(GIVEN_FEMALE, pop.given1 % len(GIVEN_FEMALE)),
                    take(GIVEN_MALE, pop.given1 % len(GIVEN_MALE)))
    g2i = np.maximum(pop.given2, 0)
    g2 = pc.if_else(fem, take(GIVEN_FEMALE, g2i % len(GIVEN_FEMALE)), take(GIVEN_MALE, g2i % len(GIVEN_MALE)))
    g2 = pc.if_else(pa.array(pop.given2 >= 0), g2, "")
    name = concat(take([s for s, _ in SURNAMES], pop.surname), g1, g2)
    phone = pa.array(pop.phone).cast(pa.string())
    has_email = pa.array(pop.email_qq > 0)
    email = pc.if_else(has_email, concat(pa.array(pop.email_qq).cast(pa.string()), "@qq.com"),
                       pa.scalar(None, pa.string()))

    prov = take([c[0] for c in CITIES], pop.city)
    city = take([c[1] for c in CITIES], pop.city)
    flat_d = [d for c in CITIES for d in c[5]]
    d_off = np.cumsum([0] + [len(c[5]) for c in CITIES])[:-1]
    district = take(flat_d, d_off[pop.city] + pop.district)
    street = concat(take(ROADS, pop.road), pa.array(pop.building * 7 % 300 + 1).cast(pa.string()), "号",
                    take(COMMUNITIES, pop.community), pa.array(pop.building).cast(pa.string()), "幢")
    postcode = concat(take([c[6] for c in CITIES], pop.city), "000")
    birthday = pa.array(pop.birth_ordinal - 719_163, type=pa.int32()).cast(pa.date32())

    nick_a = concat("tb", digits(_perm(idx, 10**10, 1_234_567), 10))
    nick_b = concat("t_", digits(1_500_000_000_000 + _perm(idx, 10**11, 98_765), 13), "_0",
                    digits(idx % 997, 3))
    nick = pc.if_else(pa.array(rngs[0].random(n) < 0.6), nick_a, nick_b)
    card = concat("LT", digits(_perm(np.arange(2 * n), 10**10, 24_680), 10))
    # Spawned after the first eight, so adding these kinds left the others unchanged.
    jd_rng, yz_rng = (np.random.default_rng(s) for s in seed_seq.spawn(2))
    return Identifiers(
        name=name, phone=phone, email=email, province=prov, city=city, district=district, street=street,
        postcode=postcode, birthday=birthday, taobao_nick=nick,
        taobao_open_uid=random_tokens(rngs[1], n, 21, "AAH", ALNUM),
        oaid=random_tokens(rngs[2], n, 32, "", ALNUM),
        douyin_open_id=random_tokens(rngs[3], n, 52, "1@#"),
        openid=random_tokens(rngs[4], n, 27, "o"),
        unionid=pc.if_else(pa.array(pop.wechat), random_tokens(rngs[5], n, 27, "o"),
                           pa.scalar(None, pa.string())),
        external_userid=random_tokens(rngs[6], n, 30, "wm"),
        card_no=card,
        jd_open_id=random_tokens(jd_rng, n, 24, "o-jd-", ALNUM),
        yz_open_id=random_tokens(yz_rng, n, 20, "yz", ALNUM),
    )


def other_phones(rng: np.random.Generator, n: int) -> pa.StringArray:
    """Phones of people outside the brand's customer base (gift recipients and the like)."""
    head = np.array(["147", "173", "175", "178", "184", "193", "195", "197"])[rng.integers(8, size=n)]
    tail = DIGITS[rng.integers(10, size=(n, 8))].view("S8").ravel()
    return concat(pa.array(head), pa.array(tail, type=pa.binary()).cast(pa.string()))
