"""Dashboard figures computed straight from a generated brand's files, sharing no code with Siyu.

Order figures (sales, GMV, AOV, channel mix, monthly GMV) need no identity resolution and must match
exactly. Person figures (members, member share, repurchase rate, tiers) are computed here with the
generator's ground truth (who really is whom), so they match Siyu's resolved figures only as closely as
OneID resolves people; the tests bound the gap.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

BJ = timezone(timedelta(hours=8))
TIERS = [("王者", 20000_00), ("星耀", 8000_00), ("钻石", 3000_00), ("黄金", 1000_00), ("普通会员", 0)]


def fen(text: str) -> int:
    return int(Decimal(text.replace("元", "")) * 100)


@dataclass
class Sale:
    channel: str
    order_id: str
    paid_fen: int
    refunded_fen: int
    paid_at: datetime  # Beijing
    finished: bool


@dataclass
class Figures:
    sales: int = 0
    gmv_fen: int = 0
    member_gmv_fen: int = 0
    buyers: int = 0
    repeat_buyers: int = 0
    members: int = 0
    channel_gmv: dict[str, int] = field(default_factory=dict)
    month_gmv: dict[str, int] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)


def _bj(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BJ)


def read_sales(brand: Path) -> list[Sale]:
    sales = []
    for f in (brand / "tmall").glob("ExportOrderList*.csv"):
        with open(f, encoding="gbk", newline="") as fh:
            for row in csv.DictReader(fh):
                paid = fen(row["买家实际支付金额"])
                if row["订单付款时间"] and paid > 0:
                    sales.append(Sale("tmall", row["订单编号"].strip('="'), paid, fen(row["退款金额"] or "0"),
                                      _bj(row["订单付款时间"]), row["订单状态"] == "交易成功"))
    for line in open(brand / "douyin" / "order_searchList.jsonl", encoding="utf-8"):
        for o in json.loads(line)["data"]["shop_order_list"]:
            if o.get("pay_time") and o["pay_amount"] > 0:
                sales.append(Sale("douyin", o["order_id"], o["pay_amount"], 0,
                                  datetime.fromtimestamp(o["pay_time"], BJ), o["order_status"] == 5))
    for line in open(brand / "miniprogram" / "orders.jsonl", encoding="utf-8"):
        o = json.loads(line)
        if o["paid_at"] and o["status"] != "cancelled":
            sales.append(Sale("miniprogram", o["order_no"], fen(o["paid_amount"]), 0,
                              datetime.fromisoformat(o["paid_at"]), o["status"] in ("completed", "refunded")))
    top_refunds: dict[str, int] = defaultdict(int)
    for line in open(brand / "tmall" / "top" / "refunds_receive_get.jsonl", encoding="utf-8"):
        for r in json.loads(line)["refunds_receive_get_response"]["refunds"]["refund"]:
            if r["status"] == "SUCCESS":
                top_refunds[r["tid"]] += fen(r["refund_fee"])
    for line in open(brand / "tmall" / "top" / "trades_sold_get.jsonl", encoding="utf-8"):
        for t in json.loads(line)["trades_sold_get_response"]["trades"]["trade"]:
            if t.get("pay_time") and fen(t["payment"]) > 0:
                sales.append(Sale("tmall", t["tid"], fen(t["payment"]), top_refunds[t["tid"]], _bj(t["pay_time"]),
                                  t["status"] == "TRADE_FINISHED"))
    for line in open(brand / "jd" / "pop_order_search.jsonl", encoding="utf-8"):
        for o in json.loads(line)["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["orderInfoList"]:
            if o.get("paymentConfirmTime") and fen(o["orderPayment"]) > 0:
                cancelled = o["orderState"] == "TRADE_CANCELED"
                sales.append(Sale("jd", o["orderId"], fen(o["orderPayment"]),
                                  fen(o["orderPayment"]) if cancelled else 0, _bj(o["paymentConfirmTime"]),
                                  o["orderState"] == "FINISHED_L"))
    for line in open(brand / "youzan" / "trades_sold_get.jsonl", encoding="utf-8"):
        for e in json.loads(line)["data"]["full_order_info_list"]:
            info, pay = e["full_order_info"]["order_info"], e["full_order_info"]["pay_info"]
            if info.get("pay_time") and fen(pay["payment"]) > 0:
                sales.append(Sale("youzan", info["tid"], fen(pay["payment"]),
                                  sum(fen(r["refund_fee"]) for r in e["refund_order"] if r["refund_state"] == 60),
                                  _bj(info["pay_time"]), info["status"] == "TRADE_SUCCESS"))
    receipts: dict[str, Sale] = {}
    with open(brand / "pos" / "sales.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            s = receipts.setdefault(row["receipt_no"], Sale("pos", row["receipt_no"], 0, 0, _bj(row["sold_at"]), True))
            s.paid_fen += fen(row["paid_amount"])
    sales.extend(receipts.values())
    return sales


def registrations(brand: Path) -> dict[tuple[str, str], datetime]:
    regs = {}
    for line in open(brand / "miniprogram" / "members.jsonl", encoding="utf-8"):
        m = json.loads(line)
        regs[("miniprogram", m["openid"])] = datetime.fromisoformat(m["registered_at"])
    with open(brand / "pos" / "members.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            regs[("pos", row["card_no"])] = _bj(row["registered_at"])
    # joins in the Tmall store (会员通), as the member centre called them in
    captured = brand / "_pushes" / "tmall_member.jsonl"
    if captured.exists():
        for line in open(captured, encoding="utf-8"):
            d = json.loads(line)
            regs[("tmall", "member:" + json.loads(d["body"])["nick"])] = _bj(d["query"]["timestamp"])
    # joins in Douyin (会员入会 SPI): the buyer's own Douyin profile becomes a member's
    captured = brand / "_pushes" / "douyin_member.jsonl"
    if captured.exists():
        for line in open(captured, encoding="utf-8"):
            d = json.loads(line)
            at = datetime.fromtimestamp(int(d["query"]["timestamp"]) / 1000, BJ)
            regs[("douyin", json.loads(d["body"])["open_id"])] = at
    return regs


def compute(brand: Path, start: date, end: date) -> Figures:
    truth_orders = pq.read_table(brand / "_truth" / "orders.parquet").to_pydict()
    person_of_order = {(c, o): p for c, o, p in zip(truth_orders["channel"], truth_orders["order_id"],
                                                    truth_orders["person"], strict=True)}
    truth_profiles = pq.read_table(brand / "_truth" / "profiles.parquet").to_pydict()
    person_of_profile = {(c, e): p for c, e, p in zip(truth_profiles["channel"], truth_profiles["external_id"],
                                                      truth_profiles["person"], strict=True)}
    joined: dict[str, datetime] = {}
    for key, at in registrations(brand).items():
        person = person_of_profile[key]
        joined[person] = min(at, joined.get(person, at))

    fig = Figures()
    lo = datetime.combine(start, datetime.min.time(), BJ)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), BJ)
    per_person: Counter[str] = Counter()
    channel_gmv: Counter[str] = Counter()
    month_gmv: Counter[str] = Counter()
    spend: dict[str, int] = defaultdict(int)
    all_sales = read_sales(brand)
    for s in all_sales:
        person = person_of_order.get((s.channel, s.order_id))
        if person in joined and s.finished and s.paid_at >= joined[person]:
            spend[person] += max(s.paid_fen - s.refunded_fen, 0)
        if not lo <= s.paid_at < hi:
            continue
        fig.sales += 1
        fig.gmv_fen += s.paid_fen
        channel_gmv[s.channel] += s.paid_fen
        month_gmv[s.paid_at.strftime("%Y-%m")] += s.paid_fen
        if person is not None:
            per_person[person] += 1
            if person in joined and joined[person] <= s.paid_at:
                fig.member_gmv_fen += s.paid_fen
    fig.buyers = len(per_person)
    fig.repeat_buyers = sum(1 for n in per_person.values() if n >= 2)
    fig.members = sum(1 for at in joined.values() if at < hi)
    fig.channel_gmv, fig.month_gmv = dict(channel_gmv), dict(sorted(month_gmv.items()))
    tiers: Counter[str] = Counter()
    for person, at in joined.items():
        if at < hi:
            tiers[next(name for name, floor in TIERS if spend[person] >= floor)] += 1
    fig.tiers = dict(tiers)
    return fig
