"""Real-time OneID: one record arriving through the REST API, resolved before its transaction commits.

    python benchmarks/bench_realtime.py --home siyu-data      # a prepared brand (`siyu demo --no-serve`)
    python benchmarks/bench_realtime.py --members 20000       # generates and imports one first
    python benchmarks/bench_realtime.py --smoke               # 1,500 members, 20 arrivals (CI)
    python benchmarks/bench_realtime.py --pg postgresql://postgres@127.0.0.1:5432/test   # on PostgreSQL

The brand's database is copied first (SQLite) so the brand itself is not changed. Each arrival is a
mini-program member (a new openid) carrying the phone of a random existing profile, written by
``accept_batch`` and resolved by ``resolve_arrivals`` in one unit of work; the resolution is timed on its
own and with the write. Then the arrival is checked: it must have joined the phone's person, or be a
person of its own where the phone cannot join (a walk-in phone, a name conflict).

Peer, in the same run: one batch re-resolution of the whole brand (``resolve_identities``), which is what
a brand without a real-time path would run to place the same record.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table


def runtime(args: argparse.Namespace, work: Path):  # type: ignore[no-untyped-def]
    """A runtime on a copy of ``--home``'s database, or on a demo brand prepared here."""
    from siyu.bootstrap import start
    from siyu.cli.demo import prepare_demo
    from siyu.core.config import Settings

    home = work / "home"
    home.mkdir()
    if args.pg:  # the demo brand prepared in the emptied PostgreSQL database
        from _fresh import fresh_runtime

        rt = fresh_runtime(home, args.pg)
        prepare_demo(rt, args.members, 7)
        return rt
    if args.home:
        shutil.copy(Path(args.home) / "siyu.db", home / "siyu.db")
        shutil.copy(Path(args.home) / "secret.key", home / "secret.key")
    rt = start(Settings(home=home, database_url=f"sqlite:///{home / 'siyu.db'}"))  # type: ignore[call-arg]
    if not args.home:
        prepare_demo(rt, args.members, 7)
    return rt


def lone_contacts(rt, n: int) -> list[tuple[dict[str, str], int]]:  # type: ignore[no-untyped-def]
    """Up to ``n`` guides' WeCom contacts that no nickname match joins, each as what a new member named by
    the contact's nickname, registering at its guide an hour before the contact was added, would carry
    (``--guided``: the contact rule then matches them on arrival), with the contact's person."""
    from siyu.identity import repository as repo
    from siyu.identity.profiles import NICKNAME_CHANNELS
    from siyu.ingest.repository import guide_map

    with rt.db.read_only() as s:
        codes = {i: c for c, i in guide_map(s).items()}
        rows = repo.guided_contacts(s, NICKNAME_CHANNELS)
        genders = repo.genders_of(s, [r.id for r in rows])
        matched = {p for a, b, _ in repo.match_rows_of(s, [r.id for r in rows]) for p in (a, b)}
        chosen = [r for r in random.Random(7).sample(rows, len(rows))
                  if r.id not in matched and r.id in genders and r.first_seen_at is not None][:n]
        known = repo.profile_persons_of(s, [r.id for r in chosen])
        persons = dict(zip(known["profile_id"].to_pylist(), known["person_id"].to_pylist(), strict=True))
        return [({"name": rt.vault.decrypt(r.name_enc, "profile.name"), "guide_code": codes[r.guide_id],
                  "gender": genders[r.id], "registered_at": (r.first_seen_at - timedelta(hours=1)).isoformat()},
                 persons[r.id]) for r in chosen]


