"""The real-time path's plain-Python OneID rules (``analytics.oneid_small``) give DuckDB's partition,
guards, and person plan on random graphs built to hit every guard."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from graphs import random_graph
from siyu.analytics import oneid_small as small
from siyu.analytics.engine import connect
from siyu.analytics.oneid import assign_persons, connected_components


def _rows(t: pa.Table, *cols: str) -> list[tuple]:  # type: ignore[type-arg]
    return list(zip(*(t[c].to_pylist() for c in cols), strict=True))


@pytest.mark.parametrize("seed", range(6))
def test_small_components_equal_duckdb(seed: int) -> None:
    profiles, links, receiver, blocked = random_graph(seed)
    args = {"max_fanout": 12, "max_per_channel": 4, "account_kinds": ("nick",)}
    with connect() as con:
        duck = connected_components(con, profiles, links, receiver, blocked=blocked, **args)
        py = small.components(profiles, links, receiver, blocked=blocked, **args)
        assert py.labels == dict(_rows(duck.labels, "profile_id", "component"))
        assert py.super_nodes == _rows(duck.super_nodes, "node", "fanout", "blocked")
        assert py.split_by_name == duck.split_by_name > 0
        # an account's five profiles of one channel join; without the exemption they would not
        assert not any(n.startswith("nick:") for n in duck.super_nodes["node"].to_pylist())
        strict = small.components(profiles, links, receiver, blocked=blocked, **{**args, "account_kinds": ()})
        assert any(n.startswith("nick:") for n, _, _ in strict.super_nodes)

        # persons: some profiles already have one (several persons now in one component, one person
        # now across components, ties), the others none
        rng = random.Random(seed)
        current = {p: (rng.randrange(1, 80) if rng.random() < 0.7 else None) for p in py.labels}
        plan = small.assign(py.labels, current)
        ref = assign_persons(con, duck.labels, pa.table({
            "profile_id": pa.array(list(current), pa.int64()), "person_id": pa.array(list(current.values()), pa.int64())}))
        assert plan == ref.to_pydict()
        assert any(plan["absorbed"])
