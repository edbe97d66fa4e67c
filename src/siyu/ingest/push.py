"""Platform pushes (webhooks): Youzan's message push and Douyin shop's (抖店) message push.

Both sign the raw request body with the app's secret; a push whose signature does not match is refused
before its body is even parsed. Every message is claimed in the inbox by its id first, so a redelivery
(both platforms retry until they read ``success``) changes nothing.

Youzan (doc.youzanyun.com, "消息推送"): ``POST`` JSON, header ``Event-Sign = md5(client_id + body +
client_secret)`` (older pushes carry only ``sign = md5(client_id + msg + client_secret)`` in the body),
``Event-Type`` the message type; ``msg`` is URL-encoded JSON (trade messages) or an object (the newer
``youzan_trade_Refund*``). Success is any 200 answer containing ``success``.

Douyin shop (op.jinritemai.com, "消息推送"): ``POST`` a JSON array of ``{tag, msg_id, data}`` where ``data``
is a JSON string; header ``event-sign = md5(app_key + body + app_secret)``, or HMAC-SHA256 keyed with the
app secret over the same text when ``sign-method: hmac-sha256``. Tag ``0`` is the console's connectivity
test. Success is ``{"code": 0, "msg": "success"}``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson
from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.core.errors import BadSignature, NotConfigured, SiyuError
from siyu.core.platform_sign import douyin_sign, youzan_event_sign, youzan_msg_sign
from siyu.ingest import normalize as nz
from siyu.ingest import repository as repo
from siyu.ingest.connectors.api import text, yuan
from siyu.ingest.connectors.base import FieldError, opt, req
from siyu.ingest.connectors.youzan import trade_record as youzan_trade
from siyu.ingest.orders import LIFECYCLE, apply_status
from siyu.ingest.schemas import OrderIn, RefundIn
from siyu.ingest.service import Importer

__all__ = ["BadSignature", "NotConfigured", "receive_douyin", "receive_youzan", "verify_douyin", "verify_youzan"]


@dataclass
class PushResult:
    outcomes: dict[str, str] = field(default_factory=dict)  # message id → applied | stale | no_order | …


def _same(expected: str, given: str | None) -> bool:
    return hmac.compare_digest(expected.lower(), (given or "").strip().lower())


# -- Youzan -----------------------------------------------------------------------------------------

YOUZAN_FULL_ORDER = {"trade_TradeCreate", "trade_TradePaid", "trade_TradeBuyerPay"}
YOUZAN_STATUS = {"trade_TradeSellerShip": "shipped", "trade_TradeSuccess": "completed", "trade_TradeClose": "closed"}
YOUZAN_REFUND = {"youzan_trade_RefundCreated": "requested", "trade_refund_BuyerCreated": "requested",
                 "youzan_trade_RefundSuccess": "success", "trade_refund_RefundSuccess": "success",
                 "trade_refund_SysRefund": "success", "youzan_trade_RefundClosed": "closed",
                 "trade_refund_RefundClosed": "closed"}


def verify_youzan(raw: bytes, event_sign: str | None, client_id: str | None, secret: str | None) -> dict[str, Any]:
    """The parsed push if its signature is right; BadSignature otherwise."""
    if not client_id or not secret:
        raise NotConfigured("Youzan pushes need SIYU_YOUZAN_CLIENT_ID and SIYU_YOUZAN_CLIENT_SECRET")
    if event_sign:
        if not _same(youzan_event_sign(client_id, raw, secret), event_sign):
            raise BadSignature("Event-Sign does not match md5(client_id + body + client_secret)")
        return push_body(raw, dict)
    body = push_body(raw, dict)
    msg = body.get("msg")
    if not isinstance(msg, str) or not _same(
            youzan_msg_sign(client_id, msg, secret), str(body.get("sign") or "")):
        raise BadSignature("no Event-Sign header, and the body's sign does not match md5(client_id + msg + secret)")
    return body


def push_body(raw: bytes, shape: type[dict[str, Any]] | type[list[Any]]) -> Any:
    """The signed body parsed: a Youzan push or an SPI call is one object, a Douyin push an array of
    messages."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SiyuError(f"the push body is not JSON ({exc})") from None
    if not isinstance(body, shape):
        raise SiyuError("the push body is not a JSON " + ("object" if shape is dict else "array of messages"))
    return body


def _youzan_msg(body: dict[str, Any]) -> dict[str, Any]:
    msg = body.get("msg")
    if isinstance(msg, str):
        try:
            msg = orjson.loads(unquote(msg))
        except orjson.JSONDecodeError:
            raise FieldError("msg", msg[:80], "not URL-encoded JSON") from None
    if not isinstance(msg, dict):
        raise FieldError("msg", repr(msg)[:80], "expected an object")
    return msg


def receive_youzan(session: Session, vault: Vault, body: dict[str, Any], event_type: str | None) -> PushResult:
    kind = str(event_type or body.get("type") or "")
    msg_id = str(body.get("msg_id") or f"{kind}:{body.get('kdt_id')}:{body.get('id')}:{body.get('version')}")
    result = PushResult()
    if body.get("test") is True and not body.get("msg"):
        result.outcomes[msg_id] = "test"
        return result
    if not repo.claim_message(session, "youzan", msg_id, kind, now()):
        result.outcomes[msg_id] = "duplicate"
        return result
    try:
        outcome, detail = _apply_youzan(Importer(session, vault), kind, _youzan_msg(body), body)
    except FieldError as exc:
        outcome, detail = "rejected", f"{exc.field}: {exc.reason}"
    repo.settle_message(session, "youzan", msg_id, outcome, detail)
    result.outcomes[msg_id] = outcome
    return result


