"""What a member does with their account, as the brand's mini-program asks for it: see the balance,
the history and what expires soon, the tier and how far the next one is; check in, claim an order from
another platform, redeem a reward. Members are named by their card number (the number the member sees).

Every call that moves points is idempotent: a check-in by its day, a claim by its order, a redemption
by the key the caller sends.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import SHANGHAI, now
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.loyalty import accrual, coupons, ledger, tiers
from siyu.loyalty import repository as repo
from siyu.loyalty.programme import Programme


class RedemptionClosed(Conflict):
    pass


def member(session: Session, card_no: str) -> Any:
    m = repo.member_by_card(session, card_no)
    if m is None:
        raise NotFound(f"member card {card_no!r}: no such member")
    if m.status != "active":
        raise Conflict(f"member card {card_no!r} was merged into another account; use that card")
    return m


@dataclass(frozen=True)
class TierProgress:
    tier: str
    qualifying: int  # spend in fen (or orders) inside the qualification window now
    next_tier: str | None
    needed: int  # fen (or orders) still to go for the next tier; 0 at the top
    review_at: datetime | None  # when the tier is next reviewed (保级); None at the base tier
    history: list[tiers.Change]


def tier_progress(session: Session, programme: Programme, m: Any, at: datetime | None = None) -> TierProgress:
    at = at or now()
    orders = accrual.qualifying_orders(session, programme, [m.id], repo.orders_of_members(session, [m.id]))
    facts = accrual.tier_facts(m, orders.get(m.id, []))
    changes, review_at = tiers.walk(programme, m.joined_at, facts, at)
    current = programme.tier_named(changes[-1].to_tier)
    have = tiers.measure(programme, facts, at, m.joined_at)
    level = programme.tiers.index(current)
    nxt = programme.tiers[level + 1] if level + 1 < len(programme.tiers) else None
    by_orders = programme.qualification.basis == "orders"
    need = ((nxt.min_orders if by_orders else nxt.min_spend_fen) - have) if nxt else 0
    return TierProgress(current.name, have, nxt.name if nxt else None, max(need, 0), review_at, changes)


def summary(session: Session, programme: Programme, card_no: str, at: datetime | None = None) -> dict[str, Any]:
    """Balance, pending, debt, what expires in the next 30 and 90 days, tier and progress. Reads only."""
    at = at or now()
    m = member(session, card_no)
    return _summary(session, programme, m, at, ledger.peek(session, m.id, at))


def _summary(session: Session, programme: Programme, m: Any, at: datetime, book: Any) -> dict[str, Any]:
    bal = ledger.shown(programme, book)
    by_date: dict[datetime, int] = {}
    for lt in book.lots:
        if lt.remaining > 0 and lt.expires_at is not None and lt.expires_at <= at + timedelta(days=90):
            by_date[lt.expires_at] = by_date.get(lt.expires_at, 0) + lt.remaining
    soon = sorted(by_date.items())
    by_orders = programme.qualification.basis == "orders"
    progress = tier_progress(session, programme, m, at)
    return {"card_no": m.card_no, "points": bal.shown, "available": bal.available, "pending": bal.pending,
            "owed": -bal.debt,
            "expiring_30_days": sum(int(p) for when, p in soon if when <= at + timedelta(days=30)),
            "expiring_90_days": sum(int(p) for _, p in soon),
            "expiring": [{"expires_at": when, "points": int(p)} for when, p in soon],
            "tier": progress.tier, "next_tier": progress.next_tier, "tier_review_at": progress.review_at,
            "spend_to_next_tier": progress.needed / 100 if progress.next_tier and not by_orders else None,
            "orders_to_next_tier": progress.needed if progress.next_tier and by_orders else None,
            "progress_text": _progress_text(progress, by_orders),
            "tier_history": [{"at": c.at, "from": c.from_tier, "to": c.to_tier, "reason": c.reason}
                             for c in progress.history]}


def _progress_text(p: TierProgress, by_orders: bool) -> str:
    if p.next_tier is None:
        return "已是最高等级"
    if by_orders:
        return f"再下{p.needed}单升级为{p.next_tier}"
    return f"再消费 ¥{p.needed / 100:,.2f} 升级为{p.next_tier}"


def member_loyalty(session: Session, programme: Programme, person_id: int, entries: int = 30,
                   at: datetime | None = None) -> dict[str, Any] | None:
    """The console's loyalty tab for a person: the summary, their live lots and latest entries; None if the
    person holds no member account."""
    m = repo.member_of_person(session, person_id)
    if m is None:
        return None
    at = at or now()
    book = ledger.peek(session, m.id, at)
    return {"member": m, **_summary(session, programme, m, at, book),
            "lots": sorted((lt for lt in book.lots if lt.remaining or lt.pending), key=lambda lt: lt.order_key()),
            "entries": [r._asdict() for r in repo.history(session, m.id, entries, None)]}


def history(session: Session, card_no: str, limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
    """Ledger entries, newest first; page with ``before_id`` (the smallest id of the previous page)."""
    if not 1 <= limit <= 500:
        raise InvalidInput(f"limit: {limit} is not between 1 and 500")
    m = member(session, card_no)
    return [r._asdict() for r in repo.history(session, m.id, limit, before_id)]


def check_in(session: Session, programme: Programme, card_no: str, at: datetime | None = None) -> dict[str, Any]:
    """Today's check-in (Beijing day): once a day; every ``checkin_streak.days``-th day in a row earns the
    streak bonus too. A second check-in the same day answers with the first."""
    at = at or now()
    m = member(session, card_no)
    day = at.astimezone(SHANGHAI).date()
    act = programme.activities
    out = ledger.award(session, programme, m.id, act.checkin, key=f"checkin:{m.id}:{day}", reason="每日签到",
                       source=("checkin", day.isoformat()), at=at)
    streak_days = act.checkin_streak.days
    earlier = repo.operations_with_keys(session, [f"checkin:{m.id}:{day - timedelta(days=i)}"
                                                  for i in range(1, streak_days * 8)])
    streak = 1
    while f"checkin:{m.id}:{day - timedelta(days=streak)}" in earlier:
        streak += 1
    bonus = 0
    if streak % streak_days == 0 and act.checkin_streak.bonus:
        ledger.award(session, programme, m.id, act.checkin_streak.bonus, key=f"checkin-streak:{m.id}:{day}",
                     reason=f"连续签到{streak_days}天奖励", source=("checkin_streak", day.isoformat()), at=at)
        bonus = act.checkin_streak.bonus
    return {"day": day, "points": act.checkin, "streak": streak, "bonus": bonus, "replayed": out["replayed"]}


def claim_order(session: Session, programme: Programme, card_no: str, channel: str, order_no: str,
                at: datetime | None = None) -> dict[str, Any]:
    """订单换积分: the order must have been imported, not claimed by another member, and not belong to
    another member. It then earns for this member with the claim multiplier (pending until its return
    window closes, like any order). Claiming the same order again answers with the first claim."""
    at = at or now()
    m = member(session, card_no)
    ledger.open_book(session, m.id, at).close()  # the member's lock: two claims by one member take turns
    o = repo.order_by_number(session, channel, order_no.strip())
    if o is None:
        raise NotFound(f"order {order_no!r} on {channel}: not found; orders appear here after they are "
                       "imported (usually within a day)")
    if o.claimed_by is not None and o.claimed_by != m.id:
        raise Conflict(f"order {order_no!r} on {channel} was already claimed by another member")
    if o.owner is not None and o.owner != m.id:
        raise Conflict(f"order {order_no!r} on {channel} belongs to another member")
    if o.status not in accrual.EARNING:
        raise Conflict(f"order {order_no!r} on {channel} was not paid or was cancelled; it earns no points")
    replayed = o.claimed_by == m.id
    if not replayed:
        repo.add_claim(session, o.id, m.id, at)
    accrual.accrue(session, programme, [m.id], at)
    return {"order": order_no, "channel": channel, "replayed": replayed}


def redeem_reward(session: Session, programme: Programme, card_no: str, code: str, quantity: int, *, key: str,
                  at: datetime | None = None) -> dict[str, Any]:
    """Redeem ``quantity`` of a catalogue reward inside the redemption window and the stock. All or
    nothing: a refusal (window closed, out of stock, too few points) changes nothing."""
    at = at or now()
    reward = programme.reward(code)
    if reward is None:
        raise NotFound(f"reward {code!r}: not in the catalogue")
    if not 1 <= quantity <= 100:
        raise InvalidInput(f"quantity: {quantity} is not between 1 and 100")
    if not programme.redemption.window.is_open(at):
        w = programme.redemption.window
        raise RedemptionClosed(f"redemption opens on the {w.from_day}th at {w.from_time} (Beijing time) each month")
    m = member(session, card_no)
    if reward.stock is not None:
        redeemed = repo.lock_reward(session, code)
        done = repo.operation(session, key)  # read under the lock: a concurrent retry sees the first one
        if done is None and redeemed + quantity > reward.stock:
            raise Conflict(f"reward {code}: {max(reward.stock - redeemed, 0)} left, {quantity} asked")
    # a draw is made before the points are spent and kept with the redemption: a retry gets the same prizes
    keep = {"prizes": [_draw(reward) for _ in range(quantity)]} if reward.kind == "lottery" and reward.prizes else None
    out = ledger.redeem(session, m.id, reward.points * quantity, key=key, reason=f"兑换{reward.name}×{quantity}",
                        source=("reward", code), at=at, keep=keep)
    if reward.stock is not None and not out["replayed"]:
        repo.add_redeemed(session, code, quantity)
    issued = []
    base = "r" + hashlib.sha256(key.encode()).hexdigest()[:32]  # what follows from the redemption, by its key
    if reward.coupon:  # issued under the redemption's key: a retry issues nothing more
        issued += coupons.template_rows(programme, m.id, [reward.coupon] * quantity, f"{base}:coupon", at)
    for i, name in enumerate(out.get("prizes") or []):
        prize = next(p for p in reward.prizes if p.name == name)
        if prize.points:
            ledger.award(session, programme, m.id, prize.points, key=f"{base}:prize:{i}", reason=f"抽奖奖品:{name}",
                         source=("lottery", code), at=at)
        if prize.coupon:
            issued += coupons.template_rows(programme, m.id, [prize.coupon], f"{base}:prize:{i}", at)
    coupons.issue_many(session, issued)
    return {"reward": code, "quantity": quantity, "coupons": len(issued), **out}


def _draw(reward: Any) -> str:
    """One lottery draw: a prize by its weight, from the system's random source (not from anything the
    caller sends, such as the idempotency key, which a member could choose until they win)."""
    pick = secrets.randbelow(sum(p.weight for p in reward.prizes))
    for p in reward.prizes:
        pick -= p.weight
        if pick < 0:
            return str(p.name)
    raise AssertionError("weights are positive")


def pay_with_points(session: Session, programme: Programme, card_no: str, order_no: str, amount: str, points: int,
                    at: datetime | None = None) -> dict[str, Any]:
    """积分抵现: ``points`` pay part of order ``order_no`` of ``amount`` yuan at checkout, in whole yuan
    (``points.cash.points_per_yuan`` a yuan), for at most ``max_share_percent`` of the order. Once per
    order: the same request again replays; another amount of points for the same order is refused."""
    at = at or now()
    rule = programme.points.cash
    if not rule.max_share_percent:
        raise Conflict("points are not accepted as cash in this programme")
    order_fen = coupons.amount_fen(amount, "amount")
    if points <= 0 or points % rule.points_per_yuan:
        raise InvalidInput(f"order {order_no!r}: points must be a positive multiple of {rule.points_per_yuan} "
                           f"({rule.points_per_yuan} points a yuan)")
    off_fen = points // rule.points_per_yuan * 100
    if off_fen * 100 > order_fen * rule.max_share_percent:
        raise Conflict(f"order {order_no!r}: points may pay at most {rule.max_share_percent}% of ¥{amount} "
                       f"(¥{order_fen * rule.max_share_percent // 10000:,}); {points:,} points are ¥{off_fen // 100:,}")
    m = member(session, card_no)
    out = ledger.redeem(session, m.id, points, key=f"cash:{m.id}:{order_no.strip()}", reason=f"积分抵现 订单{order_no}",
                        source=("cash", order_no.strip()[:64]), at=at)
    return {"order": order_no, "points": points, "off": off_fen / 100, "replayed": out["replayed"],
            "available": out["available"]}


def member_coupons(session: Session, programme: Programme, card_no: str, at: datetime | None = None
                   ) -> list[dict[str, Any]]:
    """The member's coupons with their state (available, used, expired), soonest to expire first."""
    return coupons.list_coupons(session, programme, member(session, card_no).id, at)


