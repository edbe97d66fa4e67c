"""What runs after data arrives: OneID, membership, points and tiers, the lake export, tags."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from siyu.bootstrap import Runtime
from siyu.cli.progress import console
from siyu.core.clock import now
from siyu.identity.service import resolve_identities
from siyu.ingest.service import after_bulk_write
from siyu.lake.service import export_lake
from siyu.loyalty import versions
from siyu.loyalty.members import sync_members
from siyu.loyalty.points import award_order_points
from siyu.tags.service import compute_tags


def _step(timings: dict[str, float], name: str, label: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    with console.status(label):
        result = fn()
    timings[name] = time.perf_counter() - t
    return result


def after_import(rt: Runtime) -> dict[str, float]:
    """Each step is its own unit of work: a failure leaves the earlier steps' results in place."""
    timings: dict[str, float] = {}

    def oneid():  # type: ignore[no-untyped-def]
        with rt.db.unit_of_work() as s:
            return resolve_identities(s, rt.vault, rt.settings)

    rep = _step(timings, "oneid", "OneID: resolving identities…", oneid)
    console.print(f"OneID: {rep.profiles:,} profiles → {rep.persons:,} persons "
                  f"({rep.new_persons:,} new, {rep.merged:,} merged, {rep.rounds} rounds); "
                  f"{rep.split_by_name:,} shared phones / emails joined only profiles of one surname and name")
    if rep.super_nodes:
        table = Table("identifier", "value", "shared by", "why", title="identifiers not used to join")
        for n in rep.super_nodes[:10]:
            table.add_row(n.kind, n.display or "", f"{n.fanout:,} profiles", "blocklist" if n.blocked else "fan-out")
        console.print(table)

    def loyalty():  # type: ignore[no-untyped-def]
        with rt.db.unit_of_work() as s:
            versions.ensure_recorded(s)
            rules = versions.active(s)
            members = sync_members(s, rt.vault, rules)
            points = award_order_points(s, rules)
        return members, points, rules

    members, points, rules = _step(timings, "loyalty", "Members, points and tiers…", loyalty)
    console.print(f"Members: {members.members:,} ({members.created:,} new, {members.merged:,} merged); "
                  f"points: {points.entries:,} ledger entries, {points.points_booked:,} points booked")
    if points.tiers:
        console.print("Tiers: " + " · ".join(f"{t.name} {points.tiers.get(t.name, 0):,}"
                                             for t in rules.tiers))

    # OneID and loyalty rewrote every profile's person and filled members and the ledger: the planner's
    # statistics from after the import would now mislead it (PostgreSQL; nothing on SQLite)
    with rt.db.unit_of_work() as s:
        after_bulk_write(s)

    def lake():  # type: ignore[no-untyped-def]
        with rt.db.unit_of_work() as s:
            return export_lake(s, rt.settings.lake_dir)

    exported = _step(timings, "lake", "Exporting to the lake…", lake)
    console.print("Lake: " + ", ".join(f"{k} +{v:,}" for k, v in exported.facts.items()))

    counts = _step(timings, "tags", "Computing tags…",
                   lambda: compute_tags(rt.settings.lake_dir, rt.settings.tagstore_dir, now()))
    console.print(f"Tags: {len(counts):,} tag names, {sum(counts.values()):,} person tags "
                  "(siyu tags catalogue shows every value's coverage)")
    return timings
