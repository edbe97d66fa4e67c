"""Tag definitions (``tags.definitions``) compiled to SQL with sqlglot and run over the lake.

First one row per person with every measure a rule can use (``person_facts``, built from the lake's
orders, items, profiles, members, points and events as of a time); then each tag is one SELECT over it
(or, for preferences, over the person's purchased items) giving ``(person_id, tag, value)``. Names,
values and numbers from a definition enter the SQL only as sqlglot literals, never as text.

The SQL is written for DuckDB and generated per engine by sqlglot (``dialect``), so the same definitions
run on Spark.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from siyu.analytics.engine import has_table, is_view
from siyu.analytics.tables import DuckTables, Tables
from siyu.analytics.tag_rules import (
    All,
    Any_,
    BandsRule,
    BehaviourRule,
    ColumnRule,
    Compare,
    Condition,
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

# Purchases: paid, not cancelled; a full refund leaves a purchase with nothing in it (net 0), which no
# longer counts as a purchase. ``$as_of`` is the time the tags describe.
# Written in DuckDB's dialect, in the part of it sqlglot carries to Spark unchanged in meaning: calendar
# days between DATEs (not timestamps: Spark counts whole 24-hour days between those), first values by a
# window (no ordering by tuples), local time by AT TIME ZONE.
_PERSON_FACTS = """
WITH purchases AS (
  SELECT p.person_id, o.id AS order_id, o.shop_id, coalesce(o.paid_at, o.created_at) AS bought_at,
         o.paid_fen, o.refunded_fen, o.paid_fen - o.refunded_fen AS net_fen, o.province, o.city
  FROM orders o JOIN profiles p ON p.id = o.profile_id
  WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND p.person_id IS NOT NULL
    AND o.paid_fen > 0 AND coalesce(o.paid_at, o.created_at) <= $as_of),
buys AS (SELECT * FROM purchases WHERE net_fen > 0),
per_buy AS (
  SELECT b.person_id,
    date_diff('day', CAST(max(b.bought_at) AS DATE), CAST($as_of AS DATE)) AS recency_days,
    count(*) AS frequency,
    sum(b.net_fen)::BIGINT AS monetary_fen,
    date_diff('day', CAST(min(b.bought_at) AS DATE), CAST($as_of AS DATE)) AS first_purchase_days,
    count(*) FILTER (WHERE b.bought_at > $as_of - INTERVAL 30 DAY) AS orders_30d,
    count(*) FILTER (WHERE b.bought_at > $as_of - INTERVAL 90 DAY) AS orders_90d,
    count(*) FILTER (WHERE b.bought_at > $as_of - INTERVAL 365 DAY) AS orders_365d,
    coalesce(sum(b.net_fen) FILTER (WHERE b.bought_at > $as_of - INTERVAL 90 DAY), 0)::BIGINT AS spend_90d_fen,
    coalesce(sum(b.net_fen) FILTER (WHERE b.bought_at > $as_of - INTERVAL 365 DAY), 0)::BIGINT AS spend_365d_fen,
    (sum(b.net_fen) // count(*))::BIGINT AS avg_order_fen,
    max(b.net_fen) AS max_order_fen,
    count(DISTINCT s.channel_id) AS channels_bought,
    CASE WHEN count(*) > 1 THEN date_diff('day', CAST(min(b.bought_at) AS DATE), CAST(max(b.bought_at) AS DATE))
      // (count(*) - 1) END AS days_between_orders
  FROM buys b JOIN shops s ON s.id = b.shop_id GROUP BY b.person_id),
per_refund AS (
  SELECT person_id, round(CAST(sum(refunded_fen) AS DECIMAL(38, 10)) / sum(paid_fen), 4)::DOUBLE AS refund_rate FROM purchases GROUP BY person_id),
per_items AS (SELECT person_id, count(DISTINCT category) AS categories_bought FROM ({kept_lines}) AS kept GROUP BY person_id),
prof_rows AS (
  SELECT p.person_id, p.id, coalesce(p.registered_at, p.first_seen_at, p.created_at) AS seen,
    CASE WHEN p.gender IN ('M', 'F') THEN p.gender END AS gender, p.birthday, p.province, p.city,
    c.name_zh AS channel_name, p.source
  FROM profiles p JOIN channels c ON c.id = p.channel_id WHERE p.person_id IS NOT NULL),
prof_ranked AS (
  SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY seen, id) AS rk FROM prof_rows),
