"""The member API for the brand's mini-program: ``/api/v1/loyalty/members/{card_no}/…``.

The brand's own backend calls it with an API key (scope ``loyalty:read`` to look, ``loyalty:write`` to
check in, claim and redeem) after it has signed the member in; the member is named by card number.
Every call that moves points can be retried: a check-in counts once a day, a claim once per order, and a
redemption once per ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from siyu.accounts.api_keys import check_api_key
from siyu.api.deps import presented_key, runtime
from siyu.loyalty import pricing, versions
from siyu.loyalty import service as loyalty

router = APIRouter(prefix="/api/v1/loyalty", tags=["loyalty (member API)"])


class Expiring(BaseModel):
    expires_at: datetime
    points: int


class TierStep(BaseModel):
    at: datetime
    from_: str = Field(alias="from")
    to: str
    reason: str = Field(description="join · upgrade · review")


class PointsSummary(BaseModel):
    card_no: str
    points: int = Field(description="the balance the member sees (below zero only under the `negative` refund policy)")
    available: int = Field(description="points that can be spent now")
    pending: int = Field(description="points from orders still inside their return window")
    owed: int = Field(description="points a refund took back after they were spent; paid from future points")
    expiring_30_days: int
    expiring_90_days: int
    expiring: list[Expiring]
    tier: str
    next_tier: str | None
    tier_review_at: datetime | None = Field(description="when the tier is next reviewed (kept or dropped)")
    spend_to_next_tier: float | None = Field(description="yuan still to spend for the next tier")
    orders_to_next_tier: int | None = Field(description="orders still to place, when tiers count orders")
    progress_text: str
    tier_history: list[TierStep]


class Entry(BaseModel):
    id: int
    kind: str
    account: str
    points: int
    reason: str
    source_type: str | None
    source_ref: str | None
    occurred_at: datetime
    expires_at: datetime | None


class CheckIn(BaseModel):
    day: str
    points: int
    streak: int
    bonus: int
    replayed: bool


class ClaimRequest(BaseModel):
    channel: Literal["tmall", "jd", "douyin", "youzan", "pos", "miniprogram"]
    order_no: str = Field(min_length=1, max_length=64)


class ClaimResult(BaseModel):
    order: str
    channel: str
    replayed: bool


class RedeemRequest(BaseModel):
    reward: str = Field(min_length=1, max_length=32, description="a reward code from GET /rewards")
    quantity: int = Field(default=1, ge=1, le=100)


class RedeemResult(BaseModel):
    reward: str
    quantity: int
    points: int
    available: int
    replayed: bool
    coupons: int = Field(0, description="coupons the redemption issued (a coupon reward, a prize)")
    prizes: list[str] | None = Field(None, description="a lottery's prizes, one per draw")


class Allowance(BaseModel):
    identity: str
    label: str
    period: Literal["month", "year"] | None = Field(description="the limit's calendar period; null: no limit")
    orders_used: int | None
    orders_left: int | None
    amount_used: float | None = Field(description="yuan at list price bought at this price this period")
    amount_left: float | None
    resets_at: datetime | None


class Limited(BaseModel):
    identity: str
    label: str
    reason: str = Field(description="why this checkout cannot take the identity's price")


class PriceQuote(BaseModel):
    amount: float = Field(description="the list price, yuan")
    pays: float = Field(description="what this member pays, yuan")
    percent: int
    basis: str = Field(description="list · member_price · a pricing identity (employee, family…)")
    label: str
    identities: list[str]
    allowances: list[Allowance] = Field(description="each identity held: what its limit has left")
    limited: list[Limited] = Field(description="identities held that this amount would take beyond their limit")


class PriceUseRequest(BaseModel):
    order_no: str = Field(min_length=1, max_length=64)
    amount: str = Field(description="the order's list price in yuan, e.g. \"299.00\"")


class PriceUsed(BaseModel):
    order: str
    amount: float
    pays: float
    percent: int
    basis: str
    label: str
    replayed: bool = Field(description="this order was priced before: the same answer, nothing counted again")
    limited: list[Limited] = []


class PriceCancelled(BaseModel):
    order: str
    cancelled: bool
    replayed: bool


class ReferrerSet(BaseModel):
    referrer: str = Field(min_length=1, max_length=32, description="the referring member's card number")


class ReferrerResult(BaseModel):
    referrer: str
    referred_at: datetime
    replayed: bool


class PointsPayment(BaseModel):
    order_no: str = Field(min_length=1, max_length=64)
    amount: str = Field(description="the order's amount in yuan, e.g. \"299.00\"")
    points: int = Field(gt=0, description="points to pay with: a multiple of the programme's points per yuan")


class PointsPaid(BaseModel):
    order: str
    points: int
    off: float = Field(description="yuan the points take off the order")
    available: int
    replayed: bool


class CouponRead(BaseModel):
    id: int
    template: str
    name: str
    kind: str | None
    issued_at: datetime
    valid_until: datetime
    status: str = Field(description="available · used · expired")
    used_order: str | None
    off: float | None = Field(description="yuan it took off the order it was used on")


class CouponUse(BaseModel):
    order_no: str = Field(min_length=1, max_length=64)
    amount: str = Field(min_length=1, max_length=16, description="the order's amount in yuan, e.g. \"199.00\"")


class CouponUsed(BaseModel):
    coupon: int
    order: str
    off: float
    replayed: bool


class Reward(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str
    points: int
    stock: int | None


def _read(request: Request, work: Any) -> Any:
    rt = runtime(request)
    with rt.db.read_only() as s:  # reads apply what fell due in memory (ledger.peek) and write nothing
        check_api_key(s, presented_key(request), "loyalty:read")
        return work(s)


def _write(request: Request, work: Any) -> Any:
    rt = runtime(request)

    def checked(s: Session) -> Any:
        check_api_key(s, presented_key(request), "loyalty:write")
        return work(s)

    return rt.db.run(checked)


@router.get("/members/{card_no}/points", response_model=PointsSummary, summary="Balance, expiry and tier")
def get_points(card_no: str, request: Request) -> Any:
    return _read(request, lambda s: loyalty.summary(s, versions.active(s), card_no))


@router.get("/members/{card_no}/points/history", response_model=list[Entry], summary="Ledger entries, newest first")
def get_history(card_no: str, request: Request, limit: int = Query(50, ge=1, le=500),
                before_id: int | None = Query(None, description="page on: the smallest id of the previous page")) -> Any:
    return _read(request, lambda s: loyalty.history(s, card_no, limit, before_id))


@router.post("/members/{card_no}/checkins", response_model=CheckIn, summary="Today's check-in")
def post_checkin(card_no: str, request: Request) -> Any:
    def work(s: Session) -> Any:
        out = loyalty.check_in(s, versions.active(s), card_no)
        return {**out, "day": out["day"].isoformat()}

    return _write(request, work)


@router.post("/members/{card_no}/claims", response_model=ClaimResult, summary="Claim an order from another platform")
def post_claim(card_no: str, body: ClaimRequest, request: Request) -> Any:
    return _write(request, lambda s: loyalty.claim_order(s, versions.active(s), card_no, body.channel, body.order_no))


@router.post("/members/{card_no}/redemptions", response_model=RedeemResult, summary="Redeem a reward")
def post_redemption(card_no: str, body: RedeemRequest, request: Request,
                    idempotency_key: str = Header(..., min_length=1, max_length=80,
                                                  description="the same key again replays the first answer")) -> Any:
    return _write(request, lambda s: loyalty.redeem_reward(s, versions.active(s), card_no, body.reward, body.quantity,
                                                           key=f"redeem:{card_no}:{idempotency_key}"))


@router.post("/members/{card_no}/points-payments", response_model=PointsPaid,
             summary="Pay part of an order with points (积分抵现)")
def post_points_payment(card_no: str, body: PointsPayment, request: Request) -> Any:
    return _write(request, lambda s: loyalty.pay_with_points(s, versions.active(s), card_no, body.order_no, body.amount,
                                                             body.points))


@router.get("/members/{card_no}/price", response_model=PriceQuote,
            summary="The price this member pays (会员价 · 员工价 · 亲友价)")
def get_price(card_no: str, request: Request, amount: str = Query(..., description="list price in yuan")) -> Any:
    return _read(request, lambda s: pricing.quote(s, versions.active(s), loyalty.member(s, card_no), amount))


@router.post("/members/{card_no}/price-uses", response_model=PriceUsed,
             summary="Checkout at the member's price, counted against an identity's limits (员工价额度)")
def post_price_use(card_no: str, body: PriceUseRequest, request: Request) -> Any:
    return _write(request, lambda s: pricing.use(s, versions.active(s), loyalty.member(s, card_no), body.order_no,
                                                 body.amount))


@router.post("/members/{card_no}/price-uses/{order_no}/cancel", response_model=PriceCancelled,
             summary="An order priced at checkout was cancelled: its use no longer counts")
def post_price_cancel(card_no: str, order_no: str, request: Request) -> Any:
    return _write(request, lambda s: pricing.cancel(s, loyalty.member(s, card_no), order_no))


@router.post("/members/{card_no}/referrer", response_model=ReferrerResult, summary="Who referred this member (推荐人)")
def post_referrer(card_no: str, body: ReferrerSet, request: Request) -> Any:
    return _write(request, lambda s: loyalty.set_referrer(s, card_no, body.referrer))


@router.get("/members/{card_no}/coupons", response_model=list[CouponRead], summary="The member's coupons")
def get_coupons(card_no: str, request: Request) -> Any:
    return _read(request, lambda s: loyalty.member_coupons(s, versions.active(s), card_no))


@router.post("/members/{card_no}/coupons/{coupon_id}/uses", response_model=CouponUsed,
             summary="Use a coupon against an order")
def post_coupon_use(card_no: str, coupon_id: int, body: CouponUse, request: Request) -> Any:
    return _write(request, lambda s: loyalty.use_coupon(s, versions.active(s), card_no, coupon_id, body.order_no,
                                                         body.amount))


@router.get("/rewards", response_model=list[Reward], summary="The reward catalogue")
def get_rewards(request: Request) -> Any:
    return _read(request, lambda s: [r.model_dump() for r in versions.active(s).rewards])
