"""A guide's WeCom contact joined to the member it is by nickname, guide and gender
(``analytics.oneid_contacts``), and the given-name index it compares."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from conftest import WITH_PERSON
from siyu.analytics.engine import connect
from siyu.analytics.oneid_contacts import EVIDENCE, MIN_JOINED, contact_matches
from siyu.console.i18n import TEXT
from siyu.core.crypto import Vault, derive_keys
from siyu.identity.profiles import given_index

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Brand:
    """Contacts, members, genders and identifier links, written as the service reads them."""

    def __init__(self) -> None:
        self.contacts: list[dict] = []
        self.members: list[dict] = []
        self.genders: list[tuple[int, str]] = []
        self.links: list[tuple[int, str]] = []
        self.named: list[int] = []  # profiles with a name of their own: the members (a nickname is not one)

    def member(self, pid: int, guide: int, name: str, gender: str = "F", phone: str | None = None,
               given: str | None = None, day: int = 0) -> None:
        self.members.append({"profile_id": pid, "guide_id": guide, "registered_at": T0 + timedelta(days=day),
                             "name_bidx": name, "given_bidx": given})
        self.genders.append((pid, gender))
        self.links.append((pid, f"phone:{phone or pid}"))
        self.named.append(pid)

    def contact(self, pid: int, guide: int, nick: str | None, gender: str = "F", day: int = 10,
                nick_given: str | None = None, nodes: tuple[str, ...] = ()) -> None:
        self.contacts.append({"profile_id": pid, "guide_id": guide, "seen_at": T0 + timedelta(days=day),
                              "nick_bidx": nick, "nick_given_bidx": nick_given})
        self.genders.append((pid, gender))
        self.links.extend((pid, n) for n in (f"wecom:{pid}", *nodes))

    def matches(self, max_fanout: int = 20, blocked: tuple[str, ...] = ()) -> dict[int, tuple[int, float, str]]:
        ts = pa.timestamp("us", tz="UTC")
        contacts = pa.Table.from_pylist(self.contacts, pa.schema([
            ("profile_id", pa.int64()), ("guide_id", pa.int64()), ("seen_at", ts), ("nick_bidx", pa.string()),
            ("nick_given_bidx", pa.string())]))
        members = pa.Table.from_pylist(self.members, pa.schema([
            ("profile_id", pa.int64()), ("guide_id", pa.int64()), ("registered_at", ts), ("name_bidx", pa.string()),
            ("given_bidx", pa.string())]))
        traits = pa.table({"profile_id": pa.array([p for p, _ in self.genders], pa.int64()),
                           "channel_id": pa.array([1] * len(self.genders), pa.int64()),
                           "gender": pa.array([g for _, g in self.genders], pa.string())})
        links = pa.table({"profile_id": pa.array([p for p, _ in self.links], pa.int64()),
                          "node": pa.array([n for _, n in self.links], pa.string())})
        with connect() as con:
            out = contact_matches(con, contacts, members, traits, links, pa.array(self.named, pa.int64()),
                                  max_fanout=max_fanout, blocked=list(blocked))
        got = {}
        for a, b, w, e in zip(*(out[c].to_pylist() for c in ("profile_a", "profile_b", "match_weight", "evidence")),
                              strict=True):
            contact = a if a >= 10_000 else b
            got[contact] = (b if contact == a else a, w, e)
        return got


def joined_contacts(brand: Brand, n: int, agreeing: int) -> None:
    """``n`` contacts a unionid joins to a member of their guide (guide 9), ``agreeing`` of them with the
    member's name as nickname: what the weight's m is estimated from."""
    for i in range(n):
        brand.member(5000 + i, 9, f"joined-{i}", phone=f"j{i}")
        brand.links.append((5000 + i, f"wechat_unionid:u{i}"))
        brand.contact(50_000 + i, 9, f"joined-{i}" if i < agreeing else f"pet-{i}", nodes=(f"wechat_unionid:u{i}",))


def test_a_lone_contact_joins_the_one_member_of_its_guide_it_names() -> None:
    b = Brand()
    joined_contacts(b, 60, 30)  # m = 1/2
    b.member(1, 1, "wangfang")                        # guide 1: four women, one of them 王芳
    for pid in (2, 3, 4):
        b.member(pid, 1, f"other-{pid}")
    b.contact(10_001, 1, "wangfang")                  # nickname = real name
    b.member(11, 2, "wujingying", given="jingying")   # guide 2: 吴静英, alone
    b.contact(10_002, 2, "jingyingya", nick_given="jingying")  # 静英呀
    b.member(21, 3, "lina", phone="p21")              # guide 3: two women called 李娜
    b.member(22, 3, "lina", phone="p22")
    b.contact(10_003, 3, "lina")
    b.member(31, 4, "zhangwei", phone="p31")          # guide 4: one 张伟 with a POS card and a mini-program
    b.member(32, 4, "zhangwei", phone="p31")          # profile, one phone
    b.contact(10_004, 4, "zhangwei")
    b.member(41, 5, "liuyang", gender="M")            # a man's name, a woman's contact
    b.contact(10_005, 5, "liuyang", gender="F")
    b.member(51, 6, "chenjing", day=30)               # registered three weeks after the guide added the contact
    b.contact(10_006, 6, "chenjing", day=8)
    b.member(61, 7, "zhaomin")                        # another guide's contact
    b.contact(10_007, 8, "zhaomin")
    b.member(71, 7, "sunli")                          # a contact a phone joins to a named member: not lone
    b.member(72, 7, "someone", phone="p72")
    b.contact(10_008, 7, "sunli", nodes=("phone:p72",))
    b.member(81, 10, "heyan")                         # the walk-in phone in the remark joins nobody
    b.contact(10_009, 10, "heyan", nodes=("phone:13800000000",))
    b.links.append((999, "phone:13800000000"))
    b.member(91, 11, "zhouyan")                       # the remark's phone joins only a profile with no name (a
    b.contact(10_010, 11, "zhouyan", nodes=("phone:p92",))  # mini-program sign-up): nothing says another name
    b.links.append((92, "phone:p92"))
    got = b.matches(blocked=("phone:13800000000",))
    assert {c: m for c, (m, _, _) in got.items() if c < 50_000} == {10_001: 1, 10_002: 11, 10_004: 31, 10_009: 81,
                                                                    10_010: 91}
    # the weight, log2 Bayes factors summed: the name (m = 30/61: the 60 joined contacts and 10_008,
    # joined to a member of its guide under a pet name; u = one person of the brand's members), the guide
    # (u = its members' share) and the gender (u = women's share)
    people = len(b.members) - 1  # 31 and 32 are one person
    women = people - 1  # and 41 the one man
    member, weight, evidence = got[10_001]
    assert evidence == EVIDENCE
    assert math.isclose(weight, math.log2(30 / 61 * people) + math.log2(people / 4) + math.log2(people / women))
    assert math.isclose(got[10_002][1], math.log2(30 / 61 * people) + math.log2(people / 1) + math.log2(people / women))


def test_too_few_joined_contacts_to_estimate_from_join_nobody() -> None:
    b = Brand()
    joined_contacts(b, MIN_JOINED - 1, MIN_JOINED - 1)
    b.member(1, 1, "wangfang")
    b.contact(10_001, 1, "wangfang")
    assert b.matches() == {}
    b = Brand()
    joined_contacts(b, MIN_JOINED, 0)  # contacts never carry their member's name at this brand
    b.member(1, 1, "wangfang")
    b.contact(10_001, 1, "wangfang")
    assert b.matches() == {}


def test_given_name_index_needs_two_characters_and_a_real_name() -> None:
    vault = Vault(derive_keys(b"k" * 32))
    assert given_index(vault, "pos", "吴静英") == vault.blind_index("given", "静英")
    assert given_index(vault, "pos", "吴 静英") == given_index(vault, "miniprogram", "吴静英")
    assert given_index(vault, "pos", "刘涵") == ""        # one character: indexed as "nothing to compare"
    assert given_index(vault, "wecom", "吴静英") is None   # a nickname is not a real name
    assert given_index(vault, "tmall", "吴**") is None     # a mask
    assert given_index(vault, "pos", None) is None


def test_the_member_page_says_each_part_of_the_evidence_in_both_languages() -> None:
    for part in EVIDENCE.split(" + "):
        assert set(TEXT[f"ev {part}"]) == {"zh", "en"}


def _guide_brand(rt, tmp_path, more: tuple[tuple[str, int, list[str]], ...] = ()) -> list[str]:  # type: ignore[no-untyped-def]
    """Imported as a brand sends them: one store, one guide, 60 POS members, 55 WeCom contacts whose
    remark phone joins them to their member (30 named as the member: m), two contacts nothing joins (王芳
    and a stranger) and ``more`` (external_userid, the member whose name is its nickname, remark phones);
    the members' names."""
    import json

    from siyu.cli.importer import run_import

    org = tmp_path / "org"
    org.mkdir()
    (org / "stores.csv").write_text('"store_code","name","region_code","region_name","province","city","district",'
                                    '"city_tier"\n"S0001","上海店","EC","华东","上海市","上海市","徐汇区",1\n',
                                    encoding="utf-8")
    (org / "guides.csv").write_text('"guide_code","name","store_code"\n"G000101","苏晶","S0001"\n', encoding="utf-8")
    surnames, given = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何", "静英雪梅丽华芳敏燕玲"
    names = [surnames[i % 20] + given[i // 20] + given[(i * 7) % 10] for i in range(60)]
    names[59] = "王芳"
    rows = "".join(f"LT{i:010d},1371{i:07d},{n},F,1990-01-01,2026-01-0{1 + i % 9} 10:00:00,S0001,G000101\n"
                   for i, n in enumerate(names))
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "members.csv").write_text(
        "card_no,phone,name,gender,birthday,registered_at,store_code,guide_code\n" + rows, encoding="utf-8")

    def contact(ext: str, nick: str, mobiles: list[str]) -> dict:
        return {"external_contact": {"external_userid": ext, "name": nick, "type": 1, "gender": 2},
                "follow_info": {"userid": "G000101", "createtime": 1770000000, "remark_mobiles": mobiles,
                                "state": "store_S0001"}}
    contacts = [contact(f"wm{i:030d}", names[i] if i < 30 else f"小{i}宝", [f"1371{i:07d}"]) for i in range(55)]
    contacts.append(contact("wmLONE000000000000000000000000001", "王芳", []))
    contacts.append(contact("wmLONE000000000000000000000000002", "陌生人", []))
    contacts.extend(contact(ext, names[i], mobiles) for ext, i, mobiles in more)
    (tmp_path / "wecom.jsonl").write_text(json.dumps({"errcode": 0, "errmsg": "ok", "external_contact_list": contacts,
                                                      "next_cursor": ""}, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in (org / "stores.csv", org / "guides.csv", tmp_path / "pos" / "members.csv", tmp_path / "wecom.jsonl"):
        run_import(rt, path)
    return names


def _persons(rt) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from siyu.models import Profile, ProfilePerson

    with rt.db.read_only() as s:
        return dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())


def test_a_guides_contact_joins_its_member_through_the_service(rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select, update

    from siyu.identity.service import resolve_identities
    from siyu.models import IdentityMatch, Profile

    names = _guide_brand(rt, tmp_path)
    with rt.db.unit_of_work() as s:  # as stored before given names were indexed: the run indexes them
        s.execute(update(Profile).values(given_bidx=None))
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    person = _persons(rt)
    with rt.db.read_only() as s:
        match = s.execute(select(IdentityMatch.match_weight, IdentityMatch.evidence)).all()
        given = s.scalar(select(Profile.given_bidx).where(Profile.external_id == "LT0000000000"))
    assert person["wmLONE000000000000000000000000001"] == person["LT0000000059"]
    assert person["wmLONE000000000000000000000000002"] not in {person[f"LT{i:010d}"] for i in range(60)}
    assert [e for _, e in match] == [EVIDENCE], match
    assert match[0][0] > 0, match
    assert given == rt.vault.blind_index("given", names[0][1:])


def test_arrivals_sharing_a_matched_contacts_phone_keep_or_end_its_match_as_the_batch_does(rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A contact whose remark phone nobody else carries is matched by nickname. A nameless mini-program
    sign-up with that phone joins the contact and its member; a named one ends the match (the contact's
    person now has a name of its own), in real time as in the batch run after it."""
    from sqlalchemy import select

    from siyu.identity.realtime import resolve_arrivals
    from siyu.identity.service import resolve_identities
    from siyu.ingest.intake import accept_batch
    from siyu.models import IdentityMatch, Profile

    contact, phone = "wmPHONE00000000000000000000000001", "13900000001"
    _guide_brand(rt, tmp_path, ((contact, 58, [phone]),))  # named as member 58, whose own phone differs
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    assert _persons(rt)[contact] == _persons(rt)["LT0000000058"]

    def arrive(openid: str, **more: str) -> None:
        with rt.db.unit_of_work() as s:
            accept_batch(s, rt.vault, "members", [{"openid": openid, "phone": phone,
                                                   "registered_at": "2026-03-01T10:00:00+08:00", **more}])
            resolve_arrivals(s, rt.vault, rt.settings)

    def batch_moves() -> tuple[int, int]:
        with rt.db.unit_of_work() as s:
            report = resolve_identities(s, rt.vault, rt.settings)
        return report.moved_profiles, report.new_persons

    arrive("oNameless000000000000000001")
    person = _persons(rt)
    assert person["oNameless000000000000000001"] == person[contact] == person["LT0000000058"]
    assert batch_moves() == (0, 0)
    arrive("oNamed00000000000000000001", name="钱多多")
    person = _persons(rt)
    assert person["oNamed00000000000000000001"] == person["oNameless000000000000000001"] == person[contact]
    assert person[contact] != person["LT0000000058"]
    with rt.db.read_only() as s:  # the match is forgotten on arrival; 王芳's stands
        cid = s.scalar(select(Profile.id).where(Profile.external_id == contact))
        assert s.scalar(select(IdentityMatch.id).where((IdentityMatch.profile_a == cid) | (IdentityMatch.profile_b == cid))) is None
        assert s.scalar(select(IdentityMatch.evidence)) == EVIDENCE
    assert batch_moves() == (0, 0)


def test_siyu_oneid_resolve_reruns_oneid_and_what_follows_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The command a schedule runs where records arrive by the API and webhooks: the guide's lone contact
    is matched to 王芳 and members are made; a second run changes nothing."""
    from typer.testing import CliRunner

    from conftest import TEST_KEY, make_settings
    from siyu.bootstrap import start
    from siyu.cli.main import app
    from siyu.cli.progress import console

    home = tmp_path / "home"
    monkeypatch.setenv("SIYU_SECRET_KEY", TEST_KEY)
    rt = start(make_settings(home, f"sqlite:///{home / 'siyu.db'}"))
    _guide_brand(rt, tmp_path)
    monkeypatch.setenv("SIYU_HOME", str(home))
    monkeypatch.setattr(console, "width", 200)
    out = CliRunner().invoke(app, ["oneid", "resolve"])
    assert out.exit_code == 0, out.output
    assert "OneID: 117 profiles" in out.output and "Members: " in out.output and "took: oneid" in out.output
    person = _persons(rt)
    assert person["wmLONE000000000000000000000000001"] == person["LT0000000059"]
    out = CliRunner().invoke(app, ["oneid", "resolve"])
    assert out.exit_code == 0 and "(0 new, 0 merged" in out.output and "Members: " in out.output, out.output
    assert _persons(rt) == person
    rt.db.dispose()
