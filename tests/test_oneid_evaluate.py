"""``siyu oneid evaluate``: pairwise scores checked against pairs counted one by one."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import WITH_PERSON
from siyu.analytics.engine import connect
from siyu.analytics.evaluate import pair_scores
from siyu.cli.importer import run_import
from siyu.cli.main import app
from siyu.identity.evaluation import evaluate, read_truth
from siyu.identity.service import resolve_identities
from siyu.models import Channel, Profile, ProfilePerson


def _pairs(assign: dict[str, str]) -> set[frozenset[str]]:
    groups = defaultdict(list)
    for key, cluster in assign.items():
        groups[cluster].append(key)
    return {frozenset(p) for members in groups.values() for p in combinations(sorted(members), 2)}


def test_pair_scores_equal_counted_pairs() -> None:
    predicted = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2", "f": "3", "x": "9"}
    truth = {"a": "P", "b": "P", "c": "Q", "d": "Q", "e": "Q", "f": "R", "y": "S"}
    with connect() as con:
        sc = pair_scores(con, pa.table({"key": list(predicted), "cluster": list(predicted.values())}),
                         pa.table({"key": list(truth), "cluster": list(truth.values())}))
    common = set(predicted) & set(truth)
    p = _pairs({k: predicted[k] for k in common})
    t = _pairs({k: truth[k] for k in common})
    assert (sc.predicted_pairs, sc.true_pairs, sc.correct_pairs) == (len(p), len(t), len(p & t)) == (4, 4, 2)
    assert (sc.records, sc.missing, sc.extra) == (6, 1, 1)
    assert sc.precision == 0.5 and sc.recall == 0.5
    assert sc.over_merged.to_pylist() == [{"cluster": "1", "records": 3, "people": 2}]


def test_evaluate_a_generated_brand(rt, small_brand: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    truth = read_truth(small_brand / "_truth")
    with rt.db.read_only() as s:
        sc = evaluate(s, truth)
        rows = s.execute(select(Channel.code, Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)
                         .join(Channel, Channel.id == Profile.channel_id)).all()
    predicted = {f"{c}\x1f{e}": str(p) for c, e, p in rows}
    true = {f"{c}\x1f{e}": p for c, e, p in zip(*(truth[n].to_pylist() for n in ("channel", "external_id", "person")),
                                                 strict=True)}
    common = set(predicted) & set(true)
    p = _pairs({k: predicted[k] for k in common})
    t = _pairs({k: true[k] for k in common})
    assert (sc.predicted_pairs, sc.true_pairs, sc.correct_pairs) == (len(p), len(t), len(p & t))
    assert sc.records == len(common) > 1000
    assert 0 < sc.recall <= 1 and 0 < sc.precision <= 1


def test_evaluate_command_and_a_bad_truth_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIYU_HOME", str(tmp_path / "home"))
    bad = tmp_path / "truth.parquet"
    pq.write_table(pa.table({"channel": ["pos"], "external_id": ["C1"]}), bad)
    out = CliRunner().invoke(app, ["oneid", "evaluate", "--truth", str(bad)])
    assert out.exit_code == 1 and "no column 'person'" in " ".join(out.output.split())
    good = tmp_path / "good.csv"
    good.write_text("channel,external_id,person\npos,C1,P1\n")
    out = CliRunner().invoke(app, ["oneid", "evaluate", "--truth", str(good)])
    assert out.exit_code == 0, out.output
    assert "precision" in out.output


def test_receiver_phone_counts_only_when_it_is_the_buyers_usual_one() -> None:
    """Buyer 10 sent one order, a gift, to member 1's phone; buyer 11 had two of three orders sent to
    member 2's phone and one to member 1's; buyer 12, with a phone of its own, one order to member 2's;
    buyer 13, an account of the members' own channel without a phone, one order to member 2's; buyer 14,
    without a phone, one order of men's goods to member 1's, a woman's, and buyer 15 one of women's.
    Strictly only 11 ↔ 2 is the same person; with single orders 10 ↔ 1 and 15 ↔ 1 too (a gift cannot be
    told from buying for oneself), never 12 ↔ 2 (a buyer with a phone who ships elsewhere is giving), nor
    13 ↔ 2 (member 2 has their own account on that channel: 13 is someone else), nor 14 ↔ 1."""
    from siyu.analytics import oneid_small as small
    from siyu.analytics.oneid import connected_components

    profiles = pa.table({"profile_id": [1, 2, 10, 11, 12, 13, 14, 15], "channel_id": [5, 5, 1, 1, 1, 5, 1, 1],
                         "name_bidx": pa.array([None] * 8, pa.string()),
                         "gender": pa.array(["F", None, None, None, None, None, "M", "F"], pa.string())})
    links = pa.table({"profile_id": [1, 2, 12], "node": ["phone:a", "phone:b", "phone:c"]})
    receiver = pa.table({"profile_id": [10, 11, 11, 12, 13, 14, 15],
                         "node": ["phone:a", "phone:b", "phone:a", "phone:b", "phone:b", "phone:a", "phone:a"],
                         "orders": [1, 2, 1, 1, 1, 1, 1], "total_orders": [1, 3, 3, 1, 1, 1, 1]})
    for single in (False, True):
        with connect() as con:
            comps = connected_components(con, profiles, links, receiver, max_fanout=20, max_per_channel=2,
                                         blocked=[], single_orders=single)
        label = dict(zip(comps.labels["profile_id"].to_pylist(), comps.labels["component"].to_pylist(), strict=True))
        assert label[11] == label[2] != label[12]
        assert (label[10] == label[1]) is single and label[1] != label[2] and label[13] == 13
        assert (label[15] == label[1]) is single and label[14] == 14
        small_labels = small.components(profiles, links, receiver, max_fanout=20, max_per_channel=2, blocked=[],
                                        single_orders=single).labels
        assert small_labels == label


def test_a_buyers_only_parcel_describes_them_only_when_asked() -> None:
    """Buyer 10 (masked phone, no name) has one order; buyer 11 two, to two receivers. With single orders
    10 takes its parcel's name, surname and place and is marked ``one_parcel``; 11 takes neither receiver
    (no usual one); member 1's own name and phone are its own, whatever its one parcel says. Buyer 12, no
    phone at all, sent three orders, two to one full phone: it is known by that phone's mask (full)."""
    from siyu.analytics.oneid_match import match_features

    s = pa.string()
    profiles = pa.table({"profile_id": [1], "name_bidx": ["n-own"], "surname_bidx": ["s-own"]})
    phones = pa.table({"profile_id": [1, 10, 11], "is_full": [True, False, False],
                       "display": ["138****0001", "138****0001", "139****0002"]})
    receivers = pa.table({"profile_id": [1, 10, 11, 11, 12, 12],
                          "name_bidx": ["n-other", "n-a", "n-b", "n-c", "n-d", "n-e"],
                          "surname_bidx": ["s-other", "s-a", "s-b", "s-c", "s-d", "s-e"],
                          "mask": pa.array(["150****0009", None, None, None, "137****0003", "136****0004"], s),
                          "city": ["杭州市", "杭州市", "苏州市", "无锡市", "宁波市", "宁波市"],
                          "district": pa.array(["西湖区", "西湖区", None, None, None, None], s),
                          "orders": [1, 1, 1, 1, 2, 1]})
    traits = pa.table({"profile_id": [1, 10, 11, 12], "channel_id": [5, 1, 1, 5],
                       "gender": pa.array(["F", None, "M", None], s)})
    with connect() as con:
        strict = {r["unique_id"]: r for r in match_features(con, profiles, phones, receivers, traits).to_pylist()}
        loose = {r["unique_id"]: r for r in match_features(con, profiles, phones, receivers, traits,
                                                          single_orders=True).to_pylist()}
    assert set(strict) == {1, 12} and strict[1]["name"] == "n-own" and strict[1]["one_parcel"] is False
    assert (strict[12]["mask7"], strict[12]["has_full"], strict[12]["name"], strict[12]["city"]) == \
        ("137****0003", True, "n-d", "宁波市")
    assert strict[1]["mask7"] == loose[1]["mask7"] == "138****0001"
    assert set(loose) == {1, 10, 12}
    assert (loose[10]["name"], loose[10]["surname"], loose[10]["city"], loose[10]["district"]) == \
        ("n-a", "s-a", "杭州市", "西湖区")
    assert loose[10]["one_parcel"] is True and loose[10]["channel_id"] == 1
    assert loose[1]["name"] == "n-own" and loose[1]["one_parcel"] is False and loose[1]["gender"] == "F"