prof AS (
  -- each attribute from the earliest profile (registered, else first seen, else created; then id) that has
  -- it: the least of "rank, zero-padded, then the value" over the profiles that have it, the rank cut off
  -- again. One sort and one aggregation for all of them, on every engine (first_value … IGNORE NULLS needs
  -- a sort each and is not in PostgreSQL; joining ranks back planned as a nested loop there).
  SELECT person_id, count(*) AS profiles,
    substr(min(lpad(CAST(rk AS VARCHAR), 9, '0') || gender), 10) AS gender,
    CAST(substr(min(lpad(CAST(rk AS VARCHAR), 9, '0') || CAST(birthday AS VARCHAR)), 10) AS DATE) AS birthday,
    substr(min(lpad(CAST(rk AS VARCHAR), 9, '0') || province), 10) AS province,
    substr(min(lpad(CAST(rk AS VARCHAR), 9, '0') || city), 10) AS city,
    max(CASE WHEN rk = 1 THEN channel_name END) AS source_channel,
    substr(min(lpad(CAST(rk AS VARCHAR), 9, '0') || source), 10) AS source
  FROM prof_ranked GROUP BY person_id),
place AS (
  -- the usual delivery place: most orders, then the latest
  SELECT person_id, province, city FROM (
    SELECT person_id, province, city,
      row_number() OVER (PARTITION BY person_id ORDER BY n DESC, last DESC, city, province) AS rn
    FROM (SELECT person_id, province, city, count(*) AS n, max(bought_at) AS last
          FROM buys WHERE city IS NOT NULL GROUP BY person_id, province, city) per_place) ranked
  WHERE rn = 1),
mem AS (
  SELECT m.person_id, m.tier, date_diff('day', CAST(m.joined_at AS DATE), CAST($as_of AS DATE)) AS member_days,
    coalesce(pt.balance, 0) AS points
  FROM members m LEFT JOIN points pt ON pt.member_id = m.id WHERE m.status = 'active'),
ev AS (
  SELECT person_id,
    count(*) FILTER (WHERE occurred_at > $as_of - INTERVAL 30 DAY) AS events_30d,
    count(*) FILTER (WHERE occurred_at > $as_of - INTERVAL 365 DAY) AS events_365d
  FROM events WHERE person_id IS NOT NULL AND occurred_at <= $as_of GROUP BY person_id)
SELECT prof.person_id,
  b.recency_days, coalesce(b.frequency, 0) AS frequency, coalesce(b.monetary_fen, 0) AS monetary_fen,
  b.first_purchase_days, coalesce(b.orders_30d, 0) AS orders_30d, coalesce(b.orders_90d, 0) AS orders_90d,
  coalesce(b.orders_365d, 0) AS orders_365d, coalesce(b.spend_90d_fen, 0) AS spend_90d_fen,
  coalesce(b.spend_365d_fen, 0) AS spend_365d_fen, b.avg_order_fen, b.max_order_fen, r.refund_rate,
  coalesce(it.categories_bought, 0) AS categories_bought, coalesce(b.channels_bought, 0) AS channels_bought,
  b.days_between_orders,
  prof.gender,
  CASE WHEN prof.birthday IS NOT NULL THEN
    year($as_of) - year(prof.birthday)
    - CASE WHEN month($as_of) * 100 + day($as_of) < month(prof.birthday) * 100 + day(prof.birthday)
      THEN 1 ELSE 0 END END AS age,
  month(prof.birthday) AS birth_month, coalesce(prof.province, place.province) AS province,
  coalesce(prof.city, place.city) AS city, prof.source_channel, prof.source, prof.profiles,
  CASE WHEN mem.person_id IS NULL THEN 0 ELSE 1 END AS is_member, mem.tier, mem.member_days,
  coalesce(mem.points, 0) AS points, coalesce(ev.events_30d, 0) AS events_30d,
  coalesce(ev.events_365d, 0) AS events_365d
FROM prof
LEFT JOIN per_buy b ON b.person_id = prof.person_id
LEFT JOIN per_refund r ON r.person_id = prof.person_id
LEFT JOIN per_items it ON it.person_id = prof.person_id
LEFT JOIN mem ON mem.person_id = prof.person_id
LEFT JOIN ev ON ev.person_id = prof.person_id
LEFT JOIN place ON place.person_id = prof.person_id
"""

# ``categories_bought``: the categories among the lines a person kept (not refunded in full), the lines the
# preferences read. Where the pack builds those lines (``person_items``) the measure counts their category
# codes; the join of the lines again cost 1.4–1.7 s of a 1M-member run. Otherwise the same lines, joined here.
KEPT_LINES_SQL = """
SELECT p.person_id, pr.category FROM orders o JOIN profiles p ON p.id = o.profile_id
JOIN shops s ON s.id = o.shop_id JOIN channels c ON c.id = s.channel_id  -- as the lines: known shops only
JOIN order_items i ON i.order_id = o.id JOIN skus k ON k.id = i.sku_id JOIN products pr ON pr.id = k.product_id
WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND p.person_id IS NOT NULL
  AND coalesce(o.paid_at, o.created_at) <= $as_of AND i.paid_fen - i.refunded_fen > 0