def time_arrivals(rt, phones: list[tuple[str, int]], n: int, profile: str | None = None,  # type: ignore[no-untyped-def]
                  quiet: bool = False, guided: list[tuple[dict[str, str], int]] | None = None
                  ) -> tuple[list[float], list[float], int, int]:
    """``n`` arrivals, each a new mini-program member with one of ``phones`` (phone, its person), or with
    ``guided`` instead one of those members (no phone; what it carries, its contact's person): write and
    resolution times in ms, and how many joined the phone's (the contact's) person or stayed alone."""
    from siyu.identity.lookup import find_person
    from siyu.identity.realtime import resolve_arrivals
    from siyu.ingest.intake import accept_batch

    # new openids on every call: a second call reusing the first's would update those profiles (a second
    # phone on a known member, which merges two persons) instead of timing new arrivals
    rng = random.Random()
    write_ms, resolve_ms, joined, alone = [], [], 0, 0
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    for i in track(range(n), description="arrivals", disable=quiet):
        phone, person = phones[i % len(phones)]
        record = {"openid": f"oBench{rng.randrange(10**15):015d}x{i}", "phone": phone,
                  "registered_at": "2026-11-20T10:00:00+08:00"}
        if guided:  # a member without a phone, whose person is its contact's once matched
            extra, person = guided[i % len(guided)]
            record = {"openid": record["openid"], **extra}
        with rt.db.unit_of_work() as s:
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            res = accept_batch(s, rt.vault, "members", [record])
            t1 = time.perf_counter()
            report = resolve_arrivals(s, rt.vault, rt.settings)
            t2 = time.perf_counter()
            if profiler:
                profiler.disable()
            assert res.accepted == 1 and report.profiles >= 1
            write_ms.append((t1 - t0) * 1000)
            resolve_ms.append((t2 - t1) * 1000)
            now_person = find_person(s, rt.vault, record["openid"])
            joined += now_person == person
            alone += now_person != person
    if profiler:
        profiler.dump_stats(profile)
    return write_ms, resolve_ms, joined, alone


def contact_matches(rt) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """The stored nickname matches (each has a guide's contact on one side)."""
    from siyu.analytics.oneid_contacts import EVIDENCE
    from siyu.identity import repository as repo
    from siyu.identity.profiles import NICKNAME_CHANNELS

    with rt.db.read_only() as s:
        contacts = [r.id for r in repo.guided_contacts(s, NICKNAME_CHANNELS)]
        return {(a, b) for a, b, e in repo.match_rows_of(s, contacts) if e == EVIDENCE}


def quantile(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", help="SIYU_HOME of a prepared brand (its siyu.db and secret.key are copied)")
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--n", type=int, default=200, help="arrivals")
    ap.add_argument("--pg", help="a PostgreSQL URL whose database is emptied and used (the demo brand is prepared in it)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--profile", help="write a cProfile of the arrivals to this file")
    ap.add_argument("--guided", action="store_true",
                    help="each arrival a member without a phone, at a guide, named as one of its lone WeCom contacts")
    args = ap.parse_args()
    if args.pg and args.home:
        ap.error("--home copies a SQLite brand; with --pg the brand is prepared in PostgreSQL")
    if args.smoke:
        args.members, args.n, args.home = 1500, 20, None
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("SIYU_SECRET_KEY", None)
        rt = runtime(args, Path(tmp))
        from siyu.identity.lookup import phone_sample
        from siyu.identity.service import resolve_identities

        with rt.db.read_only() as s:
            phones = phone_sample(s, rt.vault, args.n)
        guided = lone_contacts(rt, args.n) if args.guided else None
        before = contact_matches(rt)
        write_ms, resolve_ms, joined, alone = time_arrivals(rt, phones, args.n, args.profile, guided=guided)
        on_arrival = contact_matches(rt)
        t0 = time.perf_counter()
        with rt.db.unit_of_work() as s:
            batch = resolve_identities(s, rt.vault, rt.settings)
        peer = time.perf_counter() - t0
        assert batch.moved_profiles == 0 and batch.new_persons == 0, "real time and batch disagree"
        assert contact_matches(rt) == on_arrival, "the batch's contact matches are not those made on arrival"

    total = [a + b for a, b in zip(write_ms, resolve_ms, strict=True)]
    t = Table(title=f"real-time OneID, {args.n} arrivals, {batch.profiles:,} profiles")
    for c in ("what", "median ms", "p90 ms", "max ms"):
        t.add_column(c)
    for name, xs in (("resolve on arrival", resolve_ms), ("write + resolve", total)):
        t.add_row(name, f"{statistics.median(xs):.1f}", f"{quantile(xs, 0.9):.1f}", f"{max(xs):.1f}")
    t.add_row("peer: batch re-resolution of the brand", f"{peer * 1000:.0f}", "", "")
    console.print(t)
    console.print(f"joined the {'contact' if guided else 'phone'}'s person: {joined}; a person of its own: {alone}; "
                  "a batch run afterwards moved nothing")
    if guided is not None:
        console.print(f"guides' contacts matched on arrival: {len(on_arrival - before)} new, {len(before - on_arrival)} "
                      f"ended; {len(guided)} contacts without one named (one an identifier joins to a named profile is not matched); "
                      "the batch run afterwards found the same")
    print(f"seconds: realtime median {statistics.median(resolve_ms) / 1000:.4f} batch {peer:.2f}")


if __name__ == "__main__":
    main()
