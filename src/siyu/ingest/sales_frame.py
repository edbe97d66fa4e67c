"""Canonical sale lines (the POS sales CSV) read as columns: the bulk path for large exports.

The per-record path (``PosSales.parse``) builds Python objects for every field of every line and
costs ~90 µs a line: 15 minutes for a 10-million-line export. Here the file is parsed by Arrow's C++
reader and every rule is checked on whole columns. A receipt breaking any rule is not judged here:
its rows go to the per-record path, which names the line, field, value and reason exactly as it always
has. So the two paths cannot disagree about what is valid, only about speed; anything this module does
not recognise as plainly valid (a price written '1,299.00', a date with a slash, a card with a Chinese
character) simply takes the slow road.

The file falls back to the per-record path as a whole when its physical lines and parsed rows do not
correspond one to one (blank lines, quoted newlines, rows of the wrong width, repeated headers): line
numbers in the reject report must point at the real line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from siyu.ingest.readers import csv_header, detect_encoding

REQUIRED = ("receipt_no", "line_no", "store_code", "sold_at", "sku_code", "quantity", "unit_price",
            "paid_amount")
OPTIONAL = ("guide_code", "card_no")
CODE_MAX = 64  # orders.external_id and order_items.sku_code are String(64)
TEXT_MAX = 255

_INT = r"^[0-9]{1,9}$"
_YUAN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"  # the per-record path's own fast pattern
_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
_CARD = r"^[0-9A-Za-z]{6,32}$"


@dataclass
class SalesFrame:
    """Good receipts as two column tables, and the rows of every other receipt for the slow path."""

    rows: int
    # one row per receipt, in order of first appearance: receipt, store_code, guide_code, card, sold,
    # total_fen, paid_fen, discount_fen, item_count
    orders: pa.Table
    # one row per line, sorted by (order, line_no): order (index into ``orders``), line_no, sku_code,
    # quantity, unit_price_fen, paid_fen
    items: pa.Table
    # receipt → [(line number, raw row)], for PosSales._order to accept or reject with its reasons
    slow: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    empty_receipt_lines: list[int] = field(default_factory=list)


def _count_lines(path: Path) -> tuple[int, bool]:
    """Physical lines, and whether the file has a blank line (the CSV module skips those, Arrow too,
    but then row i is no longer line i + 2)."""
    n, blank, tail = 0, False, b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            n += block.count(b"\n")
            joined = tail + block
            if b"\n\n" in joined or b"\n\r\n" in joined:
                blank = True
            tail = block[-2:]
    ends_open = bool(tail) and not tail.endswith(b"\n")
    return n + (1 if ends_open else 0), blank


def _read(path: Path) -> pa.Table | None:
    encoding = detect_encoding(path)
    header = csv_header(path, encoding)
    if len(set(header)) != len(header) or any(c not in header for c in REQUIRED):
        return None
    bad_rows: list[object] = []

    def invalid(row: object) -> str:
        bad_rows.append(row)
        return "skip"

    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(encoding="utf8" if encoding == "utf-8-sig" else encoding,
                                          column_names=header, skip_rows=1, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                include_columns=[c for c in REQUIRED + OPTIONAL if c in header]))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # the per-record reader says precisely what is wrong and where
    lines, blank = _count_lines(path)
    if bad_rows or blank or lines != table.num_rows + 1:
        return None
    return table


def _col(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.array([""] * table.num_rows, pa.string())
    return pc.utf8_trim_whitespace(table[name].combine_chunks())


def _ok(mask: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _ints(text: pa.Array, ok: np.ndarray) -> np.ndarray:
    safe = pc.if_else(pa.array(ok), text, "0")
    return np.asarray(pc.cast(safe, pa.int64()).to_numpy(zero_copy_only=False))


def _fen(text: pa.Array, ok: np.ndarray) -> np.ndarray:
    # ≤ 14 significant digits: the nearest double times 100, rounded, is the exact number of fen.
    safe = pc.if_else(pa.array(ok), text, "0")
    return np.rint(np.asarray(pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False)) * 100).astype(np.int64)


def _beijing(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """'YYYY-MM-DD HH:MM:SS' Beijing time → UTC; a date Arrow would roll over (2 月 30 日) is not valid."""
    shaped = _ok(pc.match_substring_regex(text, _TIME))
    local = pc.strptime(pc.if_else(pa.array(shaped), text, "2000-01-01 00:00:00"), format="%Y-%m-%d %H:%M:%S",
                        unit="s", error_is_null=True)
    same = _ok(pc.equal(local.cast(pa.string()), text))  # seconds unit: no fraction
    year = np.asarray(pc.fill_null(pc.year(local), 0).to_numpy(zero_copy_only=False))
    ok = shaped & same & (year >= 2000) & (year <= 2100)
    utc = pc.assume_timezone(local, "Asia/Shanghai").cast(pa.timestamp("us", tz="UTC"))
    return utc, ok


def read_sales(path: Path) -> SalesFrame | None:
    """The file as columns, or None when it must be read record by record."""
    table = _read(path)
    if table is None:
        return None
    n = table.num_rows
    receipt = _col(table, "receipt_no")
    has_receipt = _ok(pc.not_equal(receipt, ""))
    codes = np.asarray(pc.dictionary_encode(receipt).indices.to_numpy(zero_copy_only=False), dtype=np.int64)

    line_text, qty_text = _col(table, "line_no"), _col(table, "quantity")
    unit_text, paid_text = _col(table, "unit_price"), _col(table, "paid_amount")
    sku = _col(table, "sku_code")
    line_ok = _ok(pc.match_substring_regex(line_text, _INT))
    qty_ok = _ok(pc.match_substring_regex(qty_text, _INT))
    money_ok = _ok(pc.match_substring_regex(unit_text, _YUAN)) & _ok(pc.match_substring_regex(paid_text, _YUAN))
    line_no, qty = _ints(line_text, line_ok), _ints(qty_text, qty_ok)
    sku_len = np.asarray(pc.utf8_length(sku).to_numpy(zero_copy_only=False))
    good = (has_receipt & line_ok & qty_ok & money_ok & (line_no > 0) & (qty > 0) & (sku_len > 0)
            & (sku_len <= CODE_MAX) & _ok(pc.less_equal(pc.utf8_length(receipt), CODE_MAX)))

    # The receipt's first row carries its header fields, as in the per-record path.
    _, first = np.unique(codes, return_index=True)
    head = pa.array(first)
    store, guide, card = (pc.take(_col(table, c), head) for c in ("store_code", "guide_code", "card_no"))
    sold, sold_ok = _beijing(pc.take(_col(table, "sold_at"), head))
    store_len = np.asarray(pc.utf8_length(store).to_numpy(zero_copy_only=False))
    head_ok = (sold_ok & (store_len > 0) & (store_len <= TEXT_MAX)
               & _ok(pc.less_equal(pc.utf8_length(guide), TEXT_MAX))
               & _ok(pc.or_(pc.equal(card, ""), pc.match_substring_regex(card, _CARD))))

    # Lines sorted by receipt then line number; a line number twice in one receipt is for the slow path.
    order = np.lexsort((line_no, codes))
    sc, sl = codes[order], line_no[order]
    dup = np.zeros(n, dtype=bool)
    dup[1:] = (sc[1:] == sc[:-1]) & (sl[1:] == sl[:-1])
    bad_code = np.zeros(len(first), dtype=bool)
    bad_code[codes[has_receipt & ~good]] = True
    bad_code[sc[dup]] = True
    bad_code[~head_ok] = True
    empty_receipt = ~has_receipt
    bad_code[codes[empty_receipt]] = True  # the empty string got a code too; its rows are rejected alone

    keep = order[~bad_code[sc] & has_receipt[order]]
    good_codes = np.flatnonzero(~bad_code)
    renumber = np.full(len(first), -1, dtype=np.int64)
    renumber[good_codes] = np.arange(len(good_codes))
    item_order = renumber[codes[keep]]
    unit_fen, paid_fen = _fen(unit_text, money_ok), _fen(paid_text, money_ok)
    q, u, p = qty[keep], unit_fen[keep], paid_fen[keep]
    starts = np.flatnonzero(np.r_[True, item_order[1:] != item_order[:-1]]) if len(keep) else np.array([], int)
    paid = np.add.reduceat(p, starts) if len(keep) else np.array([], np.int64)
    total = np.add.reduceat(u * q, starts) if len(keep) else np.array([], np.int64)
    count = np.add.reduceat(q, starts) if len(keep) else np.array([], np.int64)
    g = pa.array(good_codes)
    orders = pa.table({
        "receipt": pc.take(pc.take(receipt, head), g), "store_code": pc.take(store, g),
        "guide_code": pc.take(guide, g), "card": pc.utf8_upper(pc.take(card, g)), "sold": pc.take(sold, g),
        "total_fen": total, "paid_fen": paid, "discount_fen": np.maximum(total - paid, 0), "item_count": count,
    })
    items = pa.table({"order": item_order, "line_no": line_no[keep], "sku_code": pc.take(sku, pa.array(keep)),
                      "quantity": q, "unit_price_fen": u, "paid_fen": p})

    slow: dict[str, list[tuple[int, dict[str, str]]]] = {}
    slow_rows = np.flatnonzero(bad_code[codes] & has_receipt)
    if len(slow_rows):
        raw = table.take(pa.array(slow_rows)).to_pylist()
        for i, row in zip(slow_rows.tolist(), raw, strict=True):
            slow.setdefault(row["receipt_no"].strip(), []).append((i + 2, row))
    return SalesFrame(rows=n, orders=orders, items=items, slow=slow,
                      empty_receipt_lines=(np.flatnonzero(empty_receipt) + 2).tolist())
