"""Store POS in Siyu's canonical CSV: member cards, sale lines (grouped into receipts), returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError, Probe, has_columns, opt, reject, req, width_check
from siyu.ingest.readers import csv_rows
from siyu.ingest.sales_frame import SalesFrame, read_sales
from siyu.ingest.schemas import CARD, PHONE, Ident, ItemIn, OrderIn, ProfileIn, Record, RefundIn, Reject

SHOP = ("stores", "门店")


def card_profile(card: str, **fields) -> ProfileIn:  # type: ignore[no-untyped-def]
    return ProfileIn(channel="pos", external_id=card, idents=[Ident(CARD, card)], **fields)


def _card(raw: str) -> str:
    text = raw.strip().upper()
    if not (6 <= len(text) <= 32 and text.isalnum()):
        raise ValueError("not a member card number")
    return text


def _code(raw: str) -> str:
    """Receipt numbers and SKU codes are stored in 64 characters: longer is an error, never cut."""
    text = raw.strip()
    if len(text) > 64:
        raise ValueError("longer than 64 characters")
    return text


def _positive_int(raw: str) -> int:
    value = int(str(raw).strip())
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


class PosMembers:
    name, priority = "pos_members", 10

    def detect(self, probe: Probe) -> bool:
        return has_columns(probe, "card_no", "phone", "registered_at")

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        for line, row in csv_rows(path):
            try:
                width_check(row)
                card = req(row, "card_no", _card)
                phone = opt(row, "phone", nz.phone)
                profile = card_profile(
                    card, name=opt(row, "name", nz.text), gender=opt(row, "gender", nz.gender),
                    birthday=opt(row, "birthday", nz.birthday),
                    registered_at=req(row, "registered_at", lambda v: nz.beijing_text(v, allow_blank=False)),
                    store_code=opt(row, "store_code"), guide_code=opt(row, "guide_code"))
                if phone:
                    profile.idents.append(Ident(PHONE, phone))
                profile.seen_at = profile.registered_at
                yield profile
            except FieldError as exc:
                yield reject(path, f"line {line}", exc)


class PosSales:
    """One row per sale line; rows of a receipt may be anywhere in the file."""

    name, priority = "pos_sales", 20

    def detect(self, probe: Probe) -> bool:
        return has_columns(probe, "receipt_no", "line_no", "sku_code", "sold_at")

    def read_columns(self, path: Path) -> SalesFrame | None:
        """The bulk path for large files (see ``sales_frame``); None sends the file through ``parse``."""
        return read_sales(path)

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        receipts: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for line, row in csv_rows(path):
            key = (row.get("receipt_no") or "").strip()
            if not key:
                yield reject(path, f"line {line}", FieldError("receipt_no", "", "empty"))
                continue
            receipts.setdefault(key, []).append((line, row))
        for receipt, rows in receipts.items():
            first_line = rows[0][0]
            try:
                yield self._order(receipt, rows)
            except FieldError as exc:
                yield reject(path, f"line {first_line} (receipt {receipt})", exc)

    def _order(self, receipt: str, rows: list[tuple[int, dict[str, str]]]) -> OrderIn:
        head = rows[0][1]
        req(head, "receipt_no", _code)
        items, seen = [], set()
        for _, row in rows:
            width_check(row)
            line_no = req(row, "line_no", _positive_int)
            if line_no in seen:
                raise FieldError("line_no", str(line_no), "appears twice in this receipt")
            seen.add(line_no)
            qty = req(row, "quantity", _positive_int)
            items.append(ItemIn(line_no=line_no, quantity=qty, unit_price_fen=req(row, "unit_price", nz.fen_from_yuan),
                                paid_fen=req(row, "paid_amount", nz.fen_from_yuan), sku_code=req(row, "sku_code", _code)))
        sold = req(head, "sold_at", lambda v: nz.beijing_text(v, allow_blank=False))
        card = opt(head, "card_no", _card)
        paid = sum(i.paid_fen for i in items)
        total = sum(i.unit_price_fen * i.quantity for i in items)
        return OrderIn(channel="pos", shop_code=SHOP[0], shop_name=SHOP[1], external_id=receipt,
                       status="completed", platform_status="sold", created_at=sold, paid_at=sold,
                       completed_at=sold, total_fen=total, discount_fen=max(total - paid, 0), paid_fen=paid,
                       profile=card_profile(card, seen_at=sold) if card else None,
                       store_code=req(head, "store_code"), guide_code=opt(head, "guide_code"),
                       items=sorted(items, key=lambda i: i.line_no))


class PosReturns:
    name, priority = "pos_returns", 30

    def detect(self, probe: Probe) -> bool:
        return has_columns(probe, "return_no", "receipt_no", "amount")

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        for line, row in csv_rows(path):
            try:
                width_check(row)
                at = req(row, "returned_at", lambda v: nz.beijing_text(v, allow_blank=False))
                yield RefundIn(channel="pos", shop_code=SHOP[0], external_id=req(row, "return_no"),
                               order_external_id=req(row, "receipt_no"), line_no=opt(row, "line_no", _positive_int),
                               amount_fen=req(row, "amount", nz.fen_from_yuan), status="success",
                               requested_at=at, completed_at=at, reason=opt(row, "reason", nz.text))
            except FieldError as exc:
                yield reject(path, f"line {line}", exc)
