"""Prices a member pays: the list price, their tier's member price (会员价), or a pricing identity
granted to them (员工价 · 亲友价) — whichever is lowest, with the reason. Identities are granted and
revoked by a named operator and kept (a revoked one stays, with when it was revoked).

An identity may be limited (``limit`` in the programme): so many orders, or so many yuan at list price,
a calendar month or year in Beijing time. Checkouts record the price they gave (``use``), once per order,
and the limits count those; a checkout the limit cannot take pays the next best price, and says why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import SHANGHAI, now
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.loyalty import repository as repo
from siyu.loyalty.coupons import amount_fen
from siyu.loyalty.programme import PriceLimit, Programme


def held(session: Session, member_id: int, at: datetime) -> list[Any]:
    """The identities in force at ``at``."""
    return [r for r in repo.pricing_identities(session, member_id)
            if r.granted_at <= at and (r.revoked_at is None or r.revoked_at > at)
            and (r.valid_until is None or r.valid_until > at)]


def grant(session: Session, programme: Programme, member_id: int, identity: str, *, by: str,
          valid_until: datetime | None = None, at: datetime | None = None) -> bool:
    """Grant ``identity``; False (nothing written) if the member already holds it."""
    at = at or now()
    if identity not in programme.pricing.identities:
        known = ", ".join(sorted(programme.pricing.identities)) or "none"
        raise InvalidInput(f"pricing identity {identity!r}: not in the programme (known: {known})")
    if not by.strip():
        raise InvalidInput("who grants the identity: a name is required (--by)")
    if valid_until is not None and valid_until <= at:
        raise InvalidInput(f"valid until {valid_until:%Y-%m-%d}: that is not in the future")
    if any(r.identity == identity for r in held(session, member_id, at)):
        return False
    repo.add_pricing_identity(session, {"member_id": member_id, "identity": identity, "granted_by": by.strip()[:64],
                                        "granted_at": at, "valid_until": valid_until})
    return True


def revoke(session: Session, member_id: int, identity: str, at: datetime | None = None) -> bool:
    return repo.revoke_pricing_identity(session, member_id, identity, at or now()) > 0


def period(limit: PriceLimit, at: datetime) -> tuple[datetime, datetime]:
    """The calendar month or year (Beijing time) holding ``at``: [from, to)."""
    start = at.astimezone(SHANGHAI).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if limit.period == "year":
        start = start.replace(month=1)
        return start, start.replace(year=start.year + 1)
    return start, start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def allowance(session: Session, programme: Programme, member_id: int, identity: str, at: datetime) -> dict[str, Any]:
    """What the identity's limit has left this period (None where the limit does not count that)."""
    ident = programme.pricing.identities[identity]
    out: dict[str, Any] = {"identity": identity, "label": ident.name}
    if ident.limit is None:
        return out | {"period": None, "orders_used": None, "orders_left": None, "amount_used": None,
                      "amount_left": None, "resets_at": None}
    start, end = period(ident.limit, at)
    orders, fen = repo.price_used(session, member_id, identity, start, end)
    return out | {"period": ident.limit.period, "orders_used": orders, "amount_used": fen / 100,
                  "orders_left": None if ident.limit.orders is None else max(0, ident.limit.orders - orders),
                  "amount_left": None if ident.limit.amount is None else max(0, ident.limit.amount * 100 - fen) / 100,
                  "resets_at": end.astimezone(UTC)}


def price_identities(session: Session, programme: Programme, member_id: int, at: datetime | None = None
                     ) -> list[dict[str, Any]]:
    """The identities a member holds now, each with its grant and what its limit has left."""
    at = at or now()
    return [allowance(session, programme, member_id, r.identity, at) | {"granted_by": r.granted_by,
                                                                         "valid_until": r.valid_until}
            for r in held(session, member_id, at) if r.identity in programme.pricing.identities]


def _refusal(a: dict[str, Any], list_fen: int) -> str | None:
    """Why this checkout cannot take the identity's price, or None."""
    word = "this month" if a["period"] == "month" else "this year"
    if a["orders_left"] == 0:
        return f"{a['label']}: {a['orders_used']} orders used {word}, the limit"
    if a["amount_left"] is not None and list_fen > round(a["amount_left"] * 100):
        return (f"{a['label']}: ¥{a['amount_left']:,.2f} left {word} at list price, "
                f"this order is ¥{list_fen / 100:,.2f}")
    return None


