"""Audience expressions: the readable form and the tree agree, any text either parses or is refused with
a clear error (fuzzed), and counts on the bitmaps equal a plain Python evaluation over the tag rows."""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.audiences import service
from siyu.audiences.expression import FIELDS, And, Compare, Not, Or, ParseError, TagAny, TagIn, parse, text
from siyu.core.clock import now
from siyu.core.errors import InvalidInput
from siyu.tags.service import compute_tags


def test_the_readable_form() -> None:
    got = parse("tier in (钻石, 王者) and points > 1000 and not tag(沉睡)")
    assert got == And(and_=[TagIn(tag="tier", values=["钻石", "王者"]), Compare(field="points", op=">", value=1000),
                            Not(not_=TagAny(has="沉睡"))])
    assert parse('年龄段 = "25-29岁" or (spend_90d >= 99.5 and not (a in (x) or b = y))') == Or(or_=[
        TagIn(tag="年龄段", values=["25-29岁"]),
        And(and_=[Compare(field="spend_90d", op=">=", value=99.5),
                  Not(not_=Or(or_=[TagIn(tag="a", values=["x"]), TagIn(tag="b", values=["y"])]))])])
    for bad, where in (("points >", "a number"), ("tier in (钻石", r"expected \)"), ("(a = b", r"expected \)"),
                       ("a = b c", "unexpected 'c'"), ("", "empty"), ("city > 3", "not a numeric field"),
                       ("not " * 50 + "a = b", "nested deeper"), ("a = b and", "ends too early")):
        with pytest.raises(ParseError, match=where):
            parse(bad)


WORDS = st.text(alphabet=st.sampled_from(list("钻石王者黄金沉睡ab_-xyz0123456789@ \"'()=<>!,")), max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80) | st.lists(st.sampled_from(["and", "or", "not", "tag(", "(", ")", "in", "=", ">", "1",
                                                          "points", "黄金", ",", '"', "'", "\\"]), max_size=20)
       .map(" ".join))
def test_any_text_parses_or_is_refused_clearly(source: str) -> None:
    try:
        node = parse(source)
    except ParseError as exc:
        assert exc.message.startswith("audience:")
        return
    assert parse(text(node)) == node  # what it accepted, it can write back


values = st.text(min_size=1, max_size=6).filter(lambda v: v.strip() == v and "\\" not in v)
leaves = (st.builds(lambda t, vs: TagIn(tag=t, values=vs), values, st.lists(values, min_size=1, max_size=3))
          | st.builds(lambda v: TagAny(has=v), values)
          | st.builds(lambda f, o, v: Compare(field=f, op=o, value=v), st.sampled_from(sorted(FIELDS)),
                      st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
                      st.integers(-10**6, 10**6).map(float)))
trees = st.recursive(leaves, lambda kids: st.builds(lambda xs: And(and_=xs), st.lists(kids, min_size=2, max_size=3))
                     | st.builds(lambda xs: Or(or_=xs), st.lists(kids, min_size=2, max_size=3))
                     | st.builds(lambda x: Not(not_=x), kids), max_leaves=8)


def _flat(n):  # type: ignore[no-untyped-def]
    """The same tree with nested and-in-and / or-in-or flattened (how text reads back)."""
    if isinstance(n, And):
        return And(and_=[y for x in n.and_ for y in (_flat(x).and_ if isinstance(_flat(x), And) else [_flat(x)])])
    if isinstance(n, Or):
        return Or(or_=[y for x in n.or_ for y in (_flat(x).or_ if isinstance(_flat(x), Or) else [_flat(x)])])
    if isinstance(n, Not):
        return Not(not_=_flat(n.not_))
    return n


@settings(max_examples=300, deadline=None)
@given(trees)
def test_every_tree_round_trips_through_its_text(tree) -> None:  # type: ignore[no-untyped-def]
    assert parse(text(tree)) == _flat(tree)


