"""The ledger rebuilt from history equals the ledger the live path built, entry for entry; a simulation
under new rules reports what a real run under them then books.

A random brand history (orders paid, completed, refunded in part or whole, an order claimed from
another platform, daily check-ins, redemptions, nightly runs) is delivered through the REST API and the
member API, each at the time it happens (the clock set to it). Then ``rebuild.recompute`` replays the
same history in memory and compares.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import _empty, frozen_clock, make_settings
from siyu.accounts.api_keys import create_api_key
from siyu.bootstrap import start
from siyu.cli.importer import run_import
from siyu.console.app import create_app
from siyu.core import clock
from siyu.loyalty import ledger, programme, rebuild, versions
from siyu.loyalty.points import award_order_points
from siyu.models import Member, PointsAccount
from test_loyalty_oneid import order, pipeline, write_jsonl

START = datetime(2024, 12, 1, 2, 0, tzinfo=UTC)
END = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # the 20th, 12:00 Beijing
MEMBERS = [f"o{c * 20}" for c in "ABCD"]
VISITOR = "o" + "V" * 20


@pytest.fixture
def at_now() -> Iterator[list[datetime]]:
    with frozen_clock(START) as t:
        yield t


def _iso(t: datetime) -> str:
    return t.astimezone(clock.SHANGHAI).isoformat()


def history(seed: int) -> list[tuple[datetime, str, Any]]:
    """(when, what, detail) in time order; every time distinct."""
    rng = random.Random(seed)
    used: set[datetime] = set()

    def moment(lo: datetime, hi: datetime) -> datetime:
        while True:
            t = lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds())))
            if t not in used:
                used.add(t)
                return t

    events: list[tuple[datetime, str, Any]] = []
    n = 0
    for card, openid in enumerate(MEMBERS + [VISITOR]):
        for _ in range(rng.randint(4, 9) if openid != VISITOR else 1):
            n += 1
            no = f"MP-{n}"
            paid = moment(START + timedelta(days=2), END - timedelta(days=20))
            amount = rng.choice([59, 99, 168, 299, 520, 888, 1299, 2999])
            events.append((paid, "order", (no, openid, amount, "paid", paid, None)))
            fate = rng.random()
            done = moment(paid + timedelta(days=2), paid + timedelta(days=12))
            if fate < 0.15:  # refunded in full before it completed
                events.append((moment(paid + timedelta(hours=1), paid + timedelta(days=1)), "refund",
                               (f"RF-{n}", no, amount)))
                continue
            if fate < 0.85:
                events.append((done, "order", (no, openid, amount, "completed", paid, done)))
            if 0.6 < fate < 0.85:  # a part refunded after it completed, inside or after the return window
                events.append((moment(done, done + timedelta(days=20)), "refund", (f"RF-{n}", no, amount // 3)))
        if openid == VISITOR:
            continue
        for _ in range(rng.randint(3, 8)):  # check-ins
            events.append((moment(START + timedelta(days=3), END), "checkin", f"LT{card:010d}"))
        for _ in range(rng.randint(2, 5)):  # redemptions: inside the window (the 20th from 10:00 Beijing)
            month = START + timedelta(days=rng.randrange(30, 700))
            lo = month.replace(day=20, hour=3, minute=0, second=0)
            events.append((moment(lo, lo + timedelta(days=5)), "redeem",
                           (f"LT{card:010d}", rng.choice(["LOTTERY", "GIFT-TOWEL", "COUPON-20"]))))
    # 推荐: member 1 was referred by member 0, member 3 by member 2 (their later spend counts for the
    # referrer's tier under a referral qualification)
    events.append((moment(START + timedelta(days=2), START + timedelta(days=200)), "refer", ("LT0000000001", "LT0000000000")))
    events.append((moment(START + timedelta(days=2), START + timedelta(days=400)), "refer", ("LT0000000003", "LT0000000002")))
    visitor_paid = next(t for t, what, d in events if what == "order" and d[1] == VISITOR)
    events.append((moment(visitor_paid + timedelta(days=1), END), "claim", ("LT0000000000", "MP-" + str(n))))
    for _ in range(6):  # nightly catch-ups and batch runs: when the books are caught up must not matter
        events.append((moment(START + timedelta(days=5), END), rng.choice(["catch_up", "batch"]), None))
    return sorted(events, key=lambda e: e[0])


def _brand(rt, tmp_path: Path, at_now: list[datetime]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    at_now[0] = START
    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": openid, "phone": f"1391234{i:04d}", "member_no": f"LT{i:010d}", "registered_at": _iso(START),
         "birthday": f"1990-{i * 3 + 1:02d}-15"} for i, openid in enumerate(MEMBERS)])
    run_import(rt, tmp_path / "members.jsonl")
    pipeline(rt)
    with rt.db.unit_of_work() as s:
        _, member_key = create_api_key(s, "mini-program", ["loyalty:read", "loyalty:write"])
        _, ingest = create_api_key(s, "shop backend", ["orders:write", "refunds:write"])
    return {"member": member_key, "ingest": ingest}


def deliver(rt, tmp_path: Path, at_now: list[datetime], events: list[tuple[datetime, str, Any]],  # type: ignore[no-untyped-def]
            skip: set[int] = frozenset(), rules: str | None = None) -> set[int]:  # type: ignore[assignment]
    """Each event at its time (under ``rules`` when given); returns the redemptions refused (too few
    points), which leave no trace."""
    refused = set()
    keys = _brand(rt, tmp_path, at_now)
    if rules is not None:
        with rt.db.unit_of_work() as s:
            versions.record(s, rules, actor="test", at=START)
    client = TestClient(create_app(rt))
    ingest = {"Authorization": f"Bearer {keys['ingest']}"}
    member = {"Authorization": f"Bearer {keys['member']}"}
    for i, (t, what, d) in enumerate(events):
        if i in skip:
            continue
        at_now[0] = t
        if what == "order":
            no, openid, amount, status, paid, done = d
            body = order(no, openid, f"{amount}.00", _iso(paid), status)
            if done is not None:  # the same order again, now complete
                body["completed_at"] = _iso(done)
            r = client.post("/api/v1/orders/batch", json={"records": [body]}, headers=ingest)
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()
        elif what == "refund":
            ref, no, amount = d
            r = client.post("/api/v1/refunds/batch", headers=ingest, json={"records": [
                {"refund_no": ref, "order_no": no, "amount": f"{amount}.00", "status": "success",
                 "requested_at": _iso(t - timedelta(minutes=30)), "completed_at": _iso(t)}]})
            assert r.status_code == 200, r.json()
        elif what == "checkin":
            assert client.post(f"/api/v1/loyalty/members/{d}/checkins", headers=member).status_code == 200
        elif what == "redeem":
            card, reward = d
            r = client.post(f"/api/v1/loyalty/members/{card}/redemptions", json={"reward": reward},
                            headers={**member, "Idempotency-Key": f"k{i}"})
            assert r.status_code in (200, 409), r.json()  # 409: too few points (nothing changes)
            if r.status_code == 409:
                refused.add(i)
        elif what == "refer":
            card, referrer = d
            r = client.post(f"/api/v1/loyalty/members/{card}/referrer", json={"referrer": referrer}, headers=member)
            assert r.status_code == 200, r.json()
        elif what == "claim":
            card, no = d
            r = client.post(f"/api/v1/loyalty/members/{card}/claims", json={"channel": "miniprogram", "order_no": no},
                            headers=member)
            assert r.status_code == 200, r.json()
        elif what == "catch_up":
            with rt.db.unit_of_work() as s:
                ledger.catch_up_all(s, t)
        else:
            with rt.db.unit_of_work() as s:
                award_order_points(s, versions.active(s), t)
    at_now[0] = END
    pipeline(rt)
    return refused


def _referral() -> str:
    """The default programme, version 3, with tiers by the spend of the members one referred."""
    data = yaml.safe_load(programme.DEFAULT.read_text(encoding="utf-8"))
    data["version"] = 3
    data["qualification"]["basis"] = "referral"
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.parametrize(("seed", "basis"), [(1, "spend"), (2, "spend"), (4, "referral")])
def test_the_batch_ledger_equals_the_live_one(rt, tmp_path: Path, at_now, seed: int, basis: str) -> None:  # type: ignore[no-untyped-def]
    events = history(seed)
    deliver(rt, tmp_path, at_now, events, rules=_referral() if basis == "referral" else None)
    with rt.db.read_only() as s:
        rules = versions.active(s)
        rep = rebuild.recompute(s, rules, END)
        kinds = Counter(what for _, what, _ in events)
    assert rep.members == 4 and rep.left_out == 0
    assert rep.differences == [] and rep.equal == 4, rep.differences
    with rt.db.read_only() as s:  # a year on, nothing booked since: what fell due is compared as due
        later = rebuild.recompute(s, rules, END + timedelta(days=400))
        # in two processes, a slice of two members each: the same answer
        parallel = rebuild.recompute(s, rules, END, slice_size=2, workers=2, url=rt.settings.resolved_database_url)
    assert later.differences == [] and later.equal == 4, later.differences
    assert (parallel.equal, parallel.entries, parallel.differences) == (4, rep.entries, [])
    assert rep.entries > 4 * kinds["order"] // 5  # it rebuilt something real
    if basis == "referral":  # the referrers' tiers came from their referees' spend
        with rt.db.read_only() as s:
            tiers_now = dict(s.execute(select(Member.card_no, Member.tier)).all())
        assert tiers_now["LT0000000000"] != "普通会员" and tiers_now["LT0000000001"] == "普通会员"
    # the comparison can fail: another rule (Wednesday ×3 instead of ×2) gives another ledger
    other = rules.model_copy(deep=True)
    other.points.multipliers.member_day = other.points.multipliers.member_day + 1
    with rt.db.read_only() as s:
        assert rebuild.recompute(s, other, END).differing > 0


def _richer() -> str:
    """The default programme, version 3: member day ×3, check-in 10 points, 黄金 from ¥800."""
    data = yaml.safe_load(programme.DEFAULT.read_text(encoding="utf-8"))
    data["version"] = 3
    data["points"]["multipliers"]["member_day"] = 3
    data["activities"]["checkin"] = 10
    data["tiers"][1]["min_spend"] = 800
    return yaml.safe_dump(data, allow_unicode=True)


def test_a_simulation_reports_what_a_real_run_books(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    events = history(3)
    refused = deliver(rt, tmp_path, at_now, events)
    richer = _richer()
    with rt.db.read_only() as s:
        sim = rebuild.simulate(s, versions.parse(richer), versions.active(s), END)
        live = s.execute(select(func.sum(PointsAccount.available), func.sum(PointsAccount.pending))).one()
    assert (sim.current.available, sim.current.pending) == tuple(live)  # the current rules: the ledger itself
    assert sim.candidate.issued > sim.current.issued and sim.members == 4
    with rt.db.read_only() as s:
        twice = rebuild.simulate(s, versions.parse(richer), versions.active(s), END, slice_size=2, workers=2,
                                 url=rt.settings.resolved_database_url)
    assert (twice.candidate, twice.current, twice.migration) == (sim.candidate, sim.current, sim.migration)

    # the same history again, from the start, with the new programme in force
    if rt.db.dialect == "postgresql":
        _empty(rt)
    else:
        rt = start(make_settings(tmp_path / "again", f"sqlite:///{tmp_path / 'again.db'}"))
    with rt.db.unit_of_work() as s:
        versions.ensure_recorded(s)
        versions.record(s, richer, actor="运营 王敏", note="会员日三倍")
    # the members make the requests they made (a request refused the first time left no trace to replay)
    again = deliver(rt, tmp_path, at_now, events, skip=refused)
    assert len(again) == sim.candidate.refused  # the simulation said how many the members could not afford
    with rt.db.read_only() as s:
        got = s.execute(select(func.sum(PointsAccount.available), func.sum(PointsAccount.pending),
                               func.sum(PointsAccount.debt))).one()
        tiers_now = Counter(dict(s.execute(select(Member.tier, func.count()).where(Member.status == "active")
                                           .group_by(Member.tier)).all()))
        recorded = versions.history(s)
    assert (sim.candidate.available, sim.candidate.pending, -sim.candidate.owed) == tuple(int(x or 0) for x in got)
    assert sim.candidate.tiers == tiers_now
    assert [(v.version, v.actor) for v in recorded] == [(2, "siyu"), (3, "运营 王敏")]
