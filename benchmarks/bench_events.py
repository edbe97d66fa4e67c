"""Events per second through the Segment-compatible ``/v1/batch`` on one server process (loopback).

    python benchmarks/bench_events.py                  # 200,000 events, SQLite (issue target: >= 10,000/s)
    python benchmarks/bench_events.py --pg             # the same on PostgreSQL (127.0.0.1:5432)
    python benchmarks/bench_events.py --smoke          # 4,000 events (CI)

``siyu serve`` runs in its own process on a fresh SIYU_HOME; a load generator in this process sends
pre-built gzipped batches of 100 messages (track / page / identify from 1 user in 20 per event, as a
busy mini-program would) over keep-alive connections from several threads, then checks that the
database holds exactly one row per message. Peer, in the same run and with the same load: a bare
FastAPI receiver that inserts each message's raw JSON into SQLite (benchmarks/_peer_events.py).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited before it listened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def bodies(n: int, batch: int) -> list[bytes]:
    users = max(n // 20, 1)
    out, msgs = [], []
    for i in range(n):
        u = i % users
        base = {"messageId": str(uuid.UUID(int=i + 1)), "userId": f"user-{u}", "anonymousId": f"anon-{u}",
                "timestamp": "2026-11-20T08:00:00.000Z", "context": {"library": {"name": "bench"}}}
        kind = i % 10
        if kind == 0:
            msgs.append({**base, "type": "identify", "traits": {"phone": f"139{u:08d}", "plan": "gold"}})
        elif kind < 4:
            msgs.append({**base, "type": "page", "name": "商品详情", "properties": {"url": f"/p/{i % 500}"}})
        else:
            msgs.append({**base, "type": "track", "event": "Product Viewed",
                         "properties": {"sku": f"SKU-{i % 500}", "price": 199.0}})
        if len(msgs) == batch:
            out.append(gzip.compress(orjson.dumps({"batch": msgs, "sentAt": "2026-11-20T08:00:01.000Z"}), 1))
            msgs = []
    if msgs:
        out.append(gzip.compress(orjson.dumps({"batch": msgs, "sentAt": "2026-11-20T08:00:01.000Z"}), 1))
    return out


def load(port: int, payloads: list[bytes], key: str, threads: int, progress: Progress) -> float:
    import base64

    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    task = progress.add_task(f"POST /v1/batch ×{len(payloads):,}", total=len(payloads))
    nxt = iter(range(len(payloads)))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                break
            con.request("POST", "/v1/batch", body=payloads[i], headers={
                "Authorization": auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
            r = con.getresponse()
            body = r.read()
            if r.status != 200:
                failures.append(f"{r.status} {body[:200]!r}")
            progress.advance(task)
        con.close()

    t = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return time.perf_counter() - t


def run_siyu(n_payloads: list[bytes], pg: bool, threads: int, progress: Progress) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp(prefix="siyu-bench-events-"))
    env = {**os.environ, "SIYU_HOME": str(home)}
    if pg:
        import psycopg

        name = f"siyu_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        env["SIYU_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    siyu = [sys.executable, "-m", "siyu.cli.main"]
    out = subprocess.run([*siyu, "apikey", "create", "bench", "-s", "events:write"], env=env, check=True,
                         capture_output=True, text=True).stdout
    key = next(line.strip() for line in out.splitlines() if line.strip().startswith("sy_"))
    port = _port()
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([*siyu, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        _wait(port, proc)
        seconds = load(port, n_payloads, key, threads, progress)
    except RuntimeError:
        log.flush()
        text = (home / "server.log").read_text(errors="replace")
        print("\n".join(line[:400] for line in text.splitlines() if "Error" in line or "DETAIL" in line)[-4000:])
        raise
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    if pg:
        import psycopg

        with psycopg.connect(env["SIYU_DATABASE_URL"]) as c:
            stored = c.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with sqlite3.connect(home / "siyu.db") as c:
            stored = c.execute("SELECT count(*) FROM events").fetchone()[0]
    shutil.rmtree(home, ignore_errors=True)
    return seconds, stored


def run_peer(payloads: list[bytes], threads: int, progress: Progress) -> tuple[float, int]:
    d = Path(tempfile.mkdtemp(prefix="siyu-peer-events-"))
    port = _port()
    env = {**os.environ, "PEER_DB": str(d / "peer.db"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "_peer_events:app", "--port", str(port),
                             "--log-level", "warning"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait(port, proc)
        seconds = load(port, payloads, "peer", threads, progress)
    finally:
        proc.terminate()
        proc.wait(30)
    with sqlite3.connect(d / "peer.db") as c:
        stored = c.execute("SELECT count(*) FROM events").fetchone()[0]
    shutil.rmtree(d, ignore_errors=True)
    return seconds, stored


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--pg", action="store_true", help="Siyu on PostgreSQL instead of SQLite")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    n = 4_000 if args.smoke else args.events
    console = Console()
    payloads = bodies(n, args.batch)
    table = Table("receiver", "events", "stored", "seconds", "events/s", title=f"/v1/batch, {args.batch} per batch")
    with Progress(console=console) as progress:
        s_sec, s_stored = run_siyu(payloads, args.pg, args.threads, progress)
        p_sec, p_stored = run_peer(payloads, args.threads, progress)
    table.add_row(f"Siyu ({'PostgreSQL' if args.pg else 'SQLite'})", f"{n:,}", f"{s_stored:,}", f"{s_sec:.2f}",
                  f"{n / s_sec:,.0f}")
    table.add_row("peer: bare FastAPI + sqlite3", f"{n:,}", f"{p_stored:,}", f"{p_sec:.2f}", f"{n / p_sec:,.0f}")
    console.print(table)
    print(f"seconds: siyu {s_sec:.2f} peer {p_sec:.2f}")
    if s_stored != n:
        raise SystemExit(f"Siyu stored {s_stored:,} events for {n:,} sent")


if __name__ == "__main__":
    main()
