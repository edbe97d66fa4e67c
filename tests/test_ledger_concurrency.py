"""Eight processes redeem from one member at once on PostgreSQL: the member never spends more than they
had, every request gets a definite answer (done, replayed or refused for want of points), and the same
request sent by two processes is done once."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime

from siyu.core.db import Database
from siyu.loyalty import ledger, programme
from test_ledger_properties import new_member

AT = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
WORKERS, REQUESTS, POINTS = 8, 25, 7


def _redeem_many(url: str, member: int, worker: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    db = Database(url)
    answers = []
    for i in range(REQUESTS):
        # every third request is also sent by the next worker: one key, two processes
        key = f"conc-{member}-{i}-{worker // 2 if i % 3 == 0 else worker}"
        try:
            with db.unit_of_work() as s:
                got = ledger.redeem(s, member, POINTS, key=key, reason="兑换礼品", source=("gift", "G1"), at=AT)
            answers.append((key, "replayed" if got["replayed"] else "done"))
        except ledger.InsufficientPoints:
            answers.append((key, "refused"))
        except Exception as exc:
            answers.append((key, f"error: {type(exc).__name__}: {exc}"))
    db.dispose()
    out.put(answers)


def _in_processes(target, url: str, member: int) -> list:  # type: ignore[no-untyped-def, type-arg]
    """``target(url, member, worker, queue)`` in WORKERS spawned processes at once; every answer."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, member, w, out)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    answers = [a for _ in procs for a in out.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
    return answers


def test_eight_processes_never_overspend(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_settings
    from siyu.bootstrap import start

    rt = start(make_settings(tmp_path / "home", pg_url))
    member = new_member(rt)
    start_points = 500  # room for 71 redemptions of 7; the workers ask for up to 8 × 25
    with rt.db.unit_of_work() as s:
        ledger.award(s, programme.default(), member, start_points, key=f"conc-seed-{member}", reason="注册",
                     source=("register", str(member)), at=AT)
    answers = _in_processes(_redeem_many, pg_url, member)
    errors = [a for a in answers if a[1].startswith("error")]
    assert errors == []
    done = {k for k, a in answers if a == "done"}
    assert len(done) == len([a for _, a in answers if a == "done"]), "a key was done twice"
    with rt.db.unit_of_work() as s:
        bal = ledger.balance(s, programme.default(), member, AT)
        assert ledger.check(s) == {k: [] for k in ledger.check(s)}
    assert bal.available == start_points - POINTS * len(done) >= 0
    assert bal.available < POINTS  # refusals came only when the points had run out
    replayed = {k for k, a in answers if a == "replayed"}
    assert replayed <= done and replayed
    rt.db.dispose()


def _checkouts(url: str, member: int, worker: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from siyu.loyalty import pricing
    from siyu.models import Member

    db = Database(url)
    answers = []
    for i in range(CHECKOUTS):
        order = f"till-{worker // 2 if i % 2 == 0 else worker}-{i}"  # every other order sent by two tills
        try:
            with db.unit_of_work() as s:
                got = pricing.use(s, programme.default(), s.get(Member, member), order, "10.00", at=AT)
            answers.append((order, got["basis"], got["replayed"]))
        except Exception as exc:
            answers.append((order, f"error: {type(exc).__name__}: {exc}", False))
    db.dispose()
    out.put(answers)


CHECKOUTS = 6


def test_eight_tills_never_exceed_an_identity_limit(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """员工价 allows 10 orders a month: eight tills checking the same employee out at once give it to
    exactly 10 orders, each order is priced once, and every till gets an answer."""
    from conftest import make_settings
    from siyu.bootstrap import start
    from siyu.loyalty import pricing
    from siyu.loyalty import repository as repo

    rt = start(make_settings(tmp_path / "home", pg_url))
    member = new_member(rt)
    with rt.db.unit_of_work() as s:
        assert pricing.grant(s, programme.default(), member, "employee", by="HR", at=AT)
    answers = _in_processes(_checkouts, pg_url, member)
    assert [a for a in answers if a[1].startswith("error")] == []
    basis: dict[str, set[str]] = {}
    for order, b, _ in answers:
        basis.setdefault(order, set()).add(b)
    assert all(len(b) == 1 for b in basis.values()), "an order was priced twice, differently"
    assert sum(1 for b in basis.values() if b == {"employee"}) == 10
    assert sum(1 for _, _, replayed in answers if replayed) == len(answers) - len(basis)  # the second till replays
    with rt.db.read_only() as s:
        start_, end = pricing.period(programme.default().pricing.identities["employee"].limit, AT)  # type: ignore[arg-type]
        assert repo.price_used(s, member, "employee", start_, end) == (10, 10 * 1000)
    rt.db.dispose()
