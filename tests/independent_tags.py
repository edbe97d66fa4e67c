"""The default tag pack computed in plain Python from the database's rows (read with SQLAlchemy, not from
the lake, not with SQL aggregates), sharing no code with ``analytics.tag_compiler``: each measure is
recomputed from its definition, and each rule kind is interpreted here (SQL's three-valued logic
included: a comparison with a missing measure is neither true nor false)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.tag_rules import (
    All,
    Any_,
    BandsRule,
    BehaviourRule,
    ColumnRule,
    Compare,
    KeywordRule,
    ManualRule,
    Not,
    Pack,
    ScoreRule,
    SurveyRule,
    TagDef,
    TopRule,
    WhenRule,
)
from siyu.models import (
    Channel,
    Event,
    ManualTag,
    Member,
    Order,
    OrderItem,
    Person,
    PointsEntry,
    Product,
    Profile,
    ProfilePerson,
    Shop,
    Sku,
)

BJ = timezone(timedelta(hours=8))
BOUGHT = ("paid", "shipped", "completed", "refunded")
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


def _days(a: datetime, b: datetime) -> int:
    """Calendar days from a to b (UTC dates), as SQL's date_diff('day', a, b)."""
    return (b.astimezone(UTC).date() - a.astimezone(UTC).date()).days


def _first(rows: list[Any], attr: str, ok: Any = None) -> Any:
    """The attribute of the earliest profile (registered, else first seen, else created; then id) that has it."""
    have = [r for r in rows if getattr(r, attr) is not None and (ok is None or ok(getattr(r, attr)))]
    if not have:
        return None
    return getattr(min(have, key=lambda r: (r.registered_at or r.first_seen_at or r.created_at, r.id)), attr)


