"""The column path for sale lines must leave exactly what the per-record path leaves: the same orders,
lines, profiles, identifiers, hashes, rejects and warnings, on both databases."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from conftest import ORPHANS, make_settings
from siyu.bootstrap import Runtime, start
from siyu.cli.importer import run_import
from siyu.ingest.connectors.pos import PosSales
from siyu.ingest.sales_frame import read_sales

HEADER = ["receipt_no", "line_no", "store_code", "guide_code", "card_no", "sold_at", "sku_code", "quantity",
          "unit_price", "paid_amount"]

GOOD = [
    ["R1", "1", "S0001", "G000101", "c00000001", "2024-06-18 10:23:45", "SKU1", "1", "299.00", "259.5"],
    ["R2", "2", "S0001", "", "", "2024-06-18 11:00:00", "SKU2", "2", "99", "150.00"],
    ["R1", "2", "S0001", "G000101", "c00000001", "2024-06-18 10:23:45", "SKU2", "1", "99.00", "80.00"],
    ["R2", "1", "S0002", "", "", "2024-06-18 11:00:00", "SKU1", "1", "299.00", "299.00"],
    ["R3", "1", "S9999", "G999901", "C00000001", "2024-06-19 09:00:00", "SKU1", "3", "299.00", "800.1"],
    ["R4", "1", "S0001", "", "C00000002", "2023-12-31 23:59:59", "SKU-UNKNOWN", "1", "10", "10"],
]
BAD = [
    ["R5", "1", "S0001", "", "", "2024-06-18 10:00:00", "SKU1", "two", "10.00", "10.00"],  # quantity
    ["", "1", "S0001", "", "", "2024-06-18 10:00:00", "SKU1", "1", "10.00", "10.00"],  # no receipt
    ["R6", "1", "S0001", "", "", "2024-02-30 10:00:00", "SKU1", "1", "10.00", "10.00"],  # no such day
    ["R7", "1", "S0001", "", "", "2024-06-18 10:00:00", "SKU1", "1", "10.00", "10.00"],
    ["R7", "1", "S0001", "", "", "2024-06-18 10:00:00", "SKU2", "1", "10.00", "10.00"],  # line twice
    ["R8", "1", "S0001", "", "卡号一二三四五六", "2024-06-18 10:00:00", "SKU1", "1", "10.00", "10.00"],
    ["R9", "1", "S0001", "", "", "2024-06-18 10:00:00", "SKU1", "1", "1,299.00", "1299"],  # slow path decides
    ["R" + "9" * 70, "1", "S0001", "", "", "2024-06-18 10:00:00", "SKU1", "1", "10.00", "10.00"],  # too long
    ["R10", "0", "S0001", "", "", "2024-06-18 10:00:00", "SKU1", "1", "10.00", "10.00"],  # line 0
    ["R11", "1", "", "", "", "2024-06-18 10:00:00", "SKU1", "1", "10.00", "10.00"],  # no store
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


ORDERS = """SELECT o.external_id, p.external_id, s.code, g.code, o.status, o.platform_status, o.created_at,
 o.paid_at, o.completed_at, o.total_fen, o.discount_fen, o.shipping_fen, o.paid_fen, o.refunded_fen,
 o.item_count, o.row_hash FROM orders o LEFT JOIN profiles p ON p.id = o.profile_id
 LEFT JOIN stores s ON s.id = o.store_id LEFT JOIN guides g ON g.id = o.guide_id"""
ITEMS = """SELECT o.external_id, i.line_no, i.sku_code, k.code, i.quantity, i.unit_price_fen, i.paid_fen,
 i.refunded_fen FROM order_items i JOIN orders o ON o.id = i.order_id LEFT JOIN skus k ON k.id = i.sku_id"""
PROFILES = """SELECT c.code, p.external_id, p.first_seen_at, p.registered_at, p.row_hash, i.kind, i.bidx, i.display
 FROM profiles p JOIN channels c ON c.id = p.channel_id
 LEFT JOIN profile_identities l ON l.profile_id = p.id LEFT JOIN identities i ON i.id = l.identity_id"""
REFUNDS = "SELECT r.external_id, o.external_id, r.amount_fen, r.line_no FROM refunds r LEFT JOIN orders o ON o.id = r.order_id"


def _state(rt: Runtime) -> dict[str, Any]:
    with rt.db.read_only() as s:
        return {name: sorted(tuple(str(v) for v in row) for row in s.execute(text(q)))
                for name, q in (("orders", ORDERS), ("items", ITEMS), ("profiles", PROFILES), ("refunds", REFUNDS),
                                ("orphans", ORPHANS))}


def _rejects(report_path: str | None) -> list[tuple[str, ...]]:
    if report_path is None:
        return []
    with open(report_path, encoding="utf-8-sig", newline="") as fh:
        return sorted(tuple(r[i] for i in (0, 2, 3, 4, 5)) for r in list(csv.reader(fh))[1:])


def _summary(reports: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.read, r.inserted, r.updated, r.unchanged, r.rejected, r.warnings, tuple(_rejects(r.report_path)))
            for r in reports]


def _slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PosSales, "read_columns", lambda self, path: None)


def _both(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steps: list[Path],
          before: Path | None = None) -> None:
    """Import ``before`` (a whole brand, per record) then each file of ``steps`` on a fresh database,
    once by columns and once per record; after every step both databases must hold the same."""
    from conftest import _empty

    results = {}
    for mode in ("columns", "records"):
        url = f"sqlite:///{tmp_path / mode / 'siyu.db'}" if db_url.startswith("sqlite") else db_url
        rt = start(make_settings(tmp_path / mode, url))
        _empty(rt)
        with monkeypatch.context() as m:
            if before is not None:
                _slow(m)
                run_import(rt, before)
        seen = []
        for step in steps:
            with monkeypatch.context() as m:
                if mode == "records":
                    _slow(m)
                reports = run_import(rt, step)
            seen.append((_summary(reports), _state(rt)))
        results[mode] = seen
        _empty(rt)
        rt.db.dispose()
    for (sum_c, state_c), (sum_r, state_r) in zip(results["columns"], results["records"], strict=True):
        assert sum_c == sum_r
        assert state_c["orphans"] == state_r["orphans"] == []
        for table in state_c:
            assert state_c[table] == state_r[table], table


def test_the_column_reader_sends_every_doubtful_receipt_to_the_record_path(tmp_path: Path) -> None:
    frame = read_sales(_write(tmp_path / "sales.csv", GOOD + BAD))
    assert frame is not None
    assert frame.orders["receipt"].to_pylist() == ["R1", "R2", "R3", "R4"]
    assert sorted(frame.slow) == sorted({r[0] for r in BAD if r[0]})
    assert frame.empty_receipt_lines == [len(GOOD) + 3]
    assert frame.items.num_rows == len(GOOD)
    r1 = frame.orders.slice(0, 1).to_pylist()[0]
    assert (r1["card"], r1["total_fen"], r1["paid_fen"], r1["item_count"]) == ("C00000001", 39800, 33950, 2)


def test_files_the_column_reader_will_not_take(tmp_path: Path) -> None:
    blank = tmp_path / "blank.csv"
    blank.write_text(",".join(HEADER) + "\n" + ",".join(GOOD[0]) + "\n\n" + ",".join(GOOD[1]) + "\n")
    assert read_sales(blank) is None  # line numbers would shift
    short = tmp_path / "short.csv"
    short.write_text(",".join(HEADER) + "\n" + ",".join(GOOD[0][:5]) + "\n")
    assert read_sales(short) is None  # a row of the wrong width is named by the record path
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(",".join(HEADER) + "\n" + ",".join(GOOD[0][:9]) + ',"1\n0"\n')
    assert read_sales(quoted) is None


def test_columns_and_records_leave_the_same_database(db_url: str, tmp_path: Path, small_brand: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    first = _write(tmp_path / "a" / "pos_sales.csv", GOOD + BAD)
    # the same file again, then a later export: R1 corrected, R4 gone (nothing deletes it), R12 new
    changed = [r[:] for r in GOOD + BAD if r[0] != "R4"]
    changed[0][9] = "249.50"
    changed.append(["R12", "1", "S0001", "", "C00000003", "2024-07-01 12:00:00", "SKU1", "1", "10", "10"])
    (tmp_path / "b").mkdir()
    later = _write(tmp_path / "b" / "pos_sales.csv", changed)
    # a whole brand without its POS sales (so its POS returns wait for their receipts), then the sales
    shutil.copytree(small_brand, tmp_path / "brand", ignore=lambda d, names: ["sales.csv"] if d.endswith("pos") else [])
    brand_sales = small_brand / "pos" / "sales.csv"
    assert read_sales(first) is not None and read_sales(later) is not None and read_sales(brand_sales) is not None
    _both(db_url, tmp_path, monkeypatch, [first, first, later, brand_sales, brand_sales],
          before=tmp_path / "brand")


def test_reserving_ids_on_sqlite_holds_the_write_lock(sqlite_rt: Runtime) -> None:
    """Explicit ids are max + 1 only while nobody else can write: after ``hold_write_lock`` another
    connection's insert must wait (here: fail at once) until our transaction ends."""
    import sqlite3

    from siyu.core.columns import hold_write_lock, reserve_ids
    from siyu.models import Order

    path = sqlite_rt.settings.resolved_database_url.split("///", 1)[1]
    with sqlite_rt.db.unit_of_work() as s:
        hold_write_lock(s, Order)
        ids = reserve_ids(s, Order, 3)
        other = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("CREATE TABLE lock_probe (x INTEGER)")  # any write at all
        other.close()
    assert ids.tolist() == [1, 2, 3]