"""


def person_facts_sql(from_items: bool) -> str:
    """``person_facts``' statement; ``from_items``: the categories from ``person_items`` (built first)."""
    kept = "SELECT person_id, category_code AS category FROM person_items" if from_items else KEPT_LINES_SQL
    return _PERSON_FACTS.replace("{kept_lines}", kept)



def _lit(value: object) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


# Preference tags ("most bought colour") group a person's purchased lines by an attribute. They group on one
# integer, the person and the attribute's value packed together, where grouping on the person and the text
# cost twice as much at ten million lines: every value an attribute can take is numbered (``code``) in the
# values' order, and the lines carry the codes. Values computed from the order are numbered here, in
# Python's order of text (the order of Unicode code points, DuckDB's and Spark's); values from the catalogue
# and the lines are numbered by the engine.
FIXED_VALUES: dict[str, tuple[str, ...]] = {
    "bought_season": ("春夏", "秋冬"),
    "weekday": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "daypart": ("凌晨", "上午", "下午", "晚上"),
    "price_band": ("百元以下", "100-299元", "300-499元", "500-799元", "800-1199元", "1200元以上"),
}
CODES = 65536  # codes of one attribute are below this: a packed key is (person [* 2 + season]) * CODES + code
MAX_PERSON_ID = 2**46  # … which stays below 2**63 for person ids below this (and a weight, below 2**47 fen
# or pieces, times CODES too)


def _code(attr: str, label: str) -> str:
    return str(sorted(FIXED_VALUES[attr]).index(label))


def _item_values_sql() -> str:
    fixed = ", ".join(f"({_lit(attr).sql('duckdb')}, {_lit(label).sql('duckdb')}, {_code(attr, label)})"
                      for attr, labels in FIXED_VALUES.items() for label in labels)
    found = " UNION ".join(
        f"SELECT DISTINCT {_lit(attr).sql('duckdb')} AS attr, {col} AS value FROM {table} WHERE {col} IS NOT NULL"  # noqa: S608 - our names
        for attr, table, col in (("category", "products", "category"), ("material", "products", "material"),
                                 ("style", "products", "style"), ("season", "products", "season"),
                                 ("colour", "skus", "colour"), ("colour", "order_items", "colour"),
                                 ("size", "skus", "size"), ("size", "order_items", "size"),
                                 ("channel", "channels", "name_zh")))
    return f"""
SELECT attr, value, row_number() OVER (PARTITION BY attr ORDER BY value) - 1 AS code FROM ({found}) AS found
UNION ALL SELECT attr, value, code FROM (VALUES {fixed}) AS fixed(attr, value, code)
"""  # noqa: S608 - our names, and literals


ITEM_VALUES_SQL = _item_values_sql()


def _items_sql() -> str:
    def band(limit: int) -> str:
        return f"(i.paid_fen - i.refunded_fen) // greatest(i.quantity, 1) < {limit}"

    def coded(attr: str) -> str:  # the catalogue's attribute's code, joined to the few products
        return f"LEFT JOIN item_values {attr}_v ON {attr}_v.attr = '{attr}' AND {attr}_v.value = p.{attr}"

    return f"""
SELECT o.person_id, i.quantity, i.paid_fen - i.refunded_fen AS spend_fen, o.days_ago, o.bought_season_code,
  o.weekday_code, o.daypart_code, o.channel_code,
  CASE WHEN {band(10000)} THEN {_code('price_band', '百元以下')} WHEN {band(30000)} THEN {_code('price_band', '100-299元')}
       WHEN {band(50000)} THEN {_code('price_band', '300-499元')} WHEN {band(80000)} THEN {_code('price_band', '500-799元')}
       WHEN {band(120000)} THEN {_code('price_band', '800-1199元')}
       ELSE {_code('price_band', '1200元以上')} END AS price_band_code,
  colour_v.code AS colour_code, size_v.code AS size_code, pr.category_code, pr.material_code,
  pr.style_code, pr.season_code
FROM (
  -- what belongs to the order, worked out once an order rather than once a line
  SELECT o.id, p.person_id, ch.code AS channel_code,
    date_diff('day', CAST(o.bought_at AS DATE), CAST($as_of AS DATE)) AS days_ago,
    CASE WHEN month(o.local_at) BETWEEN 3 AND 8 THEN {_code('bought_season', '春夏')}
         ELSE {_code('bought_season', '秋冬')} END AS bought_season_code,
    -- days since Monday 1 January 1900 (sqlglot carries isodow to Spark's Sunday-first day of week wrongly)
    [{', '.join(_code('weekday', d) for d in FIXED_VALUES['weekday'])}][
      date_diff('day', DATE '1900-01-01', CAST(o.local_at AS DATE)) % 7 + 1] AS weekday_code,
    CASE WHEN extract(hour FROM o.local_at) < 6 THEN {_code('daypart', '凌晨')}
         WHEN extract(hour FROM o.local_at) < 12 THEN {_code('daypart', '上午')}
         WHEN extract(hour FROM o.local_at) < 18 THEN {_code('daypart', '下午')}
         ELSE {_code('daypart', '晚上')} END AS daypart_code
  FROM (SELECT *, coalesce(paid_at, created_at) AS bought_at,
               coalesce(paid_at, created_at) AT TIME ZONE 'Asia/Shanghai' AS local_at FROM orders) o
  JOIN profiles p ON p.id = o.profile_id JOIN shops s ON s.id = o.shop_id
  JOIN (SELECT c.id, v.code FROM channels c
        LEFT JOIN item_values v ON v.attr = 'channel' AND v.value = c.name_zh) ch ON ch.id = s.channel_id
  WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND p.person_id IS NOT NULL
    AND o.bought_at <= $as_of) o
JOIN order_items i ON i.order_id = o.id
LEFT JOIN skus k ON k.id = i.sku_id
LEFT JOIN (SELECT p.id, category_v.code AS category_code, material_v.code AS material_code,
             style_v.code AS style_code, season_v.code AS season_code
           FROM products p {coded('category')} {coded('material')} {coded('style')} {coded('season')}) pr
  ON pr.id = k.product_id
LEFT JOIN item_values colour_v ON colour_v.attr = 'colour' AND colour_v.value = coalesce(i.colour, k.colour)
LEFT JOIN item_values size_v ON size_v.attr = 'size' AND size_v.value = coalesce(i.size, k.size)
WHERE i.paid_fen - i.refunded_fen > 0
"""  # noqa: S608 - our names, and numbers