def quote(session: Session, programme: Programme, m: Any, amount: str, at: datetime | None = None) -> dict[str, Any]:
    """What member ``m`` pays for ``amount`` yuan at list price, and why."""
    at = at or now()
    list_fen = amount_fen(amount, "amount")
    options = [(100, "list", "标价")]
    tier = programme.tier_named(m.tier)
    if tier.code in programme.pricing.tiers:
        options.append((programme.pricing.tiers[tier.code], "member_price", f"{tier.name}会员价"))
    holds = held(session, m.id, at)
    allowances, limited = [], []
    for r in holds:
        ident = programme.pricing.identities.get(r.identity)
        if ident is None:
            continue
        a = allowance(session, programme, m.id, r.identity, at)
        allowances.append(a)
        why = _refusal(a, list_fen)  # None without a limit
        if why is None:
            options.append((ident.percent, r.identity, ident.name))
        else:
            limited.append({"identity": r.identity, "label": ident.name, "reason": why})
    percent, basis, label = min(options, key=lambda o: o[0])
    return {"amount": list_fen / 100, "pays": _pays_fen(list_fen, percent) / 100, "percent": percent, "basis": basis,
            "label": label, "identities": sorted({r.identity for r in holds}), "allowances": allowances,
            "limited": limited}


def _pays_fen(list_fen: int, percent: int) -> int:
    return (list_fen * percent + 50) // 100  # to the fen, half up


def _order_ref(order_no: str) -> str:
    ref = order_no.strip()
    if not 1 <= len(ref) <= 64:
        raise InvalidInput(f"order_no: {order_no!r} must be 1 to 64 characters")
    return ref


def use(session: Session, programme: Programme, m: Any, order_no: str, amount: str,
        at: datetime | None = None) -> dict[str, Any]:
    """Checkout: the price member ``m`` pays for order ``order_no`` of ``amount`` yuan at list price, recorded
    against the identity's limits. Under the member's lock, so that two tills cannot both take the last
    order of a limit. The same order and amount again answers the same; another amount is refused."""
    at = at or now()
    ref = _order_ref(order_no)
    list_fen = amount_fen(amount, "amount")
    repo.lock_account(session, m.id)  # the member's lock (the points account row), held to the commit
    done = repo.price_use(session, m.id, ref)
    if done is not None:
        if done.cancelled_at is not None:
            raise Conflict(f"order {ref}: its price was cancelled on {done.cancelled_at.astimezone(SHANGHAI):%Y-%m-%d}; "
                           "a new checkout needs a new order number")
        if done.list_fen != list_fen:
            raise Conflict(f"order {ref}: already priced at ¥{done.list_fen / 100:,.2f} list ({done.label}); "
                           f"¥{list_fen / 100:,.2f} is another amount")
        return {"order": ref, "amount": list_fen / 100, "pays": done.pays_fen / 100, "percent": done.percent,
                "basis": done.basis, "label": done.label, "replayed": True}
    q = quote(session, programme, m, amount, at)
    repo.add_price_use(session, {"member_id": m.id, "order_ref": ref, "basis": q["basis"], "label": q["label"],
                                 "percent": q["percent"], "list_fen": list_fen, "pays_fen": _pays_fen(list_fen, q["percent"]),
                                 "used_at": at})
    return {"order": ref, "amount": q["amount"], "pays": q["pays"], "percent": q["percent"], "basis": q["basis"],
            "label": q["label"], "replayed": False, "limited": q["limited"]}


def cancel(session: Session, m: Any, order_no: str, at: datetime | None = None) -> dict[str, Any]:
    """The order was cancelled or returned in full: its use no longer counts against the limit. Again: the same."""
    at = at or now()
    ref = _order_ref(order_no)
    repo.lock_account(session, m.id)
    if repo.price_use(session, m.id, ref) is None:
        raise NotFound(f"order {ref}: no price was given to it for member {m.card_no}")
    return {"order": ref, "cancelled": True, "replayed": repo.cancel_price_use(session, m.id, ref, at) == 0}
