"""Real-time accrual: orders arriving in batches (as the REST API or a platform push delivers them), each
batch's points booked for its members in one transaction by ``accrue_arrived``, the path the API runs.

    python benchmarks/bench_accrual.py                         # SQLite, 20,000 members, 100,000 orders
    python benchmarks/bench_accrual.py --pg postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_accrual.py --smoke                 # 300 members, 2,000 orders (CI)

Members and orders are written straight into a fresh database first (not timed). Then the orders
"arrive" ``--batch`` at a time, in payment order. Each order books a pending lot with its multipliers
(member day, birthday month, tier), under the member's account lock, in the ledger's three accounts.
Afterwards the caches must equal the ledger and the points must equal an independent sum.

Peer, in the same run and on the same database: a mutable points counter (``UPDATE balance = balance +
points`` per order, no ledger, no lots, no idempotency) — what loyalty systems that lose points do.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def seed(rt, members: int, orders: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Persons, members, one shop and ``orders`` paid orders spread over the members; returns order ids
    in payment order."""
    from sqlalchemy import select

    from siyu.core.bulk import insert_many
    from siyu.models import Channel, Member, Order, Person, Shop

    rng = random.Random(5)
    with rt.db.unit_of_work() as s:
        ch = Channel(code="miniprogram", name_zh="小程序", name_en="Mini-program", kind="own")
        s.add(ch)
        s.flush()
        s.add(Shop(channel_id=ch.id, code="bench", name="bench"))
        s.flush()
        shop = s.scalar(select(Shop.id).where(Shop.code == "bench"))
        insert_many(s, Person, [{"id": i, "created_at": START, "updated_at": START} for i in range(1, members + 1)])
        insert_many(s, Member, [{"id": i, "person_id": i, "card_no": f"B{i:010d}", "joined_at": START, "tier": "普通会员",
                                 "status": "active", "created_at": START, "updated_at": START}
                                for i in range(1, members + 1)])
        rows = []
        for i in range(1, orders + 1):
            paid = START + timedelta(minutes=i * 3)
            fen = rng.randrange(1_000, 150_000)
            rows.append({"id": i, "shop_id": shop, "external_id": f"BO{i:09d}", "person_id": rng.randrange(1, members + 1),
                         "status": "paid", "created_at": paid, "paid_at": paid, "total_fen": fen, "discount_fen": 0,
                         "shipping_fen": 0, "paid_fen": fen, "refunded_fen": 0, "item_count": 1, "imported_at": paid,
                         "updated_at": paid})
        insert_many(s, Order, rows)
    return [r["id"] for r in rows]


def accrue_in_batches(rt, order_ids: list[int], batch: int, at: datetime) -> float:  # type: ignore[no-untyped-def]
    from siyu.identity.arrivals import note_orders
    from siyu.loyalty import programme
    from siyu.loyalty.accrual import accrue_arrived

    prog = programme.default()
    t = time.perf_counter()
    with Progress(transient=True) as bar:
        task = bar.add_task("accrual", total=len(order_ids))
        for i in range(0, len(order_ids), batch):
            part = order_ids[i:i + batch]
            with rt.db.unit_of_work() as s:
                note_orders(s, part)
                accrue_arrived(s, prog, at)
            bar.advance(task, len(part))
    return time.perf_counter() - t


def counter_peer(rt, order_ids: list[int], batch: int) -> float:  # type: ignore[no-untyped-def]
    """The mutable counter: per order, read its amount and add to the member's balance."""
    from sqlalchemy import text

    with rt.db.unit_of_work() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS bench_counter (member_id INTEGER PRIMARY KEY, balance BIGINT)"))
        s.execute(text("INSERT INTO bench_counter SELECT id, 0 FROM members"))
    t = time.perf_counter()
    for i in range(0, len(order_ids), batch):
        with rt.db.unit_of_work() as s:
            for oid in order_ids[i:i + batch]:
                person, fen = s.execute(text("SELECT person_id, paid_fen FROM orders WHERE id = :i"), {"i": oid}).one()
                s.execute(text("UPDATE bench_counter SET balance = balance + :p WHERE member_id = :m"),
                          {"p": fen // 100, "m": person})
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=100, help="orders per arriving batch (one transaction)")
    ap.add_argument("--pg", help="a PostgreSQL URL whose database is emptied and used")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.members, args.orders = 300, 2_000
    from sqlalchemy import func, select

    from _fresh import fresh_runtime
    from siyu.loyalty import ledger
    from siyu.models import PointsEntry

    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        rt = fresh_runtime(Path(tmp), args.pg)
        ids = seed(rt, args.members, args.orders)
        at = START + timedelta(minutes=3 * args.orders + 1)
        ours = accrue_in_batches(rt, ids, args.batch, at)
        peer = counter_peer(rt, ids, args.batch)
        with rt.db.read_only() as s:
            problems = {k: len(v) for k, v in ledger.check(s).items() if v}
            booked = s.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.kind == "pending"))
            entries = s.scalar(select(func.count()).select_from(PointsEntry))
        assert not problems, problems
        rt.db.dispose()
    table = Table("measure", "value", title=f"real-time accrual on {rt.db.dialect} "
                  f"({args.members:,} members, {args.orders:,} orders, batches of {args.batch})")
    table.add_row("Siyu ledger: seconds", f"{ours:.2f}")
    table.add_row("Siyu ledger: orders per second", f"{args.orders / ours:,.0f}")
    table.add_row("peer (mutable counter): seconds", f"{peer:.2f}")
    table.add_row("peer: orders per second", f"{args.orders / peer:,.0f}")
    table.add_row("ledger entries / points booked", f"{entries:,} / {booked:,}")
    console.print(table)


if __name__ == "__main__":
    main()
