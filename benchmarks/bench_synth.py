"""Generator speed: 20,000 and 1,000,000 members (issue target: 1M members / ~10M lines in < 3 min).

    python benchmarks/bench_synth.py                # 20k and 1M
    python benchmarks/bench_synth.py --smoke        # 2k only (CI)

Peer: Faker alone, the usual way synthetic customer data is made in Python, generating the same number of
(name, phone, address) rows one by one — it is what the generator's vectorised NumPy/Arrow path replaces.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from siyu.synth.generate import DEFAULT_END, generate


def faker_rows(n: int) -> float:
    from faker import Faker

    fake = Faker("zh_CN")
    Faker.seed(1)
    t = time.perf_counter()
    for _ in range(n):
        fake.name(), fake.phone_number(), fake.address()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    sizes = [2_000] if args.smoke else [20_000, 1_000_000]
    table = Table("members", "orders", "order lines", "seconds", "peak RSS GB", "Faker: name+phone+address rows/s")
    for n in sizes:
        out = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
        try:
            t = time.perf_counter()
            generate(n, 7, out / "brand", DEFAULT_END)
            secs = time.perf_counter() - t
            import json

            m = json.loads((out / "brand" / "_manifest.json").read_text())
        finally:
            shutil.rmtree(out, ignore_errors=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        peer_n = 20_000
        peer = peer_n / faker_rows(peer_n)
        table.add_row(f"{n:,}", f"{m['orders']:,}", f"{m['order_lines']:,}", f"{secs:.1f}", f"{rss:.1f}",
                      f"{peer:,.0f} (→ {m['orders'] / peer:,.0f} s for one row per order)")
    Console().print(table)
    Console().print(f"{platform.node()} · {platform.processor() or platform.machine()} · Python {platform.python_version()}")


if __name__ == "__main__":
    main()
