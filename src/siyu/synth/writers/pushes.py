"""Platform pushes as the brand's webhook endpoints received them: captured deliveries, replayable.

Not everything a brand knows arrives in an export. Since its last pull of the Youzan API a week before
the end, Youzan pushed every new trade; Douyin pushed every status change and after-sale of the last
week; WeCom called back for every new friend; and over the whole history Tmall's brand member centre
(会员通) and Douyin's member join SPI called for every buyer who joined the brand's membership there. The generator writes those deliveries one JSON object per
line — ``method``, ``path``, ``query``, ``headers`` and the raw ``body`` — signed (WeCom: encrypted)
with the demo apps' credentials, which it writes to ``_pushes/apps.json`` under the names of the
settings that hold them (``youzan_client_secret`` …). The folder starts with an underscore because these
are not exports: ``siyu import`` skips it, and ``siyu demo`` (or ``siyu webhooks replay``) sends them
through Siyu's own webhook endpoints. One delivery in ten is sent twice, as a platform retries one it had no answer to.

Pushes are few (a week of one brand), so they are built message by message; every random choice comes
from the brand's seeded generator, so the same seed writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from siyu.core.platform_sign import (
    douyin_sign,
    douyin_spi_sign,
    top_spi_sign,
    youzan_event_sign,
    youzan_msg_sign,
)
from siyu.core.wxcrypt import WecomCallbackConfig, WecomCrypto

RECENT_DAYS = 7
RETRY_EVERY = 10
APPS = {
    "youzan_client_id": "6cd25b3f99727975b5",
    "youzan_client_secret": "lantu-demo-youzan-secret-5f0e2c",
    "douyin_app_key": "7151238921365308935",
    "douyin_app_secret": "lantu-demo-douyin-secret-9b41d7",
    "douyin_shop_id": "4263918",
    "douyin_client_key": "awlantu7k3x9q2demo",
    "douyin_client_secret": "lantu-demo-douyin-member-secret-3a8f06",
    "tmall_app_key": "34125678",
    "tmall_app_secret": "lantu-demo-tmall-secret-71c2e8",
    "wecom_token": "LanTuSiyuDemoToken",
    "wecom_corp_id": "ww5e1f0c3a9b7d2e41",
    "wecom_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
}


def since(brand) -> int:  # type: ignore[no-untyped-def]
    """Unix second from which the platforms' news reached the brand as pushes only."""
    return int(brand.cal.unix_start + (brand.cal.n_days - RECENT_DAYS) * 86400)


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _delivery(path: str, headers: dict[str, str], body: str, query: dict[str, str] | None = None) -> str:
    return _json({"method": "POST", "path": path, "query": query or {}, "headers": headers, "body": body})


