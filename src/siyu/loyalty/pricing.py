"""Prices a member pays: the list price, their tier's member price (会员价), or a pricing identity
granted to them (员工价 · 亲友价) — whichever is lowest, with the reason. Identities are granted and
revoked by a named operator and kept (a revoked one stays, with when it was revoked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.errors import InvalidInput
from siyu.loyalty import repository as repo
from siyu.loyalty.coupons import amount_fen
from siyu.loyalty.programme import Programme


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


def quote(session: Session, programme: Programme, m: Any, amount: str, at: datetime | None = None) -> dict[str, Any]:
    """What member ``m`` pays for ``amount`` yuan at list price, and why."""
    at = at or now()
    list_fen = amount_fen(amount, "amount")
    options = [(100, "list", "标价")]
    tier = programme.tier_named(m.tier)
    if tier.code in programme.pricing.tiers:
        options.append((programme.pricing.tiers[tier.code], "member_price", f"{tier.name}会员价"))
    for r in held(session, m.id, at):
        ident = programme.pricing.identities.get(r.identity)
        if ident is not None:
            options.append((ident.percent, r.identity, ident.name))
    percent, basis, label = min(options, key=lambda o: o[0])
    pays = (list_fen * percent + 50) // 100  # to the fen, half up
    return {"amount": list_fen / 100, "pays": pays / 100, "percent": percent, "basis": basis, "label": label,
            "identities": sorted({r.identity for r in held(session, m.id, at)})}
