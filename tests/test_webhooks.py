"""Platform pushes through the HTTP endpoints, signed as each platform's documentation says: Youzan
(Event-Sign md5), Douyin shop (event-sign md5 / hmac-sha256) and WeCom (WXBizMsgCrypt, encrypted and
plain). Bad signatures are refused and write nothing; redeliveries change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import WITH_PERSON
from siyu.bootstrap import Runtime
from siyu.cli.importer import run_import
from siyu.console.app import create_app
from siyu.ingest.wecom_callback import WecomCallbackConfig, WecomCrypto
from siyu.models import Event, Guide, InboxMessage, Order, OrderItem, Profile, ProfilePerson, Refund

SAMPLES = Path(__file__).parent / "samples"
CLIENT_ID, CLIENT_SECRET = "a1b2c3d4e5", "s3cr3t-youzan"
APP_KEY, APP_SECRET = "7001234567890", "s3cr3t-douyin"
CORP, TOKEN = "ww1234567890abcdef", "QDG6eK"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")


def _client(rt: Runtime, **settings: Any) -> TestClient:
    st = rt.settings.model_copy(update={"youzan_client_id": CLIENT_ID, "youzan_client_secret": CLIENT_SECRET,
                                        "douyin_app_key": APP_KEY, "douyin_app_secret": APP_SECRET,
                                        "wecom_token": TOKEN, "wecom_corp_id": CORP, "wecom_aes_key": AES_KEY,
                                        **settings})
    return TestClient(create_app(replace(rt, settings=st)))


def _count(rt: Runtime, model: Any) -> int:
    with rt.db.read_only() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _order(rt: Runtime, external_id: str) -> Any:
    with rt.db.read_only() as s:
        found = s.execute(select(Order.status, Order.refunded_fen).where(Order.external_id == external_id)).first()
        assert found is not None
        return found


# -- Youzan -------------------------------------------------------------------------------------------

def _youzan_push(kind: str, msg: dict[str, Any] | None, msg_id: str, *, encode: bool = True, **extra: Any) -> bytes:
    body = {"client_id": CLIENT_ID, "kdt_id": 90001, "kdt_name": "示例旗舰店", "id": (msg or {}).get("tid", ""),
            "type": kind, "status": extra.pop("status", ""), "msg_id": msg_id, "version": 1700000000,
            "test": False, "mode": 1, "sendCount": 0,
            "msg": quote(json.dumps(msg, ensure_ascii=False)) if encode else msg, **extra}
    return json.dumps(body, ensure_ascii=False).encode()


def _post_youzan(client: TestClient, kind: str, raw: bytes, sign: str | None = None) -> Any:
    sign = sign if sign is not None else hashlib.md5(CLIENT_ID.encode() + raw + CLIENT_SECRET.encode()).hexdigest()
    return client.post("/webhooks/youzan", content=raw, headers={"Event-Sign": sign, "Event-Type": kind,
                                                                 "Client-Id": CLIENT_ID})


def test_youzan_push(rt: Runtime) -> None:
    client = _client(rt)
    entry = json.loads((SAMPLES / "youzan_trades_sold_get.json").read_text())["data"]["full_order_info_list"][0]
    full = entry["full_order_info"]
    tid = full["order_info"]["tid"]
    full["order_info"]["status"] = "WAIT_SELLER_SEND_GOODS"
    paid = _youzan_push("trade_TradeBuyerPay", {"full_order_info": full}, "m-pay")

    forged = _post_youzan(client, "trade_TradeBuyerPay", paid, sign="0" * 32)
    assert forged.status_code == 401 and "success" not in forged.text
    assert _count(rt, Order) == 0 and _count(rt, InboxMessage) == 0

    r = _post_youzan(client, "trade_TradeBuyerPay", paid)
    assert r.status_code == 200 and r.json()["msg"] == "success" and r.json()["outcomes"] == {"m-pay": "applied"}
    assert _order(rt, tid).status == "paid" and _count(rt, OrderItem) == 2
    assert _post_youzan(client, "trade_TradeBuyerPay", paid).json()["outcomes"] == {"m-pay": "duplicate"}

    ship = _youzan_push("trade_TradeSellerShip", {"tid": tid, "update_time": "2026-11-12 09:00:00"}, "m-ship",
                        status="WAIT_BUYER_CONFIRM_GOODS")
    assert _post_youzan(client, "trade_TradeSellerShip", ship).json()["outcomes"] == {"m-ship": "applied"}
    assert _order(rt, tid).status == "shipped"
    # A late trade_TradeCreate (the order before payment) does not move the order back.
    full_created = json.loads(json.dumps(full))
    full_created["order_info"]["status"] = "WAIT_BUYER_PAY"
    late = _youzan_push("trade_TradeCreate", {"full_order_info": full_created}, "m-create")
    assert _post_youzan(client, "trade_TradeCreate", late).json()["outcomes"] == {"m-create": "stale"}
    assert _order(rt, tid).status == "shipped"

    # The newer refund message carries msg as an object; the refunded sub-order gets its line.
    refund = _youzan_push("youzan_trade_RefundSuccess", {"tid": tid, "refund_id": "201911111234", "oids": "1555002",
                                                         "refunded_fee": "60.00", "refund_type": "REFUND_ONLY"},
                          "m-refund", encode=False)
    assert _post_youzan(client, "youzan_trade_RefundSuccess", refund).json()["outcomes"] == {"m-refund": "applied"}
    assert _order(rt, tid).refunded_fen == 6000
    with rt.db.read_only() as s:
        assert s.scalar(select(Refund.line_no).where(Refund.external_id == "201911111234")) == 2

    # An older push without Event-Sign is checked by the body's sign = md5(client_id + msg + secret).
    done = json.loads(_youzan_push("trade_TradeSuccess", {"tid": tid, "update_time": "2026-11-15 10:00:00"}, "m-done"))
    done["sign"] = hashlib.md5((CLIENT_ID + done["msg"] + CLIENT_SECRET).encode()).hexdigest()
    r = client.post("/webhooks/youzan", content=json.dumps(done).encode())
    assert r.json()["outcomes"] == {"m-done": "applied"} and _order(rt, tid).status == "completed"
    done["sign"] = "f" * 32
    assert client.post("/webhooks/youzan", content=json.dumps(done).encode()).status_code == 401

    # The same trade in a later API export is the same order, with its refund once.
    run_import(rt, SAMPLES / "youzan_trades_sold_get.json")
    assert _count(rt, Order) == 2 and _order(rt, tid).refunded_fen == 6000

    unknown = _youzan_push("trade_TradeClose", {"tid": "E-NOT-HERE", "close_type": 1}, "m-close")
    assert _post_youzan(client, "trade_TradeClose", unknown).json()["outcomes"] == {"m-close": "no_order"}
    broken = _youzan_push("trade_TradeSellerShip", {"update_time": "2026-11-12 09:00:00"}, "m-broken")
    assert _post_youzan(client, "trade_TradeSellerShip", broken).json()["outcomes"] == {"m-broken": "rejected"}
    with rt.db.read_only() as s:
        assert s.scalar(select(InboxMessage.detail).where(InboxMessage.message_id == "m-broken")) == "tid: missing field"

    off = _client(rt, youzan_client_secret=None)
    assert _post_youzan(off, "trade_TradeBuyerPay", paid).status_code == 503


# -- Douyin shop --------------------------------------------------------------------------------------

DOUYIN_ORDER = {
    "order_id": "6920000000000000001", "order_status": 2, "main_status": 2, "pay_amount": 25800,
    "pay_time": 1763000000, "create_time": 1762999900, "doudian_open_id": "1@#dyOpenId0001",
    "mask_post_tel": "1********35", "shop_id": 4463798,
    "sku_order_list": [
        {"order_id": "6920000000000000011", "item_num": 1, "origin_amount": 15800, "pay_amount": 15800,
         "code": "SKU-A", "product_name": "运动鞋", "after_sale_info": {"refund_status": 0}},
        {"order_id": "6920000000000000012", "item_num": 2, "origin_amount": 10000, "pay_amount": 10000,
         "code": "SKU-B", "product_name": "袜子", "after_sale_info": {"refund_status": 0}}],
}


def _douyin_export(path: Path, order: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"code": 10000, "msg": "success", "data": {"shop_order_list": [order],
                                                                          "total": 1}}, ensure_ascii=False))
    return path


def _post_douyin(client: TestClient, messages: list[dict[str, Any]], method: str = "md5", sign: str | None = None) -> Any:
    raw = json.dumps(messages, ensure_ascii=False).encode()
    signed = APP_KEY.encode() + raw + APP_SECRET.encode()
    if sign is None:
        sign = (hmac.new(APP_SECRET.encode(), signed, hashlib.sha256).hexdigest() if method == "hmac-sha256"
                else hashlib.md5(signed).hexdigest())
    return client.post("/webhooks/douyin", content=raw,
                       headers={"app-id": APP_KEY, "event-sign": sign, "sign-method": method})


def _msg(tag: str, msg_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"tag": tag, "msg_id": msg_id, "data": json.dumps(data)}


def test_douyin_push(rt: Runtime, tmp_path: Path) -> None:
    client = _client(rt)
    p_id = DOUYIN_ORDER["order_id"]
    assert _post_douyin(client, [{"tag": "0", "msg_id": "", "data": "{}"}]).json()["msg"] == "success"
    run_import(rt, _douyin_export(tmp_path / "order_searchList.json", DOUYIN_ORDER))
    ship = _msg("102", "d-ship", {"p_id": int(p_id), "s_ids": [], "shop_id": 4463798, "order_status": 3,
                                  "update_time": 1763100000})
    assert _post_douyin(client, [ship], sign="bad").status_code == 401
    assert _order(rt, p_id).status == "paid"
    r = _post_douyin(client, [ship], method="hmac-sha256")
    assert r.json() == {"code": 0, "msg": "success", "outcomes": {"d-ship": "applied"}}
    assert _order(rt, p_id).status == "shipped"

    refund = _msg("206", "d-refund", {"aftersale_id": "7100000000000000001", "p_id": int(p_id),
                                      "s_id": 6920000000000000012, "shop_id": 4463798, "refund_amount": 10000,
                                      "update_time": 1763200000})
    for _ in range(2):  # the platform retries until it reads success
        _post_douyin(client, [refund])
    assert _order(rt, p_id).refunded_fen == 10000
    # The next export shows the same sub-order refunded: still one refund.
    refunded = json.loads(json.dumps(DOUYIN_ORDER))
    refunded["order_status"] = 3
    refunded["sku_order_list"][1]["after_sale_info"] = {"refund_status": 3}
    run_import(rt, _douyin_export(tmp_path / "order_searchList.json", refunded))
    assert _order(rt, p_id).refunded_fen == 10000 and _count(rt, Refund) == 1

    cancel = _msg("106", "d-cancel", {"p_id": int(p_id), "shop_id": 4463798, "update_time": 1763300000})
    junk = {"tag": "206", "msg_id": "d-junk", "data": "{not json"}
    out = _post_douyin(client, [cancel, junk, "nonsense"]).json()["outcomes"]
    assert out == {"d-cancel": "applied", "d-junk": "rejected", "#2": "rejected"}
    order = _order(rt, p_id)
    assert (order.status, order.refunded_fen) == ("refunded", 25800)


# -- WeCom --------------------------------------------------------------------------------------------

def _contact_change(change: str, ext: str = "wmEXTERNAL0001xyz", guide: str = "G0001", at: int = 1763000000) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>"
            f"<UserID><![CDATA[{guide}]]></UserID><ExternalUserID><![CDATA[{ext}]]></ExternalUserID>"
            f"<State><![CDATA[store-0001-live]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>")


def test_wecom_encrypted_callback(rt: Runtime) -> None:
    client = _client(rt)
    crypto = WecomCrypto(WecomCallbackConfig(TOKEN, CORP, AES_KEY))
    echo = crypto.encrypt("4888133523462425542")
    q = {"msg_signature": crypto.signature("1409659589", "263014780", echo), "timestamp": "1409659589",
         "nonce": "263014780", "echostr": echo}
    r = client.get("/webhooks/wecom", params=q)
    assert (r.status_code, r.text) == (200, "4888133523462425542")
    assert client.get("/webhooks/wecom", params={**q, "msg_signature": "0" * 40}).status_code == 403

    body, query = crypto.seal(_contact_change("add_external_contact"))
    for _ in range(2):  # WeCom retries a callback it did not see answered
        r = client.post("/webhooks/wecom", params=query, content=body)
        assert (r.status_code, r.text) == (200, "success")
    with rt.db.read_only() as s:
        [event] = s.scalars(select(Event)).all()
        assert event.type == "wecom_add_external_contact" and event.properties["state"] == "store-0001-live"
        profile = s.scalar(select(Profile).where(Profile.external_id == "wmEXTERNAL0001xyz"))
        assert profile is not None and profile.source == "store-0001-live" and event.profile_id == profile.id

    bad = client.post("/webhooks/wecom", params={**query, "msg_signature": "f" * 40}, content=body)
    assert bad.status_code == 403
    other = WecomCrypto(WecomCallbackConfig(TOKEN, "wwANOTHERCORP", AES_KEY))
    body2, query2 = other.seal(_contact_change("del_follow_user"))
    assert client.post("/webhooks/wecom", params=query2, content=body2).status_code == 403
    body3, query3 = crypto.seal(_contact_change("del_follow_user", at=1763100000))
    assert client.post("/webhooks/wecom", params=query3, content=body3).text == "success"
    with rt.db.read_only() as s:
        assert sorted(s.scalars(select(Event.type))) == ["wecom_add_external_contact", "wecom_del_follow_user"]
    plain = _contact_change("add_external_contact", ext="wmEXTERNAL0002xyz")
    assert client.post("/webhooks/wecom", params={"signature": "x", "timestamp": "1", "nonce": "2"},
                       content=plain).status_code == 403  # encrypted mode refuses plain bodies
    assert _count(rt, Event) == 2


def test_wecom_plain_callback(sqlite_rt: Runtime) -> None:
    rt = sqlite_rt
    with rt.db.unit_of_work() as s:
        s.add(Guide(code="G0001", name="李导购"))
    client = _client(rt, wecom_aes_key=None)
    crypto = WecomCrypto(WecomCallbackConfig(TOKEN, CORP, None))
    q = {"signature": crypto.signature("1409659589", "263014780"), "timestamp": "1409659589", "nonce": "263014780"}
    assert client.get("/webhooks/wecom", params={**q, "echostr": "hello"}).text == "hello"
    r = client.post("/webhooks/wecom", params=q, content=_contact_change("add_external_contact"))
    assert r.text == "success"
    with rt.db.read_only() as s:
        profile = s.scalar(select(Profile).where(Profile.external_id == "wmEXTERNAL0001xyz"))
        assert profile is not None and profile.guide_id is not None
    assert client.post("/webhooks/wecom", params={**q, "signature": "0" * 40},
                       content=_contact_change("del_external_contact")).status_code == 403
    r = client.post("/webhooks/wecom", params=q, content=b"<xml><Event>not closed")
    assert r.status_code == 400 and _count(rt, Event) == 1


@pytest.mark.parametrize("payload", [b"<!DOCTYPE x [<!ENTITY a 'b'>]><xml/>"])
def test_wecom_refuses_dtds(sqlite_rt: Runtime, payload: bytes) -> None:
    client = _client(sqlite_rt, wecom_aes_key=None)
    crypto = WecomCrypto(WecomCallbackConfig(TOKEN, CORP, None))
    q = {"signature": crypto.signature("1", "2"), "timestamp": "1", "nonce": "2"}
    assert client.post("/webhooks/wecom", params=q, content=payload).status_code == 400
    assert orjson.loads(client.post("/webhooks/wecom", params=q, content=payload).content)["success"] is False


def test_generated_pushes_replay_through_the_endpoints(rt: Runtime, small_brand: Path) -> None:
    """The generator's captured deliveries (the last week of Youzan trades, Douyin steps and after-sales,
    WeCom new friends) go through the real endpoints: every delivery verifies, each message is applied
    once, the platform's retries and a second replay are duplicates, and the pushed Youzan trades — absent
    from the export — are stored."""
    from siyu.cli.webhooks import read_deliveries, replay_in_process

    folder = small_brand / "_pushes"
    run_import(rt, small_brand)
    with rt.db.read_only() as s:
        before = s.scalar(select(func.count()).select_from(Order))
    first = replay_in_process(rt, folder)
    sent = {f.name: read_deliveries(f) for f in sorted(folder.glob("*.jsonl"))}
    assert set(first) == {"douyin.jsonl", "douyin_member.jsonl", "tmall_member.jsonl", "wecom.jsonl", "youzan.jsonl"}
    retries = 0
    for name, deliveries in sent.items():
        assert not any(k.startswith("refused") for k in first[name]), (name, first[name])
        retried = len(deliveries) - len({d["body"] for d in deliveries})
        assert first[name]["duplicate"] >= retried, (name, first[name])
        retries += retried
    assert retries > 0
    youzan = {d["body"] for d in sent["youzan.jsonl"]}
    assert first["youzan.jsonl"]["applied"] == len(youzan)
    assert first["wecom.jsonl"]["applied"] == len({d["body"] for d in sent["wecom.jsonl"]})
    for name in ("tmall_member.jsonl", "douyin_member.jsonl"):
        assert first[name]["applied"] == len({d["body"] for d in sent[name]}) > 0, name
    with rt.db.read_only() as s:
        after = s.scalar(select(func.count()).select_from(Order))
        wecom_events = s.scalar(select(func.count()).select_from(Event)
                                .where(Event.type == "wecom_add_external_contact"))
    assert after - before == len(youzan)  # trades the export did not have
    assert wecom_events == first["wecom.jsonl"]["applied"]

    again = replay_in_process(rt, folder)
    for name, seen in again.items():
        assert set(seen) == {"duplicate"}, (name, seen)
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == after


def test_replay_refuses_a_malformed_capture(tmp_path: Path) -> None:
    from siyu.cli.webhooks import read_deliveries
    from siyu.core.errors import UnreadableFile

    f = tmp_path / "captured.jsonl"
    f.write_text('{"method":"POST","path":"/webhooks/youzan","headers":{},"body":"{}"}\n{"method":"POST"}\n')
    with pytest.raises(UnreadableFile, match="line 2: no 'path'"):
        read_deliveries(f)


def _spi(rt: Runtime, method: str, body: dict[str, Any], secret: str = "s3cr3t-tmall") -> Any:
    from siyu.ingest.tmall_member import spi_sign

    raw = json.dumps(body, ensure_ascii=False).encode()
    params = {"method": method, "app_key": "12345678", "timestamp": "2026-05-01 10:00:00", "v": "2.0",
              "sign_method": "md5", "format": "json"}
    params["sign"] = spi_sign(secret, params, raw)
    client = _client(rt, tmall_app_key="12345678", tmall_app_secret="s3cr3t-tmall")
    return client.post("/webhooks/tmall/member", params=params, content=raw,
                       headers={"Content-Type": "application/json"})


def test_tmall_member_centre_register_bind_and_refusals(rt: Runtime) -> None:
    """会员通 SPI: a signed register records the buyer's nick, open id and phone (so OneID can join them
    to the brand's own member); a repeat changes nothing; a bad sign, a bad mobile, an unknown method
    and the unanswered bind query are refused in the protocol's terms."""
    from siyu.models import Identity

    body = {"seller_name": "澜途运动官方旗舰店", "nick": "tb_小王", "mobile": "13912345678", "open_id": "AAHopenid1"}
    r = _spi(rt, "tmall.mei.crm.member.register", body)
    assert r.status_code == 200 and r.json()["register_code"] == "SUC", r.text
    assert r.json()["member"] == {"nick": "tb_小王", "mobile": "13912345678", "extend": "", "point": 0, "level": 1}
    assert r.headers["x-siyu-outcome"] == "applied"
    again = _spi(rt, "tmall.mei.crm.member.register", body)
    assert again.json()["register_code"] == "SUC" and again.headers["x-siyu-outcome"] == "duplicate"
    with rt.db.read_only() as s:
        assert s.scalars(select(Profile.external_id)).all() == ["member:tb_小王"]
        assert sorted(s.scalars(select(Identity.kind)).all()) == ["phone", "taobao_nick", "taobao_open_uid"]

    bad = _spi(rt, "tmall.mei.crm.bind", body, secret="wrong")
    assert bad.status_code == 401 and bad.json()["failCode"] == "sign-check-failure"
    assert _spi(rt, "tmall.mei.crm.bind", {**body, "mobile": "12345"}).json()["bind_code"] == "E05"
    assert _spi(rt, "tmall.mei.crm.member.bind.query", body).json()["query_code"] == "E04"
    assert _spi(rt, "tmall.mei.crm.unknown", body).status_code == 400
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Profile)) == 1