def test_a_single_parcel_to_someone_with_their_own_account_or_of_the_other_sexs_goods_joins_nobody() -> None:
    """Predicted pairs, as Splink leaves them. 10's one parcel matches member 1 and Tmall buyer 20, another
    Tmall account: 10 bought a gift, so neither pair stays. 11's parcel matches 21, the same Tmall account
    (one nick): kept. 12's parcel (men's goods) matches a woman: dropped; 13's (no gendered goods) matches
    her: kept. Two multi-order buyers of one channel may still match (two accounts of one person); two
    buyers each known by one parcel may not (14, 15)."""
    from siyu.analytics.oneid_match import guarded

    rows = [  # l, r, channel l, r, gender l, r, one parcel l, r
        (10, 1, 1, 5, None, "F", True, False), (10, 20, 1, 1, None, None, True, False),
        (11, 21, 1, 1, None, None, True, False), (12, 2, 1, 5, "M", "F", True, False),
        (13, 2, 1, 5, None, "F", True, False), (30, 31, 1, 1, "M", "F", False, False),
        (14, 15, 1, 2, None, None, True, True),
    ]
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    pred = pa.table({
        "unique_id_l": cols[0], "unique_id_r": cols[1], "channel_id_l": cols[2], "channel_id_r": cols[3],
        "gender_l": pa.array(cols[4], pa.string()), "gender_r": pa.array(cols[5], pa.string()),
        "one_parcel_l": cols[6], "one_parcel_r": cols[7], "match_weight": [12.0] * n,
        "has_full_l": [False] * n, "has_full_r": [True] * n, "name_l": pa.nulls(n, pa.string()),
        "name_r": pa.nulls(n, pa.string()), "surname_l": ["s"] * n, "surname_r": ["s"] * n,
        "gamma_name": [-1] * n, "gamma_surname": [1] * n, "gamma_city": [1] * n, "gamma_district": [0] * n,
    })
    links = pa.table({"profile_id": [11, 21, 20, 10], "node": ["taobao_nick:x", "taobao_nick:x", "taobao_nick:y",
                                                              "taobao_nick:z"]})
    with connect() as con:
        con.register("pred", pred)
        kept = guarded(con, "pred", links, ("taobao_nick",)).to_pylist()
    assert [(k["profile_a"], k["profile_b"]) for k in kept] == [(2, 13), (11, 21), (30, 31)]
    assert kept[0]["evidence"] == "masked phone + surname + city + one parcel"
    assert kept[2]["evidence"] == "masked phone + surname + city"


