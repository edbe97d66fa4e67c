"""The rules of ``analytics.oneid`` for the few hundred links around one arriving record, in plain Python.

Real-time resolution works on a neighbourhood of a handful of profiles. Opening an analytical engine
for it costs more than the work: DuckDB's connect and a dozen statements took about 60 of the 95 ms of
one arrival (profiled on the demo brand). A union-find over the same edges, with the same guards, gives
the same partition; ``tests/test_oneid_engines.py`` checks it against DuckDB on random graphs built to
hit every guard. Same inputs (Arrow tables), same outputs (as Python values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

import pyarrow as pa


@dataclass
class SmallComponents:
    labels: dict[int, int]  # profile_id → component (the smallest profile id in it)
    super_nodes: list[tuple[str, int, bool]] = field(default_factory=list)  # node, fanout, blocked
    split_by_name: int = 0


def components(profiles_t: pa.Table, links_t: pa.Table, receiver_t: pa.Table, *, max_fanout: int,
               max_per_channel: int, blocked: Iterable[str],
               shared_kinds: tuple[str, ...] = ("phone", "email"),
               account_kinds: tuple[str, ...] = (), single_orders: bool = False) -> SmallComponents:
    """The inputs of ``analytics.oneid.connected_components`` (profiles(profile_id, channel_id,
    name_bidx) · links(profile_id, node) · receiver(profile_id, node, orders, total_orders)), and its
    rules."""
    blocklist = set(blocked)

    def column(name: str) -> list[str | None]:
        return profiles_t[name].to_pylist() if name in profiles_t.column_names else [None] * profiles_t.num_rows

    # channel, name, surname, gender
    profiles: dict[int, tuple[int, str | None, str | None, str | None]] = dict(zip(
        profiles_t["profile_id"].to_pylist(),
        zip(profiles_t["channel_id"].to_pylist(), profiles_t["name_bidx"].to_pylist(), column("surname_bidx"),
            column("gender"), strict=True),
        strict=True))
    links = list(zip(links_t["profile_id"].to_pylist(), links_t["node"].to_pylist(), strict=True))
    receiver = zip(*(receiver_t[c].to_pylist() for c in ("profile_id", "node", "orders", "total_orders")), strict=True)
    phoned = {p for p, node in links if node.startswith("phone:")} if single_orders else set()
    raw: dict[str, set[int]] = {}
    for p, node in links:
        if p in profiles:
            raw.setdefault(node, set()).add(p)

    def gift(p: int, node: str) -> bool:  # ``parcel_rule``'s signs, among the phone's carriers
        return any(q != p and gift_sign(profiles[p][0], profiles[p][3], profiles[q][0], profiles[q][3])
                   for q in raw.get(node, ()))

    joins = [(p, node) for p, node, orders, total in receiver
             if p in profiles and parcel_rule(orders, total, single_orders=single_orders, own_phone=p in phoned,
                                              gift=partial(gift, p, node))]
    for p, node in joins:  # after every check: the checks see the identifiers' carriers only
        raw.setdefault(node, set()).add(p)
    split: set[str] = set()
    # surnames first (index 2), then names (index 1) within each surname's node
    edges = _split(_split(raw, profiles, 2, shared_kinds, split), profiles, 1, shared_kinds, split)
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


def parcel_rule(orders: int, total: int, *, single_orders: bool, own_phone: bool,
                gift: Callable[[], bool]) -> str | None:
    """Whether a buyer's parcels to one phone make it the buyer's (``analytics.oneid``'s receiver rule):
    "usual" on two orders or more and most of them; "single", if asked, on a single order (or most) of a
    buyer with no phone of its own, unless ``gift()``: an account of the buyer's channel carries the
    phone, or a carrier's gender is not the gender of the goods the buyer bought; else None.
    ``identity.explain`` names the same verdicts."""
    if orders * 2 <= total:
        return None
    if orders >= 2:
        return "usual"
    return "single" if single_orders and not own_phone and not gift() else None


def gift_sign(channel: int | None, gender: str | None, carrier_channel: int | None,
              carrier_gender: str | None) -> bool:
    """A carrier of the phone a buyer's single parcel went to says the parcel was a gift: it is an account
    of the buyer's own channel, or of the other gender than the buyer's goods (``analytics.oneid``'s
    statement says the same in SQL)."""
    return carrier_channel == channel or (None not in (gender, carrier_gender) and carrier_gender != gender)


def _split(nodes: dict[str, set[int]], profiles: Mapping[int, tuple[int, str | None, str | None, str | None]], at: int,
           shared_kinds: tuple[str, ...], split: set[str]) -> dict[str, set[int]]:
    """A shared node whose profiles disagree on the value at ``at`` becomes a node per value; profiles
    without one could be either person and join nobody through it."""
    out: dict[str, set[int]] = {}
    for node, members in nodes.items():
        values = {profiles[p][at] for p in members} - {None}
        if node.split(":", 1)[0] in shared_kinds and len(values) > 1:
            split.add(node.split("#", 1)[0])
            for p in members:
                value = profiles[p][at]
                if value is not None:
                    out.setdefault(f"{node}#{value}", set()).add(p)
        else:
            out[node] = members
    return out


def surnames(own: Mapping[int, str | None], receivers: Iterable[tuple[int, str | None, int]],
             links: Iterable[tuple[int, str]], *, account_kinds: tuple[str, ...], max_fanout: int,
             single_orders: bool = False) -> dict[int, str]:
    """``analytics.oneid.profile_surnames`` over Python values: own {profile: surname} · receivers
    (profile, surname or None, orders) · links (profile, node) → {profile: surname}."""
    per: dict[int, dict[str | None, int]] = {}
    for p, sur, n in receivers:
        per.setdefault(p, {})
        per[p][sur] = per[p].get(sur, 0) + n
    base = {p: s for p, s in own.items() if s is not None}
    for p, counts in per.items():
        if p in base:
            continue
        named = [(-n, s) for s, n in counts.items() if s is not None]
        if named:
            n, s = min(named)
            if (-n >= 2 or single_orders) and -n * 2 > sum(counts.values()):
                base[p] = s
    carriers: dict[str, set[int]] = {}
    for p, node in links:
        if node.split(":", 1)[0] in account_kinds:
            carriers.setdefault(node, set()).add(p)
    seen: dict[int, set[str]] = {}
    for members in carriers.values():
        if 2 <= len(members) <= max_fanout:
            for p in members:
                for o in members - {p}:
                    if o in base:
                        seen.setdefault(p, set()).add(base[o])
    out = dict(base)
    for p, found in seen.items():
        if p not in out and len(found) == 1:
            out[p] = next(iter(found))
    return out


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