def _plain(node, people, tags, facts):  # type: ignore[no-untyped-def]
    """The expression over Python sets of the tag rows (no bitmaps)."""
    if isinstance(node, And):
        out = _plain(node.and_[0], people, tags, facts)
        for x in node.and_[1:]:
            out &= _plain(x, people, tags, facts)
        return out
    if isinstance(node, Or):
        return set().union(*[_plain(x, people, tags, facts) for x in node.or_])
    if isinstance(node, Not):
        return people - _plain(node.not_, people, tags, facts)
    if isinstance(node, TagIn):
        name = {"tier": "会员等级"}.get(node.tag, node.tag)
        return {p for p, t, v in tags if t == name and v in node.values}
    if isinstance(node, TagAny):
        return {p for p, t, v in tags if node.has in (t, v)}
    col, div = FIELDS[node.field]
    ops = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__, "=": float.__eq__,
           "!=": float.__ne__}
    return {p for p, row in facts.items() if row[col] is not None and not math.isnan(row[col])
            and ops[node.op](row[col] / div, node.value)}


def test_counts_equal_a_plain_evaluation(demo_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "tagstore"
    compute_tags(demo_rt.settings.lake_dir, store, now())
    tags = [(r["person_id"], r["tag"], r["value"]) for r in pq.read_table(store / "person_tags.parquet").to_pylist()]
    ids = [p for p, _, _ in tags]
    assert ids == sorted(ids)  # stored in person order: the member page's filter skips the other row groups
    facts = {r["person_id"]: {k: (float(v) if isinstance(v, int | float) else v) for k, v in r.items()}
             for r in pq.read_table(store / "person_facts.parquet").to_pylist()}
    people = set(facts)
    for expr in ("tier in (钻石, 王者) and points > 1000 and not tag(沉睡)", "tag(沉睡) or tag(流失)",
                 "spend_90d >= 500 or (偏好颜色 in (黑色, 白色) and 鞋码 = 42)", "not tag(会员等级)", "age != 30",
                 "age = 30", "age < 18 or age >= 50", "frequency > 3 and recency_days <= 90 and avg_order > 300",
                 "RFM分层 = 重要价值客户 and 城市等级 in (一线, 新一线) and not 性别 = 男"):
        node = parse(expr)
        got = service.count(store, node)["count"]
        assert got == len(_plain(node, people, tags, facts)), expr
        assert got > 0 or expr == "age = 30", expr  # the expressions select someone on the demo brand
    with pytest.raises(InvalidInput, match="no tag named"):
        service.count(store, "星座 = 白羊座")


def test_export_members_and_hashed_phones(demo_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The member list has one row per person with card, tier and a masked phone; the hashed list is the
    SHA-256 and MD5 of exactly the audience's phones (read here straight from the identities), placeholder
    numbers left out."""
    import csv
    import hashlib
    import re

    from openpyxl import load_workbook
    from sqlalchemy import select

    from siyu.audiences.export import export
    from siyu.models import Identity, Member, ProfileIdentity, ProfilePerson

    expr = "tier in (黄金, 钻石, 星耀, 王者)"
    want = service.count(demo_rt.settings.tagstore_dir, expr)["count"]
    with demo_rt.db.read_only() as s:
        got = export(s, demo_rt.vault, demo_rt.settings, expr, "csv", tmp_path / "a.csv")
        rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8-sig")))
        tiers = dict(s.execute(select(Member.person_id, Member.tier).where(Member.status == "active")).all())
        assert got["persons"] == want == len(rows) > 0
        assert all(tiers[int(r["person_id"])] == r["tier"] != "普通会员" for r in rows)
        assert all(re.fullmatch(r"\d{3}\*{4}\d{4}", r["phone"]) for r in rows if r["phone"])

        export(s, demo_rt.vault, demo_rt.settings, expr, "hashed", tmp_path / "h.csv")
        hashed_rows = list(csv.DictReader((tmp_path / "h.csv").open(encoding="utf-8")))
        persons = {int(r["person_id"]) for r in rows}
        phones = {demo_rt.vault.decrypt(enc, "identity.phone") for person, enc in s.execute(
            select(ProfilePerson.person_id, Identity.value_enc)
            .join(ProfileIdentity, ProfileIdentity.profile_id == ProfilePerson.profile_id)
            .join(Identity, Identity.id == ProfileIdentity.identity_id).where(Identity.kind == "phone"))
            if person in persons} - set(demo_rt.settings.oneid_blocklist)
        assert {(r["phone_sha256"], r["phone_md5"]) for r in hashed_rows} == {
            (hashlib.sha256(p.encode()).hexdigest(), hashlib.md5(p.encode()).hexdigest()) for p in phones}

        export(s, demo_rt.vault, demo_rt.settings, expr, "xlsx", tmp_path / "a.xlsx")
    sheet = load_workbook(tmp_path / "a.xlsx").active
    assert sheet.max_row == want + 2  # the expression, the header, the members


def test_saved_audiences_dynamic_and_snapshot(demo_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A dynamic audience follows the tags; a snapshot keeps the members it froze, version by version."""
    from datetime import timedelta

    from siyu.core.errors import Conflict, NotFound

    store = tmp_path / "tagstore"
    compute_tags(demo_rt.settings.lake_dir, store, now() - timedelta(days=400))
    expr = "活跃状态 in (常购, 低频)"
    with demo_rt.db.unit_of_work() as s:
        dyn = service.save(s, store, "活跃老客", expr, kind="dynamic", by="运营 王敏")
        snap = service.save(s, store, "活跃老客-冻结", expr, kind="snapshot", by="运营 王敏")
        with pytest.raises(Conflict, match="already exists"):
            service.save(s, store, "活跃老客", expr, kind="dynamic", by="运营 王敏")
        with pytest.raises(ParseError):
            service.save(s, store, "坏的", "活跃状态 in (", kind="dynamic", by="运营 王敏")
    assert dyn["count"] == snap["count"] > 0
    then = service.count(store, expr)["count"]
    compute_tags(demo_rt.settings.lake_dir, store, now())  # a new tag run: people moved
    later = service.count(store, expr)["count"]
    assert later != then
    with demo_rt.db.unit_of_work() as s:
        assert len(service.members(s, store, "活跃老客")) == later  # dynamic: now
        assert len(service.members(s, store, "活跃老客-冻结")) == then  # snapshot: as frozen
        assert service.freeze(s, store, "活跃老客-冻结", by="运营 王敏") == {"name": "活跃老客-冻结", "version": 2,
                                                                          "count": later}
        assert len(service.members(s, store, "活跃老客-冻结", 1)) == then
        assert len(service.members(s, store, "活跃老客-冻结")) == later
        with pytest.raises(NotFound):
            service.members(s, store, "活跃老客-冻结", 3)
        with pytest.raises(Conflict, match="dynamic"):
            service.freeze(s, store, "活跃老客", by="运营 王敏")
        names = [(r.name, r.kind, r.version) for r in service.saved(s)]
    assert ("活跃老客", "dynamic", None) in names and ("活跃老客-冻结", "snapshot", 2) in names


def test_goods_find_people(demo_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """货找人: the members whose preferred colour and shoe size match a SKU in stock, of the product's
    gender unless it is unisex; the same counted from the tag rows here; a bad inventory row is named."""
    from sqlalchemy import select

    from siyu.audiences.goods import find_people
    from siyu.models import Product, Sku

    tags = [(r["person_id"], r["tag"], r["value"])
            for r in pq.read_table(demo_rt.settings.tagstore_dir / "person_tags.parquet").to_pylist()]
    colour = {p: v for p, t, v in tags if t == "偏好颜色"}
    shoe = {p: v for p, t, v in tags if t == "鞋码"}
    gender = {p: v for p, t, v in tags if t == "性别"}
    with demo_rt.db.read_only() as s:
        for unisex in (False, True):
            product = s.execute(select(Product).where(Product.category == "鞋类", Product.unisex == unisex)
                                .order_by(Product.id).limit(1)).scalar_one()
            skus = list(s.scalars(select(Sku).where(Sku.product_id == product.id).order_by(Sku.id)))
            inv = tmp_path / f"inv-{unisex}.csv"
            inv.write_text("sku,stock\n" + "".join(f"{k.code},{3 if i % 3 else 0}\n" for i, k in enumerate(skus)))
            in_stock = {(k.colour, k.size) for i, k in enumerate(skus) if i % 3}
            got = find_people(s, demo_rt.settings.tagstore_dir, product.code, inv)
            want = {p for p in colour if (colour[p], shoe.get(p)) in in_stock
                    and (unisex or gender.get(p) == {"F": "女", "M": "男"}[product.gender])}
            assert got["count"] == len(want) > 0, (unisex, got)
        bad = tmp_path / "bad.csv"
        bad.write_text(f"sku,stock\n{skus[0].code},3\n{skus[1].code},lots\n")
        with pytest.raises(InvalidInput, match="line 3 .*stock 'lots'"):
            find_people(s, demo_rt.settings.tagstore_dir, product.code, bad)
        bad.write_text("code,qty\nX,1\n")
        with pytest.raises(InvalidInput, match="missing column"):
            find_people(s, demo_rt.settings.tagstore_dir, product.code, bad)


def test_people_find_goods_by_occasion(demo_rt) -> None:  # type: ignore[no-untyped-def]
    from collections import Counter
    from datetime import date, datetime, time, timedelta

    from sqlalchemy import select

    from siyu.audiences.occasions import Window, default, plan
    from siyu.core.clock import SHANGHAI
    from siyu.models import Order, OrderItem, Product, Sku

    assert Window.model_validate({"from": "12-15", "to": "01-10"}).holds(date(2027, 1, 3))
    assert not Window.model_validate({"from": "12-15", "to": "01-10"}).holds(date(2027, 2, 3))
    with pytest.raises(ValueError):
        Window.model_validate({"from": "13-01", "to": "01-10"})
    school = next(o for o in default().occasions if o.name == "开学季")
    assert school.in_season(date(2026, 8, 20)) and school.in_season(date(2026, 2, 20))
    assert not school.in_season(date(2026, 6, 1))

    at = datetime.combine(date(2026, 8, 20), time(12), SHANGHAI)
    got = {o["name"]: o for o in plan(demo_rt.settings.tagstore_dir, demo_rt.settings.lake_dir, at)}
    assert "开学季" in got and "春夏换季" not in got and got["生日月礼遇"]["text"].startswith("生日月 in (8月)")
    rows = pq.read_table(demo_rt.settings.tagstore_dir / "person_tags.parquet").to_pylist()
    parents = {r["person_id"] for r in rows if (r["tag"], r["value"]) in (("家有学童", "有学童"), ("关注点", "学童家长"))}
    assert got["开学季"]["count"] == len(parents) > 0

    # the goods: the occasion's lines ranked by units over the year before, recomputed from the database
    units: Counter[str] = Counter()
    spend: Counter[str] = Counter()
    with demo_rt.db.read_only() as s:
        product = {k.id: s.get(Product, k.product_id) for k in s.scalars(select(Sku))}
        orders = {o.id: o for o in s.scalars(select(Order)) if o.status in ("paid", "shipped", "completed", "refunded")
                  and at - timedelta(days=365) < (o.paid_at or o.created_at) <= at}
        for i in s.scalars(select(OrderItem)):
            p = product.get(i.sku_id)
            if i.order_id in orders and p is not None and (p.category in school.goods.categories
                                                           or p.style in school.goods.styles):
                units[p.code] += i.quantity if i.paid_fen - i.refunded_fen > 0 else 0
                spend[p.code] += i.paid_fen - i.refunded_fen
    want = sorted((c for c in units if units[c] > 0), key=lambda c: (-units[c], -spend[c], c))[:5]
    assert [g["code"] for g in got["开学季"]["goods"]] == want


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), st.integers(-5, 120),
       st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), st.integers(-5, 120), st.booleans())
