"""The default tag pack: every tag, computed by the compiled SQL over the lake, equals an independent
computation of the same rule in plain Python from the database's rows (``independent_tags``)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from independent_tags import tags as independent
from siyu.analytics import tag_compiler
from siyu.analytics.engine import connect
from siyu.analytics.tag_compiler import compile_pack, run_pack
from siyu.analytics.tag_rules import Pack, TopRule
from siyu.core.clock import now
from siyu.lake.service import export_lake
from siyu.models import ProfilePerson
from siyu.tags import definitions, manual


def test_the_default_pack_is_large_and_valid() -> None:
    pack = definitions.default()
    assert len(pack.tags) >= 50 and sum(len(t.values) for t in pack.tags) >= 500
    assert {t.dimension for t in pack.tags} >= {"attribute", "product_lifecycle", "member_lifecycle", "rfm",
                                                 "preference", "value", "channel"}
    assert len(compile_pack(pack)) == len(pack.tags)


def test_every_tag_equals_an_independent_computation(demo_rt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pack = definitions.default()
    with demo_rt.db.unit_of_work() as s:  # guides mark a few people by hand; one mark is taken back
        people = [r.person_id for r in s.execute(select(ProfilePerson.person_id)
                                                 .distinct().order_by(ProfilePerson.person_id).limit(4))]
        for p, value in zip(people, ("重点维护", "意向客户", "重点维护", "勿扰"), strict=True):
            manual.set_tag(s, pack, p, "导购标记", value, by="guide-01", reason="门店回访")
        manual.set_tag(s, pack, people[0], "导购标记", "意向客户", by="guide-01")
        manual.remove_tag(s, pack, people[1], "导购标记", "意向客户", by="ops")
    as_of = now()
    with demo_rt.db.unit_of_work() as s:
        export_lake(s, demo_rt.settings.lake_dir)  # the lake as the database is now
    with connect(demo_rt.settings.lake_dir) as con:
        got = {(r["person_id"], r["tag"], r["value"]) for r in run_pack(con, pack, as_of).to_pylist()}
    # preferences over many lines run in parts, ranges of person ids (here a part per 97 lines): the same tags
    monkeypatch.setattr(tag_compiler, "LINES_PER_PART", 97)
    with connect(demo_rt.settings.lake_dir) as con:
        assert {(r["person_id"], r["tag"], r["value"]) for r in run_pack(con, pack, as_of).to_pylist()} == got
    # a pack without preferences has no lines built: its facts (categories bought) join the lines themselves
    simple = Pack(version=pack.version, name="no preferences", tags=[t for t in pack.tags if not isinstance(t.rule, TopRule)])
    names = {t.name for t in simple.tags}
    with connect(demo_rt.settings.lake_dir) as con:
        assert {(r["person_id"], r["tag"], r["value"]) for r in run_pack(con, simple, as_of).to_pylist()} == {
            r for r in got if r[1] in names}
    with demo_rt.db.read_only() as s:
        want = independent(s, pack, as_of)
    by_tag = Counter(t for _, t, _ in want)
    for tag in pack.tags:
        mine = {r for r in got if r[1] == tag.name}
        theirs = {r for r in want if r[1] == tag.name}
        assert mine == theirs, (tag.name, sorted(mine - theirs)[:3], sorted(theirs - mine)[:3])
        assert tag.open or all(v in tag.values for _, _, v in mine), tag.name
    assert sum(1 for t in pack.tags if by_tag[t.name]) >= 60  # almost every tag is carried by someone here
    marks = {(p, v) for p, t, v in got if t == "导购标记"}  # (other tests of this brand mark people too)
    assert {(people[0], "重点维护"), (people[0], "意向客户"), (people[2], "重点维护"), (people[3], "勿扰")} <= marks
    assert (people[1], "意向客户") not in marks
    for kind in ("内容互动", "运动偏好", "家有学童", "关注点"):  # the event tags found someone on this brand
        assert by_tag[kind] > 0, kind


def test_manual_tags_are_checked_kept_and_idempotent(demo_rt) -> None:  # type: ignore[no-untyped-def]
    from siyu.core.errors import InvalidInput, NotFound

    pack = definitions.default()
    with demo_rt.db.unit_of_work() as s:
        person = s.scalar(select(ProfilePerson.person_id).order_by(ProfilePerson.profile_id.desc()))
        assert manual.set_tag(s, pack, person, "导购标记", "老客转介绍", by="g1").changed
        assert not manual.set_tag(s, pack, person, "导购标记", "老客转介绍", by="g1").changed  # a retry
        with pytest.raises(InvalidInput, match="not a manual tag"):
            manual.set_tag(s, pack, person, "会员等级", "王者", by="g1")
        with pytest.raises(InvalidInput, match="not a value of 导购标记"):
            manual.set_tag(s, pack, person, "导购标记", "超级VIP", by="g1")
        with pytest.raises(InvalidInput, match="by:"):
            manual.set_tag(s, pack, person, "导购标记", "勿扰", by=" ")
        with pytest.raises(NotFound, match="person 999999999"):
            manual.set_tag(s, pack, 999999999, "导购标记", "勿扰", by="g1")
        assert manual.remove_tag(s, pack, person, "导购标记", "老客转介绍", by="ops").changed
        assert not manual.remove_tag(s, pack, person, "导购标记", "老客转介绍", by="ops").changed
        assert all(r[1] != "老客转介绍" for r in manual.in_force(s) if r[0] == person)


@pytest.mark.parametrize("bad", [
    {"name": "x", "name_en": "x", "dimension": "value", "rule": {"kind": "bands", "measure": "points",
                                                                 "bands": [{"value": "a", "min": 1}]}},
    {"name": "x", "name_en": "x", "dimension": "value", "values": ["a"],
     "rule": {"kind": "bands", "measure": "nope", "bands": [{"value": "a"}]}},
    {"name": "x", "name_en": "x", "dimension": "value", "values": ["a"],
     "rule": {"kind": "when", "cases": [{"value": "b", "if": {"measure": "points", "op": ">", "value": 1}}]}},
])
def test_a_bad_definition_is_refused_by_name(bad: dict) -> None:
    from pydantic import ValidationError

    from siyu.analytics.tag_rules import TagDef

    with pytest.raises(ValidationError):
        TagDef.model_validate(bad)


def test_the_catalogue_counts_who_entered_and_left(demo_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two runs a year apart: each value's change in members is who entered it less who left it."""
    from datetime import timedelta

    from siyu.tags.service import compute_tags, read_catalogue

    store, t = tmp_path / "tagstore", now()
    compute_tags(demo_rt.settings.lake_dir, store, t - timedelta(days=365))
    before = {(r["tag"], r["value"]): r["members"] for r in read_catalogue(store)}
    assert all(r["entered"] == r["members"] and r["left"] == 0 for r in read_catalogue(store))  # a first run
    counts = compute_tags(demo_rt.settings.lake_dir, store, t)
    after = read_catalogue(store)
    assert {r["tag"] for r in after} == set(counts)
    for r in after:
        assert r["members"] - before.get((r["tag"], r["value"]), 0) == r["entered"] - r["left"], r
    assert any(r["left"] for r in after if r["tag"] == "活跃状态")  # a year on, people moved between states


