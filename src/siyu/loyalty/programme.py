"""The loyalty programme as validated configuration (the default ships next to this module)."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from siyu.core.clock import SHANGHAI
from siyu.core.errors import ConfigurationError
from siyu.core.money import yuan_to_fen

DEFAULT = Path(__file__).with_name("programme.yaml")


class Tier(BaseModel):
    code: str
    name: str
    name_en: str
    min_spend: Decimal = Field(ge=0)
    min_orders: int = Field(default=0, ge=0)  # when qualification counts orders
    points_multiplier: Decimal = Field(default=Decimal(1), ge=1)

    @cached_property
    def min_spend_fen(self) -> int:
        return yuan_to_fen(self.min_spend)


class Expiry(BaseModel):
    """``year_end``: at the end of the calendar year ``years`` after the one the points were earned in
    (Beijing time), the common 积分清零 rule; ``months``: ``months`` after earning; ``never``."""

    rule: Literal["year_end", "months", "never"] = "year_end"
    years: int = Field(default=1, ge=0)
    months: int = Field(default=24, ge=1)

    def expires_at(self, earned_at: datetime) -> datetime | None:
        if self.rule == "never":
            return None
        return _expiry(self.rule, self.years, self.months, earned_at)


def _expiry(rule: str, years: int, months: int, earned_at: datetime) -> datetime:
    # Not cached by the time: hashing an aware datetime costs more than the conversion (a replay asks for
    # every order's expiry); a year end is cached by its year.
    local = earned_at.astimezone(SHANGHAI)
    if rule == "year_end":
        return _year_end(local.year + years)
    else:
        month = local.month - 1 + months
        start = datetime(local.year + month // 12, month % 12 + 1, 1, tzinfo=SHANGHAI)
        # the same day of the month, or the month's last day (earned 31 Jan + 1 month → 28/29 Feb)
        end = start.replace(day=min(local.day, monthrange(start.year, start.month)[1]),
                            hour=local.hour, minute=local.minute, second=local.second)
    return end.astimezone(UTC)


@lru_cache(maxsize=256)
def _year_end(year: int) -> datetime:
    """The end of ``year`` in Beijing (midnight starting the next), in UTC."""
    return datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


class Multipliers(BaseModel):
    member_day_weekday: int | None = Field(default=3, ge=1, le=7)  # ISO weekday; 3 = Wednesday
    member_day: Decimal = Field(default=Decimal(2), ge=1)
    birthday_month: Decimal = Field(default=Decimal(2), ge=1)
    claim: Decimal = Field(default=Decimal(3), ge=1)  # an order claimed from another platform (订单换积分)
    # max: the best of member day, birthday month and claim; multiply: their product. The tier's own
    # multiplier applies on top either way.
    combine: Literal["max", "multiply"] = "max"


class Cash(BaseModel):
    """积分抵现: points paying part of an order at checkout, ``points_per_yuan`` points a yuan, in whole
    yuan, for at most ``max_share_percent`` of the order (0: not offered)."""

    points_per_yuan: int = Field(default=100, ge=1)
    max_share_percent: int = Field(default=0, ge=0, le=100)


class PointsRule(BaseModel):
    per_yuan: int = Field(ge=0)
    # An order's points stay pending until this many days after it completed (the return window).
    return_window_days: int = Field(default=7, ge=0)
    expiry: Expiry = Expiry()
    multipliers: Multipliers = Multipliers()
    # A refund whose points were already spent: ``negative`` shows the balance below zero; ``future``
    # keeps the balance at zero and owes the points. Future earnings pay the debt first either way.
    refund_shortfall: Literal["negative", "future"] = "negative"
    cash: Cash = Field(default_factory=lambda: Cash())


class Qualification(BaseModel):
    """How a tier is earned and kept (see ``loyalty.tiers``)."""

    # spend: net spend · orders: orders placed · referral: the net spend of the members they referred
    # (推荐消费), counted from each referral on
    basis: Literal["spend", "orders", "referral"] = "spend"
    window: Literal["cumulative", "months", "this_month"] = "months"
    months: int = Field(default=12, ge=1)
    hold_months: int = Field(default=12, ge=1)  # 保级期: a tier is kept this long, then reviewed
    max_drop: int = Field(default=1, ge=0)  # levels a review may drop at once; 0: never drop


class Streak(BaseModel):
    days: int = Field(default=7, ge=2)
    bonus: int = Field(default=50, ge=0)


class Activities(BaseModel):
    registration: int = Field(default=100, ge=0)
    checkin: int = Field(default=5, ge=0)
    checkin_streak: Streak = Streak()
    article: int = Field(default=10, ge=0)
    live_subscribe: int = Field(default=20, ge=0)
    survey: int = Field(default=50, ge=0)


class Window(BaseModel):
    """Redemption opens on ``from_day`` of each month at ``from_time`` (Beijing) and closes at month end;
    ``from_day: 1`` with ``from_time: "00:00"`` is always open."""

    from_day: int = Field(default=1, ge=1, le=28)
    from_time: str = Field(default="00:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(SHANGHAI)
        hour, minute = (int(x) for x in self.from_time.split(":"))
        return (local.day, local.hour, local.minute) >= (self.from_day, hour, minute)


class Redemption(BaseModel):
    window: Window = Window()


class Prize(BaseModel):
    """One outcome of a lottery draw, drawn with odds ``weight`` / the sum of the weights; it gives
    ``points``, a coupon of template ``coupon``, or nothing (谢谢参与)."""

    name: str
    weight: int = Field(gt=0)
    points: int = Field(default=0, ge=0)
    coupon: str | None = None


class Reward(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str
    name_en: str
    # gift: delivered by the brand · coupon / cash: a coupon of template ``coupon`` (a cash coupon takes
    # money off at checkout) · lottery: a draw among ``prizes``
    kind: Literal["gift", "coupon", "cash", "lottery"]
    points: int = Field(gt=0)
    stock: int | None = Field(default=None, ge=0)  # None: unlimited
    value: Decimal | None = Field(default=None, ge=0)  # yuan it is worth (cash at checkout, a coupon's face)
    coupon: str | None = None
    prizes: list[Prize] = []

    def incomplete(self) -> str | None:
        """Why this reward cannot be honoured as its kind says (checked when a new version is recorded;
        a version recorded before these fields existed still loads, and such a reward issues nothing)."""
        if self.kind in ("coupon", "cash") and not self.coupon:
            return f"reward {self.code}: a {self.kind} reward names the coupon template it issues (coupon:)"
        if self.kind == "lottery" and not self.prizes:
            return f"reward {self.code}: a lottery needs prizes (prizes:)"
        return None


class CouponTemplate(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str
    kind: Literal["threshold", "discount", "gift", "percentage"]
    threshold: Decimal = Field(default=Decimal(0), ge=0)  # yuan the order must reach
    discount: Decimal = Field(default=Decimal(0), ge=0)  # yuan off (threshold / discount)
    percent: int = Field(default=100, ge=1, le=100)  # pay this percent (percentage)
    valid_days: int = Field(default=30, ge=1)

    def off_fen(self, order_fen: int) -> int:
        """What the coupon takes off an order of ``order_fen`` (0 for a gift, which is not money)."""
        if self.kind in ("threshold", "discount"):
            return min(yuan_to_fen(self.discount), order_fen)
        if self.kind == "percentage":
            return order_fen - order_fen * self.percent // 100
        return 0


class Coupons(BaseModel):
    templates: list[CouponTemplate] = []
    # Packs by occasion: ``new_member`` (joining), ``upgrade`` (a tier first reached), ``birthday`` (once a
    # year, in the birthday month).
    packs: dict[str, list[str]] = {}
    # 每月会员礼券: issued on the first of each month to the members of each tier (by tier code).
    monthly: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _known(self) -> Coupons:
        codes = {t.code for t in self.templates}
        if len(codes) != len(self.templates):
            raise ValueError("coupon template codes must be unique")
        for pack, items in [*self.packs.items(), *(("monthly " + k, v) for k, v in self.monthly.items())]:
            unknown = sorted(set(items) - codes)
            if unknown:
                raise ValueError(f"coupon pack {pack}: unknown templates {', '.join(unknown)}")
        return self

    def template(self, code: str) -> CouponTemplate | None:
        return next((t for t in self.templates if t.code == code), None)


class PriceLimit(BaseModel):
    """How much an identity's price may be used in a calendar month or year (Beijing time): orders, and
    list-price yuan bought at it. A checkout beyond either pays the next best price."""

    period: Literal["month", "year"]
    orders: int | None = Field(default=None, ge=1)
    amount: int | None = Field(default=None, ge=1)  # yuan at list price

    @model_validator(mode="after")
    def _some(self) -> PriceLimit:
        if self.orders is None and self.amount is None:
            raise ValueError("a price limit needs orders or amount (or both)")
        return self


class PricingIdentity(BaseModel):
    name: str
    name_en: str
    percent: int = Field(ge=1, le=100)  # of the list price paid
    limit: PriceLimit | None = None  # none: as often as the member likes


class Pricing(BaseModel):
    """会员价 by tier (percent of the list price paid, by tier code; a tier not listed pays the list
    price) and pricing identities granted to members one by one (员工价 · 亲友价). A member pays the
    lowest price they are entitled to."""

    tiers: dict[str, int] = {}
    identities: dict[str, PricingIdentity] = {}

    @field_validator("tiers")
    @classmethod
    def _percent(cls, tiers: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k, v in tiers.items() if not 1 <= v <= 100)
        if bad:
            raise ValueError(f"member price percent must be 1 to 100 (tiers {', '.join(bad)})")
        return tiers


class Programme(BaseModel):
    version: int
    name: str
    currency: str = "CNY"
    points: PointsRule
    tiers: list[Tier]
    qualification: Qualification = Qualification()
    activities: Activities = Activities()
    redemption: Redemption = Redemption()
    rewards: list[Reward] = []
    coupons: Coupons = Coupons()
    pricing: Pricing = Pricing()

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[Tier]) -> list[Tier]:
        if not tiers or tiers[0].min_spend != 0:
            raise ValueError("the first tier must start at 0")
        spends = [t.min_spend for t in tiers]
        if spends != sorted(set(spends)):
            raise ValueError("tier thresholds must strictly increase")
        return tiers

    @model_validator(mode="after")
    def _unique(self) -> Programme:
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier names must be unique")
        if len({r.code for r in self.rewards}) != len(self.rewards):
            raise ValueError("reward codes must be unique")
        named = [r.coupon for r in self.rewards] + [p.coupon for r in self.rewards for p in r.prizes]
        unknown = sorted({c for c in named if c and self.coupons.template(c) is None})
        if unknown:
            raise ValueError(f"rewards name unknown coupon templates: {', '.join(unknown)}")
        tiers = {t.code for t in self.tiers}
        if set(self.pricing.tiers) - tiers:
            raise ValueError(f"member prices for unknown tiers: {', '.join(sorted(set(self.pricing.tiers) - tiers))}")
        if set(self.coupons.monthly) - tiers:
            raise ValueError(f"monthly coupons for unknown tiers: {', '.join(sorted(set(self.coupons.monthly) - tiers))}")
        return self

    def reward(self, code: str) -> Reward | None:
        return next((r for r in self.rewards if r.code == code), None)

    def tier_for(self, spend_fen: int) -> Tier:
        chosen = self.tiers[0]
        for t in self.tiers:
            if spend_fen >= t.min_spend_fen:
                chosen = t
        return chosen

    def points_for(self, net_fen: int, multiplier: Decimal = Decimal(1)) -> int:
        """Whole points, rounded down, in exact arithmetic: ¥99.99 at ×1 earns 99, at ×1.5 earns 149."""
        return int(max(net_fen, 0) * self.points.per_yuan * multiplier // 100)

    def tier_named(self, name: str) -> Tier:
        return self.tier_by_name.get(name, self.tiers[0])

    @cached_property
    def tier_by_name(self) -> dict[str, Tier]:
        return {t.name: t for t in self.tiers}

    @cached_property
    def tier_levels(self) -> dict[str, int]:
        """name → position, the lowest tier 0."""
        return {t.name: i for i, t in enumerate(self.tiers)}

    def multiplier(self, paid_at: datetime, *, birthday_month: int | None, tier: str, claimed: bool) -> Decimal:
        """The order's multiplier from its payment time (Beijing): member day, birthday month, claim, tier."""
        m = self.points.multipliers
        weekday, month = _local_day(paid_at)
        events = [m.member_day if weekday == m.member_day_weekday else Decimal(1),
                  m.birthday_month if birthday_month == month else Decimal(1),
                  m.claim if claimed else Decimal(1)]
        base = max(events) if m.combine == "max" else events[0] * events[1] * events[2]
        return base * self.tier_named(tier).points_multiplier


    def earn_ratio(self, paid_at: datetime, *, birthday_month: int | None, tier: str, claimed: bool
                   ) -> tuple[int, int]:
        """``per_yuan`` × ``multiplier(…)`` as an exact fraction (p, q): the order earns ``net_fen × p //
        (100 q)``, what ``points_for`` gives, in integers. The fractions are kept by what sets them (the
        multipliers that apply, the tier's, per yuan), so any programme can use them: a replay prices
        every order several times, and Decimal arithmetic was a tenth of it."""
        m = self.points.multipliers
        weekday, month = _local_day(paid_at)
        key = (m.member_day if weekday == m.member_day_weekday else None,
               m.birthday_month if birthday_month == month else None, m.claim if claimed else None, m.combine,
               self.tier_named(tier).points_multiplier, self.points.per_yuan)
        got = _RATIOS.get(key)
        if got is None:
            mult = self.multiplier(paid_at, birthday_month=birthday_month, tier=tier, claimed=claimed)
            got = _RATIOS[key] = (mult * self.points.per_yuan).as_integer_ratio()
        return got


_RATIOS: dict[tuple[object, ...], tuple[int, int]] = {}


def _local_day(t: datetime) -> tuple[int, int]:  # not cached: hashing an aware datetime costs more
    """(ISO weekday, month) of ``t`` in Beijing."""
    local = t.astimezone(SHANGHAI)
    return local.isoweekday(), local.month


def load(path: Path) -> Programme:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Programme.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ConfigurationError(f"loyalty programme {path}: {exc}") from exc


@lru_cache(maxsize=1)
def default() -> Programme:
    return load(DEFAULT)
