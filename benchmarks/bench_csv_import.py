"""Canonical CSV order lines (the POS sales format) through ``siyu import``, on SQLite or PostgreSQL.

    python benchmarks/bench_csv_import.py --lines 1000000          # SQLite
    python benchmarks/bench_csv_import.py --lines 1000000 --pg     # PostgreSQL at 127.0.0.1:5432
    python benchmarks/bench_csv_import.py --smoke                  # 20,000 lines (CI)

The file: receipts of 1–4 lines in 50 stores, 1 in 3 with a member card, written once with NumPy.
Issue target: 10,000,000 lines in under 3 minutes on each database. Peer, same run: Python's csv module
reading the same file and sqlite3 ``executemany`` inserting every line as-is into one table (no
validation, no orders, no people) — the floor of a row-by-row Python loader.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

HEADER = "receipt_no,line_no,store_code,guide_code,card_no,sold_at,sku_code,quantity,unit_price,paid_amount\n"


def write_lines(path: Path, n: int, seed: int = 5) -> int:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=n // 2 + 10)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    receipts = np.repeat(np.arange(len(sizes)), sizes)[:n]
    line_no = np.concatenate([np.arange(1, s + 1) for s in sizes])[:n]
    store = rng.integers(1, 51, size=len(sizes))[receipts]
    card = rng.integers(0, max(n // 6, 10), size=len(sizes))
    has_card = rng.random(len(sizes)) < 1 / 3
    when = 1_700_000_000 + np.sort(rng.integers(0, 60_000_000, size=len(sizes)))[receipts]
    qty = rng.integers(1, 3, size=n)
    price = rng.integers(59, 999, size=n) * 100
    paid = (price * qty * rng.uniform(0.6, 1.0, size=n)).astype(np.int64)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for i in range(n):
            r = receipts[i]
            t = time.gmtime(int(when[i]) + 8 * 3600)
            card_no = f"C{card[r]:09d}" if has_card[r] else ""
            fh.write(f"R{store[i]:03d}{r:010d},{line_no[i]},S{store[i]:04d},G{store[i]:04d}01,"
                     f"{card_no},{time.strftime('%Y-%m-%d %H:%M:%S', t)},"
                     f"SKU{int(price[i]) // 100:05d},{qty[i]},{price[i] // 100}.00,{paid[i] // 100}.{paid[i] % 100:02d}\n")
    return n


def siyu_import(path: Path, pg: bool) -> tuple[float, str]:
    home = Path(tempfile.mkdtemp(prefix="siyu-bench-csv-"))
    env = {**os.environ, "SIYU_HOME": str(home), "COLUMNS": "200"}
    name = None
    if pg:
        import psycopg

        name = f"siyu_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        env["SIYU_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    subprocess.run([sys.executable, "-m", "siyu.cli.main", "db", "upgrade"], env=env, check=True,
                   capture_output=True)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "siyu.cli.main", "import", str(path)], env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    if name:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(home, ignore_errors=True)
    return seconds, out.stdout


def peer(path: Path) -> float:
    d = Path(tempfile.mkdtemp(prefix="siyu-peer-csv-"))
    t = time.perf_counter()
    con = sqlite3.connect(d / "peer.db")
    con.execute("CREATE TABLE lines (receipt_no, line_no, store_code, guide_code, card_no, sold_at, sku_code, "
                "quantity, unit_price, paid_amount, PRIMARY KEY (receipt_no, line_no))")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        con.executemany("INSERT OR IGNORE INTO lines VALUES (?,?,?,?,?,?,?,?,?,?)", reader)
    con.commit()
    con.close()
    seconds = time.perf_counter() - t
    shutil.rmtree(d, ignore_errors=True)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--file", type=Path, help="reuse this generated file (written there if missing)")
    args = ap.parse_args()
    n = 20_000 if args.smoke else args.lines
    console = Console()
    d = Path(tempfile.mkdtemp(prefix="siyu-csv-"))
    f = args.file or d / "pos_sales.csv"
    if not f.exists():
        t = time.perf_counter()
        write_lines(f, n)
        console.print(f"wrote {n:,} lines in {time.perf_counter() - t:.1f} s")
    n = sum(1 for _ in open(f, "rb")) - 1
    s_sec, summary = siyu_import(f, args.pg)
    p_sec = peer(f)
    table = Table("loader", "lines", "seconds", "lines/s", "10M lines at this rate",
                  title=f"canonical CSV order lines, {'PostgreSQL' if args.pg else 'SQLite'}")
    for who, sec in ((f"siyu import ({'PostgreSQL' if args.pg else 'SQLite'})", s_sec),
                     ("peer: csv + sqlite3 executemany", p_sec)):
        table.add_row(who, f"{n:,}", f"{sec:.1f}", f"{n / sec:,.0f}", f"{10_000_000 / (n / sec):,.0f} s")
    console.print(table)
    for line in summary.strip().splitlines()[-8:]:
        console.print(line)
    took = dict(re.findall(r"(\w+) ([0-9.]+) s", next(x for x in summary.splitlines() if x.startswith("took:"))))
    console.print(f"import phase {took['import']} s ({n / float(took['import']):,.0f} lines/s), then OneID "
                  f"{took['oneid']} s, loyalty {took['loyalty']} s, lake {took['lake']} s, tags {took['tags']} s")
    print(f"seconds: siyu {s_sec:.1f} (import {took['import']}) peer {p_sec:.1f}")
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
