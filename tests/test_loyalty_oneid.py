"""OneID's first pass and the first loyalty rules, on hand-made mini-program and POS files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import WITH_PERSON
from siyu.cli.importer import run_import
from siyu.identity.service import resolve_identities
from siyu.loyalty import ledger, programme, versions
from siyu.loyalty.members import sync_members
from siyu.loyalty.points import award_order_points
from siyu.models import Member, PersonMerge, PointsEntry, Profile, ProfilePerson

OPENID_A, OPENID_B = "oAAAAAAAAAAAAAAAAAAA", "oBBBBBBBBBBBBBBBBBBB"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def order(no: str, openid: str, paid: str, when: str, status: str = "completed") -> dict:
    return {"order_no": no, "openid": openid, "status": status, "created_at": when, "paid_at": when,
            "total_amount": paid, "paid_amount": paid,
            "items": [{"line_no": 1, "sku_code": "X-1", "quantity": 1, "unit_price": paid, "paid_amount": paid}]}


def pipeline(rt):  # type: ignore[no-untyped-def]
    with rt.db.unit_of_work() as s:
        rep = resolve_identities(s, rt.vault, rt.settings)
    with rt.db.unit_of_work() as s:
        rules = versions.active(s)  # the programme in force
        sync_members(s, rt.vault, rules)
        award_order_points(s, rules)
    return rep


def test_points_tiers_refunds_and_idempotency(rt, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "members.jsonl", [{"openid": OPENID_A, "phone": "13912345678", "member_no": "LT0000000001",
                                              "registered_at": "2026-03-01T10:00:00+08:00"}])
    write_jsonl(tmp_path / "orders.jsonl", [
        order("MP-BEFORE", OPENID_A, "500.00", "2026-02-01T10:00:00+08:00"),   # before joining: no points
        order("MP-1", OPENID_A, "999.99", "2026-03-02T10:00:00+08:00"),        # 999 points
        order("MP-2", OPENID_A, "300.00", "2026-03-03T10:00:00+08:00", "paid"),  # not finished yet
    ])
    run_import(rt, tmp_path / "members.jsonl")
    run_import(rt, tmp_path / "orders.jsonl")
    pipeline(rt)
    with rt.db.read_only() as s:
        m = s.scalars(select(Member)).one()
        assert (m.card_no, m.tier) == ("LT0000000001", "普通会员")
        # MP-1 completed long ago: its points are released; MP-2 is paid, not finished: pending.
        assert ledger.balance(s, programme.default(), m.id) == ledger.Balance(999, 300, 0, 999)
        assert s.scalar(select(func.sum(PointsEntry.points))) == 999 + 300

    # MP-2 completes (a later export of the same order) and MP-1 is partly refunded.
    write_jsonl(tmp_path / "orders.jsonl", [order("MP-2", OPENID_A, "300.00", "2026-03-03T10:00:00+08:00")])
    write_jsonl(tmp_path / "refunds.jsonl", [{"refund_no": "RF-1", "order_no": "MP-1", "line_no": 1, "amount": "100.00",
                                              "status": "success", "requested_at": "2026-03-05T10:00:00+08:00",
                                              "completed_at": "2026-03-06T10:00:00+08:00"}])
    run_import(rt, tmp_path / "orders.jsonl")
    run_import(rt, tmp_path / "refunds.jsonl")
    pipeline(rt)
    with rt.db.read_only() as s:
        before = s.execute(select(PointsEntry.source_ref, PointsEntry.kind, PointsEntry.account, PointsEntry.points)
                           .order_by(PointsEntry.id)).all()
    pipeline(rt)  # a second run books nothing
    with rt.db.read_only() as s:
        entries = s.execute(select(PointsEntry.source_ref, PointsEntry.kind, PointsEntry.account, PointsEntry.points)
                            .order_by(PointsEntry.id)).all()
        m = s.scalars(select(Member)).one()
        tier = m.tier
        assert ledger.balance(s, programme.default(), m.id) == ledger.Balance(899 + 300, 0, 0, 899 + 300)
        assert ledger.check(s) == {k: [] for k in ledger.check(s)}
    assert entries == before
    assert sum(p for *_, p in entries) == 899 + 300
    assert [(k, a, p) for _, k, a, p in entries if k == "reverse"] == [("reverse", "available", -100)]
    # per order: pending, then the release pair (pending −n, available +n)
    assert [k for _, k, _, _ in entries].count("release") == 4 and len({r for r, *_ in entries}) == 2
    # 899.99 + 300 = ¥1,199.99 net spend as a member: 黄金 from ¥1,000.
    assert tier == "黄金"


def test_shared_phone_joins_and_blocklist_does_not(rt, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": OPENID_A, "phone": "13912345678", "registered_at": "2026-03-01T10:00:00+08:00"},
        {"openid": OPENID_B, "phone": "13800000000", "registered_at": "2026-03-01T11:00:00+08:00"},
    ])
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        "LT0000000009,13912345678,张三,M,1990-01-01,2026-01-01 10:00:00,,\n"
        "LT0000000010,13800000000,李四,F,1991-01-01,2026-01-02 10:00:00,,\n", encoding="utf-8")
    run_import(rt, tmp_path / "members.jsonl")
    run_import(rt, tmp_path / "pos" / "members.csv")
    rep = pipeline(rt)
    assert (rep.profiles, rep.persons) == (4, 3)
    assert [n.blocked for n in rep.super_nodes] == [True]
    with rt.db.read_only() as s:
        persons = dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())
        card = s.scalars(select(Member).where(Member.person_id == persons[OPENID_A])).one().card_no
    assert persons[OPENID_A] == persons["LT0000000009"]
    assert persons[OPENID_B] != persons["LT0000000010"]
    # One account for the joined person: the earliest registration (the store, in January) decides.
    assert card == "LT0000000009"
    again = pipeline(rt)
    assert (again.new_persons, again.moved_profiles, again.merged) == (0, 0, 0)


def test_merge_keeps_the_older_person_and_folds_points(rt, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "members.jsonl", [{"openid": OPENID_A, "phone": "13911112222",
                                              "registered_at": "2026-03-01T10:00:00+08:00"}])
    write_jsonl(tmp_path / "orders.jsonl", [order("MP-1", OPENID_A, "200.00", "2026-03-02T10:00:00+08:00")])
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        "LT0000000042,13933334444,王五,M,1990-01-01,2026-01-01 10:00:00,,\n", encoding="utf-8")
    (tmp_path / "pos" / "sales.csv").write_text(
        "receipt_no,line_no,store_code,guide_code,card_no,sold_at,sku_code,quantity,unit_price,paid_amount\n"
        "R1,1,S0001,,LT0000000042,2026-02-01 10:00:00,X-1,1,150.00,150.00\n", encoding="utf-8")
    for f in ("members.jsonl", "orders.jsonl", "pos/members.csv", "pos/sales.csv"):
        run_import(rt, tmp_path / f)
    pipeline(rt)
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 2
        old_person = min(s.scalars(select(ProfilePerson.person_id)))  # the first person created
    # The mini-program member later binds the card: the two people are one.
    write_jsonl(tmp_path / "members.jsonl", [{"openid": OPENID_A, "phone": "13911112222", "member_no": "LT0000000042",
                                              "registered_at": "2026-03-01T10:00:00+08:00"}])
    run_import(rt, tmp_path / "members.jsonl")
    rep = pipeline(rt)
    assert rep.merged == 1
    with rt.db.read_only() as s:
        active = s.scalars(select(Member).where(Member.status == "active")).all()
        assert len(active) == 1
        survivor = active[0]
        assert survivor.person_id == old_person  # the older id is kept
        assert s.scalar(select(func.count()).select_from(PersonMerge)) == 1
        balance = s.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.member_id == survivor.id))
        total = s.scalar(select(func.sum(PointsEntry.points)))
    assert balance == total == 150 + 200, _debug_entries(rt)


def _debug_entries(rt):  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        return s.execute(select(PointsEntry.member_id, PointsEntry.kind, PointsEntry.points, PointsEntry.source_ref,
                                PointsEntry.idempotency_key)).all()


def test_a_shared_phone_joins_only_profiles_of_one_name(rt, tmp_path: Path) -> None:
    """Mother and son registered with one phone: the phone joins her two accounts (same name) but not
    his card, and a profile without a name is joined to neither (it could be either of them)."""
    phone = "13712345678"
    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": OPENID_A, "phone": phone, "name": "王芳", "registered_at": "2026-03-01T10:00:00+08:00"},
        {"openid": OPENID_B, "phone": phone, "registered_at": "2026-03-02T10:00:00+08:00"},
    ])
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        f"LT0000000021,{phone},王 芳,F,1968-05-01,2026-01-01 10:00:00,,\n"
        f"LT0000000022,{phone},李明,M,1995-09-01,2026-01-02 10:00:00,,\n", encoding="utf-8")
    run_import(rt, tmp_path / "members.jsonl")
    run_import(rt, tmp_path / "pos" / "members.csv")
    rep = pipeline(rt)
    assert rep.split_by_name == 1 and rep.super_nodes == []
    with rt.db.read_only() as s:
        persons = dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())
    assert persons[OPENID_A] == persons["LT0000000021"]  # "王 芳" and "王芳" are one name
    assert len({persons[OPENID_A], persons["LT0000000022"], persons[OPENID_B]}) == 3
    assert pipeline(rt).moved_profiles == 0


def test_names_stored_before_the_index_are_indexed_by_the_next_run(rt, tmp_path: Path) -> None:
    from sqlalchemy import update

    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": OPENID_A, "phone": "13712345670", "name": "王芳", "registered_at": "2026-03-01T10:00:00+08:00"}])
    run_import(rt, tmp_path / "members.jsonl")
    with rt.db.unit_of_work() as s:
        s.execute(update(Profile).values(name_bidx=None, surname_bidx=None))  # as before both indexes
    pipeline(rt)
    with rt.db.read_only() as s:
        assert s.scalars(select(Profile.name_bidx)).one() == rt.vault.blind_index("name", "王芳")


def test_explain_names_what_joined_a_person(rt, tmp_path: Path) -> None:
    from siyu.core.errors import NotFound
    from siyu.identity.explain import explain

    test_a_shared_phone_joins_only_profiles_of_one_name(rt, tmp_path)
    with rt.db.read_only() as s:
        person = s.scalars(select(ProfilePerson.person_id).select_from(WITH_PERSON).where(Profile.external_id == OPENID_A)).one()
        ex = explain(s, rt.vault, rt.settings, person)
    assert sorted(p.external_id for p in ex.profiles) == ["LT0000000021", OPENID_A]
    phone = next(e for e in ex.evidence if e.kind == "phone")
    # 王芳 and 李明: the phone splits by surname first (then, within 王, by name)
    assert phone.display == "137****5678" and phone.fanout == 4 and phone.verdict == "joins only profiles of one surname"
    assert {e.kind: e.verdict for e in ex.evidence}["member_card"] == "own"
    with rt.db.read_only() as s, pytest.raises(NotFound):
        explain(s, rt.vault, rt.settings, 999_999)


def test_explain_names_a_phone_split_by_name_within_one_surname(rt, tmp_path: Path) -> None:
    """Two sisters, 王芳 and 王丽, on one phone: one surname, two names. Explain says the name split it."""
    from siyu.identity.explain import explain

    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        "LT0000000051,13712340000,王芳,F,1990-05-01,2026-01-01 10:00:00,,\n"
        "LT0000000052,13712340000,王丽,F,1993-09-01,2026-01-02 10:00:00,,\n", encoding="utf-8")
    run_import(rt, tmp_path / "pos" / "members.csv")
    assert pipeline(rt).split_by_name == 1
    with rt.db.read_only() as s:
        persons = dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())
        ex = explain(s, rt.vault, rt.settings, persons["LT0000000051"])
    assert persons["LT0000000051"] != persons["LT0000000052"]
    assert {e.kind: e.verdict for e in ex.evidence}["phone"] == "joins only profiles of one name"


def test_a_phoneless_buyers_single_parcel_joins_and_explain_says_why(rt, tmp_path: Path) -> None:
    """Buyer A (no phone) sent their one order to member 王芳's phone: joined, by the single-order rule.
    Buyer B (no phone) sent one of three orders there: not joined (not most of their orders). Buyer D
    (no phone) sent their one order to mini-program member C: not joined, as C has their own account
    on that channel (one openid per person per app: D is someone else). Buyer E (no phone) sent their one
    order, a pair of men's shoes, to 王芳: not joined, a gift. With the strict rule
    (``oneid_single_order_receivers`` off) A stays apart too."""
    from siyu.identity.explain import explain

    phone = "13712349999"
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "products.csv").write_text(
        "product_code,name,category,style,material,season,gender,unisex,list_price\n"
        "LTSH000001,澜途男子板鞋,鞋类,板鞋,皮革,四季,M,false,599.00\n", encoding="utf-8")
    (tmp_path / "catalog" / "skus.csv").write_text(
        "sku_code,product_code,colour,size,price\nLTSH000001-WH-42,LTSH000001,白色,42,599.00\n", encoding="utf-8")
    openid_e = "oEEEEEEEEEEEEEEEEEEE"
    shoes = order("MP-E1", openid_e, "599.00", "2026-03-04T10:00:00+08:00")
    shoes["items"][0]["sku_code"] = "LTSH000001-WH-42"
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        f"LT0000000061,{phone},王芳,F,1990-05-01,2026-01-01 10:00:00,,\n", encoding="utf-8")
    to = {"name": "王芳", "phone": phone}
    write_jsonl(tmp_path / "orders.jsonl", [
        {**order("MP-A1", OPENID_A, "99.00", "2026-03-01T10:00:00+08:00"), "receiver": to},
        {**order("MP-B1", OPENID_B, "99.00", "2026-03-01T10:00:00+08:00"), "receiver": to},
        order("MP-B2", OPENID_B, "99.00", "2026-03-02T10:00:00+08:00"),
        order("MP-B3", OPENID_B, "99.00", "2026-03-03T10:00:00+08:00")])
    openid_c, openid_d = "oCCCCCCCCCCCCCCCCCCC", "oDDDDDDDDDDDDDDDDDDD"
    write_jsonl(tmp_path / "members.jsonl", [{"openid": openid_c, "phone": "13712348888", "name": "李明",
                                              "registered_at": "2026-02-01T10:00:00+08:00"}])
    write_jsonl(tmp_path / "orders_d.jsonl", [
        {**order("MP-D1", openid_d, "99.00", "2026-03-01T10:00:00+08:00"), "receiver": {"name": "李明", "phone": "13712348888"}}])
    write_jsonl(tmp_path / "orders_e.jsonl", [{**shoes, "receiver": to}])
    run_import(rt, tmp_path / "catalog")
    run_import(rt, tmp_path / "pos" / "members.csv")
    run_import(rt, tmp_path / "members.jsonl")
    run_import(rt, tmp_path / "orders.jsonl")
    run_import(rt, tmp_path / "orders_d.jsonl")
    run_import(rt, tmp_path / "orders_e.jsonl")

    def persons() -> dict[str, int]:
        with rt.db.read_only() as s:
            return dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())

    rt.settings.oneid_single_order_receivers = False
    pipeline(rt)
    p = persons()
    assert len({p["LT0000000061"], p[OPENID_A], p[OPENID_B]}) == 3
    rt.settings.oneid_single_order_receivers = True
    pipeline(rt)
    p = persons()
    assert p[OPENID_A] == p["LT0000000061"] != p[OPENID_B]
    assert p[openid_c] != p[openid_d] and p[openid_e] != p["LT0000000061"]
    with rt.db.read_only() as s:
        ex = explain(s, rt.vault, rt.settings, p["LT0000000061"])
    [parcels] = ex.receivers
    assert (parcels.display, parcels.orders, parcels.total, parcels.role) == ("137****9999", 1, 1, "single")
    assert parcels.verdict == "joins: the single order of a buyer without a phone"


def test_split_and_merge_are_kept_by_later_runs(rt, tmp_path: Path) -> None:
    """Two people registered with one phone and one name (a father and son both 王强): OneID joins them.
    The operator splits the son's card off; later runs, and a later import naming the same phone again,
    leave him apart. The operator then merges two persons OneID cannot join; that stays too."""
    from siyu.core.errors import InvalidInput
    from siyu.identity.explain import explain
    from siyu.identity.service import merge_persons, split_person

    phone = "13612345678"
    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": OPENID_A, "phone": phone, "name": "王强", "registered_at": "2026-03-01T10:00:00+08:00"},
        {"openid": OPENID_B, "phone": "13699990000", "name": "赵敏", "registered_at": "2026-03-02T10:00:00+08:00"},
    ])
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        f"LT0000000031,{phone},王强,M,2001-05-01,2026-01-01 10:00:00,,\n", encoding="utf-8")
    run_import(rt, tmp_path / "members.jsonl")
    run_import(rt, tmp_path / "pos" / "members.csv")
    pipeline(rt)

    def persons() -> dict[str, int]:
        with rt.db.read_only() as s:
            return dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())

    p = persons()
    assert p[OPENID_A] == p["LT0000000031"]
    with rt.db.read_only() as s:
        card = s.scalars(select(Profile.id).where(Profile.external_id == "LT0000000031")).one()
    with rt.db.unit_of_work() as s, pytest.raises(InvalidInput):
        split_person(s, rt.vault, rt.settings, p[OPENID_A], [card, 999], "ops", None)
    with rt.db.unit_of_work() as s:
        split_person(s, rt.vault, rt.settings, p[OPENID_A], [card], "ops", "father and son share the phone")
    after = persons()
    assert after[OPENID_A] == p[OPENID_A] and after["LT0000000031"] != p[OPENID_A]
    # a later export names the phone again, on the split card and on a new one: the split holds (the new
    # card, which nobody has decided about, joins the phone's other holder)
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        f"LT0000000031,{phone},王强,M,2001-05-01,2026-01-01 10:00:00,,\n"
        f"LT0000000032,{phone},王强,M,1975-02-01,2026-04-01 10:00:00,,\n", encoding="utf-8")
    run_import(rt, tmp_path / "pos" / "members.csv")
    pipeline(rt)
    later = persons()
    assert later["LT0000000031"] == after["LT0000000031"] and later[OPENID_A] == after[OPENID_A]
    assert later["LT0000000032"] == after[OPENID_A]
    assert pipeline(rt).moved_profiles == 0
    after = later

    with rt.db.unit_of_work() as s:
        merge_persons(s, rt.vault, rt.settings, after[OPENID_A], after[OPENID_B], "ops", "same customer, new phone")
    merged = persons()
    assert merged[OPENID_A] == merged[OPENID_B] == min(after[OPENID_A], after[OPENID_B])
    assert pipeline(rt).moved_profiles == 0 and persons() == merged
    with rt.db.read_only() as s:
        ex = explain(s, rt.vault, rt.settings, merged[OPENID_A])
    assert [d.action for d in ex.decisions] == ["split", "merge"]
    assert ex.decisions[0].actor == "ops" and ex.decisions[0].reason == "father and son share the phone"


def test_a_split_moves_order_points_to_the_right_member(rt, tmp_path: Path) -> None:
    """Father (mini-program) and son (store card) share a phone and a name: OneID joins them, one account
    holds both people's order points. The operator splits the son's card off: at the next run the son
    has his own account, his order's points leave the father's account and arrive in his."""
    from siyu.identity.service import split_person

    phone = "13612345678"
    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": OPENID_A, "phone": phone, "name": "王强", "registered_at": "2026-03-01T10:00:00+08:00"}])
    write_jsonl(tmp_path / "orders.jsonl", [order("MP-1", OPENID_A, "200.00", "2026-03-02T10:00:00+08:00")])
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n"
        f"LT0000000031,{phone},王强,M,2001-05-01,2026-01-01 10:00:00,,\n", encoding="utf-8")
    (tmp_path / "pos" / "sales.csv").write_text(
        "receipt_no,line_no,store_code,guide_code,card_no,sold_at,sku_code,quantity,unit_price,paid_amount\n"
        "R1,1,S0001,,LT0000000031,2026-03-02 10:00:00,X-1,1,150.00,150.00\n", encoding="utf-8")
    for f in ("members.jsonl", "orders.jsonl", "pos/members.csv", "pos/sales.csv"):
        run_import(rt, tmp_path / f)
    pipeline(rt)

    def accounts() -> dict[str, int]:
        with rt.db.unit_of_work() as s:
            out = {}
            for m in s.scalars(select(Member).where(Member.status == "active")):
                out[m.card_no] = ledger.balance(s, programme.default(), m.id).available
            return out

    assert accounts() == {"LT0000000031": 350}
    with rt.db.read_only() as s:
        card = s.scalars(select(Profile.id).where(Profile.external_id == "LT0000000031")).one()
        person = s.scalars(select(ProfilePerson.person_id).where(ProfilePerson.profile_id == card)).one()
    with rt.db.unit_of_work() as s:
        split_person(s, rt.vault, rt.settings, person, [card], "ops", "father and son share the phone")
    pipeline(rt)
    got = accounts()
    assert sorted(got.values()) == [150, 200] and sum(got.values()) == 350, got
    with rt.db.read_only() as s:
        assert ledger.check(s) == {k: [] for k in ledger.check(s)}
        moved = s.execute(select(PointsEntry.kind, PointsEntry.points, PointsEntry.reason)
                          .where(PointsEntry.reason == "订单转出")).all()
    assert [(k, p) for k, p, _ in moved] == [("reverse", -150)]
    pipeline(rt)
    assert accounts() == got  # and nothing moves again
