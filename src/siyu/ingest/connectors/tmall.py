"""Tmall / Taobao seller-centre exports: the order report (ExportOrderList…) read together with its
order-item report (ExportOrderDetailList…), GBK or UTF-8.

Quirks handled: order numbers wrapped as ``="…"``; phones prefixed with an apostrophe or masked as
``138****1234``; ``交易关闭`` meaning cancelled (never paid) or refunded (paid, then refunded in full).
Refunds come from the item report's per-line 退款金额; what the order's 退款金额 adds beyond its lines
(the shipping fee) is recorded as a refund of the order itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from siyu.core.errors import UnreadableFile
from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError, Probe, has_columns, opt, reject, req, width_check
from siyu.ingest.readers import csv_rows
from siyu.ingest.schemas import (
    MASKED_PHONE,
    TAOBAO_NICK,
    Ident,
    ItemIn,
    OrderIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
)

STATUS = {
    "等待买家付款": "created",
    "买家已付款，等待卖家发货": "paid",
    "卖家已发货，等待买家确认": "shipped",
    "交易成功": "completed",
    "交易关闭": "closed",  # cancelled or refunded: decided by whether it was paid
}
_TID = re.compile(r"\d{6,24}")
_ATTR = re.compile(r"(颜色分类|颜色|尺码|尺寸)[：:]([^;；]+)")


def tid(raw: str) -> str:
    """'="2000000000000077777"' → '2000000000000077777'."""
    text = raw.strip().lstrip("=").strip('"').strip()
    if not _TID.fullmatch(text):
        raise ValueError("not a Taobao order number")
    return text


def _int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError("must be positive")
    return value


def detail_sibling(path: Path) -> Path | None:
    """ExportOrderList202611210930.csv ↔ ExportOrderDetailList202611210930.csv"""
    if "ExportOrderList" not in path.name:
        return None
    sibling = path.with_name(path.name.replace("ExportOrderList", "ExportOrderDetailList"))
    return sibling if sibling.exists() else None


class TmallOrders:
    name, priority = "tmall_orders", 20

    def detect(self, probe: Probe) -> bool:
        return has_columns(probe, "订单编号", "买家会员名", "订单状态", "买家实际支付金额")

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        lines: dict[str, list[tuple[ItemIn, int]]] = {}
        sibling = detail_sibling(path)
        if sibling is not None:
            for rec in TmallItems().parse_lines(sibling):
                if isinstance(rec, Reject):
                    yield rec
                else:
                    lines.setdefault(rec[0], []).append((rec[1], rec[2]))
        for line, row in csv_rows(path):
            try:
                width_check(row)
                yield self._order(row, lines)
            except FieldError as exc:
                yield reject(path, f"line {line}", exc)

    def _order(self, row: dict[str, str], lines: dict[str, list[tuple[ItemIn, int]]]) -> OrderIn:
        order_no = req(row, "订单编号", tid)
        nick = req(row, "买家会员名", nz.text)
        raw_status = req(row, "订单状态")
        status = STATUS.get(raw_status)
        if status is None:
            raise FieldError("订单状态", raw_status, "unknown Tmall order status")
        paid = req(row, "买家实际支付金额", nz.fen_from_yuan)
        if status == "closed":
            status = "refunded" if paid > 0 else "cancelled"
        created = req(row, "订单创建时间", lambda v: nz.beijing_text(v, allow_blank=False))
        full, masked = opt(row, "联系手机", nz.phone_or_masked) or (None, None)
        province, city, district, street = nz.split_address(opt(row, "收货地址", nz.text))
        profile = ProfileIn(channel="tmall", external_id=nick, idents=[Ident(TAOBAO_NICK, nick)], seen_at=created)
        if masked or full:
            profile.idents.append(Ident(MASKED_PHONE, masked or nz.mask_phone(full or "")))
        goods = req(row, "买家应付货款", nz.fen_from_yuan)
        shipping = opt(row, "买家应付邮费", nz.fen_from_yuan) or 0
        order = OrderIn(
            channel="tmall", shop_code=req(row, "店铺Id") if row.get("店铺Id") else "tmall",
            shop_name=opt(row, "店铺名称") or "天猫店铺", external_id=order_no, status=status,
            platform_status=raw_status, created_at=created, profile=profile,
            paid_at=opt(row, "订单付款时间", nz.beijing_text), completed_at=opt(row, "确认收货时间", nz.beijing_text),
            total_fen=opt(row, "总金额", nz.fen_from_yuan) or goods + shipping, shipping_fen=shipping, paid_fen=paid,
            receiver_name=opt(row, "收货人姓名", nz.text), receiver_phone=full, address=street,
            receiver_phone_masked=masked,
            province=province, city=city, district=district)
        found = lines.get(order_no)
        order_refund = opt(row, "退款金额", nz.fen_from_yuan) or 0
        line_refunds = 0
        if found is not None:
            order.items = [item for item, _ in sorted(found, key=lambda t: t[0].line_no)]
            order.discount_fen = max(sum(i.unit_price_fen * i.quantity for i in order.items) - goods, 0)
            for item, refunded in found:
                if refunded:
                    line_refunds += refunded
                    order.refunds.append(RefundIn(
                        channel="tmall", shop_code=order.shop_code, external_id=item.external_id or f"{order_no}:{item.line_no}",
                        order_external_id=order_no, line_no=item.line_no, item_external_id=item.external_id,
                        amount_fen=refunded, status="success"))
        if order_refund > line_refunds:
            # What the order refunded beyond its lines: the shipping fee, or the whole order when its lines
            # were not exported alongside.
            order.refunds.append(RefundIn(channel="tmall", shop_code=order.shop_code,
                                          external_id=f"{order_no}:order", order_external_id=order_no,
                                          amount_fen=order_refund - line_refunds, status="success"))
        return order


class TmallItems:
    """The order-item report. It only makes sense with its order report: import the two together."""

    name, priority = "tmall_items", 21

    def detect(self, probe: Probe) -> bool:
        return has_columns(probe, "主订单编号", "商家编码", "购买数量") or has_columns(
            probe, "订单编号", "标题", "商家编码", "购买数量") and "买家会员名" not in (probe.header or [])

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        raise UnreadableFile(str(path), "a Tmall order-item report is read together with its order report "
                                        "(ExportOrderList…): import both files, or their folder")

    def parse_lines(self, path: Path) -> Iterator[tuple[str, ItemIn, int] | Reject]:
        """(order number, line, refunded fen) per row; line numbers follow the order of the file."""
        counters: dict[str, int] = {}
        for line, row in csv_rows(path):
            try:
                width_check(row)
                order_no = req(row, "主订单编号" if "主订单编号" in row else "订单编号", tid)
                attrs = dict(_ATTR.findall(opt(row, "商品属性") or ""))
                qty = req(row, "购买数量", _int)
                counters[order_no] = counters.get(order_no, 0) + 1
                refunded = 0
                if (opt(row, "退款状态") or "") == "退款成功":
                    refunded = opt(row, "退款金额", nz.fen_from_yuan) or 0
                item = ItemIn(
                    line_no=counters[order_no], quantity=qty, unit_price_fen=req(row, "价格", nz.fen_from_yuan),
                    paid_fen=opt(row, "买家应付货款", nz.fen_from_yuan) or 0,
                    external_id=opt(row, "子订单编号", tid), sku_code=opt(row, "商家编码"),
                    product_code=opt(row, "外部系统编号"), title=opt(row, "标题", nz.text),
                    colour=attrs.get("颜色分类") or attrs.get("颜色"), size=attrs.get("尺码") or attrs.get("尺寸"))
                yield order_no, item, refunded
            except FieldError as exc:
                yield reject(path, f"line {line}", exc)
