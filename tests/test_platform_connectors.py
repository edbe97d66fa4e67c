"""Platform API responses written from each platform's documentation (tests/samples), imported for real.

Each sample follows the documented envelope and field names (TOP ``trades_sold_get_response``, JOS
``jingdong_pop_order_search_responce``, Youzan 4.x ``full_order_info_list``), including the awkward
cases: masked phones, desensitised nicks, a trade closed after payment, refunds that name a sub-order,
error envelopes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import func, select

from siyu.cli.importer import run_import
from siyu.core.money import fen_to_yuan
from siyu.ingest.connectors.registry import connector_for
from siyu.models import Identity, Order, OrderItem, Profile, Refund, Shop

SAMPLES = Path(__file__).parent / "samples"


def _orders(rt) -> dict[str, Order]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        found = {o.external_id: o for o in s.scalars(select(Order))}
        s.expunge_all()  # keep the loaded values after the session ends
        return found


def _refunds(rt) -> list[Refund]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        found = list(s.scalars(select(Refund).order_by(Refund.external_id)))
        s.expunge_all()
        return found


def test_detects_each_platform() -> None:
    names = {p.name: connector_for(p).name for p in SAMPLES.glob("*.json")}
    assert names == {"taobao_trades_sold_get.json": "taobao_trades", "taobao_refunds_receive_get.json": "taobao_refunds",
                     "jd_pop_order_search.json": "jd_orders", "youzan_trades_sold_get.json": "youzan_trades"}


def test_taobao_trades_and_refunds(rt, tmp_path: Path) -> None:
    # Refunds first: they wait for their trades and attach when the trades arrive.
    [r1] = run_import(rt, SAMPLES / "taobao_refunds_receive_get.json")
    assert (r1.read, r1.inserted, r1.rejected) == (3, 3, 0)
    [r2] = run_import(rt, SAMPLES / "taobao_trades_sold_get.json")
    assert (r2.read, r2.inserted, r2.rejected) == (3, 3, 0)
    orders = _orders(rt)
    done = orders["3866701921445123456"]
    assert (done.status, done.paid_fen, done.discount_fen, done.refunded_fen) == ("completed", 598_00, 100_00, 85_17)
    assert done.platform_status == "TRADE_FINISHED"
    assert orders["3866701921448123456"].status == "refunded"
    assert orders["3866701921448123456"].refunded_fen == 269_00  # the line and its postage
    assert (orders["3866701921449123456"].status, orders["3866701921449123456"].paid_fen) == ("cancelled", 0)
    with rt.db.read_only() as s:
        lines = {i.external_id: i for i in s.scalars(select(OrderItem).where(OrderItem.order_id == done.id))}
        socks = lines["3866701921447123456"]
        assert (socks.colour, socks.size, socks.sku_code, socks.quantity) == ("白色", "M", "P0031-WHT-M", 3)
        assert socks.refunded_fen == 85_17 and lines["3866701921446123456"].refunded_fen == 0  # refused refund
        kinds = {k for (k,) in s.execute(select(Identity.kind))}
        # the buyer's open uid and clear nick join; the desensitised nick "t**1" is not an identifier
        assert {"taobao_open_uid", "taobao_nick", "masked_phone"} <= kinds
        assert s.scalar(select(func.count()).select_from(Identity).where(Identity.display == "t**1")) == 0
    refunds = {r.external_id: r for r in _refunds(rt)}
    assert refunds["158200031240000"].status == "closed"
    assert refunds["158200031234567"].line_no == 2  # named by sub-order, numbered from the trade's lines

    # The same trades again, and the refunds again: nothing changes.
    again = run_import(rt, SAMPLES / "taobao_trades_sold_get.json") + run_import(
        rt, SAMPLES / "taobao_refunds_receive_get.json")
    assert sum(r.inserted + r.updated for r in again) == 0
    assert len(_refunds(rt)) == 3


def test_taobao_csv_and_top_are_one_shop(rt, tmp_path: Path) -> None:
    """The seller-centre CSV names the shop by its id, TOP by its seller nick: one trade, stored once."""
    src = tmp_path / "tmall"
    src.mkdir()
    header = "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,订单状态,收货人姓名,联系手机,订单创建时间,订单付款时间,店铺Id,店铺名称,退款金额"
    row = '="3866701921445123456",tb129505,698.00,0.00,698.00,598.00,交易成功,张三,138****1234,2026-06-18 00:12:45,2026-06-18 00:13:02,106593211,澜途官方旗舰店,0.00'
    (src / "ExportOrderList202606300930.csv").write_bytes(f"{header}\n{row}\n".encode("gbk"))
    run_import(rt, src / "ExportOrderList202606300930.csv")
    run_import(rt, SAMPLES / "taobao_trades_sold_get.json")
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.external_id == "3866701921445123456")) == 1
        assert s.scalar(select(func.count()).select_from(Shop)) == 2  # both names are kept


def test_jd_orders(rt) -> None:
    [r] = run_import(rt, SAMPLES / "jd_pop_order_search.json")
    assert (r.read, r.inserted, r.rejected) == (2, 2, 0)
    orders = _orders(rt)
    done, cancelled = orders["289112233445"], orders["289112233446"]
    assert (done.status, done.paid_fen, done.discount_fen, done.province) == ("completed", 408_00, 50_00, "北京")
    with rt.db.read_only() as s:
        paid = sorted(s.scalars(select(OrderItem.paid_fen).where(OrderItem.order_id == done.id)))
        # the 50-yuan seller discount spread by value (floor; the last line takes the rest): 399 → 355.45, 59 → 52.55
        assert sum(paid) == 408_00 and paid == [52_55, 355_45]
        assert s.scalar(select(Profile.external_id).where(Profile.id == done.profile_id)) == "o-jd-8c2f9e1a7b"
    assert (cancelled.status, cancelled.refunded_fen) == ("refunded", 199_00)  # cancelled after payment
    assert sum(x.inserted + x.updated for x in run_import(rt, SAMPLES / "jd_pop_order_search.json")) == 0


def test_youzan_trades(rt) -> None:
    [r] = run_import(rt, SAMPLES / "youzan_trades_sold_get.json")
    assert (r.read, r.inserted, r.rejected) == (2, 2, 0)
    orders = _orders(rt)
    done, closed = orders["E20261111000123456789"], orders["E20261112000999"]
    assert (done.status, done.paid_fen, done.refunded_fen, done.city) == ("completed", 356_00, 60_00, "南京市")
    assert fen_to_yuan(done.paid_fen) == fen_to_yuan(35600)
    assert (closed.status, closed.refunded_fen) == ("refunded", 88_00)
    with rt.db.read_only() as s:
        tee = s.scalars(select(OrderItem).where(OrderItem.order_id == done.id, OrderItem.line_no == 1)).one()
        assert (tee.colour, tee.size, tee.quantity) == ("红色", "S", 2)
        socks = s.scalars(select(OrderItem).where(OrderItem.order_id == done.id, OrderItem.line_no == 2)).one()
        assert socks.refunded_fen == 60_00
        kinds = dict(s.execute(select(Identity.display, Identity.kind)).all())
    assert kinds.get("139****5678") == "phone"  # Youzan sends the buyer's phone in clear
    assert kinds.get("137****4321") == "masked_phone"
    assert sum(x.inserted + x.updated for x in run_import(rt, SAMPLES / "youzan_trades_sold_get.json")) == 0


def test_error_envelopes_and_bad_records_are_rejected(rt, tmp_path: Path) -> None:
    trades = json.loads((SAMPLES / "taobao_trades_sold_get.json").read_text(encoding="utf-8"))
    bad = json.loads(json.dumps(trades))
    bad["trades_sold_get_response"]["trades"]["trade"][0]["payment"] = "五百"
    del bad["trades_sold_get_response"]["trades"]["trade"][1]["orders"]
    lines = [trades, {"error_response": {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey",
                                         "sub_msg": "SessionKey非法"}}, bad]
    path = tmp_path / "trades.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{oops\n", encoding="utf-8")
    [r] = run_import(rt, path)
    assert (r.inserted, r.rejected) == (3, 4)
    rejects = Path(r.report_path).read_text(encoding="utf-8-sig")
    assert "line 2,error_response.code,invalid-sessionkey,API error response: SessionKey非法" in rejects
    assert "line 3 record 0 (3866701921445123456),payment,五百" in rejects
    assert "line 3 record 1 (3866701921448123456),orders.order" in rejects
    assert "line 4,(line)" in rejects

    jd = json.loads((SAMPLES / "jd_pop_order_search.json").read_text(encoding="utf-8"))
    jd_bad = tmp_path / "jd.jsonl"
    order = jd["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["orderInfoList"][0]
    order["orderState"] = "SOMETHING_NEW"
    jd_bad.write_text(json.dumps(jd, ensure_ascii=False) + "\n", encoding="utf-8")
    [r] = run_import(rt, jd_bad)
    assert (r.inserted, r.rejected) == (1, 1)
    assert "unknown JD order state" in Path(r.report_path).read_text(encoding="utf-8-sig")


def test_a_whole_folder_of_api_responses(rt, tmp_path: Path) -> None:
    src = tmp_path / "api"
    shutil.copytree(SAMPLES, src)
    reports = run_import(rt, src)
    assert [Path(r.path).name for r in reports][-1] == "taobao_refunds_receive_get.json"  # refunds after orders
    assert sum(r.rejected for r in reports) == 0
    assert len(_orders(rt)) == 7
