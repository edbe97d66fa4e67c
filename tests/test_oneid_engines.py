"""The real-time path's plain-Python OneID rules (``analytics.oneid_small``) give DuckDB's partition,
guards, and person plan on random graphs built to hit every guard."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from graphs import random_graph
from siyu.analytics import oneid_small as small
from siyu.analytics.engine import connect
from siyu.analytics.oneid import assign_persons, connected_components, profile_surnames


def _rows(t: pa.Table, *cols: str) -> list[tuple]:  # type: ignore[type-arg]
    return list(zip(*(t[c].to_pylist() for c in cols), strict=True))


@pytest.mark.parametrize(("seed", "single_orders"), [(s, s % 2 == 1) for s in range(6)])
def test_small_components_equal_duckdb(seed: int, single_orders: bool) -> None:
    profiles, links, receiver, blocked = random_graph(seed)
    args = {"max_fanout": 12, "max_per_channel": 4, "account_kinds": ("nick",), "single_orders": single_orders}
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
        # a phoneless buyer's single parcel joins it only when asked (and a buyer with a phone never)
        other = small.components(profiles, links, receiver, blocked=blocked, **{**args, "single_orders": not single_orders})
        fewer, more = sorted([len(set(py.labels.values())), len(set(other.labels.values()))], reverse=True)
        assert fewer > more

        # persons: some profiles already have one (several persons now in one component, one person
        # now across components, ties), the others none
        rng = random.Random(seed)
        current = {p: (rng.randrange(1, 80) if rng.random() < 0.7 else None) for p in py.labels}
        plan = small.assign(py.labels, current)
        ref = assign_persons(con, duck.labels, pa.table({
            "profile_id": pa.array(list(current), pa.int64()), "person_id": pa.array(list(current.values()), pa.int64())}))
        assert plan == ref.to_pydict()
        assert any(plan["absorbed"])


@pytest.mark.parametrize(("seed", "single_orders"), [(s, s % 2 == 1) for s in range(4)])
def test_small_surnames_equal_duckdb(seed: int, single_orders: bool) -> None:
    """Own surnames, usual receivers' (ties, gifts, orders without a name, single orders when asked) and
    accounts' (agreeing, disagreeing, past the fan-out limit): both engines give every profile the same
    surname."""
    rng = random.Random(seed)
    n, values = 400, ["s1", "s2", "s3"]
    own = {p: rng.choice([*values, None, None, None]) for p in range(1, n + 1)}
    receivers = [(rng.randrange(1, n + 1), rng.choice([*values, None]), rng.randint(1, 3)) for _ in range(700)]
    links = [(rng.randrange(1, n + 1), f"nick:{rng.randrange(150)}") for _ in range(500)]
    links += [(p, "nick:crowded") for p in range(1, 40)] + [(p, f"phone:{rng.randrange(60)}") for p in range(1, n)]
    links = list(dict.fromkeys(links))  # a profile carries an identifier once
    args = {"account_kinds": ("nick",), "max_fanout": 12, "single_orders": single_orders}
    py = small.surnames(own, receivers, links, **args)
    other = small.surnames(own, receivers, links, **{**args, "single_orders": not single_orders})
    assert len(other) != len(py)  # single orders' receivers really count when asked
    with connect() as con:
        duck = profile_surnames(
            con, pa.table({"profile_id": pa.array(list(own), pa.int64()), "surname_bidx": pa.array(list(own.values()),
                                                                                                 pa.string())}),
            pa.table({"profile_id": pa.array([r[0] for r in receivers], pa.int64()),
                      "surname_bidx": pa.array([r[1] for r in receivers], pa.string()),
                      "orders": pa.array([r[2] for r in receivers], pa.int64())}),
            pa.table({"profile_id": pa.array([p for p, _ in links], pa.int64()),
                      "node": pa.array([x for _, x in links], pa.string())}), **args)
    assert py == dict(_rows(duck, "profile_id", "surname_bidx"))
    by_own = sum(1 for p in py if own[p] is not None)
    assert 0 < by_own < len(py)  # some from receivers or accounts, not only their own
