"""WeCom (企业微信) customer contacts: ``externalcontact/batch/get_by_user`` responses, one per line.

Each guide's contacts come back in pages of up to 100 with a ``next_cursor``; ``follow_info`` carries
the guide's userid, when they became friends, how (``add_way``), through which live code (``state``)
and any phone the guide typed into ``remark_mobiles``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.text import Json, concat, digits, json_array, random_tokens, take
from siyu.synth.writers import pushes
from siyu.synth.writers.common import write_lines

PAGE = 100
NICK_SUFFIX = ("呀", "酱", "宝", "🌸", "✨", "_", "🏃")


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    pop, ids, org, cal = brand.pop, brand.ids, brand.org, brand.cal
    rng = brand.rng("wecom")
    who = np.flatnonzero(pop.wecom_friend & (pop.guide >= 0))
    who = who[np.lexsort((who, pop.guide[who]))]  # grouped by guide, as the API pages them
    n = len(who)
    p = pa.array(who)
    name = ids.name.take(p)
    # WeChat nicknames: a real name sometimes, often a pet name, now and then an emoji.
    kind = rng.integers(3, size=n)
    given = pc.utf8_slice_codeunits(name, 1, 3)
    nick = pc.if_else(pa.array(kind == 0), name,
                      pc.if_else(pa.array(kind == 1), concat(given, take(NICK_SUFFIX, rng.integers(7, size=n))),
                                 concat("Lan_", digits(who % 10_000, 4))))
    add_day = np.clip(pop.join_day[who] + rng.integers(0, 60, size=n), 0, cal.n_days - 1)
    add_ts = cal.unix_start + add_day * 86400 + rng.integers(10 * 3600, 21 * 3600, size=n)
    guide = pop.guide[who]
    store = pop.home_store[who]
    state = np.select([rng.random(n) < 0.6, rng.random(n) < 0.5], [0, 1], 2)
    state_text = pc.if_else(pa.array(state == 0), concat("store_", take(org.store_code, store)),
                            pc.if_else(pa.array(state == 1), "live_618", "pkg_card"))
    remark = pop.wecom_remark_phone[who]
    remark_json = pc.if_else(pa.array(remark > 0), concat('["', pa.array(remark).cast(pa.string()), '"]'), "[]")
    avatar = concat("http://wx.qlogo.cn/mmhead/", random_tokens(rng, n, 40), "/0")
    contact = (Json().s("external_userid", ids.external_userid.take(p)).s("name", nick).s("avatar", avatar)
               .n("type", np.ones(n, dtype=int)).n("gender", np.where(pop.female[who], 2, 1))
               .s("unionid", ids.unionid.take(p)).build())
    follow = (Json().s("userid", take(org.guide_code, guide)).s("remark", pa.array(np.full(n, "")))
              .s("description", pa.array(np.full(n, ""))).n("createtime", add_ts)
              .raw("tag_id", pa.array(np.full(n, "[]"))).raw("remark_mobiles", remark_json)
              .n("add_way", np.where(state == 0, 1, np.where(state == 1, 1, 3)))
              .s("oper_userid", take(org.guide_code, guide)).s("state", state_text).build())
    entries = Json().raw("external_contact", contact).raw("follow_info", follow).build()

    # Page boundaries: every guide's contacts start a new page; pages hold at most 100.
    bounds = [0]
    if n:
        starts = np.flatnonzero(np.diff(guide, prepend=-1) != 0)
        ends = np.append(starts[1:], n)
        for s, e in zip(starts, ends, strict=True):
            bounds.extend(range(s + PAGE, e, PAGE))
            bounds.append(e)
    offsets = np.array(sorted(set(bounds)), dtype=np.int64)
    pages = len(offsets) - 1
    lists = json_array(entries, offsets)
    page_guide = guide[offsets[:-1]] if pages else np.zeros(0, int)
    last_of_guide = np.append(page_guide[1:] != page_guide[:-1], True) if pages else np.zeros(0, bool)
    cursor = pc.if_else(pa.array(last_of_guide), "", random_tokens(rng, pages, 32))
    responses = (Json().const("errcode", "0").const("errmsg", '"ok"').raw("external_contact_list", lists)
                 .s("next_cursor", cursor).build())
    path = "wecom/external_contacts.jsonl"
    write_lines(responses, brand.out / path)
    # Friends made in the last week also reached the brand as WeCom's change_external_contact callbacks.
    recent = np.flatnonzero(add_ts >= pushes.since(brand))
    callbacks = list(zip(ids.external_userid.take(p).take(pa.array(recent)).to_pylist(),
                         take(org.guide_code, guide[recent]).to_pylist(), add_ts[recent].tolist(),
                         state_text.take(pa.array(recent)).to_pylist(), strict=True))
    return {path: n, **pushes.wecom(brand, callbacks)}