# What a person bought, line by line, for preference tags: each attribute as its code, the season of
# purchase for "colour by season".
ITEMS_SQL = _items_sql()

# Events as of the time, on the person their profile belongs to now (an event's own person_id was set when
# it arrived, before any later merge or split).
EVENTS_SQL = """
SELECT coalesce(p.person_id, e.person_id) AS person_id, e.id AS event_id, e.type, e.occurred_at, e.properties,
  date_diff('day', CAST(e.occurred_at AS DATE), CAST($as_of AS DATE)) AS days_ago
FROM events e LEFT JOIN profiles p ON p.id = e.profile_id
WHERE e.occurred_at <= $as_of AND coalesce(p.person_id, e.person_id) IS NOT NULL
"""

NEEDED = ("orders", "profiles", "channels", "shops")  # without these there is no one to tag


def _col(name: str) -> exp.Column:
    return exp.column(name)


OPS = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE, "=": exp.EQ, "!=": exp.NEQ}


def condition(c: Condition) -> exp.Expression:
    if isinstance(c, All):
        return exp.and_(*[condition(x) for x in c.all]) if c.all else exp.true()
    if isinstance(c, Any_):
        return exp.or_(*[condition(x) for x in c.any]) if c.any else exp.false()
    if isinstance(c, Not):
        return exp.not_(exp.paren(condition(c.not_)))
    assert isinstance(c, Compare)
    col = _col(c.measure)
    if c.op == "is_null":
        return exp.Is(this=col, expression=exp.null())
    if c.op == "not_null":
        return exp.not_(exp.Is(this=col, expression=exp.null()))
    if c.op == "in":
        return exp.In(this=col, expressions=[_lit(v) for v in c.value])  # type: ignore[union-attr]
    if c.than == "avg":
        right: exp.Expression = exp.Window(this=exp.Avg(this=_col(c.measure)), partition_by=[])
    elif c.than == "measure":
        right = exp.Mul(this=_col(c.other), expression=_lit(c.times))  # type: ignore[arg-type]
    else:
        right = _lit(c.value)
    return OPS[c.op](this=col, expression=right)


def value_expression(tag: TagDef) -> exp.Expression:
    """The tag's value for one person_facts row (NULL: the person does not carry the tag)."""
    rule = tag.rule
    if isinstance(rule, BandsRule):
        case = exp.Case()
        for b in rule.bands:
            parts = []
            if b.min is not None:
                parts.append(exp.GTE(this=_col(rule.measure), expression=_lit(b.min)))
            if b.max is not None:
                parts.append(exp.LT(this=_col(rule.measure), expression=_lit(b.max)))
            case = case.when(exp.and_(*parts) if parts else exp.not_(exp.Is(this=_col(rule.measure),
                                                                            expression=exp.null())), _lit(b.value))
        return case
    if isinstance(rule, ColumnRule):
        text: exp.Expression = exp.cast(_col(rule.measure), "VARCHAR")
        if rule.map:  # a person without the measure carries no value, not the default
            case = exp.Case().when(exp.Is(this=text.copy(), expression=exp.null()), exp.null())
            for k, v in rule.map.items():
                case = case.when(exp.EQ(this=text.copy(), expression=_lit(k)), _lit(v))
            text = case.else_(_lit(rule.default) if rule.default is not None else text)
        prefix, _, suffix = rule.format.partition("{}")
        if prefix or suffix:
            text = exp.Concat(expressions=[_lit(prefix), text, _lit(suffix)], safe=True)
        return text
    if isinstance(rule, WhenRule):
        case = exp.Case()
        for c in rule.cases:
            case = case.when(condition(c.if_), _lit(c.value))
        return case.else_(_lit(rule.otherwise)) if rule.otherwise is not None else case
    raise TypeError(f"tag {tag.name}: {type(rule).__name__} is not a row rule")


