"""Files in no platform's format, read through a column mapping: the same orders as CSV (GBK, Chinese
headers), Excel, JSON Lines and Parquet are the same orders in Siyu; bad rows are rejected by row."""

from __future__ import annotations

import csv
import json
from datetime import datetime

# Naive datetimes on purpose: spreadsheets hold Beijing wall-clock times without a zone.
# ruff: noqa: DTZ001
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from siyu.bootstrap import Runtime
from siyu.cli.importer import run_import
from siyu.core.errors import UnreadableFile
from siyu.models import Order, OrderItem, Profile

HEADER = ["订单号", "会员OpenID", "下单时间", "订单状态", "实付金额", "商品编码", "数量", "单价", "行实付"]
ROWS = [
    ["B-1001", "oAbCdEfGhIjKlMnOpQrSt001", datetime(2025, 3, 8, 20, 15), "已完成", 398.0, "SKU-1", 2, 199.0, 398.0],
    ["B-1002", "oAbCdEfGhIjKlMnOpQrSt002", datetime(2025, 3, 9, 9, 0), "已付款", 259.9, "SKU-2", 1, 159.9, 159.9],
    ["B-1002", "oAbCdEfGhIjKlMnOpQrSt002", datetime(2025, 3, 9, 9, 0), "已付款", 259.9, "SKU-3", 1, 100.0, 100.0],
]
MAPPING = """
kind: orders
columns:
  order_no: 订单号
  openid: 会员OpenID
  created_at: 下单时间
  status: 订单状态
  total_amount: 实付金额
  paid_amount: 实付金额
  items.sku_code: 商品编码
  items.quantity: 数量
  items.unit_price: 单价
  items.paid_amount: 行实付
values:
  status: {已完成: completed, 已付款: paid}
"""


def _csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for r in rows:
            w.writerow([v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else v for v in r])
    return path


def _xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in ROWS:
        sheet.append(r)
    book.save(path)
    return path


def _jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps(dict(zip(HEADER, [v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime)
                                                          else v for v in r], strict=True)), ensure_ascii=False) + "\n"
                            for r in ROWS), encoding="utf-8")
    return path


def _parquet(path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist([dict(zip(HEADER, r, strict=True)) for r in ROWS]), path)
    return path


def test_one_mapping_four_formats(rt: Runtime, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    files = [_csv(tmp_path / "orders.csv", ROWS), _xlsx(tmp_path / "orders.xlsx"), _jsonl(tmp_path / "orders.jsonl"),
             _parquet(tmp_path / "orders.parquet")]
    [first] = run_import(rt, files[0], mapping)
    assert (first.read, first.inserted, first.rejected) == (2, 2, 0)
    for f in files[1:]:
        [r] = run_import(rt, f, mapping)
        assert (r.read, r.inserted, r.updated, r.unchanged, r.rejected) == (2, 0, 0, 2, 0), f.name
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 2
        assert s.scalar(select(func.count()).select_from(OrderItem)) == 3
        assert s.scalar(select(func.count()).select_from(Profile)) == 2
        b2 = s.execute(select(Order.status, Order.paid_fen).where(Order.external_id == "B-1002")).one()
        assert tuple(b2) == ("paid", 25990)


def test_bad_rows_are_named(rt: Runtime, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    bad = [*ROWS, ["B-1003", "oAbCdEfGhIjKlMnOpQrSt003", datetime(2025, 3, 9), "已完成", 10.0, "SKU-1", 1.5, 10.0, 10.0],
           ["", "oAbCdEfGhIjKlMnOpQrSt004", datetime(2025, 3, 9), "已完成", 10.0, "SKU-1", 1, 10.0, 10.0],
           ["B-1005", "oAbCdEfGhIjKlMnOpQrSt005", datetime(2025, 3, 9), "退货中", 10.0, "SKU-1", 1, 10.0, 10.0]]
    [r] = run_import(rt, _csv(tmp_path / "orders.csv", bad), mapping)
    assert (r.inserted, r.rejected) == (2, 3)
    rejects = list(csv.DictReader(open(r.report_path, encoding="utf-8-sig")))
    found = {(x["location"], x["field"]) for x in rejects if x["severity"] == "rejected"}
    assert found == {("row 5", "items.quantity"), ("row 6", "order_no"), ("row 7 (order B-1005)", "status")}


@pytest.mark.parametrize("spec", ["kind: coupons\ncolumns: {a: b}", "kind: orders", ": : not yaml"])
def test_bad_mapping_fails_cleanly(sqlite_rt: Runtime, tmp_path: Path, spec: str) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(spec, encoding="utf-8")
    with pytest.raises(UnreadableFile):
        run_import(sqlite_rt, _csv(tmp_path / "orders.csv", ROWS), mapping)


def test_a_vendor_workbook_beside_its_mapping_in_a_directory(rt: Runtime, tmp_path: Path) -> None:
    """The generator's member workbook from a previous SaaS vendor (Excel date cells, 男/女) is found by
    its mapping file in a directory import, accepted whole, and changes nothing the second time."""
    from datetime import date

    from siyu.synth.writers import legacy

    reg = pa.array([1_700_000_000, 1_600_000_000, 1_650_000_000])
    cols = {"openid": pa.array([f"oLegacyOpenId{i:011d}" for i in range(3)]),
            "unionid": pa.array([f"uLegacyUnion{i:012d}" for i in range(3)]),
            "member_no": pa.array(["M0000001", "M0000002", "M0000003"]),
            "phone": pa.array(["13912345601", "13912345602", None]),
            "name": pa.array(["王芳", "李娜", "张伟"]), "gender": pa.array(["F", "F", "M"]),
            "birthday": pa.array(["1990-05-01", None, "1985-12-31"]),
            "store_code": pa.array([None, None, None], pa.string()),
            "guide_code": pa.array([None, None, None], pa.string()), "source": pa.array(["门店海报"] * 3)}
    legacy.write(tmp_path / "brand", cols, reg.to_numpy(), share=1.0)
    [r] = run_import(rt, tmp_path / "brand")
    assert (r.connector, r.read, r.inserted, r.rejected) == ("mapped_members", 3, 3, 0)
    [again] = run_import(rt, tmp_path / "brand")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    with rt.db.read_only() as s:
        got = dict(s.execute(select(Profile.external_id, Profile.birthday)).all())
        genders = sorted(s.scalars(select(Profile.gender)).all())
    assert got["oLegacyOpenId00000000000"] == date(1990, 5, 1) and got["oLegacyOpenId00000000001"] is None
    assert genders == ["F", "F", "M"]
