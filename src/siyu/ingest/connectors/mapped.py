"""Any table a brand has — CSV, Excel, JSON Lines or Parquet — read through a column-mapping file.

The mapping (YAML) says which canonical record the rows are and where each canonical field comes from:

    kind: orders                 # members | orders | refunds | events
    sheet: 订单                  # Excel only; default the first sheet
    columns:                     # canonical field: source column
      order_no: 订单号
      openid: 会员OpenID
      created_at: 下单时间
      items.sku_code: 商品编码   # orders: line fields are "items.<field>"; rows of one order_no are its lines
      items.quantity: 数量
    defaults: {status: completed}        # a fixed value for a field the file does not have
    values: {status: {已完成: completed}}  # source values translated before validation

Each assembled object then goes through the same validation as the canonical JSON Lines files and the
REST API (docs/formats.md, the JSON Schemas), so a bad row is rejected naming its row and field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from siyu.core.errors import UnreadableFile
from siyu.ingest.connectors.base import FieldError, reject
from siyu.ingest.connectors.miniprogram import Events, MiniMembers, MiniOrders, MiniRefunds
from siyu.ingest.readers import csv_rows, json_lines
from siyu.ingest.schemas import Record, Reject

KINDS = {"members": MiniMembers(), "orders": MiniOrders(), "refunds": MiniRefunds(), "events": Events()}
INTEGER_FIELDS = {"line_no", "items.line_no", "items.quantity"}
DATE_FIELDS = {"birthday"}
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "excel", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".parquet": "parquet"}


class Mapping:
    def __init__(self, path: Path) -> None:
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise UnreadableFile(str(path), f"the mapping cannot be read ({exc})") from None
        if not isinstance(spec, dict):
            raise UnreadableFile(str(path), "the mapping must be a YAML object with kind and columns")
        self.kind = spec.get("kind")
        if self.kind not in KINDS:
            raise UnreadableFile(str(path), f"kind: must be one of {', '.join(KINDS)}")
        columns = spec.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise UnreadableFile(str(path), "columns: map each canonical field to a source column")
        self.columns = {str(k): str(v) for k, v in columns.items()}
        self.defaults = {str(k): v for k, v in (spec.get("defaults") or {}).items()}
        values = spec.get("values") or {}
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise UnreadableFile(str(path), "values: map a field to {source value: canonical value}")
        self.values = {str(k): {str(a): b for a, b in v.items()} for k, v in values.items()}
        self.sheet = spec.get("sheet")
        self.format = spec.get("format")


def _text(value: Any) -> Any:
    """Cells as the canonical formats expect them: times as Beijing-time text, numbers without float
    noise (Excel's 199.9 must not become 199.90000000000001)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return value


def _integer(field: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        raise FieldError(field, text, "expected a whole number") from None
    if number != number.to_integral_value():
        raise FieldError(field, text, "expected a whole number")
    return int(number)


def _rows(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict[str, Any]]]:
    fmt = mapping.format or SUFFIXES.get(path.suffix.lower())
    if fmt == "csv":
        yield from csv_rows(path)
    elif fmt == "jsonl":
        for number, value in json_lines(path):
            yield number, value if isinstance(value, dict) else {"__width__": "not a JSON object"}
    elif fmt == "excel":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise UnreadableFile(str(path), f"not an Excel workbook ({exc})") from None
        sheet = book[mapping.sheet] if mapping.sheet in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
        for number, row in enumerate(rows, start=2):
            if any(c not in (None, "") for c in row):
                yield number, dict(zip(header, row, strict=False))
        book.close()
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow's errors for a non-Parquet file vary by version
            raise UnreadableFile(str(path), f"not a Parquet file ({exc})") from None
        number = 0
        for batch in table.iter_batches(batch_size=50_000):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    else:
        raise UnreadableFile(str(path), f"unknown format {fmt or path.suffix!r}; csv, xlsx, jsonl or parquet")


def _pick(mapping: Mapping, row: dict[str, Any], field: str) -> Any:
    source = mapping.columns.get(field)
    value = row.get(source) if source is not None else None
    if value is None or value == "":
        value = mapping.defaults.get(field)
    if value is None or value == "":
        return None
    if field in DATE_FIELDS and isinstance(value, datetime) and value.time() == datetime.min.time():
        value = value.date()  # Excel has no date type: a date cell is read back as midnight
    value = _text(value)
    translate = mapping.values.get(field)
    if translate is not None and str(value) in translate:
        value = translate[str(value)]
    if field in INTEGER_FIELDS:
        value = _integer(field, value)
    return value


def mapping_beside(path: Path) -> Path | None:
    """``sales.xlsx`` → ``sales.mapping.yaml`` when that file exists."""
    candidate = path.with_name(path.stem + ".mapping.yaml")
    return candidate if candidate.is_file() else None


class MappedFile:
    """Not detected by content: chosen with ``siyu import FILE --mapping MAPPING.yaml``, or by a
    ``NAME.mapping.yaml`` lying next to ``NAME.csv`` (or .xlsx, .parquet …) in an imported directory."""

    name, priority = "mapped", 50

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.name = f"mapped_{mapping.kind}"
        # in a directory import, mapped members load before orders, orders before refunds
        self.priority = KINDS[str(mapping.kind)].priority + 1

    def detect(self, _probe: Any) -> bool:
        return False

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        m = self.mapping
        connector = KINDS[str(m.kind)]
        fields = set(m.columns) | set(m.defaults)
        top = sorted(f for f in fields if not f.startswith("items."))
        line_fields = sorted(f[6:] for f in fields if f.startswith("items."))
        if m.kind != "orders":
            for number, row in _rows(path, m):
                try:
                    if "__width__" in row:
                        raise FieldError("(row)", "", str(row["__width__"]))
                    obj = {f: v for f in top if (v := _pick(m, row, f)) is not None}
                    yield connector.record(obj)
                except FieldError as exc:
                    yield reject(path, f"row {number}", exc)
            return
        # Orders: one row per line; the rows of one order_no (anywhere in the file) make one order.
        # A bad line rejects its whole order (half an order must not be stored), reported once by that row.
        orders: dict[str, tuple[list[int], dict[str, Any]]] = {}
        broken: set[str] = set()
        for number, row in _rows(path, m):
            order_no = None
            try:
                if "__width__" in row:
                    raise FieldError("(row)", "", str(row["__width__"]))
                order_no = _pick(m, row, "order_no")
                if order_no is None:
                    raise FieldError("order_no", "", "missing")
                order_no = str(order_no)
                head = {f: v for f in top if (v := _pick(m, row, f)) is not None}
                item = {f: v for f in line_fields if (v := _pick(m, row, "items." + f)) is not None}
            except FieldError as exc:
                if order_no is not None and order_no not in broken:
                    broken.add(order_no)
                    exc = FieldError(exc.field, exc.value, f"{exc.reason}; order {order_no} is not imported")
                    yield reject(path, f"row {number}", exc)
                elif order_no is None:
                    yield reject(path, f"row {number}", exc)
                continue
            if order_no in broken:
                continue
            lines, obj = orders.setdefault(order_no, ([], {"items": []}))
            for f, v in head.items():
                obj.setdefault(f, v)
            item.setdefault("line_no", len(obj["items"]) + 1)
            obj["items"].append(item)
            lines.append(number)
        for bad in broken:
            orders.pop(bad, None)
        for order_no, (lines, obj) in orders.items():
            where = f"row {lines[0]}" if len(lines) == 1 else f"rows {', '.join(map(str, lines[:5]))}" + (
                "…" if len(lines) > 5 else "")
            try:
                yield connector.record(obj)
            except FieldError as exc:
                yield reject(path, f"{where} (order {order_no})", exc)