def _douyin_spi(rt: Runtime, body: dict[str, Any], secret: str = "s3cr3t-douyin", key: str = "awkey123") -> Any:
    from siyu.core.platform_sign import douyin_spi_sign

    raw = json.dumps(body, ensure_ascii=False).encode()
    params = {"client_key": key, "timestamp": "1777777777000"}
    client = _client(rt, douyin_client_key="awkey123", douyin_client_secret="s3cr3t-douyin")
    return client.post("/webhooks/douyin/member", params=params, content=raw,
                       headers={"Content-Type": "application/json", "x-life-clientkey": key,
                                "x-life-sign": douyin_spi_sign(secret, params, raw)})


def test_douyin_member_join_gives_the_buyer_a_phone(rt: Runtime) -> None:
    """会员入会 SPI: a signed join records the phone on the buyer's Douyin profile (the one their shop
    orders name by open id), which is resolved at once to the brand member with that phone; a repeat
    changes nothing; a bad sign, another app and a bad mobile are refused in the protocol's terms."""
    from siyu.ingest.schemas import DOUYIN, PHONE, Ident, ProfileIn
    from siyu.ingest.service import Importer
    from siyu.models import Identity

    with rt.db.unit_of_work() as s:  # a Douyin buyer known from an order, and a mini-program member
        Importer(s, rt.vault).write([
            ProfileIn("douyin", "1@#dyOpenId42", [Ident(DOUYIN, "1@#dyOpenId42")]),
            ProfileIn("miniprogram", "oMini00000000000000000042", [Ident(PHONE, "13912345678")],
                      registered_at=datetime(2026, 1, 1, tzinfo=UTC))])
    body = {"open_id": "1@#dyOpenId42", "account_id": "17371731", "mobile": "13912345678"}
    r = _douyin_spi(rt, body)
    assert r.status_code == 200 and r.json() == {"data": {"error_code": 0, "description": "success"}}, r.text
    assert r.headers["x-siyu-outcome"] == "applied"
    assert _douyin_spi(rt, body).headers["x-siyu-outcome"] == "duplicate"
    with rt.db.read_only() as s:
        rows = dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())
        assert len(rows) == 2 and rows["1@#dyOpenId42"] == rows["oMini00000000000000000042"] is not None
        assert sorted(s.scalars(select(Identity.kind)).all()) == ["douyin_open_id", "phone"]

    bad = _douyin_spi(rt, body, secret="wrong")
    assert bad.status_code == 401 and bad.json()["data"]["error_code"] == 200
    assert _douyin_spi(rt, body, key="someone-else").status_code == 401
    refused = _douyin_spi(rt, {**body, "mobile": "12345"})
    assert refused.json()["data"]["error_code"] == 200 and "mobile" in refused.json()["data"]["description"]
    assert _douyin_spi(rt, {**body, "open_id": ""}).json()["data"]["error_code"] == 200
