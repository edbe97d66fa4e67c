"""Splink's fitted masked-phone model, applied in plain Python one block at a time
(``analytics.oneid_score``), gives Splink's own pairs, weights and evidence after the same guards."""

from __future__ import annotations

import json
import random
from itertools import combinations

import pyarrow as pa

from siyu.analytics.engine import connect
from siyu.analytics.oneid_match import probabilistic_matches
from siyu.analytics.oneid_score import MatchModel, guard_block, term_frequencies

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _brand(people: int = 1600, seed: int = 5) -> tuple[pa.Table, pa.Table]:
    """Records as ``match_features`` leaves them, and account links: people with one to three records
    (a member with the full phone, platform buyers known by its mask or by one parcel), masks shared
    by strangers now and then, names left out, places moved, gifts to other accounts of one channel."""
    rng = random.Random(seed)
    rows, links = [], []
    uid = 0
    for person in range(people):
        surname = SURNAMES[min(int(rng.paretovariate(1.2)) - 1, len(SURNAMES) - 1)]
        name = surname + str(rng.randrange(40))
        mask = f"13{rng.randrange(10)}****{rng.randrange(1400):04d}"  # 14,000 masks: strangers share some
        city = f"city{rng.randrange(12)}"
        district = f"{city}-d{rng.randrange(5)}"
        gender = rng.choice("FM")
        account = f"taobao_nick:p{person}"
        for k in range(rng.choice((1, 1, 2, 2, 3))):
            uid += 1
            full = k == 0 and rng.random() < 0.4
            one = not full and rng.random() < 0.25
            known = full or rng.random() < 0.6
            rows.append({"unique_id": uid, "mask7": mask, "name": name if known else None,
                         "surname": surname if known or rng.random() < 0.7 else None,
                         "city": city if rng.random() < 0.8 else f"city{rng.randrange(12)}",
                         "district": district if rng.random() < 0.7 else None, "has_full": full,
                         "channel_id": rng.choice((1, 2, 3)), "gender": gender if rng.random() < 0.8 else None,
                         "one_parcel": one})
            # one person's records of one channel are usually one account; now and then a second one
            links.append((uid, account if rng.random() < 0.8 else f"taobao_nick:x{uid}"))
    schema = pa.schema([("unique_id", pa.int64()), ("mask7", pa.string()), ("name", pa.string()),
                        ("surname", pa.string()), ("city", pa.string()), ("district", pa.string()),
                        ("has_full", pa.bool_()), ("channel_id", pa.int64()), ("gender", pa.string()),
                        ("one_parcel", pa.bool_())])
    return (pa.Table.from_pylist(rows, schema),
            pa.table({"profile_id": pa.array([p for p, _ in links], pa.int64()),
                      "node": pa.array([n for _, n in links], pa.string())}))


def test_the_fitted_model_scores_and_guards_each_block_as_splink_does() -> None:
    records, links = _brand()
    fitted: list[MatchModel] = []
    with connect() as con:
        got = probabilistic_matches(con, records, min_weight=8.0, links=links, account_kinds=("taobao_nick",),
                                    fitted=fitted)
    assert len(fitted) == 1
    model = MatchModel.from_json(json.loads(json.dumps(fitted[0].to_json())))  # as stored
    assert model == fitted[0]
    rows = records.to_pylist()
    tf = term_frequencies(rows, model.tf_u)
    accounts: dict[int, set[str]] = {}
    for p, node in zip(links["profile_id"].to_pylist(), links["node"].to_pylist(), strict=True):
        accounts.setdefault(p, set()).add(node)
    blocks: dict[str, list[dict]] = {}
    for r in rows:
        blocks.setdefault(r["mask7"], []).append(r)
    mine = sorted(p for block in blocks.values()
                  for p in guard_block(block, model, lambda c, v: tf[c][v], 8.0, accounts))
    theirs = list(zip(*(got[c].to_pylist() for c in ("profile_a", "profile_b", "match_weight", "evidence")),
                      strict=True))
    assert [(a, b, e) for a, b, _, e in mine] == [(a, b, e) for a, b, _, e in theirs]
    assert max(abs(x[2] - y[2]) for x, y in zip(mine, theirs, strict=True)) < 1e-9
    # the data exercised the guards: pairs over the threshold that they dropped, gifts among them
    over = sum(model.weight(a, b, lambda c, v: tf[c][v]) >= 8.0
               for block in blocks.values() for a, b in combinations(block, 2))
    assert len(mine) > 300 and over >= len(mine) + 20, (len(mine), over)
    assert any("one parcel" in e for *_, e in mine)


