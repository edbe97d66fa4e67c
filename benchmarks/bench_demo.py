"""The demo pipeline end to end (what ``siyu demo --no-serve`` does) at 20,000 members, step by step.

    python benchmarks/bench_demo.py              # 20k members (issue target: < 60 s)
    python benchmarks/bench_demo.py --smoke      # 2k members (CI)

Peer: writing rows through the ORM's unit of work (``session.add_all``), what a straightforward
SQLAlchemy app does, against Siyu's bulk path (``siyu.core.bulk.insert_many``): the same 50,000 order rows
into two fresh SQLite databases, in the same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def orm_vs_bulk(n: int = 50_000) -> tuple[float, float]:
    from datetime import UTC, datetime, timedelta

    from siyu.core.bulk import insert_many
    from siyu.core.db import Database
    from siyu.migrations import upgrade
    from siyu.models import Channel, Order, Shop

    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"shop_id": 1, "external_id": f"O{i}", "status": "completed", "created_at": base + timedelta(seconds=i),
             "paid_at": base + timedelta(seconds=i), "paid_fen": 10_000 + i, "total_fen": 10_000 + i,
             "imported_at": base, "updated_at": base} for i in range(n)]
    out = []
    for how in ("orm", "bulk"):
        d = Path(tempfile.mkdtemp(prefix="siyu-peer-"))
        url = f"sqlite:///{d / 'peer.db'}"
        upgrade(url)
        db = Database(url)
        with db.unit_of_work() as s:
            s.add(Channel(id=1, code="pos", name_zh="门店", name_en="Stores", kind="offline"))
            s.add(Shop(id=1, channel_id=1, code="S", name="S"))
        t = time.perf_counter()
        with db.unit_of_work() as s:
            if how == "orm":
                s.add_all(Order(**r) for r in rows)
            else:
                insert_many(s, Order, rows)
        out.append(time.perf_counter() - t)
        db.dispose()
        shutil.rmtree(d, ignore_errors=True)
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--members", type=int, default=None)
    args = ap.parse_args()
    members = args.members or (2_000 if args.smoke else 20_000)
    gc.set_threshold(200_000, 50, 100)  # as ``siyu`` itself does (siyu.cli.main)
    home = Path(tempfile.mkdtemp(prefix="siyu-demo-bench-"))
    os.environ["SIYU_HOME"] = str(home)
    os.environ.pop("SIYU_DATABASE_URL", None)
    try:
        from siyu.bootstrap import start
        from siyu.cli.demo import prepare_demo

        t = time.perf_counter()
        rt = start()
        timings = prepare_demo(rt, members, 7)
        total = time.perf_counter() - t
    finally:
        shutil.rmtree(home, ignore_errors=True)
    table = Table("step", "seconds", title=f"demo preparation, {members:,} members")
    for k, v in timings.items():
        table.add_row(k, f"{v:.1f}")
    table.add_row("total (incl. migrations)", f"{total:.1f}")
    Console().print(table)
    orm, bulk = orm_vs_bulk(5_000 if args.smoke else 50_000)
    n = 5_000 if args.smoke else 50_000
    Console().print(f"peer, {n:,} order rows into SQLite: ORM add_all {orm:.2f} s · Siyu bulk insert {bulk:.2f} s "
                    f"({orm / bulk:.1f}× faster)")


if __name__ == "__main__":
    main()
