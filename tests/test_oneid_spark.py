"""OneID on Spark (local mode) gives the partition DuckDB gives: on random graphs built to exercise every
guard, and on a generated brand through the real resolution path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphs import random_graph
from siyu.analytics.engine import connect
from siyu.analytics.oneid import connected_components
from siyu.analytics.tables import SparkTables
from siyu.cli.importer import run_import
from siyu.identity.service import resolve_identities

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("seed", "single_orders"), [(1, False), (2, True)])
def test_spark_components_equal_duckdb(spark: Any, seed: int, single_orders: bool) -> None:
    profiles, links, receiver, blocked = random_graph(seed)
    args = {"max_fanout": 12, "max_per_channel": 4, "account_kinds": ("nick",), "blocked": blocked,
            "single_orders": single_orders}
    with connect() as con:
        duck = connected_components(con, profiles, links, receiver, **args)
    sp = connected_components(SparkTables(spark), profiles, links, receiver, **args)
    assert sp.labels.to_pylist() == duck.labels.to_pylist()
    assert sp.super_nodes.to_pylist() == duck.super_nodes.to_pylist()
    assert (sp.rounds, sp.split_by_name) == (duck.rounds, duck.split_by_name)
    # the graph really exercises what it is built for
    assert duck.split_by_name > 0 and duck.rounds >= 4
    assert {"phone:13800000000", "phone:walkin"} <= set(duck.super_nodes["node"].to_pylist())
    assert not any(n.startswith("nick:") for n in duck.super_nodes["node"].to_pylist())
    assert len(set(duck.labels["component"].to_pylist())) < profiles.num_rows // 2


def test_spark_resolution_of_a_brand_keeps_the_duckdb_partition(spark: Any, sqlite_rt, small_brand: Path) -> None:  # type: ignore[no-untyped-def]
    run_import(sqlite_rt, small_brand)  # resolves on DuckDB
    with sqlite_rt.db.unit_of_work() as s:
        duck = resolve_identities(s, sqlite_rt.vault, sqlite_rt.settings)
    on_spark = sqlite_rt.settings.model_copy(update={"engine": "spark"})
    with sqlite_rt.db.unit_of_work() as s:
        sp = resolve_identities(s, sqlite_rt.vault, on_spark)
    # any difference in the partition would move a profile, create a person or merge two
    assert (sp.moved_profiles, sp.new_persons, sp.merged) == (0, 0, 0)
    assert (sp.persons, sp.profiles, sp.split_by_name, sp.rounds) == (duck.persons, duck.profiles,
                                                                     duck.split_by_name, duck.rounds)
    assert [(n.kind, n.fanout, n.blocked) for n in sp.super_nodes] == \
           [(n.kind, n.fanout, n.blocked) for n in duck.super_nodes]
    assert duck.persons < duck.profiles
