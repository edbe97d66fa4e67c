"""Batch recomputation: the whole points ledger rebuilt from order history (``loyalty.rebuild``), every
member's orders, completions and refunds replayed in time order through the live booking rules (lots,
pending until the return window closes, year-end expiry, tier multipliers from the tier timeline).

    python benchmarks/bench_recompute.py                       # SQLite, 300,000 members, 1,000,000 orders
    python benchmarks/bench_recompute.py --orders 10000000 --members 3000000 --parallel-only
    python benchmarks/bench_recompute.py --pg postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_recompute.py --smoke                # 1,000 members, 3,000 orders (CI)

Members, orders (85 % completed 2–10 days after payment, 10 % of those partly refunded later, 5 %
refunded in full before completing) are written straight into a fresh database first (not timed).
Timed: reading the history and replaying it, including the reads.

Peer, in the same run and on the same database: one SQL aggregate of net paid per member (points as
floor(net yuan), no tiers, no multipliers, no lots, no expiry) — the set-wise shortcut a batch job
would take, and the floor under any faithful replay.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

START = datetime(2024, 1, 1, 2, 0, tzinfo=UTC)


def seed(rt, members: int, orders: int) -> datetime:  # type: ignore[no-untyped-def]
    """Returns the time the history ends."""
    from sqlalchemy import select

    from siyu.core.bulk import insert_many
    from siyu.models import Channel, Member, Order, Person, Refund, Shop

    rng = random.Random(7)
    span = 2 * 365 * 24 * 60  # two years of minutes
    with rt.db.unit_of_work() as s:
        ch = Channel(code="miniprogram", name_zh="小程序", name_en="Mini-program", kind="own")
        s.add(ch)
        s.flush()
        s.add(Shop(channel_id=ch.id, code="bench", name="bench"))
        s.flush()
        shop = s.scalar(select(Shop.id).where(Shop.code == "bench"))
    step = 200_000
    with Progress(transient=True) as bar:
        task = bar.add_task("seeding", total=members + orders)
        for lo in range(1, members + 1, step):
            ids = range(lo, min(lo + step, members + 1))
            with rt.db.unit_of_work() as s:
                insert_many(s, Person, [{"id": i, "created_at": START, "updated_at": START} for i in ids])
                insert_many(s, Member, [{"id": i, "person_id": i, "card_no": f"B{i:010d}", "joined_at": START,
                                         "tier": "普通会员", "status": "active", "created_at": START,
                                         "updated_at": START} for i in ids])
            bar.advance(task, len(ids))
        for lo in range(1, orders + 1, step):
            rows, refunds = [], []
            for i in range(lo, min(lo + step, orders + 1)):
                paid = START + timedelta(minutes=rng.randrange(span))
                fen = rng.randrange(1_000, 150_000)
                fate = rng.random()
                row = {"id": i, "shop_id": shop, "external_id": f"BO{i:09d}",
                       "person_id": rng.randrange(1, members + 1), "status": "paid", "created_at": paid,
                       "paid_at": paid, "total_fen": fen, "discount_fen": 0, "shipping_fen": 0, "paid_fen": fen,
                       "refunded_fen": 0, "item_count": 1, "imported_at": paid, "updated_at": paid}
                if fate < 0.05:
                    row.update(status="refunded", refunded_fen=fen)
                    refunds.append((i, fen, paid + timedelta(hours=5)))
                elif fate < 0.90:
                    done = paid + timedelta(days=rng.randint(2, 10))
                    row.update(status="completed", completed_at=done)
                    if fate > 0.80:
                        row["refunded_fen"] = fen // 3
                        refunds.append((i, fen // 3, done + timedelta(days=rng.randint(1, 20))))
                rows.append(row)
            with rt.db.unit_of_work() as s:
                insert_many(s, Order, rows)
                insert_many(s, Refund, [{"shop_id": shop, "external_id": f"BR{oid}", "order_external_id": f"BO{oid:09d}",
                                         "order_id": oid, "amount_fen": amt, "status": "success", "requested_at": when,
                                         "completed_at": when, "embedded": False, "updated_at": when}
                                        for oid, amt, when in refunds])
            bar.advance(task, len(rows))
    if rt.db.dialect == "sqlite":  # a database in use keeps its write-ahead log short; seeding left it long
        with rt.db.engine.connect() as con:
            con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return START + timedelta(minutes=span + 60 * 24 * 40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=300_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--pg", help="a PostgreSQL URL whose database is emptied and used")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the parallel run")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--keep", help="a folder for the SQLite database, kept and reused by the next run with it")
    ap.add_argument("--parallel-only", action="store_true",
                    help="skip the one-process run (at 10M orders it alone takes about ten minutes)")
    args = ap.parse_args()
    if args.smoke:
        args.members, args.orders = 1_000, 3_000
    from sqlalchemy import text

    from _fresh import fresh_runtime
    from siyu.loyalty import programme, rebuild

    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.keep or tmp)
        mark = home / "seeded-until.txt"  # a kept database seeded before: replayed again, not seeded again
        if args.keep and mark.exists() and not args.pg:
            from siyu.bootstrap import start
            from siyu.core.config import Settings

            rt = start(Settings(home=home, database_url=f"sqlite:///{home / 'siyu.db'}"))  # type: ignore[call-arg]
            until = datetime.fromisoformat(mark.read_text())
        else:
            home.mkdir(parents=True, exist_ok=True)
            rt = fresh_runtime(home, args.pg)
            until = seed(rt, args.members, args.orders)
            if args.keep:
                mark.write_text(until.isoformat())
        runs = {}
        for workers in [args.workers] if args.parallel_only else sorted({1, args.workers}):
            t = time.perf_counter()
            with rt.db.read_only() as s, Progress(transient=True) as bar:
                task = bar.add_task(f"replaying ({workers} process{'es' if workers > 1 else ''})", total=args.members)
                n, orders, totals = rebuild.replay_all(s, programme.default(), until, slice_size=5000,
                                                       progress=lambda d, total, task=task: bar.update(task, completed=d),
                                                       workers=workers, url=rt.settings.resolved_database_url)
            runs[workers] = (time.perf_counter() - t, totals)
        assert len({(tt.issued, tt.expired, tt.liability) for _, tt in runs.values()}) == 1  # the same ledger
        t = time.perf_counter()
        with rt.db.read_only() as s:
            peer_points = s.execute(text("SELECT SUM(p) FROM (SELECT person_id, SUM((paid_fen - refunded_fen) / 100) AS p "
                                         "FROM orders WHERE status <> 'cancelled' GROUP BY person_id) t")).scalar()
        peer = time.perf_counter() - t
        rt.db.dispose()
    assert n == args.members and orders == args.orders, (n, orders)
    table = Table("measure", "value", title=f"batch recomputation on {rt.db.dialect} "
                  f"({args.members:,} members, {args.orders:,} orders)")
    for workers, (secs, _) in runs.items():
        table.add_row(f"Siyu replay, {workers} process{'es' if workers > 1 else ''}: seconds (reads included)",
                      f"{secs:.1f}")
        table.add_row(f"Siyu replay, {workers} process{'es' if workers > 1 else ''}: orders per second",
                      f"{args.orders / secs:,.0f}")
    table.add_row("points issued / expired / outstanding", f"{totals.issued:,} / {totals.expired:,} / {totals.liability:,}")
    table.add_row("tiers", " · ".join(f"{k} {v:,}" for k, v in totals.tiers.most_common()))
    table.add_row("peer (one SQL aggregate, no rules): seconds", f"{peer:.2f}")
    table.add_row("peer: points (×1, no lots, no expiry)", f"{int(peer_points or 0):,}")
    console.print(table)


if __name__ == "__main__":
    main()
