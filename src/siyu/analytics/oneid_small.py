"""The rules of ``analytics.oneid`` for the few hundred links around one arriving record, in plain Python.

Real-time resolution works on a neighbourhood of a handful of profiles. Opening an analytical engine
for it costs more than the work: DuckDB's connect and a dozen statements took about 60 of the 95 ms of
one arrival (profiled on the demo brand). A union-find over the same edges, with the same guards, gives
the same partition; ``tests/test_oneid_engines.py`` checks it against DuckDB on random graphs built to
hit every guard. Same inputs (Arrow tables), same outputs (as Python values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa


@dataclass
class SmallComponents:
    labels: dict[int, int]  # profile_id → component (the smallest profile id in it)
    super_nodes: list[tuple[str, int, bool]] = field(default_factory=list)  # node, fanout, blocked
    split_by_name: int = 0


def components(profiles_t: pa.Table, links_t: pa.Table, receiver_t: pa.Table, *, max_fanout: int,
               max_per_channel: int, blocked: Iterable[str],
               shared_kinds: tuple[str, ...] = ("phone", "email"),
               account_kinds: tuple[str, ...] = ()) -> SmallComponents:
    """The inputs of ``analytics.oneid.connected_components`` (profiles(profile_id, channel_id,
    name_bidx) · links(profile_id, node) · receiver(profile_id, node, orders, total_orders)), and its
    rules."""
    blocklist = set(blocked)
    profiles: dict[int, tuple[int, str | None]] = dict(zip(
        profiles_t["profile_id"].to_pylist(),
        zip(profiles_t["channel_id"].to_pylist(), profiles_t["name_bidx"].to_pylist(), strict=True), strict=True))
    links = zip(links_t["profile_id"].to_pylist(), links_t["node"].to_pylist(), strict=True)
    receiver = zip(*(receiver_t[c].to_pylist() for c in ("profile_id", "node", "orders", "total_orders")), strict=True)
    raw: dict[str, set[int]] = {}
    for p, node in links:
        if p in profiles:
            raw.setdefault(node, set()).add(p)
    for p, node, orders, total in receiver:
        if p in profiles and orders >= 2 and orders * 2 > total:  # the buyer's usual receiver phone
            raw.setdefault(node, set()).add(p)
    edges: dict[str, set[int]] = {}
    split = set()
    for node, members in raw.items():
        names = {profiles[p][1] for p in members} - {None}
        if node.split(":", 1)[0] in shared_kinds and len(names) > 1:
            split.add(node.split("#", 1)[0])
            for p in members:
                name = profiles[p][1]
                if name is not None:  # unnamed: could be either person, joins nobody through it
                    edges.setdefault(f"{node}#{name}", set()).add(p)
        else:
            edges[node] = members
    parent = {p: p for p in profiles}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    supers = []
    for node, members in edges.items():
        per_channel: dict[int, int] = {}
        for p in members:
            per_channel[profiles[p][0]] = per_channel.get(profiles[p][0], 0) + 1
        is_blocked = node.split("#", 1)[0] in blocklist
        fanout = len(members)
        crowded = max(per_channel.values()) > max_per_channel and node.split(":", 1)[0] not in account_kinds
        if is_blocked or fanout > max_fanout or crowded:
            supers.append((node, fanout, is_blocked))
            continue
        first, *rest = members
        for p in rest:
            a, b = find(first), find(p)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the root is always the smallest id: the label
    labels = {p: find(p) for p in profiles}
    # a node split by name is reported once, under its own identifier (as the engine's version)
    reported: dict[str, tuple[int, bool]] = {}
    for node, fanout, is_blocked in supers:
        base = node.split("#", 1)[0]
        f, b = reported.get(base, (0, False))
        reported[base] = (max(f, fanout), b or is_blocked)
    ordered = sorted(((n, f, b) for n, (f, b) in reported.items()), key=lambda x: (-x[1], x[0]))
    return SmallComponents(labels, ordered, len(split))


def assign(labels: Mapping[int, int], current: Mapping[int, int | None]) -> dict[str, list]:  # type: ignore[type-arg]
    """``analytics.oneid.assign_persons`` over Python mappings; the same plan, as columns."""
    counts: dict[tuple[int, int], int] = {}
    for p, comp in labels.items():
        person = current.get(p)
        if person is not None:
            counts[(person, comp)] = counts.get((person, comp), 0) + 1
    home: dict[int, tuple[int, int]] = {}  # person → (-profiles, component): most profiles, then smallest
    for (person, comp), n in counts.items():
        key = (-n, comp)
        if person not in home or key < home[person]:
            home[person] = key
    candidates: dict[int, list[int]] = {}
    for person, (_, comp) in home.items():
        candidates.setdefault(comp, []).append(person)
    plan: dict[str, list] = {"profile_id": [], "component": [], "person_id": [], "absorbed": []}  # type: ignore[type-arg]
    for p in sorted(labels):
        comp = labels[p]
        cands = sorted(candidates.get(comp, []))
        keeper = cands[0] if cands else None
        plan["profile_id"].append(p)
        plan["component"].append(comp)
        plan["person_id"].append(keeper)
        plan["absorbed"].append([c for c in cands if c != keeper])
    return plan