def facts(s: Session, as_of: datetime) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """person → measures, and the purchased lines (for preference tags)."""
    person_of = dict(s.execute(select(ProfilePerson.profile_id, ProfilePerson.person_id)).all())
    profiles = [p for p in s.scalars(select(Profile)) if p.id in person_of]
    channel_name = {c.id: c.name_zh for c in s.scalars(select(Channel))}
    shop_channel = {sh.id: sh.channel_id for sh in s.scalars(select(Shop))}
    by_person: dict[int, list[Profile]] = defaultdict(list)
    for p in profiles:
        by_person[person_of[p.id]].append(p)

    orders = [o for o in s.scalars(select(Order)) if o.profile_id in person_of and o.status in BOUGHT
              and o.paid_fen > 0 and (o.paid_at or o.created_at) <= as_of]
    buys: dict[int, list[Order]] = defaultdict(list)
    purchases: dict[int, list[Order]] = defaultdict(list)
    for o in orders:
        purchases[person_of[o.profile_id]].append(o)
        if o.paid_fen - o.refunded_fen > 0:
            buys[person_of[o.profile_id]].append(o)
    skus = {k.id: k for k in s.scalars(select(Sku))}
    products = {p.id: p for p in s.scalars(select(Product))}
    # lines: of any bought order of a known person (an order's own paid amount is not asked)
    order_by_id = {o.id: o for o in s.scalars(select(Order)) if o.profile_id in person_of and o.status in BOUGHT
                   and (o.paid_at or o.created_at) <= as_of}
    lines = [i for i in s.scalars(select(OrderItem)) if i.order_id in order_by_id]

    members = {m.person_id: m for m in s.scalars(select(Member).where(Member.status == "active"))}
    balance: dict[int, int] = defaultdict(int)
    for member_id, points in s.execute(select(PointsEntry.member_id, PointsEntry.points)):
        balance[member_id] += points
    events: dict[int, list[datetime]] = defaultdict(list)
    for person, when in s.execute(select(Event.person_id, Event.occurred_at).where(Event.person_id.is_not(None))):
        if when <= as_of:
            events[person].append(when)

    # categories bought: among the lines kept (not refunded in full) of any bought order, known SKUs only
    kept_categories: dict[int, set[str]] = defaultdict(set)
    for i in lines:
        pr = products.get(skus[i.sku_id].product_id) if i.sku_id in skus else None
        if i.paid_fen - i.refunded_fen > 0 and pr is not None and pr.category is not None:
            kept_categories[person_of[order_by_id[i.order_id].profile_id]].add(pr.category)

    out: dict[int, dict[str, Any]] = {}
    for person, rows in by_person.items():
        f: dict[str, Any] = {}
        mine = buys.get(person, [])
        times = [o.paid_at or o.created_at for o in mine]
        net = [o.paid_fen - o.refunded_fen for o in mine]
        f["frequency"], f["monetary_fen"] = len(mine), sum(net)
        f["recency_days"] = _days(max(times), as_of) if mine else None
        f["first_purchase_days"] = _days(min(times), as_of) if mine else None
        for n in (30, 90, 365):
            f[f"orders_{n}d"] = sum(1 for t in times if t > as_of - timedelta(days=n))
        for n in (90, 365):
            f[f"spend_{n}d_fen"] = sum(v for t, v in zip(times, net, strict=True) if t > as_of - timedelta(days=n))
        f["avg_order_fen"] = sum(net) // len(net) if mine else None
        f["max_order_fen"] = max(net) if mine else None
        f["channels_bought"] = len({shop_channel[o.shop_id] for o in mine})
        f["days_between_orders"] = _days(min(times), max(times)) // (len(mine) - 1) if len(mine) > 1 else None
        allp = purchases.get(person, [])
        f["refund_rate"] = round(sum(o.refunded_fen for o in allp) / sum(o.paid_fen for o in allp), 4) if allp else None
        f["categories_bought"] = len(kept_categories.get(person, set()))
        f["gender"] = _first(rows, "gender", lambda g: g in ("M", "F"))
        birthday = _first(rows, "birthday")
        f["age"] = (as_of.year - birthday.year - (as_of.strftime("%m%d") < birthday.strftime("%m%d"))
                    if birthday else None)
        f["birth_month"] = birthday.month if birthday else None
        places: dict[tuple[str | None, str], list[datetime]] = defaultdict(list)
        for o in mine:
            if o.city is not None:
                places[(o.province, o.city)].append(o.paid_at or o.created_at)
        place = max(places.items(), key=lambda kv: (len(kv[1]), max(kv[1])))[0] if places else (None, None)
        f["province"] = _first(rows, "province") or place[0]
        f["city"] = _first(rows, "city") or place[1]
        first = min(rows, key=lambda r: (r.registered_at or r.first_seen_at or r.created_at, r.id))
        f["source_channel"] = channel_name[first.channel_id]
        f["source"] = _first(rows, "source")
        f["profiles"] = len(rows)
        m = members.get(person)
        f["is_member"] = 1 if m else 0
        f["tier"] = m.tier if m else None
        f["member_days"] = _days(m.joined_at, as_of) if m else None
        f["points"] = balance.get(m.id, 0) if m else 0
        ev = events.get(person, [])
        f["events_30d"] = sum(1 for t in ev if t > as_of - timedelta(days=30))
        f["events_365d"] = sum(1 for t in ev if t > as_of - timedelta(days=365))
        out[person] = f

    items = []
    for i in lines:
        if i.paid_fen - i.refunded_fen <= 0:
            continue
        o = order_by_id[i.order_id]
        when = o.paid_at or o.created_at
        local = when.astimezone(BJ)
        k = skus.get(i.sku_id) if i.sku_id is not None else None
        pr = products.get(k.product_id) if k else None
        unit = (i.paid_fen - i.refunded_fen) // max(i.quantity, 1)
        band = next(b for limit, b in ((10000, "百元以下"), (30000, "100-299元"), (50000, "300-499元"),
                                       (80000, "500-799元"), (120000, "800-1199元"), (10**18, "1200元以上"))
                    if unit < limit)
        items.append({
            "person_id": person_of[o.profile_id], "quantity": i.quantity, "spend_fen": i.paid_fen - i.refunded_fen,
            "days_ago": _days(when, as_of), "bought_season": "春夏" if 3 <= local.month <= 8 else "秋冬",
            "weekday": WEEKDAYS[local.isoweekday() - 1], "price_band": band,
            "daypart": "凌晨" if local.hour < 6 else "上午" if local.hour < 12 else "下午" if local.hour < 18 else "晚上",
            "channel": channel_name[shop_channel[o.shop_id]],
            "colour": i.colour or (k.colour if k else None), "size": i.size or (k.size if k else None),
            "category": pr.category if pr else None, "material": pr.material if pr else None,
            "style": pr.style if pr else None, "season": pr.season if pr else None})
    return out, items