def test_few_features_describe_every_profile_as_the_batch_does(small_brand, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``few_features`` (real time, plain Python) against ``match_features`` (the batch, DuckDB) over a
    whole generated brand, with and without single-order receivers."""
    from conftest import make_settings
    from siyu.analytics.oneid_match import match_features
    from siyu.analytics.oneid_score import few_features
    from siyu.bootstrap import start
    from siyu.cli.importer import run_import
    from siyu.identity import repository as repo
    from siyu.identity.service import _traits

    rt = start(make_settings(tmp_path, f"sqlite:///{tmp_path / 'siyu.db'}"))
    run_import(rt, small_brand)
    with rt.db.read_only() as s:
        names, phones, places = repo.profile_names(s), repo.phone_displays(s), repo.receiver_places(s)
        traits = _traits(repo.profile_persons(s), repo.profile_genders(s))
    own = {p: (n, sn) for p, n, sn in zip(*(names[c].to_pylist() for c in names.column_names), strict=True)}
    trait = {p: (c, g) for p, c, g in zip(*(traits[c].to_pylist() for c in traits.column_names), strict=True)}
    for single in (False, True):
        with connect() as con:
            batch = match_features(con, names, phones, places, traits, single_orders=single).to_pylist()
        mine = few_features(own, zip(*(phones[c].to_pylist() for c in phones.column_names), strict=True),
                            places.to_pylist(), trait, single_orders=single)
        assert len(batch) > 1000 and (sum(r["one_parcel"] for r in batch) > 50 or not single), len(batch)
        assert {r["unique_id"]: r for r in batch} == mine
    rt.db.dispose()


def test_the_parcel_rule_over_each_block_gives_the_batchs_pairs(small_brand, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``oneid_parcel_score.parcel_block`` over every (surname, ending, place) block of the batch's
    buyers gives ``parcel_matches``' pairs, weights and evidence, with each one-parcel rule, a threshold
    and Splink's pairs left out."""
    from conftest import make_settings
    from siyu.analytics.oneid_parcel_score import block_key, parcel_block, parcel_features, parcel_stats
    from siyu.analytics.oneid_parcels import parcel_matches, parcel_records
    from siyu.bootstrap import start
    from siyu.cli.importer import run_import
    from siyu.identity import repository as repo
    from siyu.identity.service import _traits, blocked_nodes
    from siyu.ingest.schemas import JOINING_KINDS

    rt = start(make_settings(tmp_path, f"sqlite:///{tmp_path / 'siyu.db'}"))
    run_import(rt, small_brand)
    with rt.db.read_only() as s:
        places, phones = repo.receiver_places(s), repo.phone_displays(s)
        traits = _traits(repo.profile_persons(s), repo.profile_genders(s))
        links = repo.identity_links(s, sorted(JOINING_KINDS))
    blocked = blocked_nodes(rt.vault, rt.settings)
    with connect() as con:
        records = parcel_records(con, places, phones, traits, links, max_fanout=20, blocked=blocked).to_pylist()
    # the buyers described in plain Python (real time) as the batch describes them
    trait = {p: (c, g) for p, c, g in zip(*(traits[c].to_pylist() for c in traits.column_names), strict=True)}
    few = parcel_features(zip(*(phones[c].to_pylist() for c in phones.column_names), strict=True),
                          places.to_pylist(), trait)
    assert few == {r["profile_id"]: {k: v for k, v in r.items() if k != "key"} for r in records}
    stats = parcel_stats(records)
    blocks: dict[tuple, list] = {}
    for r in records:
        blocks.setdefault(block_key(r), []).append(r)
    for rule, weight in (("neither", -100.0), ("one", -100.0), ("both", 4.0)):
        with connect() as con:
            everything = parcel_matches(con, places, phones, traits, links, min_weight=weight, max_fanout=20,
                                        blocked=blocked, one_parcel=rule)
            known = pa.table({c: everything[c].take(list(range(0, everything.num_rows, 5)))
                              for c in ("profile_a", "profile_b")})
            batch = parcel_matches(con, places, phones, traits, links, min_weight=weight, max_fanout=20,
                                   blocked=blocked, one_parcel=rule, known=known)
        skip = set(zip(known["profile_a"].to_pylist(), known["profile_b"].to_pylist(), strict=True))
        mine = sorted(p for block in blocks.values()
                      for p in parcel_block(block, stats, min_weight=weight, one_parcel=rule, known=skip))
        theirs = list(zip(*(batch[c].to_pylist() for c in ("profile_a", "profile_b", "match_weight", "evidence")),
                          strict=True))
        assert len(theirs) > 20 and len(skip) > 3, (rule, len(theirs))
        assert [(a, b, e) for a, b, _, e in mine] == [(a, b, e) for a, b, _, e in theirs], rule
        assert max(abs(x[2] - y[2]) for x, y in zip(mine, theirs, strict=True)) < 1e-9
    rt.db.dispose()
