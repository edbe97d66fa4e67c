"""Mini-program interactions in Siyu's canonical event format (JSON Lines)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import EVENT_TYPES
from siyu.synth.text import Json, concat, digits, iso_beijing, take
from siyu.synth.writers.common import write_lines

QUESTIONS = ("您最常做的运动是？", "您家是否有正在上学的孩子？")
SPORTS = ("跑步", "篮球", "健身", "瑜伽", "徒步")
# What members write to their guide on WeCom. Most messages say nothing about the person; some do, and
# those follow the truth where there is one (children at school), so keyword tags can be checked.
SMALL_TALK = ("在吗？", "这双有37码吗", "什么时候发货呀", "好的，谢谢", "收到了，很喜欢", "门店几点关门？",
              "这款还有别的颜色吗", "帮我留一件M码")
TELLING = ("孩子马上开学了，想给他买双新鞋", "我是敏感肌，这件衣服的面料会不会刺激皮肤？",
           "我脚比较宽，脚背也高，这款会不会偏窄？", "想买来送人，可以包装成礼物吗？",
           "怀孕了脚有点肿，推荐一双舒服的鞋", "最近有优惠券吗？什么时候打折？")


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ev, ids = brand.events, brand.ids
    n = len(ev.person)
    p = pa.array(ev.person)
    kind = ev.kind
    answer_text = pc.if_else(pa.array(ev.question == 1), take(["是", "否"], np.minimum(ev.answer, 1)),
                             take(SPORTS, ev.answer))
    props = pc.if_else(
        pa.array(kind == 1),
        Json().s("article_id", concat("ART", digits(ev.article, 3))).n("read_seconds", ev.seconds)
        .n("forwards", ev.forwards).build(),
        pc.if_else(pa.array(kind == 2),
                   Json().s("live_id", concat("LIVE", digits(ev.live, 4))).build(),
                   pc.if_else(pa.array(kind == 3),
                              Json().s("survey_id", pa.array(np.full(n, "SV01")))
                              .s("question", take(QUESTIONS, ev.question)).s("answer", answer_text).build(),
                              "{}")))
    lines = (Json().s("message_id", concat("ev-", digits(np.arange(n), 10)))
             .s("type", take(EVENT_TYPES, kind)).s("occurred_at", iso_beijing(ev.ts))
             .s("openid", ids.openid.take(p)).s("unionid", ids.unionid.take(p)).raw("properties", props).build())
    messages = _wecom_messages(brand)
    path = "events/events.jsonl"
    write_lines(pa.concat_arrays([lines, messages]), brand.out / path)
    return {path: n + len(messages)}


def _wecom_messages(brand) -> pa.StringArray:  # type: ignore[no-untyped-def]
    """Members who are a guide's WeCom friend and have an openid write a few messages (type
    ``wecom_message``, ``properties.text``), after they joined."""
    pop, ids, cal = brand.pop, brand.ids, brand.cal
    rng = brand.rng("messages")  # its own stream: the other files keep their bytes
    who = np.flatnonzero(pop.wecom_friend & brand.has_openid & (pop.guide >= 0))
    count = rng.integers(1, 5, size=len(who))
    person = np.repeat(who, count)
    k = len(person)
    first = pop.join_day[person]
    day = np.minimum(first + (rng.random(k) * (cal.n_days - first)).astype(np.int64), cal.n_days - 1)
    ts = cal.unix_start + day * 86400 + rng.integers(9 * 3600, 22 * 3600, size=k)
    # one telling message in six; the one about school only from parents
    telling = rng.integers(len(TELLING), size=k)
    tells = (rng.random(k) < 1 / 6) & ((telling != 0) | pop.has_kids[person])
    text = pc.if_else(pa.array(tells), take(TELLING, telling), take(SMALL_TALK, rng.integers(len(SMALL_TALK), size=k)))
    p = pa.array(person)
    return (Json().s("message_id", concat("msg-", digits(np.arange(k), 10))).s("type", pa.array(np.full(k, "wecom_message")))
            .s("occurred_at", iso_beijing(ts)).s("openid", ids.openid.take(p)).s("unionid", ids.unionid.take(p))
            .raw("properties", Json().s("text", text).build()).build())
