"""Deterministic OneID at scale: ``resolve_identities`` over N identity records, against networkx.

    python benchmarks/bench_oneid.py                   # 10,000,000 identity records (issue target: < 60 s)
    python benchmarks/bench_oneid.py --links 2000000
    python benchmarks/bench_oneid.py --smoke           # 100,000 (CI)
    SIYU_DATABASE_URL=postgresql://…/empty_db python benchmarks/bench_oneid.py --no-peer --realtime 200

An identity record is one (profile, identifier) link. The data, written once with NumPy straight into a
fresh SQLite database through the column loader: persons with 1–3 profiles over seven channels, each
profile its own platform id, 80 % of profiles the person's phone, WeChat profiles the person's unionid,
2 % of persons sharing their phone with another person (a family), and 1 profile in 200 carrying the
store's walk-in phone 13800000000. Siyu's figure is the whole service call: reading profiles and
links, components in DuckDB, stable person ids, writing persons and profile moves. Also timed: Siyu's
resolution alone on the links in memory (the components and the stable-id plan, nothing read or
written), which is what the peers do.

Peer, same run and same links: networkx ``connected_components`` over a graph of profile and
identifier nodes, the plain approach; it has no super-node guard, so the walk-in phone joins everyone
who carries it. Both partitions are scored against the generated truth (pairwise precision and recall).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table


def generate(n_links: int, seed: int = 3) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """profiles(id, channel_id, external_id), links(profile_id, kind, value), truth person per profile."""
    rng = np.random.default_rng(seed)
    n_profiles = int(n_links / 2.09)  # about 2.09 links a profile (below)
    person = np.sort(rng.integers(0, int(n_profiles / 1.33), n_profiles))
    channel = rng.integers(1, 8, n_profiles)
    ids = np.arange(1, n_profiles + 1)
    kinds, values, owners = [np.full(n_profiles, "platform_id")], [ids.astype(str)], [ids]
    family = rng.random(person.max() + 1) < 0.02  # shares the phone of the person before it
    phone_owner = np.where(family, np.maximum(np.arange(person.max() + 1) - 1, 0), np.arange(person.max() + 1))
    has_phone = rng.random(n_profiles) < 0.8
    kinds.append(np.full(has_phone.sum(), "phone"))
    values.append((13_000_000_000 + phone_owner[person[has_phone]] * 7).astype(str))
    owners.append(ids[has_phone])
    wechat = channel <= 2
    kinds.append(np.full(wechat.sum(), "wechat_unionid"))
    values.append(np.char.add("o", person[wechat].astype(str)))
    owners.append(ids[wechat])
    walk_in = rng.random(n_profiles) < 0.005
    kinds.append(np.full(walk_in.sum(), "phone"))
    values.append(np.full(walk_in.sum(), "13800000000"))
    owners.append(ids[walk_in])
    profiles = pa.table({"id": ids, "channel_id": channel, "external_id": ids.astype(str)})
    links = pa.table({"profile_id": np.concatenate(owners), "kind": np.concatenate(kinds),
                      "value": np.concatenate(values)})
    return profiles, links, person


def load(rt, profiles: pa.Table, links: pa.Table) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from sqlalchemy import text

    from siyu.core.columns import load as load_columns
    from siyu.ingest.service import Importer, after_bulk_write
    from siyu.models import Identity, Profile, ProfileIdentity

    stamp = datetime.now(UTC)
    with rt.db.unit_of_work() as s:
        Importer(s, rt.vault)  # creates the channels
        load_columns(s, Profile, profiles, {"created_at": stamp, "updated_at": stamp})
        nodes = pc.binary_join_element_wise(links["kind"], links["value"], ":")
        uniq, index = np.unique(nodes.to_numpy(zero_copy_only=False), return_inverse=True)
        kind = [u.split(":", 1)[0] for u in uniq]
        # the blind index of a phone as the vault computes it, so the blocklist applies
        bidx = [rt.vault.blind_index(k, u.split(":", 1)[1]) for k, u in zip(kind, uniq, strict=True)]
        load_columns(s, Identity, pa.table({"id": np.arange(1, len(uniq) + 1), "kind": kind, "bidx": bidx}),
                     {"created_at": stamp})
        load_columns(s, ProfileIdentity, pa.table({"profile_id": links["profile_id"], "identity_id": index + 1}),
                     {"created_at": stamp})
        if s.get_bind().dialect.name == "postgresql":
            # the ids above were given, not drawn: the sequences must start past them, or the first
            # real-time arrival's profile collides with profile 1
            for table in ("profiles", "identities"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))  # noqa: S608
        after_bulk_write(s)  # as an import does (PostgreSQL's statistics): 3.5 s a look-up without them


def pair_scores(labels: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    from siyu.analytics.engine import connect
    from siyu.analytics.evaluate import pair_scores as scores

    keys = pa.array(np.arange(len(labels)).astype(str))
    with connect() as con:
        sc = scores(con, pa.table({"key": keys, "cluster": pa.array(labels.astype(str))}),
                    pa.table({"key": keys, "cluster": pa.array(truth.astype(str))}))
    return sc.precision, sc.recall


def siyu(links: pa.Table, profiles: pa.Table, realtime: int = 0) -> tuple[float, np.ndarray, list[float]]:
    from siyu.bootstrap import start
    from siyu.core.config import Settings
    from siyu.identity.service import resolve_identities
    from siyu.models import ProfilePerson

    home = Path(tempfile.mkdtemp(prefix="siyu-bench-oneid-"))
    rt = start(Settings(home=home, _env_file=None, oneid_probabilistic=False))  # type: ignore[call-arg]
    load(rt, profiles, links)
    t = time.perf_counter()
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    seconds = time.perf_counter() - t
    with rt.db.read_only() as s:
        person = dict(s.query(ProfilePerson.profile_id, ProfilePerson.person_id).all())
    resolve_ms = _realtime(rt, links, realtime) if realtime else []
    rt.db.dispose()
    shutil.rmtree(home, ignore_errors=True)
    return seconds, np.array([person[i] for i in profiles["id"].to_pylist()]), resolve_ms


def _realtime(rt, links: pa.Table, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    """``n`` arrivals resolved in real time against the resolved brand (bench_realtime.time_arrivals):
    each a new mini-program member with the phone of a random existing profile."""
    from bench_realtime import time_arrivals
    from siyu.identity.lookup import find_person

    phones = pc.unique(links.filter(pc.and_(pc.equal(links["kind"], "phone"),
                                            pc.not_equal(links["value"], "13800000000")))["value"])
    rng = np.random.default_rng(5)
    chosen = [phones[int(i)].as_py() for i in rng.integers(0, len(phones), n)]
    with rt.db.read_only() as s:
        pairs = [(p, find_person(s, rt.vault, p)) for p in chosen]
    _, resolve_ms, joined, _ = time_arrivals(rt, pairs, n)
    assert joined >= n * 0.9, f"only {joined} of {n} arrivals joined their phone's person"
    return resolve_ms


def siyu_core(links: pa.Table, profiles: pa.Table) -> tuple[float, np.ndarray]:
    """Siyu's resolution alone, as the peers run: the same links from memory (nodes ``kind:value``; the
    service's nodes are ``kind:blind index``), the guarded components and the stable-id plan on DuckDB,
    nothing read from or written to the database."""
    from siyu.analytics.engine import connect
    from siyu.analytics.oneid import assign_persons, connected_components
    from siyu.core.config import Settings
    from siyu.ingest.schemas import JOINING_KINDS

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    t = time.perf_counter()
    joining = links.filter(pc.is_in(links["kind"], value_set=pa.array(sorted(JOINING_KINDS))))
    nodes = pa.table({"profile_id": joining["profile_id"],
                      "node": pc.binary_join_element_wise(joining["kind"], joining["value"], ":")})
    ids = profiles["id"].cast(pa.int64())
    profs = pa.table({"profile_id": ids, "channel_id": profiles["channel_id"],
                      "name_bidx": pa.nulls(len(ids), pa.string())})
    receiver = pa.table({"profile_id": pa.array([], pa.int64()), "node": pa.array([], pa.string()),
                         "orders": pa.array([], pa.int64()), "total_orders": pa.array([], pa.int64())})
    with connect() as con:
        comps = connected_components(con, profs, nodes, receiver, max_fanout=settings.oneid_max_fanout,
                                     max_per_channel=settings.oneid_max_per_channel,
                                     blocked=[f"phone:{p}" for p in settings.oneid_blocklist])
        plan = assign_persons(con, comps.labels, pa.table({"profile_id": ids,
                                                           "person_id": pa.nulls(len(ids), pa.int64())}))
    seconds = time.perf_counter() - t
    label = dict(zip(plan["profile_id"].to_pylist(), plan["component"].to_pylist(), strict=True))
    return seconds, np.array([label[i] for i in ids.to_pylist()])


def networkx_peer(links: pa.Table, profiles: pa.Table) -> tuple[float, np.ndarray]:
    import networkx as nx

    t = time.perf_counter()
    g = nx.Graph()
    pids = profiles["id"].to_pylist()
    g.add_nodes_from(pids)
    nodes = pc.binary_join_element_wise(links["kind"], links["value"], ":").to_pylist()
    g.add_edges_from(zip(links["profile_id"].to_pylist(), nodes, strict=True))
    label = {}
    for k, comp in enumerate(nx.connected_components(g)):
        for node in comp:
            if isinstance(node, int):
                label[node] = k
    seconds = time.perf_counter() - t
    return seconds, np.array([label[i] for i in pids])


def splink_peer(links: pa.Table, profiles: pa.Table) -> tuple[float, np.ndarray]:
    """Splink used alone: one row per profile (its phone and unionid), deterministic rules on each, then
    Splink's own clustering. Like networkx it has no guard against a phone everyone shares; unlike
    networkx it compares every pair inside a block."""
    import logging

    import duckdb
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    t = time.perf_counter()
    con = duckdb.connect()
    con.register("l", links)
    con.register("p", profiles.select(["id"]))
    records = con.sql("""
        SELECT p.id AS unique_id,
               min(l.value) FILTER (WHERE l.kind = 'phone') AS phone,
               min(l.value) FILTER (WHERE l.kind = 'wechat_unionid') AS unionid
        FROM p LEFT JOIN l ON l.profile_id = p.id GROUP BY p.id ORDER BY p.id
    """).to_arrow_table()
    api = DuckDBAPI(con)
    settings = SettingsCreator(link_type="dedupe_only",
                               blocking_rules_to_generate_predictions=[block_on("phone"), block_on("unionid")],
                               comparisons=[])
    linker = Linker(api.register(records, table_name="splink_records"), settings, log_level=logging.WARNING)
    pairs = linker.inference.deterministic_link()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, None)
    got = con.sql(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").to_arrow_table()  # noqa: S608
    seconds = time.perf_counter() - t
    label = dict(zip(got["unique_id"].to_pylist(), got["cluster_id"].to_pylist(), strict=True))
    return seconds, np.array([label[i] for i in profiles["id"].to_pylist()])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--links", type=int, default=10_000_000)
    ap.add_argument("--no-peer", action="store_true", help="skip networkx (it needs ~1 GB per million links)")
    ap.add_argument("--realtime", type=int, default=0, metavar="N",
                    help="then N records arriving one by one, resolved in real time against the brand")
    ap.add_argument("--splink", action="store_true", help="also Splink used alone (its blocks on the walk-in "
                                                           "phone grow with the square of the data)")
    args = ap.parse_args()
    n = 100_000 if args.smoke else args.links
    console = Console()
    t = time.perf_counter()
    profiles, links, truth = generate(n)
    console.print(f"{links.num_rows:,} identity records, {profiles.num_rows:,} profiles, "
                  f"{len(np.unique(truth)):,} persons (generated in {time.perf_counter() - t:.1f} s)")
    table = Table("resolver", "seconds", "precision", "recall", title=f"deterministic OneID, {links.num_rows:,} records")
    s_sec, s_lab, rt_ms = siyu(links, profiles, args.realtime)
    p, r = pair_scores(s_lab, truth)
    database = "PostgreSQL" if os.environ.get("SIYU_DATABASE_URL", "").startswith("postgresql") else "SQLite"
    table.add_row(f"Siyu resolve_identities ({database}, DuckDB)", f"{s_sec:.1f}", f"{p:.4f}", f"{r:.4f}")
    line = f"seconds: siyu {s_sec:.1f}"
    c_sec, c_lab = siyu_core(links, profiles)
    p, r = pair_scores(c_lab, truth)
    table.add_row("Siyu's components and plan alone (in memory, as the peers)", f"{c_sec:.1f}", f"{p:.4f}", f"{r:.4f}")
    line += f" siyu-core {c_sec:.1f}"
    if rt_ms:
        from bench_realtime import quantile

        console.print(f"real time, {len(rt_ms)} arrivals against {profiles.num_rows:,} profiles: resolution "
                      f"median {np.median(rt_ms):.1f} ms, p90 {quantile(rt_ms, 0.9):.1f} ms, max {max(rt_ms):.1f} ms")
    if not args.no_peer:
        n_sec, n_lab = networkx_peer(links, profiles)
        p, r = pair_scores(n_lab, truth)
        table.add_row("peer: networkx connected_components", f"{n_sec:.1f}", f"{p:.4f}", f"{r:.4f}")
        line += f" networkx {n_sec:.1f}"
    if args.splink or args.smoke:
        k_sec, k_lab = splink_peer(links, profiles)
        p, r = pair_scores(k_lab, truth)
        table.add_row("peer: Splink alone (deterministic rules)", f"{k_sec:.1f}", f"{p:.4f}", f"{r:.4f}")
        line += f" splink {k_sec:.1f}"
    console.print(table)
    print(line)


if __name__ == "__main__":
    main()