def _apply_youzan(imp: Importer, kind: str, msg: dict[str, Any], body: dict[str, Any]) -> tuple[str, str | None]:
    if "full_order_info" in msg or kind in YOUZAN_FULL_ORDER:
        order = youzan_trade({"full_order_info": msg.get("full_order_info"),
                              "refund_order": msg.get("refund_order") or []})
        return _write_if_newer(imp, order), order.external_id
    if kind in YOUZAN_STATUS:
        tid = req(msg, "tid", text)
        at = opt(msg, "update_time", nz.beijing_text) or now()
        status = YOUZAN_STATUS[kind]
        return apply_status(imp, "youzan", tid, status, str(body.get("status") or kind), at, f"{tid}:closed"), tid
    if kind in YOUZAN_REFUND:
        tid = req(msg, "tid", text)
        oids = [s for s in str(msg.get("oids") or msg.get("oid") or "").split(",") if s]
        amount = opt(msg, "refunded_fee", yuan)
        if amount is None:
            amount = req(msg, "refund_fee", yuan)
        refund = RefundIn(channel="youzan", shop_code=str(body.get("kdt_id") or "youzan"),
                          external_id=req(msg, "refund_id", text), order_external_id=tid, amount_fen=amount,
                          status=YOUZAN_REFUND[kind], item_external_id=oids[0] if len(oids) == 1 else None,
                          completed_at=opt(msg, "update_time", nz.beijing_text), reason=opt(msg, "refund_reason", nz.text))
        imp.write([refund])
        return "applied", refund.external_id
    return "ignored", None


def _write_if_newer(imp: Importer, order: OrderIn) -> str:
    """A full order pushed by the platform replaces the stored one unless the stored one is already
    further along (a late redelivery of ``trade_TradeCreate`` must not undo a payment)."""
    channel_id = imp.channels[order.channel]
    row = repo.order_state(imp.s, [sid for (cid, _), sid in imp.shops.items() if cid == channel_id],
                           order.external_id)
    if row is not None and LIFECYCLE.get(order.status, 0) < LIFECYCLE.get(row.status, 0):
        return "stale"
    imp.write([order])
    return "applied"


# -- Douyin shop ------------------------------------------------------------------------------------

# Order messages (doudian_trade_*): created, paid, shipped, completed, cancelled; after-sale messages
# (doudian_refund_*): applied, refunded, closed.
DOUYIN_STATUS = {"101": "paid", "102": "shipped", "103": "completed", "106": "closed"}
DOUYIN_REFUND = {"200": "requested", "206": "success", "207": "closed"}


def verify_douyin(raw: bytes, event_sign: str | None, sign_method: str | None, app_key: str | None,
                  secret: str | None) -> list[Any]:
    if not app_key or not secret:
        raise NotConfigured("Douyin pushes need SIYU_DOUYIN_APP_KEY and SIYU_DOUYIN_APP_SECRET")
    expected = douyin_sign(app_key, raw, secret, sign_method or "md5")
    if not _same(expected, event_sign):
        raise BadSignature("event-sign does not match the app key, body and app secret")
    return push_body(raw, list)


def receive_douyin(session: Session, vault: Vault, messages: list[Any]) -> PushResult:
    result = PushResult()
    imp: Importer | None = None
    for k, m in enumerate(messages):
        if not isinstance(m, dict):
            result.outcomes[f"#{k}"] = "rejected"
            continue
        tag, msg_id = str(m.get("tag") or ""), str(m.get("msg_id") or f"#{k}")
        if tag == "0":
            result.outcomes[msg_id] = "test"
            continue
        if not repo.claim_message(session, "douyin", msg_id, f"tag {tag}", now()):
            result.outcomes[msg_id] = "duplicate"
            continue
        imp = imp or Importer(session, vault)
        try:
            data = m.get("data")
            data = orjson.loads(data) if isinstance(data, str | bytes) else data
            if not isinstance(data, dict):
                raise FieldError("data", repr(data)[:80], "expected a JSON object")
            outcome, detail = _apply_douyin(imp, tag, data)
        except orjson.JSONDecodeError:
            outcome, detail = "rejected", "data: not JSON"
        except FieldError as exc:
            outcome, detail = "rejected", f"{exc.field}: {exc.reason}"
        repo.settle_message(session, "douyin", msg_id, outcome, detail)
        result.outcomes[msg_id] = outcome
    return result


def _apply_douyin(imp: Importer, tag: str, data: dict[str, Any]) -> tuple[str, str | None]:
    order_id = req(data, "p_id", text)
    if tag in DOUYIN_STATUS:
        at = opt(data, "update_time", nz.unix_time) or opt(data, "complete_time", nz.unix_time) or now()
        return apply_status(imp, "douyin", order_id, DOUYIN_STATUS[tag], f"tag {tag}", at, f"{order_id}:order"), order_id
    if tag in DOUYIN_REFUND:
        sub = opt(data, "s_id", text)
        refund = RefundIn(channel="douyin", shop_code=req(data, "shop_id", text),
                          # keyed like the order export keys a refunded sub-order, so the two meet
                          external_id=sub if sub and sub != order_id else req(data, "aftersale_id", text),
                          order_external_id=order_id,
                          amount_fen=req(data, "refund_amount", nz.fen_from_fen), status=DOUYIN_REFUND[tag],
                          item_external_id=sub if sub != order_id else None,
                          completed_at=opt(data, "update_time", nz.unix_time))
        imp.write([refund])
        return "applied", refund.external_id
    return "ignored", None
