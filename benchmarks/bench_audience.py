"""Audience counts: expressions of five conditions over N persons, on Siyu's bitmap index
(``audiences.index``), beside a DuckDB scan of the same conditions over one wide table, in the same run.

    python benchmarks/bench_audience.py                 # 10,000,000 persons, 200 expressions
    python benchmarks/bench_audience.py --smoke         # 100,000 persons, 20 expressions (CI)

Persons get five tags (会员等级, 活跃状态, 偏好颜色, 城市等级, 性别) and two numeric fields (points,
spend_90d), drawn at random with skewed shares. Each expression is

    会员等级 in (A, B) and points > P and not 活跃状态 = S and 偏好颜色 in (C1, C2) and spend_90d >= X

with random values. Every count is checked equal between the two engines. Timed: the count only (the
index is built once per tag run, the DuckDB table loaded once; both reported).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import duckdb
import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

TAGS = {
    "会员等级": (["普通会员", "黄金", "钻石", "星耀", "王者"], [0.6, 0.2, 0.12, 0.06, 0.02]),
    "活跃状态": (["常购", "低频", "将流失", "沉睡", "流失"], [0.15, 0.35, 0.15, 0.15, 0.2]),
    "偏好颜色": (["黑色", "白色", "灰色", "藏青", "红色", "黄色", "蓝色", "绿色", "粉色", "紫色", "卡其", "米白"],
                 [0.2, 0.15, 0.12, 0.08, 0.08, 0.05, 0.08, 0.05, 0.06, 0.04, 0.05, 0.04]),
    "城市等级": (["一线", "新一线", "二线", "三线及以下"], [0.2, 0.3, 0.25, 0.25]),
    "性别": (["男", "女"], [0.45, 0.55]),
}
COLUMN = {"会员等级": "tier", "活跃状态": "state", "偏好颜色": "colour", "城市等级": "city_tier", "性别": "gender"}


def population(n: int, rng: np.random.Generator) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(tag rows, numeric facts, the same as one wide table)."""
    ids = np.arange(1, n + 1, dtype=np.int64)
    wide: dict[str, object] = {"person_id": ids}
    parts = []
    for tag, (values, shares) in TAGS.items():
        codes = rng.choice(len(values), size=n, p=shares)
        col = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))
        wide[COLUMN[tag]] = col.cast(pa.string())
        # dictionary-encoded like a Parquet tag file reads back: no string per row
        every = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([tag]))
        parts.append(pa.table({"person_id": ids, "tag": every, "value": col}))
    points = rng.gamma(1.2, 900, n).astype(np.int64)
    spend = np.where(rng.random(n) < 0.4, 0, rng.gamma(1.5, 30000, n)).astype(np.int64)  # fen
    wide["points"], wide["spend_90d_fen"] = points, spend
    facts = pa.table({"person_id": ids, "points": points, "spend_90d_fen": spend})
    return pa.concat_tables(parts), facts, pa.table(wide)


def expressions(k: int, rng: random.Random) -> list[tuple[str, str]]:
    """(audience text, the same as SQL over the wide table)."""
    out = []
    for _ in range(k):
        tiers = rng.sample(TAGS["会员等级"][0], 2)
        state = rng.choice(TAGS["活跃状态"][0])
        colours = rng.sample(TAGS["偏好颜色"][0], 2)
        p, x = rng.choice([200, 500, 1000, 2000]), rng.choice([0, 100, 300, 800])
        text = (f"会员等级 in ({tiers[0]}, {tiers[1]}) and points > {p} and not 活跃状态 = {state} "
                f"and 偏好颜色 in ({colours[0]}, {colours[1]}) and spend_90d >= {x}")
        sql = (f"SELECT count(*) FROM people WHERE tier IN ('{tiers[0]}', '{tiers[1]}') AND points > {p} "  # noqa: S608
               f"AND NOT state = '{state}' AND colour IN ('{colours[0]}', '{colours[1]}') "
               f"AND spend_90d_fen >= {x * 100}")
        out.append((text, sql))
    return out


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.persons, args.queries = 100_000, 20
    from siyu.audiences.expression import parse
    from siyu.audiences.index import AudienceIndex

    console = Console()
    tags, facts, wide = population(args.persons, np.random.default_rng(3))
    t = time.perf_counter()
    index = AudienceIndex(tags, facts)
    build = time.perf_counter() - t
    con = duckdb.connect(":memory:")
    t = time.perf_counter()
    con.register("people_arrow", wide)
    con.execute("CREATE TABLE people AS SELECT * FROM people_arrow")
    load = time.perf_counter() - t
    ours, peer = [], []
    for text, sql in expressions(args.queries, random.Random(5)):
        node = parse(text)
        t = time.perf_counter()
        got = index.count(node)
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        want = con.execute(sql).fetchone()[0]  # type: ignore[index]
        peer.append((time.perf_counter() - t) * 1000)
        assert got == want, (text, got, want)
    table = Table("measure", "Siyu bitmaps", "DuckDB scan (peer)",
                  title=f"audience counts, 5 conditions, {args.persons:,} persons, {args.queries} expressions")
    table.add_row("p50 ms", f"{statistics.median(ours):.2f}", f"{statistics.median(peer):.2f}")
    table.add_row("p95 ms", f"{pct(ours, 0.95):.2f}", f"{pct(peer, 0.95):.2f}")
    table.add_row("max ms", f"{max(ours):.2f}", f"{max(peer):.2f}")
    table.add_row("set-up seconds (index build / table load)", f"{build:.1f}", f"{load:.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