def test_a_tmall_account_seen_three_ways_is_one_person_but_a_walkin_phone_joins_nobody(rt) -> None:  # type: ignore[no-untyped-def]
    """One Tmall buyer: the CSV export keys them by nick, TOP by open uid (with the nick), the member
    centre as ``member:nick`` (nick, open uid, phone). Three Tmall profiles carry the nick, more than
    the per-channel guard allows, yet they are one account, joined to the mini-program member with
    that phone. Three POS cards on one phone stay apart: that guard still holds for phones."""
    from siyu.ingest.schemas import CARD, PHONE, TAOBAO_NICK, TAOBAO_OUID, Ident, ProfileIn
    from siyu.ingest.service import Importer

    nick, ouid, phone = "tb0001234567", "AAHsomeOpenUid000000000X", "13912345601"
    with rt.db.unit_of_work() as s:
        Importer(s, rt.vault).write([
            ProfileIn("tmall", nick, [Ident(TAOBAO_NICK, nick)]),
            ProfileIn("tmall", ouid, [Ident(TAOBAO_OUID, ouid), Ident(TAOBAO_NICK, nick)]),
            ProfileIn("tmall", f"member:{nick}", [Ident(TAOBAO_NICK, nick), Ident(TAOBAO_OUID, ouid),
                                                  Ident(PHONE, phone)]),
            ProfileIn("miniprogram", "oMini00000000000000000077", [Ident(PHONE, phone)]),
            *(ProfileIn("pos", f"C{k}", [Ident(CARD, f"C{k}"), Ident(PHONE, "13912345699")]) for k in range(3))])
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    with rt.db.read_only() as s:
        person = dict(s.execute(select(Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)).all())
    assert person[nick] == person[ouid] == person[f"member:{nick}"] == person["oMini00000000000000000077"]
    assert len({person["C0"], person["C1"], person["C2"]}) == 3


