"""The generator: deterministic, real platform formats, realism that later capabilities rely on."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from siyu.synth.generate import DEFAULT_END, generate


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    generate(400, 5, tmp_path / "a", DEFAULT_END)
    generate(400, 5, tmp_path / "b", DEFAULT_END)
    generate(400, 6, tmp_path / "c", DEFAULT_END)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_platform_formats(small_brand: Path) -> None:
    tmall = next((small_brand / "tmall").glob("ExportOrderList*.csv"))
    raw = tmall.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.decode("gbk").splitlines()[0]
    for col in ("订单编号", "买家会员名", "买家应付货款", "联系手机", "订单状态"):
        assert f'"{col}"' in header
    rows = list(csv.DictReader(raw.decode("gbk").splitlines()))
    assert all(r["订单编号"].startswith('="') for r in rows)
    assert any("****" in r["联系手机"] for r in rows)  # platforms mask phones
    page = json.loads((small_brand / "douyin" / "order_searchList.jsonl").read_text(encoding="utf-8").splitlines()[0])
    order = page["data"]["shop_order_list"][0]
    assert isinstance(order["pay_amount"], int) and isinstance(order["create_time"], int)  # fen, Unix seconds
    contact = json.loads((small_brand / "wecom" / "external_contacts.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert contact["errcode"] == 0 and "external_contact_list" in contact


def test_truth_covers_every_order_and_profile(small_brand: Path) -> None:
    truth = pq.read_table(small_brand / "_truth" / "orders.parquet").to_pydict()
    keys = set(zip(truth["channel"], truth["order_id"], strict=True))
    mini = {("miniprogram", json.loads(line)["order_no"])
            for line in open(small_brand / "miniprogram" / "orders.jsonl", encoding="utf-8")}
    assert mini <= keys
    people = pq.read_table(small_brand / "_truth" / "profiles.parquet").column("person").to_pylist()
    per_person = Counter(people)
    assert sum(1 for n in per_person.values() if n >= 2) > 0.2 * len(per_person)  # many on several channels


def test_realism(small_brand: Path) -> None:
    orders = [json.loads(line) for line in open(small_brand / "miniprogram" / "orders.jsonl", encoding="utf-8")]
    refunds = [json.loads(line) for line in open(small_brand / "miniprogram" / "refunds.jsonl", encoding="utf-8")]
    refunded = {r["order_no"] for r in refunds}
    assert 0.04 <= len(refunded) / len(orders) <= 0.12
    months = Counter(o["paid_at"][5:7] for o in orders if o["paid_at"])
    assert months["11"] > 1.3 * months["03"]  # Double 11
    assert months["06"] > 1.1 * months["03"]  # 618
    with open(small_brand / "pos" / "members.csv", encoding="utf-8-sig", newline="") as fh:
        phones = Counter(r["phone"] for r in csv.DictReader(fh))
    assert phones["13800000000"] >= 1  # the cashier's placeholder number
    events = Counter(json.loads(line)["type"] for line in open(small_brand / "events" / "events.jsonl", encoding="utf-8"))
    assert {"checkin", "article_read", "live_subscribe", "survey_answer"} <= set(events)
