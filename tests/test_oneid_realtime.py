"""Real time equals batch: profiles resolved as they arrive, file by file in any order, end in the same
partition as one batch resolution of the same data (deterministic step)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from conftest import WITH_PERSON, make_settings
from siyu.bootstrap import start
from siyu.cli.importer import run_import
from siyu.core.clock import now
from siyu.identity import repository as identity_repo
from siyu.identity.reads import Reads
from siyu.identity.realtime import resolve_arrivals, resolve_profiles
from siyu.identity.service import resolve_identities
from siyu.ingest.schemas import JOINING_KINDS
from siyu.models import Channel, Profile, ProfilePerson


def _partition(rt) -> set[frozenset[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        rows = s.execute(select(Channel.code, Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)
                         .join(Channel, Channel.id == Profile.channel_id)).all()
    groups: dict[int, set[tuple[str, str]]] = {}
    for code, ext, person in rows:
        assert person is not None, (code, ext)
        groups.setdefault(person, set()).add((code, ext))
    return {frozenset(g) for g in groups.values()}


_BATCH: dict[str, set[frozenset[tuple[str, str]]]] = {}


def _batch(small_brand: Path, home: Path, single: bool) -> set[frozenset[tuple[str, str]]]:
    key = f"single={single}"
    if key not in _BATCH:
        rt = start(make_settings(home, f"sqlite:///{home / 'batch.db'}", oneid_probabilistic=False,
                                 oneid_single_order_receivers=single))
        run_import(rt, small_brand)
        with rt.db.unit_of_work() as s:
            resolve_identities(s, rt.vault, rt.settings)
        _BATCH[key] = _partition(rt)
        rt.db.dispose()
    return _BATCH[key]


def test_single_order_receivers_join_more_when_asked(small_brand: Path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """The option really changes the partition of a generated brand: fewer persons, more pairs joined
    (a single parcel's receiver surname may also split a shared phone, so not only joins)."""
    strict = _batch(small_brand, tmp_path_factory.mktemp("strict"), False)
    loose = _batch(small_brand, tmp_path_factory.mktemp("loose"), True)

    def pairs(partition: set[frozenset[tuple[str, str]]]) -> int:
        return sum(len(g) * (len(g) - 1) // 2 for g in partition)

    assert len(loose) < len(strict) and pairs(loose) > pairs(strict)


@pytest.mark.parametrize("single", [False, True])
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arrival_in_any_order_gives_the_batch_partition(small_brand: Path, tmp_path_factory, data, single) -> None:  # type: ignore[no-untyped-def]
    """Also with single-order receivers (``oneid_single_order_receivers``): the same rule both ways."""
    batch = _batch(small_brand, tmp_path_factory.mktemp("batch"), single)
    # a platform's export arrives as a whole (Tmall's item report is read with its order report)
    units = sorted(p for p in small_brand.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    files = data.draw(st.permutations(units))
    home = tmp_path_factory.mktemp("rt")
    rt = start(make_settings(home, f"sqlite:///{home / 'siyu.db'}", oneid_probabilistic=False,
                             oneid_single_order_receivers=single))
    for f in files:
        stamp = now()
        run_import(rt, f)
        with rt.db.unit_of_work() as s:
            touched = identity_repo.touched_since(s, stamp)
            resolve_profiles(s, rt.vault, rt.settings, touched)
    assert _partition(rt) == batch
    rt.db.dispose()


def _member(openid: str, phone: str | None = None, unionid: str | None = None) -> dict[str, str]:
    out = {"openid": openid, "registered_at": "2026-11-20T10:00:00+08:00"}
    out.update({k: v for k, v in (("phone", phone), ("unionid", unionid)) if v})
    return out


def _person(rt, openid: str) -> int | None:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        return s.scalar(select(ProfilePerson.person_id).select_from(WITH_PERSON).where(Profile.external_id == openid))


def test_api_records_are_resolved_on_arrival_even_concurrently(rt) -> None:  # type: ignore[no-untyped-def]
    """A member sent by the REST API has its person when the answer comes back, and a batch run
    afterwards agrees.

    Concurrently: person 1 has phone P, person 2 unionid U. At the same instant X arrives with P and U
    (merging 2 into 1) and Y with U. Unless resolutions are serialised (PostgreSQL's advisory lock), Y
    resolves against a snapshot where 2 still stands and joins the person X is absorbing."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from conftest import serving
    from siyu.accounts.api_keys import create_api_key
    from siyu.console.app import create_app

    rt.settings.oneid_max_per_channel = 10  # all of it arrives on the mini-program
    with rt.db.unit_of_work() as s:
        _, key = create_api_key(s, "test", ["members:write"])
    auth = {"Authorization": f"Bearer {key}"}

    def post(client: httpx.Client, *records: dict[str, str]) -> None:
        r = client.post("/api/v1/members/batch", json={"records": list(records)})
        assert r.status_code == 200 and r.json()["accepted"] == len(records), r.text

    with serving(create_app(rt)) as url, httpx.Client(base_url=url, headers=auth, timeout=60) as client:
        def send(barrier: threading.Barrier, record: dict[str, str]) -> None:
            with httpx.Client(base_url=url, headers=auth, timeout=60) as c:
                barrier.wait()  # both requests in the same instant
                post(c, record)

        post(client, _member("oRealTime000000000000000A", "13912340001"))
        first = _person(rt, "oRealTime000000000000000A")
        assert first is not None
        post(client, _member("oRealTime000000000000000B", "13912340001"))
        assert _person(rt, "oRealTime000000000000000B") == first
        post(client, _member("oRealTime000000000000000C", "13912340002"))
        assert _person(rt, "oRealTime000000000000000C") not in (None, first)

        for r in range(6):
            phone, union = f"139123500{r:02d}", f"uRealTimeUnion{r:010d}"
            post(client, _member(f"oRaceOne{r:016d}", phone), _member(f"oRaceTwo{r:016d}", unionid=union))
            assert _person(rt, f"oRaceOne{r:016d}") != _person(rt, f"oRaceTwo{r:016d}")
            barrier = threading.Barrier(2)
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda rec, b=barrier: send(b, rec),
                              [_member(f"oRaceX{r:018d}", phone, union), _member(f"oRaceY{r:018d}", unionid=union)]))
            names = (f"oRaceOne{r:016d}", f"oRaceTwo{r:016d}", f"oRaceX{r:018d}", f"oRaceY{r:018d}")
            people = {_person(rt, n) for n in names}
            assert len(people) == 1 and None not in people, (r, people)
    with rt.db.unit_of_work() as s:
        report = resolve_identities(s, rt.vault, rt.settings)
    assert (report.moved_profiles, report.new_persons, report.merged) == (0, 0, 0)


def test_a_resolutions_reads_ask_each_key_once_and_answer_as_the_repository(small_brand: Path, tmp_path: Path,
                                                                           monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt = start(make_settings(tmp_path, f"sqlite:///{tmp_path / 'siyu.db'}", oneid_probabilistic=False))
    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:  # stored matches, as a probabilistic run leaves (this brand is too small)
        ids = sorted(s.scalars(select(Profile.id)))
        identity_repo.replace_matches(s, [{"profile_a": a, "profile_b": a + 7, "match_weight": 9.0, "evidence": "test",
                                           "created_at": now()} for a in ids[:-7:40]])
    asked: list[set[object]] = []

    def counting(fn):  # type: ignore[no-untyped-def]
        def wrapped(session, keys, *rest):  # type: ignore[no-untyped-def]
            asked.append(set(keys))
            return fn(session, keys, *rest)
        return wrapped

    with rt.db.read_only() as s:
        links = identity_repo.node_links(s, ids, JOINING_KINDS)
        idents = sorted({i for _, i, _, _ in links})
        phones = sorted({node.split(":", 1)[1] for _, _, node, _ in links if node.startswith("phone:")})
        cases = [
            ("node_links", "node_links", ids, lambda keys: identity_repo.node_links(s, keys, JOINING_KINDS)),
            ("carriers", "carriers", idents, lambda keys: identity_repo.carriers(s, keys)),
            ("buyers_sending_to", "senders", phones,
             lambda keys: {p for _, p in identity_repo.buyers_sending_to(s, keys)}),
            ("receiver_rows_of", "receivers", ids, lambda keys: identity_repo.receiver_rows_of(s, keys)),
            ("phone_carriers", "phone_carriers", phones, lambda keys: identity_repo.phone_carriers(s, keys)),
            ("match_rows_of", "matches", ids, lambda keys: identity_repo.match_rows_of(s, keys)),
        ]
        reads = Reads(s)
        for repo_name, read_name, keys, direct in cases:
            first, second = keys[: len(keys) // 2], keys[len(keys) // 4:]
            want_first, want_second = direct(first), direct(second)
            assert want_second, repo_name  # the small brand has rows of every kind
            monkeypatch.setattr(identity_repo, repo_name, counting(getattr(identity_repo, repo_name)))
            asked.clear()
            got_first, got_second = getattr(reads, read_name)(first), getattr(reads, read_name)(second)
            assert sorted(got_first) == sorted(want_first) and sorted(got_second) == sorted(want_second), repo_name
            # the second call asks only for the keys the first did not
            assert asked == [set(first), set(second) - set(first)], repo_name
    rt.db.dispose()


def test_an_arrival_during_a_batch_run_waits_for_it_and_keeps_its_person(rt) -> None:  # type: ignore[no-untyped-def]
    """A batch run takes the OneID lock before it reads: a member sent by the API meanwhile is resolved
    after the run commits, so the run's write cannot undo or leave out its person (a rebuild of
    ``profile_persons`` would; the upsert here holds no lock the arrival needs, only the OneID lock
    makes it wait)."""
    import threading

    import httpx

    from conftest import serving
    from siyu.accounts.api_keys import create_api_key
    from siyu.console.app import create_app
    with rt.db.unit_of_work() as s:
        _, key = create_api_key(s, "test", ["members:write"])
    auth = {"Authorization": f"Bearer {key}"}
    with serving(create_app(rt)) as url, httpx.Client(base_url=url, headers=auth, timeout=60) as client:
        r = client.post("/api/v1/members/batch", json={"records": [_member("oBatchRun0000000000000001", "13912360001")]})
        assert r.status_code == 200, r.text
        with rt.db.unit_of_work() as s:  # a profile whose person is gone: the run below moves it
            s.execute(delete(ProfilePerson))
        posted: list[int] = []

        def arrive() -> None:
            with httpx.Client(base_url=url, headers=auth, timeout=60) as c:
                posted.append(c.post("/api/v1/members/batch", json={"records": [
                    _member("oBatchRun0000000000000002", "13912360002")]}).status_code)

        with rt.db.unit_of_work() as s:
            resolve_identities(s, rt.vault, rt.settings)
            arrival = threading.Thread(target=arrive)
            arrival.start()
            arrival.join(1.5)
            waited = arrival.is_alive()  # PostgreSQL: on the OneID lock; SQLite: on the write lock
        arrival.join(60)
    assert waited and posted == [200]
    assert None not in (_person(rt, "oBatchRun0000000000000001"), _person(rt, "oBatchRun0000000000000002"))


def test_reads_together_answer_as_each_read_alone_on_both_databases(rt, small_brand: Path) -> None:  # type: ignore[no-untyped-def]
    """``repository.read_together`` (one UNION ALL, keys bound as an array on PostgreSQL) gives each read
    exactly the rows its own statement gives, and leaves out a read too large for one statement."""
    rt.settings.oneid_probabilistic = False
    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
        ids = sorted(s.scalars(select(Profile.id)))
        identity_repo.replace_matches(s, [{"profile_a": a, "profile_b": a + 7, "match_weight": 9.0, "evidence": "test",
                                           "created_at": now()} for a in ids[:-7:40]])
    with rt.db.read_only() as s:
        some = set(ids[::13][:300])
        links = identity_repo.node_links(s, some, JOINING_KINDS)
        idents = {i for _, i, _, _ in links}
        phones = {node.split(":", 1)[1] for _, _, node, _ in links if node.startswith("phone:")}
        phones |= {node.split(":", 1)[1] for _, node, _, _ in identity_repo.receiver_rows_of(s, some)}
        persons = identity_repo.profile_persons_of(s, some)
        alone = {
            "links": links, "receivers": identity_repo.receiver_rows_of(s, some),
            "matches": identity_repo.match_rows_of(s, some), "carriers": identity_repo.carriers(s, idents),
            "senders": identity_repo.buyers_sending_to(s, phones), "phones": identity_repo.phone_carriers(s, phones),
            "persons": list(zip(*persons.to_pydict().values(), strict=True)),
            "surnames": list(identity_repo.surnames_of(s, some).items()),
            "receiver_surnames": identity_repo.receiver_surnames_of(s, some),
            "genders": list(identity_repo.genders_of(s, some).items()),
            "siblings": identity_repo.siblings_of(s, some)}
        # a person's profiles, each named by every profile of it that was asked: itself among them
        assert {(a, a) for a in some if a in set(persons["profile_id"].to_pylist())} <= set(alone["siblings"])
        assert any(a != b for a, b in alone["siblings"])
        keys = {"carriers": idents, "senders": phones, "phones": phones}
        for name, want in alone.items():
            assert want, name  # the brand has rows of every kind
            got = identity_repo.read_together(s, {name: keys.get(name, some)}, JOINING_KINDS)
            assert sorted(map(tuple, got[name])) == sorted(map(tuple, want)), name
        # all profile-keyed reads of a few profiles at once, as an arrival asks them
        few = set(ids[:5])
        together = identity_repo.read_together(s, {n: few for n in ("links", "receivers", "matches", "persons")},
                                               JOINING_KINDS)
        assert sorted(together["links"]) == sorted(identity_repo.node_links(s, few, JOINING_KINDS))
        assert sorted(together["matches"]) == identity_repo.match_rows_of(s, few)
        # more keys than one statement binds: that read is left to its own chunked statement
        assert identity_repo.read_together(s, {"links": set(ids[:1000]), "genders": few}, JOINING_KINDS).keys() == {"genders"}


def test_an_arrival_with_a_blocked_phone_reads_none_of_its_other_carriers(rt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A walk-in phone on the blocklist joins nobody, so real time does not read who else carries it,
    nor their parcels' buyers (at 10M records, 24,000 profiles read for every arrival touching it); the
    arrival still joins through its other identifiers, as a batch run agrees."""
    from siyu.ingest.intake import accept_batch
    from siyu.models import Identity

    walk_in, union = rt.settings.oneid_blocklist[0], "uWalkInKnown0000000000"
    rt.settings.oneid_max_per_channel = 10  # all of it arrives on the mini-program
    with rt.db.unit_of_work() as s:
        accept_batch(s, rt.vault, "members", [_member(f"oWalkIn{i:018d}", walk_in) for i in range(40)]
                     + [_member("oWalkInKnown000000000000", "13912370001", union)])
        resolve_identities(s, rt.vault, rt.settings)
        blocked = s.scalars(select(Identity.id).where(Identity.bidx == rt.vault.blind_index("phone", walk_in))).one()
    asked: set[int] = set()
    together, alone = identity_repo.read_together, identity_repo.carriers

    def read_together(session, wanted, kinds):  # type: ignore[no-untyped-def]
        asked.update(wanted.get("carriers", ()))
        return together(session, wanted, kinds)

    def carriers(session, keys):  # type: ignore[no-untyped-def]
        asked.update(keys)
        return alone(session, keys)

    monkeypatch.setattr(identity_repo, "read_together", read_together)
    monkeypatch.setattr(identity_repo, "carriers", carriers)
    with rt.db.unit_of_work() as s:
        accept_batch(s, rt.vault, "members", [_member("oWalkInArrival0000000000", walk_in, union)])
        report = resolve_arrivals(s, rt.vault, rt.settings)
    assert asked and blocked not in asked
    assert report.profiles == 2  # the arrival and the member of its unionid, no walk-in carrier
    known = _person(rt, "oWalkInKnown000000000000")
    assert _person(rt, "oWalkInArrival0000000000") == known and known is not None
    with rt.db.unit_of_work() as s:
        again = resolve_identities(s, rt.vault, rt.settings)
    assert (again.moved_profiles, again.new_persons, again.merged) == (0, 0, 0)


def test_new_persons_and_moved_facts_in_few_statements_on_both_databases(rt, small_brand: Path) -> None:  # type: ignore[no-untyped-def]
    """A real-time arrival's person or two (one INSERT … RETURNING on PostgreSQL) have fresh ids in
    ascending order, and its moved profiles' orders and events follow them (one statement there)."""
    import numpy as np

    from siyu.models import Event, Order, Person

    rt.settings.oneid_probabilistic = False
    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    with rt.db.unit_of_work() as s:
        top = s.scalar(select(func.max(Person.id)))
        stamp = now()
        fresh = identity_repo.create_persons(s, 3, stamp)
        assert fresh == sorted(fresh) and len(set(fresh)) == 3 and min(fresh) > top
        assert s.scalar(select(func.count()).select_from(Person).where(Person.id.in_(fresh))) == 3
        buyer = s.execute(select(Order.profile_id).where(Order.profile_id.in_(select(Event.profile_id)))
                          .order_by(Order.profile_id).limit(1)).scalar_one()
        before = dict(s.execute(select(Order.id, Order.person_id).where(Order.profile_id != buyer)).all())
        identity_repo.set_profile_persons(s, np.array([buyer]), np.array([fresh[0]]), of=1)
        identity_repo.refresh_fact_persons(s, {buyer})
    with rt.db.read_only() as s:
        for model in (Order, Event):
            assert set(s.scalars(select(model.person_id).where(model.profile_id == buyer))) == {fresh[0]}, model
        assert dict(s.execute(select(Order.id, Order.person_id).where(Order.profile_id != buyer)).all()) == before
