"""Importing a generated brand on SQLite and PostgreSQL: counts, idempotency, rejects, unreadable files."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from conftest import ORPHANS
from siyu.cli.importer import run_import
from siyu.cli.main import app
from siyu.cli.pipeline import after_import
from siyu.models import Base, Event, Member, Order, OrderItem, PointsEntry, Profile, Refund


def counts(rt) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def file_counts(brand: Path) -> dict[str, int]:
    def lines(p: Path) -> int:
        return sum(1 for line in open(p, encoding="utf-8") if line.strip())

    douyin = sum(len(json.loads(line)["data"]["shop_order_list"])
                 for line in open(brand / "douyin" / "order_searchList.jsonl", encoding="utf-8"))
    tmall = sum(1 for _ in csv.DictReader(open(next((brand / "tmall").glob("ExportOrderList*.csv")),
                                               encoding="gbk", newline="")))
    with open(brand / "pos" / "sales.csv", encoding="utf-8-sig", newline="") as fh:
        receipts = len({r["receipt_no"] for r in csv.DictReader(fh)})
    top = sum(len(json.loads(line)["trades_sold_get_response"]["trades"]["trade"])
              for line in open(brand / "tmall" / "top" / "trades_sold_get.jsonl", encoding="utf-8"))
    jd = sum(len(json.loads(line)["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["orderInfoList"])
             for line in open(brand / "jd" / "pop_order_search.jsonl", encoding="utf-8"))
    youzan = sum(len(json.loads(line)["data"]["full_order_info_list"])
                 for line in open(brand / "youzan" / "trades_sold_get.jsonl", encoding="utf-8"))
    orders = douyin + tmall + top + jd + youzan + receipts + lines(brand / "miniprogram" / "orders.jsonl")
    return {"orders": orders, "events": lines(brand / "events" / "events.jsonl")}


def test_import_counts_and_idempotent(rt, small_brand: Path) -> None:
    reports = run_import(rt, small_brand)
    assert all(r.rejected == 0 for r in reports), [(r.path, r.rejected) for r in reports]
    expected = file_counts(small_brand)
    after_first = counts(rt)
    assert after_first["orders"] == expected["orders"]
    assert after_first["events"] == expected["events"]
    assert after_first["order_items"] > after_first["orders"]
    with rt.db.read_only() as s:
        assert s.execute(text(ORPHANS)).all() == []

    again = run_import(rt, small_brand)
    assert sum(r.inserted for r in again) == 0
    assert sum(r.updated for r in again) == 0
    assert counts(rt) == {**after_first, "import_runs": after_first["import_runs"] + len(again)}


def test_pipeline_is_idempotent(rt, small_brand: Path) -> None:
    run_import(rt, small_brand)
    after_import(rt)
    first = counts(rt)
    with rt.db.read_only() as s:
        balance = s.scalar(select(func.sum(PointsEntry.points)))
        members = s.scalar(select(func.count()).select_from(Member))
    assert members > 0 and balance > 0
    after_import(rt)
    assert counts(rt) == first  # no new persons, members, ledger entries or lake rows in the database
    with rt.db.read_only() as s:
        assert s.scalar(select(func.sum(PointsEntry.points))) == balance


def test_bad_rows_are_reported_and_the_rest_loaded(rt, tmp_path: Path) -> None:
    src = tmp_path / "mini"
    src.mkdir()
    good = {"order_no": "MP1", "openid": "o" * 20, "status": "completed", "created_at": "2026-01-02T10:00:00+08:00",
            "paid_at": "2026-01-02T10:05:00+08:00", "total_amount": "100.00", "paid_amount": "99.50",
            "items": [{"line_no": 1, "sku_code": "X-1", "quantity": 1, "unit_price": "100.00",
                       "paid_amount": "99.50"}]}
    bad = {**good, "order_no": "MP2", "paid_amount": "九十九"}
    (src / "orders.jsonl").write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in (good, bad, "oops")) + "\n",
                                      encoding="utf-8")
    [report] = run_import(rt, src / "orders.jsonl")
    assert (report.read, report.inserted, report.rejected) == (3, 1, 2)
    with open(report.report_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["location"], r["field"]) for r in rows} == {("line 2", "paid_amount"), ("line 3", "(line)")}
    assert all(r["file"].endswith("orders.jsonl") for r in rows)
    with rt.db.read_only() as s:
        assert s.scalar(select(Order.paid_fen).where(Order.external_id == "MP1")) == 9950


@pytest.mark.parametrize("case", ["missing", "empty", "garbled"])
def test_unreadable_file_fails_cleanly(case: str, tmp_path: Path, small_brand: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    monkeypatch.setenv("SIYU_HOME", str(home))
    monkeypatch.delenv("SIYU_DATABASE_URL", raising=False)
    runner = CliRunner()
    # Some good data first, so "unchanged" is checked against a non-empty database.
    ok = runner.invoke(app, ["import", str(small_brand / "pos" / "members.csv")])
    assert ok.exit_code == 0, ok.output
    from siyu.bootstrap import start

    before = counts(start())
    target = tmp_path / ("nothing.csv" if case == "missing" else "orders.csv")
    if case == "empty":
        target.write_bytes(b"")
    elif case == "garbled":
        target.write_bytes(bytes(range(256)) * 40)
    result = runner.invoke(app, ["import", str(target)])
    assert result.exit_code != 0
    message = " ".join((result.output + (result.stderr if result.stderr_bytes else "")).split())
    assert target.name in message
    assert {"missing": "no such file", "empty": "empty", "garbled": "not"}[case] in message
    assert counts(start()) == before


def test_refund_before_order_is_applied_when_order_arrives(rt, tmp_path: Path) -> None:
    src = tmp_path / "mp"
    src.mkdir()
    refund = {"refund_no": "RF1", "order_no": "MP9", "line_no": 1, "amount": "30.00", "status": "success",
              "requested_at": "2026-01-05T10:00:00+08:00", "completed_at": "2026-01-06T10:00:00+08:00"}
    order = {"order_no": "MP9", "openid": "o" * 20, "status": "completed", "created_at": "2026-01-02T10:00:00+08:00",
             "paid_at": "2026-01-02T10:05:00+08:00", "total_amount": "100.00", "paid_amount": "100.00",
             "items": [{"line_no": 1, "sku_code": "X-1", "quantity": 1, "unit_price": "100.00",
                        "paid_amount": "100.00"}]}
    (src / "refunds.jsonl").write_text(json.dumps(refund) + "\n", encoding="utf-8")
    run_import(rt, src / "refunds.jsonl")
    (src / "orders.jsonl").write_text(json.dumps(order) + "\n", encoding="utf-8")
    run_import(rt, src / "orders.jsonl")
    with rt.db.read_only() as s:
        assert s.scalar(select(Order.refunded_fen).where(Order.external_id == "MP9")) == 3000
        assert s.scalar(select(OrderItem.refunded_fen)) == 3000
        assert s.scalar(select(Refund.order_id)) is not None


def test_no_personal_data_in_clear(rt, small_brand: Path) -> None:
    run_import(rt, small_brand)
    phones = set()
    with open(small_brand / "pos" / "members.csv", encoding="utf-8-sig", newline="") as fh:
        phones.update(r["phone"] for r in csv.DictReader(fh) if r["phone"] and r["phone"] != "13800000000")
    assert len(phones) > 100
    dump = _dump(rt)
    leaked = [p for p in phones if p in dump]
    assert leaked == []
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Profile).where(Profile.name_enc.is_not(None))) > 0


def _dump(rt) -> str:  # type: ignore[no-untyped-def]
    """Everything the database holds, as text (what a stolen backup would show)."""
    if rt.db.dialect == "sqlite":
        con = rt.db.engine.raw_connection()
        try:
            return "\n".join(con.driver_connection.iterdump())
        finally:
            con.close()
    parts = []
    with rt.db.read_only() as s:
        for t in Base.metadata.sorted_tables:
            for row in s.execute(select(t)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_events_import(rt, small_brand: Path) -> None:
    run_import(rt, small_brand / "events" / "events.jsonl")
    with rt.db.read_only() as s:
        kinds = set(s.scalars(select(Event.type).distinct()))
    assert {"checkin", "article_read", "live_subscribe", "survey_answer"} <= kinds


def test_directory_copy_imports_same(rt, small_brand: Path, tmp_path: Path) -> None:
    """A second copy of the same exports under another path changes nothing."""
    run_import(rt, small_brand)
    first = counts(rt)
    copy = tmp_path / "copy"
    shutil.copytree(small_brand, copy)
    run_import(rt, copy)
    assert {k: v for k, v in counts(rt).items() if k != "import_runs"} == \
        {k: v for k, v in first.items() if k != "import_runs"}


def test_encoding_detection_when_the_sample_cuts_a_character(tmp_path: Path) -> None:
    """The first megabyte may end inside a multi-byte character; that is not a garbled file."""
    from siyu.ingest.readers import SAMPLE, detect_encoding

    for shift in range(4):
        line = "x" * shift + "澜途" * 50 + "\n"
        text = line * (SAMPLE // len(line.encode()) + 10)
        f = tmp_path / f"u{shift}.jsonl"
        f.write_text(text, encoding="utf-8")
        assert detect_encoding(f) == "utf-8-sig"  # reads files with or without a BOM
        g = tmp_path / f"g{shift}.csv"
        g.write_text(text, encoding="gbk")
        assert detect_encoding(g) == "gb18030"