def _write(brand, name: str, deliveries: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The deliveries, each tenth one twice; and the apps' credentials beside them."""
    folder: Path = brand.out / "_pushes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "apps.json").write_text(json.dumps(APPS, indent=2) + "\n")
    lines = []
    for i, d in enumerate(deliveries):
        lines.append(d)
        if i % RETRY_EVERY == RETRY_EVERY - 1:
            lines.append(d)
    path = f"_pushes/{name}.jsonl"
    (brand.out / path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return {path: len(lines)}


# -- Youzan: new trades, in full --------------------------------------------------------------------

YOUZAN_TYPE = {"WAIT_SELLER_SEND_GOODS": "trade_TradePaid", "WAIT_BUYER_CONFIRM_GOODS": "trade_TradeSellerShip",
               "TRADE_SUCCESS": "trade_TradeSuccess", "TRADE_CLOSED": "trade_TradeClose"}


def youzan(brand, kdt_id: int, trades: list[str], versions: np.ndarray) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """``trades``: each trade as ``youzan.trades.sold.get`` lists it (``{"full_order_info": …,
    "refund_order": […]}``), which is what a Youzan trade message carries URL-encoded in ``msg``."""
    cid, secret = APPS["youzan_client_id"], APPS["youzan_client_secret"]
    out = []
    for trade, version in zip(trades, versions.tolist(), strict=True):
        info = json.loads(trade)["full_order_info"]["order_info"]
        msg = quote(trade, safe="")
        kind = YOUZAN_TYPE[info["status"]]
        body = _json({"client_id": cid, "id": info["tid"], "kdt_id": kdt_id, "kdt_name": "澜途运动微商城",
                      "mode": 1, "msg": msg, "sendCount": 0, "status": info["status"], "test": False,
                      "type": kind, "version": version,
                      "sign": youzan_msg_sign(cid, msg, secret)})
        out.append(_delivery("/webhooks/youzan", {
            "Content-Type": "application/json", "Client-Id": cid, "Event-Type": kind,
            "Event-Sign": youzan_event_sign(cid, body.encode(), secret)}, body))
    return _write(brand, "youzan", out)


# -- Tmall brand member centre (会员通): joins, over the whole history ------------------------------

def tmall_members(brand, persons: np.ndarray, when: np.ndarray) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Member centre SPI calls for Tmall buyers who joined the brand's membership in its Tmall store:
    ``bind`` when the brand already had them as members (by phone) by then, else ``register``."""
    from siyu.synth.text import beijing_time

    key, secret = APPS["tmall_app_key"], APPS["tmall_app_secret"]
    pop, ids = brand.pop, brand.ids
    known = pop.is_member[persons] & (brand.cal.unix_start + pop.join_day[persons] * 86400 <= when)
    stamps = beijing_time(when).to_pylist()
    nicks = ids.taobao_nick.take(persons).to_pylist()
    ouids = ids.taobao_open_uid.take(persons).to_pylist()
    phones = ids.phone.take(persons).to_pylist()
    order = np.lexsort((persons, when))
    out = []
    for i in order.tolist():
        body = _json({"seller_name": "澜途运动官方旗舰店", "nick": nicks[i], "mobile": phones[i], "open_id": ouids[i]})
        params = {"method": "tmall.mei.crm.bind" if known[i] else "tmall.mei.crm.member.register",
                  "app_key": key, "timestamp": stamps[i], "v": "2.0", "sign_method": "md5", "format": "json"}
        params["sign"] = top_spi_sign(secret, params, body.encode())
        out.append(_delivery("/webhooks/tmall/member", {"Content-Type": "application/json;charset=utf-8"},
                             body, params))
    return _write(brand, "tmall_member", out)


# -- Douyin member join SPI: joins, over the whole history ------------------------------------------

def douyin_members(brand, persons: np.ndarray, when: np.ndarray) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Member join SPI calls for Douyin buyers who joined the brand's membership in Douyin: their shop
    open id and the phone bound to their Douyin account."""
    key, secret = APPS["douyin_client_key"], APPS["douyin_client_secret"]
    ids = brand.ids
    open_ids = ids.douyin_open_id.take(persons).to_pylist()
    phones = ids.phone.take(persons).to_pylist()
    out = []
    for i in np.lexsort((persons, when)).tolist():
        body = _json({"open_id": open_ids[i], "account_id": "17371731", "mobile": phones[i]})
        params = {"client_key": key, "timestamp": str(int(when[i]) * 1000)}
        out.append(_delivery("/webhooks/douyin/member", {
            "Content-Type": "application/json", "x-life-clientkey": key,
            "x-life-sign": douyin_spi_sign(secret, params, body.encode())}, body, params))
    return _write(brand, "douyin_member", out)


# -- Douyin shop: status changes and after-sales ----------------------------------------------------

DOUYIN_STEPS = {"paid": (101,), "shipped": (101, 102), "completed": (101, 102, 103), "cancelled": (106,)}


def douyin(brand, shop_id: int, orders: list[dict[str, Any]]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """``orders``: ``{p_id, s_ids, state, pay_time, ship_time, finish_time, update_time, refunds:
    [(s_id, fen, time)]}`` of the last week's Douyin orders. Douyin batches messages into one request."""
    key, secret = APPS["douyin_app_key"], APPS["douyin_app_secret"]
    messages: list[tuple[int, dict[str, Any]]] = []
    for o in orders:
        head = {"p_id": o["p_id"], "s_ids": o["s_ids"], "shop_id": shop_id}
        at = {101: o["pay_time"], 102: o["ship_time"], 103: o["finish_time"], 106: o["update_time"]}
        state = {101: 2, 102: 3, 103: 5, 106: 4}
        for tag in DOUYIN_STEPS.get(o["state"], ()):
            messages.append((tag, {**head, "order_status": state[tag], "update_time": at[tag]}))
        for s_id, fen, when in o["refunds"]:
            sale = {"aftersale_id": "7" + s_id[2:], "aftersale_type": 2, "p_id": o["p_id"], "s_id": s_id,
                    "shop_id": shop_id, "refund_amount": fen, "reason_code": 1}
            messages.append((200, {**sale, "aftersale_status": 6, "update_time": when - 3600}))
            messages.append((206, {**sale, "aftersale_status": 12, "update_time": when}))
    messages.sort(key=lambda m: (m[1]["update_time"], m[1]["p_id"], m[0]))
    out = []
    for start in range(0, len(messages), 20):
        batch = [{"tag": str(tag), "msg_id": f"{data['p_id']}:{data.get('s_id', '0')}:{tag}:{data['update_time']}",
                  "data": _json(data)} for tag, data in messages[start: start + 20]]
        body = _json(batch)
        out.append(_delivery("/webhooks/douyin", {
            "Content-Type": "application/json", "app-id": key, "sign-method": "md5",
            "event-sign": douyin_sign(key, body.encode(), secret)}, body))
    return _write(brand, "douyin", out)


# -- WeCom: new friends, encrypted callbacks --------------------------------------------------------

def wecom(brand, contacts: list[tuple[str, str, int, str]]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """``contacts``: (external_userid, guide userid, createtime, state) of the friends made last week."""
    crypto = WecomCrypto(WecomCallbackConfig(APPS["wecom_token"], APPS["wecom_corp_id"], APPS["wecom_aes_key"]))
    rng = brand.rng("wecom-callbacks")
    corp = APPS["wecom_corp_id"]
    out = []
    for ext, guide, created, state in sorted(contacts, key=lambda c: (c[2], c[0])):
        xml = (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
               f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[change_external_contact]]></Event>"
               f"<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[{guide}]]></UserID>"
               f"<ExternalUserID><![CDATA[{ext}]]></ExternalUserID><State><![CDATA[{state}]]></State>"
               f"<WelcomeCode><![CDATA[{rng.bytes(12).hex()}]]></WelcomeCode></xml>")
        encrypted = crypto.encrypt(xml, rng.bytes(16))
        timestamp, nonce = str(created + 1), str(int(rng.integers(10**8, 10**9)))
        body = (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<AgentID><![CDATA[]]></AgentID></xml>")
        query = {"msg_signature": crypto.signature(timestamp, nonce, encrypted), "timestamp": timestamp,
                 "nonce": nonce}
        out.append(_delivery("/webhooks/wecom", {"Content-Type": "text/xml"}, body, query))
    return _write(brand, "wecom", out)