def test_numeric_conditions_in_an_and_equal_a_plain_evaluation(seed, op1, v1, op2, v2, with_not) -> None:  # type: ignore[no-untyped-def]
    """Numeric conditions inside an "and" are applied in place from stored prefixes and bucket pieces; over
    random values (ties, persons without a value, conditions that keep almost everyone or almost no one)
    the count equals the plain evaluation."""
    import numpy as np
    import pyarrow as pa

    from siyu.audiences.index import AudienceIndex

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6000))
    ids = rng.choice(10 * n, n, replace=False).astype(np.int64) + 1
    points = rng.integers(0, 100, n).astype(np.float64)
    age = np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 100, n)).astype(np.float64)
    tier = rng.choice(["普通会员", "黄金", "钻石"], n)
    tags = pa.table({"person_id": ids, "tag": ["会员等级"] * n, "value": tier})
    facts = pa.table({"person_id": ids, "points": points, "age": age})
    index = AudienceIndex(tags, facts)
    expr = f"会员等级 in (普通会员, 黄金) and points {op1} {v1} and age {op2} {v2}" + (" and not 会员等级 = 黄金" if with_not else "")
    rows = {int(p): {"points": float(a), "age": float(b)} for p, a, b in zip(ids, points, age, strict=True)}
    tag_rows = [(int(p), "会员等级", str(t)) for p, t in zip(ids, tier, strict=True)]
    node = parse(expr)
    assert index.count(node) == len(_plain(node, set(rows), tag_rows, rows)), expr