def test_preference_codes_beyond_their_range_are_refused_by_name() -> None:
    """Preference tags pack (person, value code) into one integer; an attribute with too many values, or a
    person id too large for the packing, stops the run with an error that names it, not a wrong tag."""
    import duckdb

    from siyu.analytics.tables import DuckTables
    from siyu.analytics.tag_compiler import CODES, MAX_PERSON_ID, _check_codes

    con = duckdb.connect()
    tables = DuckTables(con)
    con.execute("CREATE TABLE person_facts AS SELECT 7::BIGINT AS person_id")
    con.execute("CREATE TABLE item_values AS SELECT 'colour' AS attr, '红色' AS value, 0 AS code")
    _check_codes(tables)  # in range: nothing to say
    con.execute(f"INSERT INTO item_values SELECT 'size', CAST(i AS VARCHAR), i FROM range({CODES}) t(i)")
    with pytest.raises(ValueError, match="attribute size has 65,536 values"):
        _check_codes(tables)
    con.execute("DELETE FROM item_values WHERE attr = 'size'")
    con.execute(f"INSERT INTO person_facts VALUES ({MAX_PERSON_ID})")
    with pytest.raises(ValueError, match="person id"):
        _check_codes(tables)


@pytest.mark.parametrize(("lo", "hi", "lines"), [(1, 1, 1), (1, 10, 500_001), (5, 1_000_003, 8_600_000), (0, 3, 10**7)])
def test_person_parts_cover_every_id_once(lo: int, hi: int, lines: int) -> None:
    parts = tag_compiler.person_parts(lo, hi, lines)
    assert parts[0][0] == lo and parts[-1][1] == hi + 1
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))  # adjacent, so disjoint and gapless
    assert all(f < t for f, t in parts) and len(parts) <= -(-lines // tag_compiler.LINES_PER_PART)
