"""The brand's own mini-program / B2C in Siyu's canonical JSON Lines (schemas in docs/formats.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError, Probe, opt, reject, req
from siyu.ingest.readers import BadJson, json_lines
from siyu.ingest.schemas import (
    CARD,
    OPENID_MP,
    PHONE,
    UNIONID,
    Ident,
    ItemIn,
    OrderIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
)

SHOP = ("mall", "小程序商城")
STATUSES = ("created", "paid", "shipped", "completed", "cancelled", "refunded")
REFUND_STATUSES = ("requested", "success", "closed")


def _iso(raw: Any) -> Any:
    return nz.beijing_text(raw, allow_blank=False)


_WECHAT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _wechat_id(raw: Any) -> str:
    text = str(raw).strip()
    if not _WECHAT_ID.fullmatch(text):
        raise ValueError("not a WeChat openid / unionid")
    return text


def wechat_profile(obj: dict[str, Any]) -> ProfileIn:
    openid = req(obj, "openid", _wechat_id)
    profile = ProfileIn(channel="miniprogram", external_id=openid, idents=[Ident(OPENID_MP, openid)])
    unionid = opt(obj, "unionid", _wechat_id)
    if unionid:
        profile.idents.append(Ident(UNIONID, unionid))
    card = opt(obj, "member_no")
    if card:
        profile.idents.append(Ident(CARD, card.upper()))
    return profile


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    for number, value in json_lines(path):
        if isinstance(value, BadJson):
            yield number, Reject(str(path), f"line {number}", "(line)", "", str(value))
        elif not isinstance(value, dict):
            yield number, Reject(str(path), f"line {number}", "(line)", "", "expected a JSON object")
        else:
            yield number, value


def _choice(options: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def check(raw: Any) -> str:
        text = str(raw).strip().lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text

    return check


def _positive_int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ValueError("must be a positive whole number")
    return raw


class _JsonConnector:
    name = "json"
    priority = 50
    keys: tuple[str, ...] = ()

    def detect(self, probe: Probe) -> bool:
        return isinstance(probe.first_json, dict) and all(k in probe.first_json for k in self.keys)

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        for number, obj in _objects(path):
            if isinstance(obj, Reject):
                yield obj
                continue
            try:
                yield self.record(obj)
            except FieldError as exc:
                yield reject(path, f"line {number}", exc)

    def record(self, obj: dict[str, Any]) -> Record:
        raise NotImplementedError


class MiniMembers(_JsonConnector):
    name, priority = "miniprogram_members", 10
    keys = ("openid", "phone", "registered_at")

    def record(self, obj: dict[str, Any]) -> Record:
        profile = wechat_profile(obj)
        phone = opt(obj, "phone", nz.phone)
        if phone:
            profile.idents.append(Ident(PHONE, phone))
        profile.name = opt(obj, "name", nz.text)
        profile.gender = opt(obj, "gender", nz.gender)
        profile.birthday = opt(obj, "birthday", nz.birthday)
        profile.registered_at = req(obj, "registered_at", _iso)
        profile.seen_at = profile.registered_at
        profile.store_code = opt(obj, "store_code")
        profile.guide_code = opt(obj, "guide_code")
        profile.source = opt(obj, "source", nz.text)
        return profile


class MiniOrders(_JsonConnector):
    name, priority = "miniprogram_orders", 20
    keys = ("order_no", "openid", "items")

    def record(self, obj: dict[str, Any]) -> Record:
        profile = wechat_profile(obj)
        created = req(obj, "created_at", _iso)
        profile.seen_at = created
        raw_items = obj.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise FieldError("items", repr(raw_items)[:80], "an order needs at least one item")
        items, seen = [], set()
        for i, it in enumerate(raw_items):
            if not isinstance(it, dict):
                raise FieldError(f"items[{i}]", repr(it)[:80], "expected an object")
            try:
                line_no = req(it, "line_no", _positive_int)
                if line_no in seen:
                    raise FieldError("line_no", str(line_no), "appears twice")
                seen.add(line_no)
                items.append(ItemIn(
                    line_no=line_no, quantity=req(it, "quantity", _positive_int),
                    unit_price_fen=req(it, "unit_price", nz.fen_from_yuan),
                    paid_fen=req(it, "paid_amount", nz.fen_from_yuan), sku_code=opt(it, "sku_code"),
                    product_code=opt(it, "product_code"), title=opt(it, "title", nz.text),
                    colour=opt(it, "colour"), size=opt(it, "size")))
            except FieldError as exc:  # name the line: "items[2].quantity"
                raise FieldError(f"items[{i}].{exc.field}", exc.value, exc.reason) from None
        receiver = obj.get("receiver") or {}
        if not isinstance(receiver, dict):
            raise FieldError("receiver", repr(receiver)[:80], "expected an object")
        status = req(obj, "status", _choice(STATUSES))
        return OrderIn(
            channel="miniprogram", shop_code=SHOP[0], shop_name=SHOP[1], external_id=req(obj, "order_no"),
            status=status, platform_status=status, created_at=created, profile=profile,
            paid_at=opt(obj, "paid_at", _iso), completed_at=opt(obj, "completed_at", _iso),
            total_fen=req(obj, "total_amount", nz.fen_from_yuan),
            discount_fen=opt(obj, "discount_amount", nz.fen_from_yuan) or 0,
            shipping_fen=opt(obj, "shipping_amount", nz.fen_from_yuan) or 0,
            paid_fen=req(obj, "paid_amount", nz.fen_from_yuan),
            receiver_name=opt(receiver, "name", nz.text), receiver_phone=opt(receiver, "phone", nz.phone),
            province=opt(receiver, "province"), city=opt(receiver, "city"), district=opt(receiver, "district"),
            address=opt(receiver, "address", nz.text), store_code=opt(obj, "store_code"),
            guide_code=opt(obj, "guide_code"), items=items)


class MiniRefunds(_JsonConnector):
    name, priority = "miniprogram_refunds", 30
    keys = ("refund_no", "order_no", "amount")

    def record(self, obj: dict[str, Any]) -> Record:
        return RefundIn(channel="miniprogram", shop_code=SHOP[0], external_id=req(obj, "refund_no"),
                        order_external_id=req(obj, "order_no"), line_no=opt(obj, "line_no", _positive_int),
                        amount_fen=req(obj, "amount", nz.fen_from_yuan),
                        status=req(obj, "status", _choice(REFUND_STATUSES)),
                        requested_at=opt(obj, "requested_at", _iso), completed_at=opt(obj, "completed_at", _iso),
                        reason=opt(obj, "reason", nz.text))


class Events(_JsonConnector):
    """Interaction events: check-ins, article reads, live subscriptions, survey answers."""

    name, priority = "events", 40
    keys = ("message_id", "type", "occurred_at")

    def record(self, obj: dict[str, Any]) -> Record:
        from siyu.ingest.schemas import EventIn

        props = obj.get("properties")
        if props is not None and not isinstance(props, dict):
            raise FieldError("properties", repr(props)[:80], "expected an object")
        occurred = req(obj, "occurred_at", _iso)
        profile = wechat_profile(obj) if obj.get("openid") else None
        if profile:
            profile.seen_at = occurred
        event_type = req(obj, "type", nz.text)
        if len(event_type) > 32:
            raise FieldError("type", event_type, "longer than 32 characters")
        return EventIn(message_id=req(obj, "message_id"), type=event_type, occurred_at=occurred,
                       profile=profile, properties=props)