def tag_select(tag: TagDef) -> exp.Select:
    """SELECT person_id, tag, value for one tag."""
    rule = tag.rule
    name = exp.alias_(_lit(tag.name), "tag")
    if isinstance(rule, ScoreRule):
        order = exp.Ordered(this=_col(rule.measure), desc=rule.descending)
        ntile = exp.Window(this=exp.Anonymous(this="NTILE", expressions=[_lit(rule.buckets)]),
                           order=exp.Order(expressions=[order, exp.Ordered(this=_col("person_id"))]))
        scored = exp.select(_col("person_id"), exp.alias_(exp.cast(ntile, "VARCHAR"), "value")).from_("person_facts")
        scored = scored.where(exp.not_(exp.Is(this=_col(rule.measure), expression=exp.null())))
        if rule.only_if is not None:
            scored = scored.where(condition(rule.only_if))
        return exp.select(_col("person_id"), name, _col("value")).from_(scored.subquery("s"))
    if isinstance(rule, TopRule):
        return sqlglot.parse_one(top_sql(tag, rule), read="duckdb")  # type: ignore[return-value]
    if isinstance(rule, BehaviourRule):
        return _union([_behaviour_select(c, name) for c in rule.cases])
    if isinstance(rule, SurveyRule):
        return _survey_select(rule, name)
    if isinstance(rule, KeywordRule):
        return _keyword_select(rule, name)
    if isinstance(rule, ManualRule):
        return (exp.select(_col("person_id"), name, _col("value")).from_("manual_tags")
                .where(exp.EQ(this=_col("tag"), expression=_lit(tag.name))))
    inner = exp.select(_col("person_id"), exp.alias_(value_expression(tag), "value")).from_("person_facts")
    return (exp.select(_col("person_id"), name, _col("value")).from_(inner.subquery("v"))
            .where(exp.not_(exp.Is(this=_col("value"), expression=exp.null()))))


def top_sql(tag: TagDef, rule: TopRule, part: tuple[int, int] | None = None) -> str:
    """The attribute value with the largest weight (ties: the smaller value) per person (and season of
    purchase), kept when it holds at least ``min_share`` of the weight with a known attribute; of the persons
    whose id is in ``part`` (from, to) if given. DuckDB's dialect, as text: ``tag_select`` parses it for
    other engines, and a run on DuckDB in parts joins the parts' texts (parsing each would cost more than
    running it).

    Without a window: the lines' weights are summed per (person, code), packed in one integer ``key``; the
    winner is the largest ``w * CODES + (CODES - 1 - code)`` (the weight first, then the smaller value),
    found by one more aggregation on ``key // CODES``. A window ranking every (person, value) pair cost
    twice as much at a million persons."""
    weight = "quantity" if rule.weight == "quantity" else "spend_fen"
    code = f"{rule.attribute}_code"  # a TopAttribute: one of a fixed list of column names
    person = "(person_id * 2 + bought_season_code)" if rule.by_season else "person_id"
    where = [f"{code} IS NOT NULL"]
    if rule.window_days is not None:
        where.append(f"days_ago < {_lit(rule.window_days).sql('duckdb')}")
    if rule.only_category is not None:
        # the category's code, looked up once: the lines carry codes only (text made sorting them slower)
        where.append("category_code = (SELECT code FROM item_values WHERE attr = 'category' AND value = "  # noqa: S608
                     f"{_lit(rule.only_category).sql('duckdb')})")  # a sqlglot literal
    if part is not None:
        where.append(f"person_id >= {_lit(part[0]).sql('duckdb')} AND person_id < {_lit(part[1]).sql('duckdb')}")
    attr = _lit(rule.attribute).sql("duckdb")
    value, season = "v.value", ""
    if rule.by_season:
        value = "v.value || '@' || s.value"
        season = "JOIN item_values s ON s.attr = 'bought_season' AND s.code = t.pk % 2"
    # CTE names of their own: Spark lifts every CTE of the pack's union to one WITH, where names must differ
    n = "top_" + hashlib.sha1(tag.name.encode()).hexdigest()[:10]
    sql = f"""
    WITH {n}_pv AS (SELECT {person} * {CODES} + {code} AS key, CAST(sum({weight}) AS BIGINT) AS w FROM person_items
                WHERE {' AND '.join(where)} GROUP BY {person} * {CODES} + {code}),
    {n}_top AS (SELECT CAST(key // {CODES} AS BIGINT) AS pk, sum(w) AS total, max(w * {CODES} + ({CODES - 1} - key % {CODES})) AS best
            FROM {n}_pv GROUP BY key // {CODES})
    SELECT {'CAST(t.pk // 2 AS BIGINT)' if rule.by_season else 't.pk'} AS person_id, {_lit(tag.name).sql('duckdb')} AS tag, {value} AS value
    FROM {n}_top t JOIN item_values v ON v.attr = {attr} AND v.code = {CODES - 1} - t.best % {CODES} {season}
    WHERE (t.best // {CODES}) * 1.0 >= t.total * {_lit(rule.min_share).sql('duckdb')}
    """  # noqa: S608 - every value from the definition above is a sqlglot literal
    return sql


