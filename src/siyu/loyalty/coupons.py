"""Coupons (优惠券): issued from the programme's templates in packs on occasions — joining (新人券包),
an upgrade (升级礼), the birthday month (生日礼), each month by tier (每月礼券), a reward redeemed with
points or won in a draw — and used once, against one order, before they
expire. Issuing is idempotent by occasion; using is idempotent by coupon and order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import SHANGHAI, now
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.money import MoneyError, yuan_to_fen
from siyu.loyalty import repository as repo
from siyu.loyalty.programme import Programme


def pack_rows(programme: Programme, member_id: int, pack: str, occasion: str, at: datetime) -> list[dict[str, Any]]:
    """The coupons of ``pack`` for one member on one occasion (rows for ``repo.add_coupons``)."""
    return template_rows(programme, member_id, programme.coupons.packs.get(pack, []), occasion, at)


def template_rows(programme: Programme, member_id: int, codes: list[str], occasion: str, at: datetime
                  ) -> list[dict[str, Any]]:
    rows = []
    for slot, code in enumerate(codes):
        t = programme.coupons.template(code)
        assert t is not None  # the programme validator checked every pack's templates
        rows.append({"member_id": member_id, "template": code, "issue_key": f"{occasion}:{member_id}:{slot}",
                     "issued_at": at, "valid_until": at + timedelta(days=t.valid_days)})
    return rows


def issue(session: Session, programme: Programme, member_id: int, pack: str, occasion: str,
          at: datetime | None = None) -> int:
    """Issue ``pack`` to a member for ``occasion`` (e.g. ``new_member``, ``upgrade:黄金``); a second call
    for the same occasion issues nothing. Returns how many coupons the pack holds."""
    rows = pack_rows(programme, member_id, pack, occasion, at or now())
    repo.add_coupons(session, rows)
    return len(rows)


def issue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    repo.add_coupons(session, rows)


def issue_due(session: Session, programme: Programme, at: datetime | None = None) -> int:
    """The coupons due this month (Beijing): the birthday pack to members born this month (once a year)
    and each tier's monthly coupons to its members (once a month). Run daily; a second run issues
    nothing. Returns the coupons the run asked for (already issued ones included)."""
    at = at or now()
    local = at.astimezone(SHANGHAI)
    members = repo.active_members(session, None)
    code_of = {t.name: t.code for t in programme.tiers}
    births = repo.birth_months(session, list(members)) if programme.coupons.packs.get("birthday") else {}
    rows = []
    for mid, m in members.items():
        if births.get(mid) == local.month:
            rows += pack_rows(programme, mid, "birthday", f"birthday:{local.year}", at)
        monthly = programme.coupons.monthly.get(code_of.get(m.tier, ""), [])
        rows += template_rows(programme, mid, monthly, f"monthly:{local:%Y-%m}", at)
    for i in range(0, len(rows), 5000):
        repo.add_coupons(session, rows[i:i + 5000])
    return len(rows)


def status(c: Any, at: datetime) -> str:
    if c.used_at is not None:
        return "used"
    return "expired" if c.valid_until <= at else "available"


def list_coupons(session: Session, programme: Programme, member_id: int, at: datetime | None = None
                 ) -> list[dict[str, Any]]:
    at = at or now()
    out = []
    for c in repo.coupons_of(session, member_id):
        t = programme.coupons.template(c.template)
        out.append({"id": c.id, "template": c.template, "name": t.name if t else c.template,
                    "kind": t.kind if t else None, "issued_at": c.issued_at, "valid_until": c.valid_until,
                    "status": status(c, at), "used_order": c.used_order,
                    "off": c.off_fen / 100 if c.off_fen is not None else None})
    return out


def use(session: Session, programme: Programme, member_id: int, coupon_id: int, order_ref: str, order_yuan: str,
        at: datetime | None = None) -> dict[str, Any]:
    """Use a coupon against an order of ``order_yuan``: the discount it gives. Refused, with nothing
    changed, when the coupon is not this member's, used on another order, expired, or the order does not
    reach its threshold. Using it again for the same order answers the same."""
    at = at or now()
    order_fen = amount_fen(order_yuan, "order amount")
    c = repo.lock_coupon(session, coupon_id, member_id)
    if c is None:
        raise NotFound(f"coupon {coupon_id}: not this member's")
    t = programme.coupons.template(c.template)
    if t is None:
        raise Conflict(f"coupon {coupon_id}: its template {c.template} is no longer in the programme")
    if c.used_at is not None:
        if c.used_order == order_ref:
            return {"coupon": coupon_id, "order": order_ref, "off": (c.off_fen or 0) / 100, "replayed": True}
        raise Conflict(f"coupon {coupon_id} was already used on order {c.used_order}")
    if c.valid_until <= at:
        raise Conflict(f"coupon {coupon_id} expired on {c.valid_until:%Y-%m-%d}")
    if t.kind == "threshold" and order_fen < yuan_to_fen(t.threshold):
        raise Conflict(f"coupon {coupon_id} ({t.name}) needs an order of ¥{t.threshold}; this one is ¥{order_yuan}")
    off = t.off_fen(order_fen)
    repo.use_coupon(session, coupon_id, at, order_ref, off)
    return {"coupon": coupon_id, "order": order_ref, "off": off / 100, "replayed": False}


def amount_fen(value: str, what: str) -> int:
    """A positive amount in yuan sent by a caller, in fen; a clear refusal naming the field otherwise."""
    try:
        fen = yuan_to_fen(value)
    except MoneyError:
        raise InvalidInput(f"{what}: {value!r} is not an amount in yuan") from None
    if fen <= 0:
        raise InvalidInput(f"{what}: {value!r} must be above zero")
    return fen
