"""The default tag pack at scale: every tag of ``tags/pack.yaml`` over a lake of about 1,000,000 persons and
10,000,000 order lines, on DuckDB (Siyu's default engine), and the same compiled definitions on
PostgreSQL beside it in the same run.

    python benchmarks/bench_tags.py                      # a 20,000-member brand copied to 10,000,000 lines
    python benchmarks/bench_tags.py --pg postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_tags.py --smoke              # 1,500 members, 3 copies (CI)

The lake is made realistic by making a real brand first: the generator's brand is imported as the demo
does (``prepare_demo``: identities, members, points, events, the lake export; not timed). Its lake is then
copied with every id shifted (persons, profiles, orders, lines, refunds, members, events) until it holds
the lines asked for; the catalogue, shops and channels are shared. Facts are written as one part per copy,
as the lake's incremental export writes them.

Timed on DuckDB: attaching the lake (de-duplicating views) and the whole pack (``run_pack``: the person
facts, the purchased items, the events, and every tag). Also timed, for scale: an RFM pass alone (the
person facts and the R, F, M and RFM tags), and the issue's yardstick for the machine, a plain RFM query over
the lake's orders (the issue: "an RFM pass alone takes under 2 s here"). On PostgreSQL: loading the same tables (COPY; reported, not
part of the pack's time) and the whole pack. Each tag value's count and the sum of its person ids are
compared between the two engines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

# Which id space each id column is in: a copy shifts every id of a space by the same amount.
SPACES = {
    "persons": {"id": "person", "merged_into_id": "person"},
    "profiles": {"id": "profile", "person_id": "person"},
    "orders": {"id": "order", "profile_id": "profile", "person_id": "person"},
    "order_items": {"id": "item", "order_id": "order"},
    "refunds": {"id": "refund", "order_id": "order"},
    "members": {"id": "member", "person_id": "person", "referrer_id": "member"},
    "points": {"member_id": "member"},
    "events": {"id": "event", "profile_id": "profile", "person_id": "person"},
    "identity_links": {"profile_id": "profile"},
    "manual_tags": {"person_id": "person"},
}
FACTS = ("orders", "order_items", "refunds", "events")
SHARED = ("channels", "shops", "stores", "regions", "guides", "products", "skus")
RFM = ("R分", "F分", "M分", "RFM分层")


def base_lake(home: Path, members: int) -> Path:
    from siyu.bootstrap import start
    from siyu.cli.demo import prepare_demo
    from siyu.core.config import Settings

    rt = start(Settings(home=home, database_url=f"sqlite:///{home / 'siyu.db'}"))  # type: ignore[call-arg]
    prepare_demo(rt, members, 7)
    rt.db.dispose()
    return rt.settings.lake_dir


def copy_lake(src: Path, dst: Path, target_lines: int) -> dict[str, int]:
    """The source lake copied with shifted ids until it holds ``target_lines`` order lines."""
    from siyu.analytics.engine import connect

    with connect(src) as con:
        tables = {name: con.sql(f"SELECT * EXCLUDE (filename) FROM {name}" if name in FACTS  # noqa: S608
                                else f"SELECT * FROM {name}").to_arrow_table()  # noqa: S608
                  for name in (*SPACES, *SHARED)}
    span: dict[str, int] = {}
    for name, cols in SPACES.items():
        for col, space in cols.items():
            top = pc.max(tables[name].column(col)).as_py() if tables[name].num_rows else 0
            span[space] = max(span.get(space, 0), (top or 0) + 1)
    copies = max(1, -(-target_lines // max(tables["order_items"].num_rows, 1)))
    dst.mkdir(parents=True)
    snapshots: dict[str, list[pa.Table]] = {name: [] for name in SPACES if name not in FACTS}
    for k in range(copies):
        for name, cols in SPACES.items():
            t = tables[name]
            for col, space in cols.items():
                shifted = pc.add(t.column(col), pa.scalar(k * span[space], pa.int64()))
                t = t.set_column(t.schema.get_field_index(col), col, shifted)
            if name in FACTS:
                (dst / name).mkdir(exist_ok=True)
                pq.write_table(t, dst / name / f"part-{k:06d}.parquet", compression="zstd")
            else:
                snapshots[name].append(t)
    for name, parts in snapshots.items():
        pq.write_table(pa.concat_tables(parts), dst / f"{name}.parquet", compression="zstd")
    for name in SHARED:
        pq.write_table(tables[name], dst / f"{name}.parquet", compression="zstd")
    return {"copies": copies, "persons": tables["persons"].num_rows * copies,
            "members": tables["members"].num_rows * copies, "orders": tables["orders"].num_rows * copies,
            "lines": tables["order_items"].num_rows * copies, "events": tables["events"].num_rows * copies}


def enrol(lake: Path, at_least: int) -> int:
    """Persons of the lake who are not members join (普通会员, from their earliest profile's time, no points)
    until it holds ``at_least`` members: the generator's brand has about one member per 14 order lines,
    so 10M lines come with 730k members, and the issue asks for 1,000,000. Returns the members added."""
    from siyu.analytics.engine import connect

    with connect(lake) as con:
        have = con.execute("SELECT count(*) FROM members").fetchall()[0][0]
        if have >= at_least:
            return 0
        new = con.sql(f"""
            SELECT (SELECT max(id) FROM members) + row_number() OVER (ORDER BY p.id) AS id, p.id AS person_id,
              'BX' || lpad(CAST(p.id AS VARCHAR), 10, '0') AS card_no, f.seen AS joined_at,
              CAST(NULL AS BIGINT) AS join_channel_id, CAST(NULL AS BIGINT) AS home_store_id,
              CAST(NULL AS BIGINT) AS guide_id, CAST(NULL AS BIGINT) AS referrer_id,
              CAST(NULL AS TIMESTAMPTZ) AS referred_at, '普通会员' AS tier, f.seen AS tier_since, 'active' AS status,
              f.seen AS created_at, f.seen AS updated_at
            FROM persons p
            JOIN (SELECT person_id, min(coalesce(registered_at, first_seen_at, created_at)) AS seen FROM profiles
                  WHERE person_id IS NOT NULL GROUP BY person_id) f ON f.person_id = p.id
            WHERE p.merged_into_id IS NULL AND p.id NOT IN (SELECT person_id FROM members WHERE person_id IS NOT NULL)
            ORDER BY p.id LIMIT {at_least - have}""").to_arrow_table()  # noqa: S608 - a number
        members = con.sql("SELECT * FROM members").to_arrow_table()
    pq.write_table(pa.concat_tables([members, new.cast(members.schema)]), lake / "members.parquet",
                   compression="zstd")
    return new.num_rows


def lake_size(lake: Path) -> dict[str, int]:
    from siyu.analytics.engine import connect

    with connect(lake) as con:
        n = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]  # noqa: S608 - our names
             for t in ("persons", "members", "orders", "order_items", "events")}
    return {"copies": len(list((lake / "orders").glob("*.parquet"))), "persons": n["persons"],
            "members": n["members"], "orders": n["orders"], "lines": n["order_items"], "events": n["events"]}


def summary(rows: pa.Table) -> dict[tuple[str, str], tuple[int, int]]:
    """(tag, value) → (persons, sum of person ids): equal sums and counts on both engines."""
    from siyu.analytics.engine import connect

    with connect(None) as con:
        con.register("r", rows)
        return {(t, v): (n, s) for t, v, n, s in con.execute(
            "SELECT tag, value, count(*), sum(person_id)::BIGINT FROM r GROUP BY ALL").fetchall()}


# The yardstick for the machine ("an RFM pass alone takes under 2 s here"): recency, frequency and
# monetary per person straight from the lake's orders, scored in fifths; no de-duplication, no rules.
YARDSTICK_SQL = """
WITH per AS (
  SELECT p.person_id, max(coalesce(o.paid_at, o.created_at)) AS last, count(*) AS f, sum(o.paid_fen - o.refunded_fen) AS m
  FROM read_parquet({orders}) o JOIN profiles p ON p.id = o.profile_id
  WHERE o.paid_fen - o.refunded_fen > 0 AND p.person_id IS NOT NULL GROUP BY p.person_id)
SELECT count(*), sum(r + f + m) FROM (
  SELECT ntile(5) OVER (ORDER BY last) AS r, ntile(5) OVER (ORDER BY f) AS f, ntile(5) OVER (ORDER BY m) AS m FROM per)
"""


def yardstick(lake: Path) -> float:
    from siyu.analytics.engine import connect

    files = "[" + ", ".join(f"'{f}'" for f in sorted((lake / "orders").glob("*.parquet"))) + "]"
    with connect(lake) as con:
        t = time.perf_counter()
        con.execute(YARDSTICK_SQL.format(orders=files)).fetchall()
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=20_000, help="members of the generated brand copied")
    ap.add_argument("--lines", type=int, default=10_000_000, help="order lines the copied lake holds")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test",
                    help="a PostgreSQL server to measure beside (a database is created there and dropped)")
    ap.add_argument("--no-pg", action="store_true", help="DuckDB only")
    ap.add_argument("--smoke", action="store_true", help="1,500 members copied 3 times (CI)")
    ap.add_argument("--lake", type=Path, help="reuse a lake a previous run kept (--keep) instead of making one")
    ap.add_argument("--keep", type=Path, help="keep the copied lake in this directory")
    ap.add_argument("--members-at-least", type=int, help="enrol persons who are not members until the lake "
                    "holds this many members (the lake's members file is rewritten)")
    args = ap.parse_args()
    if args.smoke:
        args.members, args.lines = 1_500, 1
    console = Console()

    from siyu.analytics.engine import connect
    from siyu.analytics.tag_compiler import lake_into, prepare_lake, run_on, run_pack
    from siyu.analytics.tag_rules import Pack
    from siyu.core.clock import now
    from siyu.tags.definitions import default

    pack = default()
    rfm = Pack(version=pack.version, name="RFM", tags=[t for t in pack.tags if t.name in RFM])
    with tempfile.TemporaryDirectory() as tmp:
        if args.lake:
            lake, made = args.lake, 0.0
            size = lake_size(lake)
        else:
            with console.status(f"Generating and importing a {args.members:,}-member brand (not timed)…"):
                t = time.perf_counter()
                src = base_lake(Path(tmp) / "base", args.members)
                made = time.perf_counter() - t
            with console.status("Copying its lake (not timed)…"):
                lake = args.keep or Path(tmp) / "lake"
                if args.smoke:
                    args.lines = 3 * pq.ParquetDataset(str(src / "order_items")).read(columns=["id"]).num_rows
                size = copy_lake(src, lake, args.lines)
        if args.members_at_least:
            added = enrol(lake, args.members_at_least)
            size = lake_size(lake)
            console.print(f"Enrolled {added:,} persons as members (not timed)")
        console.print(f"Brand made in {made:.0f} s; lake: {size['copies']} copies, {size['persons']:,} persons, "
                      f"{size['members']:,} members, {size['orders']:,} orders, {size['lines']:,} lines, "
                      f"{size['events']:,} events")
        as_of = now()
        with console.status("DuckDB: the whole pack…"):
            t = time.perf_counter()
            with connect(lake) as con:
                attach = time.perf_counter() - t
                rows = run_pack(con, pack, as_of)
            duck = time.perf_counter() - t
            t = time.perf_counter()
            with connect(lake) as con:
                run_pack(con, rfm, as_of)
            rfm_s = time.perf_counter() - t
        plain = yardstick(lake)
        results = [("DuckDB", "whole pack", duck, rows.num_rows), ("DuckDB", "RFM pass alone", rfm_s, None),
                   ("DuckDB", "yardstick: a plain RFM query", plain, None)]
        console.print(f"DuckDB: the whole pack in {duck:.2f} s ({rows.num_rows:,} person tags), RFM alone {rfm_s:.2f} s")
        pg_note = ""
        if not args.no_pg:
            pg_note = pg_run(args.pg, lake, pack, as_of, rows, results, console, lake_into, prepare_lake, run_on)

    table = Table("engine", "what", "seconds", "person tags", "persons/s",
                  title=f"Default pack ({len(pack.tags)} tags) · {size['persons']:,} persons · {size['lines']:,} lines")
    for engine, what, secs, n in results:
        table.add_row(engine, what, f"{secs:.2f}", f"{n:,}" if n is not None else "",
                      f"{size['persons'] / secs:,.0f}")
    console.print(table)
    console.print(f"DuckDB: attaching the lake took {attach:.2f} s of the pack's time. {pg_note}")
    # the targets were set on a machine where a plain RFM pass took under 2 s: this run's pace
    console.print(f"Yardstick: a plain RFM query took {plain:.2f} s here; the whole pack took {duck / plain:.1f} times it "
                  f"(the target, 30 s beside under 2 s, is at least 15 times).")


def pg_run(url, lake, pack, as_of, rows, results, console, lake_into, prepare_lake, run_on) -> str:  # type: ignore[no-untyped-def]
    """The same definitions on PostgreSQL: a new database, the lake loaded, the pack run, the results
    compared; the database is dropped afterwards."""
    import uuid

    import psycopg

    from siyu.analytics.engine import connect
    from siyu.analytics.tables import PgTables

    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        return f"PostgreSQL not measured: {exc}".strip()
    name = f"bench_tags_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{url.rsplit('/', 1)[0]}/{name}", autocommit=True) as conn:
            tables = PgTables(conn)
            with console.status("PostgreSQL: loading the lake (COPY)…"):
                t = time.perf_counter()
                with connect(lake) as con:
                    prepare_lake(con)
                    lake_into(tables, con)
                load = time.perf_counter() - t
            with console.status("PostgreSQL: the whole pack…"):
                t = time.perf_counter()
                got = run_on(tables, pack, as_of)
                secs = time.perf_counter() - t
        results.append(("PostgreSQL", "whole pack", secs, got.num_rows))
        same = summary(got) == summary(rows)
        if not same:
            raise SystemExit("PostgreSQL and DuckDB disagree on the tags: a parity bug")
        return f"PostgreSQL: loading took {load:.1f} s (not in its time); every tag value equal to DuckDB's."
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