def _prop(name: str) -> exp.Expression:
    """An event property as text: the JSON path is built as a tree, never from text."""
    path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=name)])
    return exp.JSONExtractScalar(this=_col("properties"), expression=path)


def _recent(window_days: int | None) -> list[exp.Expression]:
    return [] if window_days is None else [exp.LT(this=_col("days_ago"), expression=_lit(window_days))]


def _union(selects: list[exp.Select]) -> exp.Select:
    """One SELECT over the UNION ALL of several (each case of a rule is a part)."""
    if len(selects) == 1:
        return selects[0]
    union: exp.Expression = selects[0]
    for other in selects[1:]:
        union = exp.union(union, other, distinct=False)
    return exp.select(_col("person_id"), _col("tag"), _col("value")).from_(exp.paren(union).as_("u"))  # type: ignore[arg-type]


def _behaviour_select(case, name: exp.Expression) -> exp.Select:  # type: ignore[no-untyped-def]
    """Persons with at least ``times`` events of the type in the window, each reaching the minimum."""
    where: list[exp.Expression] = [exp.EQ(this=_col("type"), expression=_lit(case.event)), *_recent(case.window_days)]
    if case.property is not None:
        number = exp.TryCast(this=_prop(case.property), to=exp.DataType.build("DOUBLE"))
        where.append(exp.GTE(this=number, expression=_lit(case.min)))
    return (exp.select(_col("person_id"), name.copy(), exp.alias_(_lit(case.value), "value")).from_("person_events")
            .where(exp.and_(*where)).group_by(_col("person_id"))
            .having(exp.GTE(this=exp.Count(this=exp.Star()), expression=_lit(case.times))))


def _survey_select(rule: SurveyRule, name: exp.Expression) -> exp.Select:
    """The latest answer (then the latest event) to the question, mapped; unmapped answers give nothing."""
    answers = (exp.select(_col("person_id"), exp.alias_(_prop("answer"), "answer"),
                          exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[_col("person_id")],
                                                order=exp.Order(expressions=[
                                                    exp.Ordered(this=_col("occurred_at"), desc=True),
                                                    exp.Ordered(this=_col("event_id"), desc=True)])), "rn"))
               .from_("person_events")
               .where(exp.and_(exp.EQ(this=_col("type"), expression=_lit(rule.event)),
                               exp.EQ(this=_prop("question"), expression=_lit(rule.question)))))
    case = exp.Case()
    for answer, value in rule.answers.items():
        case = case.when(exp.EQ(this=_col("answer"), expression=_lit(answer)), _lit(value))
    latest = (exp.select(_col("person_id"), exp.alias_(case, "value")).from_(answers.subquery("a"))
              .where(exp.EQ(this=_col("rn"), expression=_lit(1))))
    return (exp.select(_col("person_id"), name.copy(), _col("value")).from_(latest.subquery("l"))
            .where(exp.not_(exp.Is(this=_col("value"), expression=exp.null()))))


def _keyword_select(rule: KeywordRule, name: exp.Expression) -> exp.Select:
    """Each value whose keywords occur in the text of the person's events. The text is taken out of the
    event's JSON once and matched against a small table of (value, keyword) pairs: one scan, where a
    scan per value cost 0.8 s at 3.3M events."""
    texts = (exp.select(_col("person_id"), exp.alias_(_prop(rule.property), "kw_text")).from_("person_events")
             .where(exp.and_(exp.In(this=_col("type"), expressions=[_lit(e) for e in rule.events]),
                             *_recent(rule.window_days))))
    pairs = exp.values([(value, word) for value, words in rule.keywords.items() for word in words],
                       alias="kw", columns=["kw_value", "kw_word"])
    found = exp.GT(this=exp.StrPosition(this=exp.column("kw_text", "t"), substr=exp.column("kw_word", "kw")),
                   expression=_lit(0))
    return (exp.select(exp.column("person_id", "t"), name.copy(), exp.alias_(exp.column("kw_value", "kw"), "value"))
            .from_(texts.subquery("t")).join(pairs, on=found)
            .group_by(exp.column("person_id", "t"), exp.column("kw_value", "kw")))


