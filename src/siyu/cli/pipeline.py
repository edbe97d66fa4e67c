"""What runs after data arrives: OneID, membership, points, the lake export, tags."""

from __future__ import annotations

import time

from rich.table import Table

from siyu.bootstrap import Runtime
from siyu.cli.progress import console
from siyu.identity.service import resolve_identities


def after_import(rt: Runtime) -> dict[str, float]:
    timings: dict[str, float] = {}
    t = time.perf_counter()
    with console.status("OneID: resolving identities…"), rt.db.unit_of_work() as s:
        rep = resolve_identities(s, rt.vault, rt.settings)
    timings["oneid"] = time.perf_counter() - t
    console.print(f"OneID: {rep.profiles:,} profiles → {rep.persons:,} persons "
                  f"({rep.new_persons:,} new, {rep.merged:,} merged, {rep.rounds} rounds)")
    if rep.super_nodes:
        table = Table("identifier", "value", "shared by", "why", title="identifiers not used to join")
        for n in rep.super_nodes[:10]:
            table.add_row(n.kind, n.display or "", f"{n.fanout:,} profiles", "blocklist" if n.blocked else "fan-out")
        console.print(table)
    return timings