def use_coupon(session: Session, programme: Programme, card_no: str, coupon_id: int, order_no: str, amount: str,
               at: datetime | None = None) -> dict[str, Any]:
    m = member(session, card_no)
    return coupons.use(session, programme, m.id, coupon_id, order_no, amount, at)


def set_referrer(session: Session, card_no: str, referrer_card: str, at: datetime | None = None) -> dict[str, Any]:
    """推荐人: who referred this member, set once. Refused when the referrer is unknown or merged, is the
    member themself, joined after the member, or was (directly or not) referred by them. Setting the
    same referrer again answers the same."""
    at = at or now()
    ledger.open_book(session, member(session, card_no).id, at).close()  # the member's lock: one referral at a time
    m = member(session, card_no)
    r = member(session, referrer_card)
    if m.referrer_id is not None:
        if m.referrer_id == r.id:
            return {"referrer": referrer_card, "referred_at": m.referred_at, "replayed": True}
        raise Conflict(f"member {card_no!r} was already referred by another member")
    if r.id == m.id:
        raise Conflict(f"member {card_no!r} cannot refer themself")
    if r.joined_at > m.joined_at:
        raise Conflict(f"referrer {referrer_card!r} joined after member {card_no!r}")
    if m.id in repo.referral_chain(session, r.id):
        raise Conflict(f"member {card_no!r} referred {referrer_card!r} (directly or through others): no loops")
    repo.set_referrer(session, m.id, r.id, at)
    return {"referrer": referrer_card, "referred_at": at, "replayed": False}


def member_cards(session: Session, person_ids: list[int]) -> dict[int, tuple[str, str]]:
    """person → (card number, tier), for the persons who hold a member account."""
    return repo.member_cards(session, person_ids)