def compile_pack(pack: Pack, dialect: str = "duckdb") -> list[tuple[str, str]]:
    """(tag name, SQL) for every tag, in ``dialect``."""
    return [(t.name, tag_select(t).sql(dialect=dialect)) for t in pack.tags]


# A preference over many lines runs on DuckDB in parts of about this many lines, each part the persons of a
# range of ids, over lines sorted by person: the two aggregations' hash tables of a part stay small enough
# for the processor's caches. At 8.6M lines, colour took 0.69 s in 16 parts against 1.05 s in one; over
# lines not sorted (every part scanning all of them) parts gained nothing. Each part costs a query's setup:
# the 17 preferences took 13.2 s in parts of 250,000 lines, 10.1–11.9 s of 500,000 to 2,000,000.
LINES_PER_PART = 1_000_000


def person_parts(lo: int, hi: int, lines: int) -> list[tuple[int, int]]:
    """Ranges [from, to) of equal width covering person ids lo … hi, one per LINES_PER_PART lines."""
    n = max(1, min(-(-lines // LINES_PER_PART), hi + 1 - lo))
    width = -(-(hi + 1 - lo) // n)
    return [(lo + i * width, min(hi + 1, lo + (i + 1) * width)) for i in range(n)]


def _compile_duck(pack: Pack, parts: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """The pack for DuckDB, each preference as the UNION ALL of its parts (as text: see ``top_sql``)."""
    if len(parts) < 2:
        return compile_pack(pack)
    return [(t.name, " UNION ALL ".join(f"({top_sql(t, t.rule, part)})" for part in parts)
             if isinstance(t.rule, TopRule) else tag_select(t).sql(dialect="duckdb")) for t in pack.tags]


def _with_as_of(sql: str, as_of: datetime) -> tuple[str, list[str]]:
    """``$as_of`` as bound parameters: a UTC time with no offset, which both engines read in their UTC
    session (Spark cannot read DuckDB's ``+00``)."""
    stamp = as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return sql.replace("$as_of", "CAST(? AS TIMESTAMPTZ)"), [stamp] * sql.count("$as_of")


# Tables a young lake may not have yet (no members, no events, no catalogue): empty stand-ins, so that
# nobody has those facts rather than the whole run failing.
OPTIONAL = {
    "members": "id BIGINT, person_id BIGINT, tier VARCHAR, joined_at TIMESTAMPTZ, status VARCHAR",
    "points": "member_id BIGINT, balance BIGINT, earned BIGINT",
    "events": "id BIGINT, profile_id BIGINT, person_id BIGINT, type VARCHAR, occurred_at TIMESTAMPTZ, "
              "properties VARCHAR",
    "manual_tags": "person_id BIGINT, tag VARCHAR, value VARCHAR",
    "order_items": "id BIGINT, order_id BIGINT, sku_id BIGINT, quantity BIGINT, paid_fen BIGINT, refunded_fen BIGINT, "
                   "colour VARCHAR, size VARCHAR",
    "skus": "id BIGINT, product_id BIGINT, colour VARCHAR, size VARCHAR",
    "products": "id BIGINT, category VARCHAR, material VARCHAR, style VARCHAR, season VARCHAR",
}


# The facts the pack reads, and the columns it reads of them (preferred channels too). A lake view
# de-duplicates its parts each time a query names it, and the pack names orders four times: the run reads
# each fact once, into memory, with only these columns.
PACK_COLUMNS = {
    "orders": "id, profile_id, shop_id, status, created_at, paid_at, paid_fen, refunded_fen, province, city",
    "order_items": "id, order_id, sku_id, quantity, paid_fen, refunded_fen, colour, size",
    "events": "id, profile_id, person_id, type, occurred_at, properties",
}


def prepare_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """The lake's views complete (empty stand-ins for what it lacks yet) and its facts read once; False if
    no one is to tag."""
    if not all(has_table(con, t) for t in NEEDED):
        return False
    for name, cols in PACK_COLUMNS.items():
        if is_view(con, name):  # a view over the lake's parts (not a stand-in, not read already)
            con.execute(f"CREATE TEMP TABLE {name}__read AS SELECT {cols} FROM {name}")  # noqa: S608 - our names
            con.execute(f"DROP VIEW {name}")
            con.execute(f"ALTER TABLE {name}__read RENAME TO {name}")
    for name, cols in OPTIONAL.items():
        if not has_table(con, name):
            con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols})")
    return True


def lake_into(tables: Tables, con: duckdb.DuckDBPyConnection) -> None:
    """The lake's tables the pack reads, put into another engine (Spark) from DuckDB's views."""
    for name in (*NEEDED, *OPTIONAL):
        tables.put(name, con.sql(f"SELECT * FROM {name}").to_arrow_table())  # noqa: S608 - our names


def run_on(tables: Tables, pack: Pack, as_of: datetime) -> pa.Table:
    """The pack on any engine: ``person_facts`` (and the purchased lines and events when a tag reads
    them), then one SELECT per tag."""
    kinds = {type(t.rule) for t in pack.tags}
    duck = isinstance(tables, DuckTables)
    bases = []
    if TopRule in kinds:
        # sorted by person on DuckDB, for the preferences' parts (LINES_PER_PART)
        bases += [("item_values", ITEM_VALUES_SQL), ("person_items", ITEMS_SQL + ("ORDER BY person_id" if duck else ""))]
    # always: the persons, and the measures audiences select on
    bases.append(("person_facts", person_facts_sql(from_items=TopRule in kinds)))
    if kinds & {BehaviourRule, SurveyRule, KeywordRule}:
        bases.append(("person_events", EVENTS_SQL))
    for name, text in bases:
        sql, params = _with_as_of(text, as_of)
        tables.make(name, sql, params)
    parts: list[tuple[int, int]] = []
    if TopRule in kinds:
        _check_codes(tables)
        if duck:
            lo, hi, lines = tables.fetch("SELECT min(person_id), max(person_id), count(*) FROM person_items").to_pylist()[0].values()
            parts = person_parts(lo, hi, lines) if lines else []
    # the statements are sqlglot output (or, for preferences, text whose every value is a sqlglot literal)
    if duck:
        # One fetch per tag, its name put back as a dictionary code. In one UNION the engine carried the
        # tag's name as a string through every row and materialised 60M of them: 15 s of a 1.5M-person run.
        return _assemble([(name, tables.fetch(f"SELECT person_id, value FROM ({sql}) AS t"))  # noqa: S608
                          for name, sql in _compile_duck(pack, parts)])
    # Spark and PostgreSQL: one statement (a job or a round trip per tag costs more there than the names)
    union = " UNION ALL ".join(f"({sql})" for _, sql in compile_pack(pack))
    whole = tables.fetch(f"SELECT person_id, tag, value FROM ({union}) AS pack")  # noqa: S608
    return whole.set_column(1, "tag", pc.dictionary_encode(whole.column("tag")).cast(TAG_TYPE))


def _check_codes(tables: Tables) -> None:
    """Packed keys stay exact: each attribute has fewer than CODES values, each person id is below
    MAX_PERSON_ID. Otherwise a clear error, never a wrong preference."""
    wide = tables.fetch(f"SELECT attr, count(*) AS n FROM item_values GROUP BY attr HAVING count(*) >= {CODES}")  # noqa: S608
    if wide.num_rows:
        raise ValueError(f"preference tags: attribute {wide.column('attr')[0].as_py()} has "
                         f"{wide.column('n')[0].as_py():,} values, more than {CODES - 1:,}")
    top = tables.scalar("SELECT max(person_id) FROM person_facts")
    if top is not None and top >= MAX_PERSON_ID:
        raise ValueError(f"preference tags: person id {top} is beyond {MAX_PERSON_ID:,}")


# The result's schema: the tag's name as a dictionary code (a few dozen names over tens of millions of rows).
# Not sorted: ordering 60M rows cost more than any tag (readers group or filter; none needs an order).
TAG_TYPE = pa.dictionary(pa.int32(), pa.string())
RESULT = pa.schema([("person_id", pa.int64()), ("tag", TAG_TYPE), ("value", pa.string())])


def _assemble(parts: list[tuple[str, pa.Table]]) -> pa.Table:
    """(person_id, tag, value) from each tag's (person_id, value), without copying the columns: the fetched
    chunks as they are, and the tag's name as one run of a dictionary code per tag (columns of a table
    need not be cut alike)."""
    names = pa.array([name for name, _ in parts], pa.string())
    tags = [pa.DictionaryArray.from_arrays(pa.array(np.full(got.num_rows, i, np.int32)), names, safe=False)
            for i, (_, got) in enumerate(parts)]  # codes in range by construction: not checked row by row
    person = [c.cast(pa.int64()) for _, got in parts for c in got.column(0).chunks]
    value = [c.cast(pa.string()) for _, got in parts for c in got.column(1).chunks]
    return pa.Table.from_arrays([pa.chunked_array(person, pa.int64()), pa.chunked_array(tags, TAG_TYPE),
                                 pa.chunked_array(value, pa.string())], schema=RESULT)


def run_pack(con: duckdb.DuckDBPyConnection, pack: Pack, as_of: datetime) -> pa.Table:
    """(person_id, tag, value) for every person carrying each tag of ``pack`` as of ``as_of`` (DuckDB)."""
    if not pack.tags or not prepare_lake(con):
        return RESULT.empty_table()
    return run_on(DuckTables(con), pack, as_of)


def facts_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The ``person_facts`` that ``prepare`` built (one row per person, every measure)."""
    return con.sql("SELECT * FROM person_facts ORDER BY person_id").to_arrow_table()


__all__ = ["compile_pack", "condition", "facts_table", "lake_into", "prepare_lake", "run_on", "run_pack", "tag_select",
           "value_expression"]