# -- the rules, interpreted ----------------------------------------------------------------------------

def _holds(c: Any, f: dict[str, Any], avg: dict[str, float]) -> bool | None:
    if isinstance(c, All):
        got = [_holds(x, f, avg) for x in c.all]
        return False if False in got else None if None in got else True
    if isinstance(c, Any_):
        got = [_holds(x, f, avg) for x in c.any]
        return True if True in got else None if None in got else False
    if isinstance(c, Not):
        got = _holds(c.not_, f, avg)
        return None if got is None else not got
    assert isinstance(c, Compare)
    v = f[c.measure]
    if c.op == "is_null":
        return v is None
    if c.op == "not_null":
        return v is not None
    if v is None:
        return None
    if c.op == "in":
        return v in c.value  # type: ignore[operator]
    right = avg[c.measure] if c.than == "avg" else (
        None if f[c.other] is None else f[c.other] * c.times) if c.than == "measure" else c.value  # type: ignore[index]
    if right is None:
        return None
    return {"<": v < right, "<=": v <= right, ">": v > right, ">=": v >= right, "=": v == right,
            "!=": v != right}[c.op]


def _row_value(tag: TagDef, f: dict[str, Any], avg: dict[str, float]) -> str | None:
    rule = tag.rule
    if isinstance(rule, BandsRule):
        v = f[rule.measure]
        if v is None:
            return None
        return next((b.value for b in rule.bands if (b.min is None or v >= b.min) and (b.max is None or v < b.max)),
                    None)
    if isinstance(rule, ColumnRule):
        v = f[rule.measure]
        if v is None:
            return None
        text = str(v)
        if rule.map:
            text = rule.map.get(text, rule.default if rule.default is not None else text)
        prefix, _, suffix = rule.format.partition("{}")
        return prefix + text + suffix
    assert isinstance(rule, WhenRule)
    return next((c.value for c in rule.cases if _holds(c.if_, f, avg) is True), rule.otherwise)


def _scores(rule: ScoreRule, people: dict[int, dict[str, Any]], avg: dict[str, float]) -> dict[int, str]:
    rows = [(f[rule.measure], p) for p, f in people.items()
            if f[rule.measure] is not None and (rule.only_if is None or _holds(rule.only_if, f, avg) is True)]
    rows.sort(key=lambda r: ((-r[0] if rule.descending else r[0]), r[1]))
    n, k = len(rows), rule.buckets
    out, i = {}, 0
    for bucket in range(1, k + 1):
        size = n // k + (1 if bucket <= n % k else 0)
        for _, p in rows[i:i + size]:
            out[p] = str(bucket)
        i += size
    return out


def _tops(rule: TopRule, items: list[dict[str, Any]]) -> dict[int, list[str]]:
    weights: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for it in items:
        if it[rule.attribute] is None:
            continue
        if rule.window_days is not None and not it["days_ago"] < rule.window_days:
            continue
        if rule.only_category is not None and it["category"] != rule.only_category:
            continue
        key = (it["person_id"], it["bought_season"]) if rule.by_season else (it["person_id"],)
        weights[key][it[rule.attribute]] += it["quantity" if rule.weight == "quantity" else "spend_fen"]
    out: dict[int, list[str]] = defaultdict(list)
    for key, by_value in weights.items():
        total = sum(by_value.values())
        attr, w = min(by_value.items(), key=lambda kv: (-kv[1], kv[0]))
        if w * 1.0 >= total * rule.min_share:
            out[key[0]].append(f"{attr}@{key[1]}" if rule.by_season else attr)
    return out


