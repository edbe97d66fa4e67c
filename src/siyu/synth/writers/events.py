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
    path = "events/events.jsonl"
    write_lines(lines, brand.out / path)
    return {path: n}