@pytest.fixture(scope="module")
def brand_5k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 members: the 1,500-member brand is too small for Splink to estimate its parameters (its
    EM finds no pair of different names within a mask and the model is refused; then nothing joins)."""
    from siyu.synth.generate import DEFAULT_END, generate

    out = tmp_path_factory.mktemp("brand5k") / "brand"
    generate(5000, 11, out, DEFAULT_END)
    return out


def test_probabilistic_joins_are_right_and_stable(rt, brand_5k: Path) -> None:  # type: ignore[no-untyped-def]
    """On a generated brand the Splink step joins masked-phone buyers to members only where the truth
    agrees (each stored match is checked against the truth), and a second run changes nothing."""
    from sqlalchemy import select

    from siyu.models import IdentityMatch

    small_brand = brand_5k
    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:
        first = resolve_identities(s, rt.vault, rt.settings)
    assert first.probabilistic > 0
    truth = read_truth(small_brand / "_truth")
    person = {(c, e): p for c, e, p in zip(*(truth[n].to_pylist() for n in ("channel", "external_id", "person")),
                                            strict=True)}
    with rt.db.read_only() as s:
        key = {pid: (c, e) for pid, c, e in s.query(Profile.id, Channel.code, Profile.external_id).join(
            Channel, Channel.id == Profile.channel_id)}
        rows = s.execute(select(IdentityMatch.profile_a, IdentityMatch.profile_b, IdentityMatch.match_weight,
                                IdentityMatch.evidence)).all()
    matches = [(a, b, w) for a, b, w, _ in rows]
    evidence = [e.split(" + ") for *_, e in rows]
    assert len(matches) == first.probabilistic
    right = sum(person[key[a]] == person[key[b]] for a, b, _ in matches)
    assert right / len(matches) >= 0.99, (right, len(matches))
    # Splink's pairs at its threshold; buyers of two platforms joined by where their parcels go
    # (analytics.oneid_parcels: 张**, 1********35, a district and 长江路***) at theirs
    floor = {"masked phone": rt.settings.oneid_match_weight, "phone ending": rt.settings.oneid_parcel_weight,
             "nickname": 0.0}
    assert all(w >= floor[e[0]] for (_, _, w), e in zip(matches, evidence, strict=True))
    # JD's and Tmall's masked receivers (张**) joined on the surname, where no full name was known
    assert any("surname" in e and "name" not in e for e in evidence), evidence[:5]
    assert sum(e[0] == "phone ending" and "street" in e for e in evidence) >= 20, evidence[:5]
    with rt.db.unit_of_work() as s:
        again = resolve_identities(s, rt.vault, rt.settings)
    assert (again.probabilistic, again.moved_profiles, again.merged, again.new_persons) == (first.probabilistic, 0, 0, 0)


def test_surname_index_of_masked_and_full_names() -> None:
    from siyu.core.crypto import Vault, derive_keys
    from siyu.identity.profiles import name_index, surname_index

    v = Vault(derive_keys(b"k" * 32))
    assert surname_index(v, "jd", "曹**") == surname_index(v, "tmall", "曹操") == surname_index(v, "pos", " 曹 孟德")
    assert surname_index(v, "jd", "曹*") == surname_index(v, "jd", "曹**") != surname_index(v, "jd", "王**")
    assert surname_index(v, "jd", "*操") is None and surname_index(v, "jd", "") is None
    assert surname_index(v, "wecom", "曹操") is None  # a WeCom name is a nickname
    assert name_index(v, "jd", "曹**") is None and name_index(v, "jd", "曹操") is not None


def test_names_stored_before_the_surname_index_are_indexed_once(rt, small_brand: Path) -> None:  # type: ignore[no-untyped-def]
    """Rows written before the surname index get it on the next run, equal to what an import writes,
    masked receivers included, and the run after decrypts nothing again (a masked name has no name
    index, so a backfill keyed on it decrypted every masked name on every run)."""
    from sqlalchemy import update

    from siyu.identity import repository as repo
    from siyu.identity.profiles import NICKNAME_CHANNELS
    from siyu.models import Order

    run_import(rt, small_brand)

    def indexes(s):  # type: ignore[no-untyped-def]
        return (s.execute(select(Profile.id, Profile.name_bidx, Profile.surname_bidx).order_by(Profile.id)).all(),
                s.execute(select(Order.id, Order.receiver_name_bidx, Order.receiver_surname_bidx,
                                 Order.receiver_street_bidx).order_by(Order.id)).all())

    with rt.db.read_only() as s:
        written = indexes(s)
        masked = s.scalar(select(func.count()).where(Order.receiver_surname_bidx.is_not(None),
                                                     Order.receiver_name_bidx.is_(None)))
        streets = s.scalar(select(func.count()).where(Order.receiver_street_bidx != ""))
        hidden = s.scalar(select(func.count()).where(Order.receiver_street_bidx == ""))
        masks = s.scalar(select(func.count()).where(Order.receiver_phone_enc.is_(None),
                                                    Order.receiver_phone_mask.like("1%*%")))
    assert masked > 100  # JD's and Tmall TOP's 张**
    assert streets > 100 and hidden > 100  # Douyin's 长江路***, Tmall's streets; JD's ******
    assert masks > 100  # masked receiver phones kept per order (138****1234, 1********35)
    with rt.db.unit_of_work() as s:
        s.execute(update(Profile).values(name_bidx=None, surname_bidx=None))
        s.execute(update(Order).values(receiver_name_bidx=None, receiver_surname_bidx=None,
                                       receiver_street_bidx=None))
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    with rt.db.read_only() as s:
        assert indexes(s) == written
        assert repo.names_without_index(s, NICKNAME_CHANNELS) == []
        assert repo.receiver_names_without_index(s) == []
        assert repo.receiver_streets_without_index(s) == []


def test_channel_preference_equals_a_plain_count(rt, small_brand: Path) -> None:  # type: ignore[no-untyped-def]
    """Spend per person and channel from the lake equals a count over the database's orders in plain
    Python; the preferred channel is the largest spend; the tag and the CLI show it."""
    from collections import defaultdict

    from siyu.analytics.channels import purchase_channels
    from siyu.cli.pipeline import after_import
    from siyu.models import Order, Shop

    run_import(rt, small_brand)
    after_import(rt)
    with rt.db.read_only() as s:
        rows = s.query(ProfilePerson.person_id, Channel.code, Order.status, Order.paid_fen, Order.refunded_fen).join(
            ProfilePerson, ProfilePerson.profile_id == Order.profile_id).join(Shop, Shop.id == Order.shop_id).join(
            Channel, Channel.id == Shop.channel_id).all()
    spend: dict[tuple[int, str], int] = defaultdict(int)
    for person, code, status, paid, refunded in rows:
        if person is not None and status in ("paid", "shipped", "completed", "refunded") and paid - refunded > 0:
            spend[(person, code)] += paid - refunded
    with connect(rt.settings.lake_dir) as con:
        got = purchase_channels(con).to_pylist()
    assert {(r["person_id"], r["channel"]): r["spend_fen"] for r in got} == dict(spend)
    preferred = [r for r in got if r["preferred"]]
    assert len(preferred) == len({p for p, _ in spend})
    for r in preferred:
        assert r["spend_fen"] == max(v for (p, _), v in spend.items() if p == r["person_id"])
    import pyarrow.parquet as pq

    tags = pq.read_table(rt.settings.tagstore_dir / "person_tags.parquet").to_pylist()
    assert sum(t["tag"] == "偏好渠道" for t in tags) == len(preferred)


def test_dedupe_any_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A customer list from another system: phone formats, email case, a family phone with two names, the
    walk-in placeholder phone, a card number; and the errors a wrong config gets."""
    import csv

    monkeypatch.setenv("SIYU_HOME", str(tmp_path / "home"))
    samples = Path(__file__).parent / "dedupe_samples"
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(app, ["oneid", "dedupe", str(samples / "customers.csv"), "--config",
                                 str(samples / "customers.yaml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    with open(out, encoding="utf-8-sig", newline="") as fh:
        cluster = {row["客户编号"]: row["cluster_id"] for row in csv.DictReader(fh)}
    groups: dict[str, set[str]] = {}
    for row_id, c in cluster.items():
        groups.setdefault(c, set()).add(row_id)
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, [
        {"1", "2"},  # +86 137-1234-5678 = 13712345678, 王 芳 = 王芳
        {"3"},  # same phone, another name: the son, not the mother
        {"4"}, {"5"},  # one email, two names (张三 / 张三丰): not joined
        {"6"}, {"7"},  # 13800000000 is the store's walk-in number
        {"8", "9"},  # one card
        {"10"}]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: {name: 姓名, mobile: 手机}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["oneid", "dedupe", str(samples / "customers.csv"), "--config", str(bad),
                                 "--out", str(out)])
    assert r.exit_code == 1 and "unknown key 'mobile'" in " ".join(r.output.split())
    bad.write_text("columns: {name: 名字}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["oneid", "dedupe", str(samples / "customers.csv"), "--config", str(bad),
                                 "--out", str(out)])
    assert r.exit_code == 1 and "no column '名字'" in " ".join(r.output.split())


def test_a_run_moving_many_profiles_rebuilds_the_person_table(rt, small_brand: Path,  # type: ignore[no-untyped-def]
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that moves a fifth of the profiles or more rebuilds ``profile_persons`` (PostgreSQL: a new
    table, keyed, indexed and checked after): the same partition as before, the rows it did not move kept,
    and the table's keys, index and foreign keys back under the migrations' names."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import delete, update
    from sqlalchemy.exc import IntegrityError

    from siyu.core import columns
    from siyu.identity import repository as identity_repo
    from siyu.models import Base

    def partition() -> dict[int, int]:
        with rt.db.read_only() as s:
            return dict(s.execute(select(ProfilePerson.profile_id, ProfilePerson.person_id)).all())

    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:  # a small first run: its moves are upserted
        resolve_identities(s, rt.vault, rt.settings)
    before = partition()
    kept = {p: person for p, person in before.items() if p % 3}
    with rt.db.unit_of_work() as s:  # a third of the profiles lose their person (an older Siyu's state)
        s.execute(delete(ProfilePerson).where(ProfilePerson.profile_id % 3 == 0))
    rebuilt, real = [], columns._rebuild
    monkeypatch.setattr(identity_repo, "REBUILD_FROM", 1)  # the small brand's moves count as many
    monkeypatch.setattr(columns, "_rebuild", lambda *a: rebuilt.append(1) or real(*a))
    with rt.db.unit_of_work() as s:
        rep = resolve_identities(s, rt.vault, rt.settings)
    after = partition()
    assert rep.moved_profiles == len(before) - len(kept) > len(before) // 5
    assert rebuilt == ([1] if rt.db.dialect == "postgresql" else [])
    assert {p: after[p] for p in kept} == kept  # the rows not moved, as they were
    assert _groups(after) == _groups(before)
    with rt.db.engine.connect() as con:
        assert compare_metadata(MigrationContext.configure(con), Base.metadata) == []
    with pytest.raises(IntegrityError), rt.db.unit_of_work() as s:  # the foreign key holds again
        s.execute(update(ProfilePerson).where(ProfilePerson.profile_id == max(before)).values(person_id=10**9))


def _groups(person_of: dict[int, int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = defaultdict(set)
    for profile, person in person_of.items():
        groups[person].add(profile)
    return {frozenset(g) for g in groups.values()}


def test_dedupe_joins_a_name_and_birthday_and_names_what_it_could_not_read(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists from systems without phones: the same full name and birthday is one person (a birthday
    written either way), another birthday or a system's placeholder birthday is not; a value that cannot
    be read is named by line and column, and its row clusters on the rest."""
    import csv

    monkeypatch.setenv("SIYU_HOME", str(tmp_path / "home"))
    src = tmp_path / "list.csv"
    src.write_text("编号,姓名,手机,生日,邮箱\n"
                   "1,吴静,,1990-03-04,\n"
                   "2,吴 静,13712345678,1990/03/04,\n"
                   "3,吴静,,1991-03-04,\n"
                   "4,郑一,,1970-01-01,\n"
                   "5,郑一,,1970-01-01,\n"
                   "6,冯二,not a phone,31/02/1990,fe@example.com\n"
                   "7,冯二,,,FE@example.com\n"
                   "8,陈三,,,@\n", encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns: {name: 姓名, phone: 手机, birthday: 生日, email: 邮箱}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(app, ["oneid", "dedupe", str(src), "--config", str(mapping), "--out", str(out)])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "3 values could not be read" in said
    assert "line 7: 手机 'not a phone'" in said and "line 7: 生日 '31/02/1990' (not a date)" in said
    assert "line 9: 邮箱 '@' (not an email address)" in said
    with open(out, encoding="utf-8-sig", newline="") as fh:
        cluster = {row["编号"]: row["cluster_id"] for row in csv.DictReader(fh)}
    groups: dict[str, set[str]] = {}
    for row_id, c in cluster.items():
        groups.setdefault(c, set()).add(row_id)
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, [
        {"1", "2"}, {"3"}, {"4"}, {"5"}, {"6", "7"}, {"8"}]))