def _events(s: Session, as_of: datetime) -> list[dict[str, Any]]:
    """Events up to ``as_of`` on the person their profile belongs to now (else the event's own)."""
    person_of = dict(s.execute(select(ProfilePerson.profile_id, ProfilePerson.person_id)).all())
    out = []
    for e in s.scalars(select(Event)):
        person = person_of.get(e.profile_id) if e.profile_id is not None else None
        person = person if person is not None else e.person_id
        if person is None or e.occurred_at > as_of:
            continue
        out.append({"person_id": person, "id": e.id, "type": e.type, "at": e.occurred_at,
                    "days_ago": _days(e.occurred_at, as_of), "props": e.properties or {}})
    return out


def _number(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _behaviour(rule: BehaviourRule, events: list[dict[str, Any]]) -> set[tuple[int, str]]:
    out = set()
    for case in rule.cases:
        counts: dict[int, int] = defaultdict(int)
        for e in events:
            if e["type"] != case.event or (case.window_days is not None and not e["days_ago"] < case.window_days):
                continue
            if case.property is not None:
                n = _number(e["props"].get(case.property))
                if n is None or n < case.min:  # type: ignore[operator]
                    continue
            counts[e["person_id"]] += 1
        out |= {(p, case.value) for p, n in counts.items() if n >= case.times}
    return out


def _survey(rule: SurveyRule, events: list[dict[str, Any]]) -> set[tuple[int, str]]:
    latest: dict[int, dict[str, Any]] = {}
    for e in events:
        if e["type"] == rule.event and e["props"].get("question") == rule.question:
            have = latest.get(e["person_id"])
            if have is None or (e["at"], e["id"]) > (have["at"], have["id"]):
                latest[e["person_id"]] = e
    return {(p, rule.answers[e["props"].get("answer")]) for p, e in latest.items()
            if e["props"].get("answer") in rule.answers}


def _keywords(rule: KeywordRule, events: list[dict[str, Any]]) -> set[tuple[int, str]]:
    out = set()
    for e in events:
        text = e["props"].get(rule.property)
        if e["type"] not in rule.events or not isinstance(text, str):
            continue
        if rule.window_days is not None and not e["days_ago"] < rule.window_days:
            continue
        out |= {(e["person_id"], value) for value, words in rule.keywords.items() if any(w in text for w in words)}
    return out


def _manual(s: Session, name: str) -> set[tuple[int, str]]:
    merged = dict(s.execute(select(Person.id, Person.merged_into_id).where(Person.merged_into_id.is_not(None))).all())
    out = set()
    for t in s.scalars(select(ManualTag).where(ManualTag.tag == name, ManualTag.removed_at.is_(None))):
        person = t.person_id
        while person in merged:
            person = merged[person]
        out.add((person, t.value))
    return out


def tags(s: Session, pack: Pack, as_of: datetime) -> set[tuple[int, str, str]]:
    people, items = facts(s, as_of)
    events = _events(s, as_of)
    measures = {k for f in people.values() for k in f}
    avg = {}
    for m in measures:
        vals = [f[m] for f in people.values() if isinstance(f[m], int | float)]
        if vals:
            avg[m] = sum(vals) / len(vals)
    out: set[tuple[int, str, str]] = set()
    for tag in pack.tags:
        if isinstance(tag.rule, ScoreRule):
            out |= {(p, tag.name, v) for p, v in _scores(tag.rule, people, avg).items()}
        elif isinstance(tag.rule, TopRule):
            out |= {(p, tag.name, v) for p, vs in _tops(tag.rule, items).items() for v in vs}
        elif isinstance(tag.rule, BehaviourRule | SurveyRule | KeywordRule | ManualRule):
            got = (_behaviour(tag.rule, events) if isinstance(tag.rule, BehaviourRule)
                   else _survey(tag.rule, events) if isinstance(tag.rule, SurveyRule)
                   else _keywords(tag.rule, events) if isinstance(tag.rule, KeywordRule) else _manual(s, tag.name))
            out |= {(p, tag.name, v) for p, v in got}
        else:
            for p, f in people.items():
                v = _row_value(tag, f, avg)
                if v is not None:
                    out.add((p, tag.name, v))
    return out
