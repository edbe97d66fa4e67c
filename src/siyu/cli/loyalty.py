"""``siyu loyalty …``: the points ledger from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.bootstrap import start
from siyu.cli.progress import console, refusals

app = typer.Typer(help="Loyalty: the points ledger, members' balances, the liability.", no_args_is_help=True)


@app.command("check")
def check_command() -> None:
    """Prove the cached balances and lots equal the ledger's sums; exit 1 and list what differs if not."""
    from siyu.loyalty import ledger

    rt = start()
    with rt.db.read_only() as s:
        problems = ledger.check(s)
    bad = {k: v for k, v in problems.items() if v}
    if not bad:
        console.print("[green]The ledger and its caches agree[/green] (balances, lots, debt and pending in range).")
        return
    for what, rows in bad.items():
        console.print(f"[red]{what}: {len(rows):,} differ[/red] (first: {', '.join(str(tuple(r)) for r in rows[:5])})")
    raise typer.Exit(1)


@app.command("catch-up")
def catch_up_command() -> None:
    """Book the releases and expiries that fell due (the nightly job; every operation also does it for
    its own member first)."""
    from siyu.loyalty import ledger

    rt = start()
    with rt.db.unit_of_work() as s:
        n = ledger.catch_up_all(s)
    console.print(f"Releases and expiries booked for {n:,} members.")


@app.command("liability")
def liability_command() -> None:
    """Outstanding points, what expires within 30 and 90 days, and the redemption rate."""
    from siyu.loyalty.reports import liability

    rt = start()
    with rt.db.read_only() as s:
        li = liability(s)
    t = Table("measure", "points", title="Points liability")
    for label, value in (("available to spend", li.available), ("pending (return window)", li.pending),
                         ("owed by members (refunds after spending)", li.owed),
                         ("expiring within 30 days", li.expiring_30), ("expiring within 90 days", li.expiring_90),
                         ("made available, all time", li.made_available), ("redeemed, all time", li.redeemed),
                         ("expired, all time", li.expired)):
        t.add_row(label, f"{value:,}")
    t.add_row("members holding points", f"{li.members_with_points:,}")
    t.add_row("redemption rate", f"{li.redemption_rate:.1%}")
    console.print(t)


@app.command("member")
def member_command(card_no: str = typer.Argument(..., help="The member's card number."),
                   entries: int = typer.Option(20, "--entries", help="How many ledger entries to show.")) -> None:
    """A member's balance, tier and progress, and their latest ledger entries."""
    from siyu.core.clock import local
    from siyu.loyalty import service as loyalty
    from siyu.loyalty import versions

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        summary = loyalty.summary(s, versions.active(s), card_no)
        rows = loyalty.history(s, card_no, entries)
    console.print(f"{card_no}: {summary['tier']} · {summary['points']:,} points ({summary['available']:,} "
                  f"available, {summary['pending']:,} pending, {summary['owed']:,} owed) · "
                  f"{summary['expiring_30_days']:,} expire within 30 days · {summary['progress_text']}")
    t = Table("when", "kind", "account", "points", "reason", "source")
    for r in rows:
        t.add_row(f"{local(r['occurred_at']):%Y-%m-%d %H:%M}", r["kind"], r["account"], f"{r['points']:+,}", r["reason"],
                  f"{r['source_type'] or ''} {r['source_ref'] or ''}".strip())
    console.print(t)


programme_app = typer.Typer(help="The programme in force and its recorded versions.", no_args_is_help=True)
app.add_typer(programme_app, name="programme")


@programme_app.command("history")
def programme_history() -> None:
    """Every programme version recorded: number, name, who recorded it and when."""
    from siyu.core.clock import local
    from siyu.loyalty import versions

    rt = start()
    with rt.db.read_only() as s:
        rows = versions.history(s)
    t = Table("#", "version", "name", "recorded by", "recorded at", "note", title="Programme versions")
    for r in rows:
        t.add_row(str(r.id), f"v{r.version}", r.name, r.actor, f"{local(r.recorded_at):%Y-%m-%d %H:%M}", r.note or "")
    console.print(t if rows else "No version recorded yet: the default programme is in force.")


@programme_app.command("apply")
def programme_apply(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The programme YAML."),
                    by: str = typer.Option(..., "--by", help="Who records it (kept with the version)."),
                    note: str = typer.Option("", "--note", help="Why: kept with the version.")) -> None:
    """Validate a programme file and put it in force as a new version (run ``simulate`` first)."""
    from siyu.loyalty import versions

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        versions.ensure_recorded(s)
        prog, new = versions.record(s, path.read_text(encoding="utf-8"), actor=by, note=note or None)
    console.print(f"Programme {prog.name} v{prog.version} " + ("recorded and in force." if new else "is already in force."))


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def _load(path: Path):  # type: ignore[no-untyped-def]
    from siyu.loyalty import versions

    with refusals():
        return versions.parse(path.read_text(encoding="utf-8"), str(path))


@app.command("simulate")
def simulate_command(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The new programme YAML."),
                     slice_size: int = typer.Option(2000, "--slice", min=100, help="Members read at a time."),
                     workers: int = typer.Option(0, "--workers", min=0, help="Processes (0: one per CPU).")) -> None:
    """Replay every member's history under a new programme beside the one in force: points liability,
    tier migration and cost. Writes nothing."""
    from siyu.cli.progress import step_progress
    from siyu.core.clock import now
    from siyu.loyalty import rebuild, versions

    candidate = _load(path)
    rt = start()
    with rt.db.read_only() as s, step_progress("Replaying history") as update:
        sim = rebuild.simulate(s, candidate, versions.active(s), now(), slice_size=slice_size,
                               progress=lambda d, n: update("members", d, n), workers=workers or _cpus(),
                               url=rt.settings.resolved_database_url)
    cur, new = sim.current, sim.candidate
    t = Table("measure", "current rules", "new rules", "change", title=f"{sim.members:,} members, {sim.orders:,} orders")
    for label, a, b in (("available to spend", cur.available, new.available), ("pending", cur.pending, new.pending),
                        ("owed", cur.owed, new.owed), ("points liability", cur.liability, new.liability),
                        ("expiring within 30 days", cur.expiring_30, new.expiring_30),
                        ("expiring within 90 days", cur.expiring_90, new.expiring_90),
                        ("issued, all time", cur.issued, new.issued), ("redeemed", cur.redeemed, new.redeemed),
                        ("expired", cur.expired, new.expired),
                        ("redemptions no longer affordable", cur.refused, new.refused),
                        ("upgrade gifts (tiers first reached)", cur.upgrades, new.upgrades)):
        t.add_row(label, f"{a:,}", f"{b:,}", f"{b - a:+,}")
    cost_now, cost_new = sim.cost_fen(cur), sim.cost_fen(new)
    if cost_now is not None and cost_new is not None:
        t.add_row("liability at the cash value of a point (¥)", f"{cost_now / 100:,.2f}", f"{cost_new / 100:,.2f}",
                  f"{(cost_new - cost_now) / 100:+,.2f}")
    console.print(t)
    m = Table("current tier", "new tier", "members", title="Tier migration")
    for (a, b), n in sorted(sim.migration.items(), key=lambda kv: -kv[1]):
        m.add_row(a, b, f"{n:,}")
    console.print(m)


@app.command("recompute")
def recompute_command(slice_size: int = typer.Option(2000, "--slice", min=100, help="Members read at a time."),
                      workers: int = typer.Option(0, "--workers", min=0, help="Processes (0: one per CPU)."),
                      strict: bool = typer.Option(False, "--strict", help="Exit 1 on any entry that differs.")) -> None:
    """Rebuild the whole ledger from history in memory and compare it with the live ledger, entry by entry.
    Exit 1 if a balance or tier differs (with --strict, if any entry does). Writes nothing."""
    from siyu.cli.progress import step_progress
    from siyu.core.clock import now
    from siyu.loyalty import rebuild, versions

    rt = start()
    with rt.db.read_only() as s, step_progress("Replaying history") as update:
        rep = rebuild.recompute(s, versions.active(s), now(), slice_size=slice_size,
                                progress=lambda d, n: update("members", d, n), workers=workers or _cpus(),
                                url=rt.settings.resolved_database_url)
    console.print(f"{rep.members:,} members, {rep.orders:,} orders, {rep.entries:,} entries rebuilt: "
                  f"{rep.equal:,} equal to the live ledger entry for entry, {rep.differing:,} differ, "
                  f"{rep.left_out:,} left out (moved by a merge or a split)")
    if rep.differing:
        console.print(f"Of those that differ, {rep.same_balances:,} hold the same balances and tier by other "
                      "entries: facts booked after they happened (a history imported at once, a late refund); "
                      f"{rep.differing - rep.same_balances:,} differ in balances or tier.")
    first = sorted(rep.differences, key=lambda d: d.what in ("entries", "lots"))[:5]  # balances and tiers first
    for d in first:
        console.print(f"  member {d.member_id}: {d.what}: live {str(d.live)[:160]} · rebuilt {str(d.rebuilt)[:160]}")
    if rep.differing > rep.same_balances or (strict and rep.differing):
        raise typer.Exit(1)


identity_app = typer.Typer(help="Pricing identities (员工价 · 亲友价) granted to members.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")


def _member_id(s, card_no: str) -> int:  # type: ignore[no-untyped-def]
    from siyu.loyalty import service as loyalty

    return int(loyalty.member(s, card_no).id)


@identity_app.command("grant")
def identity_grant(card_no: str = typer.Argument(..., help="The member's card number."),
                   identity: str = typer.Argument(..., help="An identity of the programme, e.g. employee, family."),
                   by: str = typer.Option(..., "--by", help="Who grants it (kept)."),
                   until: str = typer.Option("", "--until", help="Valid until this day (YYYY-MM-DD, Beijing).")) -> None:
    """Grant a pricing identity to a member."""
    from datetime import date, datetime, time

    from siyu.core.clock import SHANGHAI
    from siyu.loyalty import pricing, versions

    try:
        valid = datetime.combine(date.fromisoformat(until), time(), SHANGHAI) if until else None
    except ValueError:
        console.print(f"[red]--until: {until!r} is not a date (YYYY-MM-DD)[/red]")
        raise typer.Exit(1) from None
    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        new = pricing.grant(s, versions.active(s), _member_id(s, card_no), identity, by=by, valid_until=valid)
    console.print(f"{card_no}: {identity} " + ("granted." if new else "was already held; nothing changed."))


@identity_app.command("revoke")
def identity_revoke(card_no: str = typer.Argument(...), identity: str = typer.Argument(...)) -> None:
    """Revoke a pricing identity (the grant is kept, with when it was revoked)."""
    from siyu.loyalty import pricing

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        done = pricing.revoke(s, _member_id(s, card_no), identity)
    console.print(f"{card_no}: {identity} " + ("revoked." if done else "was not held; nothing changed."))


@identity_app.command("show")
def identity_show(card_no: str = typer.Argument(..., help="The member's card number.")) -> None:
    """The identities a member holds and what each one's limit has left this period."""
    from rich.table import Table

    from siyu.core.clock import local
    from siyu.loyalty import pricing, versions

    rt = start()
    with refusals(), rt.db.read_only() as s:
        rows = pricing.price_identities(s, versions.active(s), _member_id(s, card_no))
    table = Table("identity", "granted by", "valid until", "period", "orders used · left", "¥ used · left",
                  "resets", title=f"{card_no}: pricing identities")

    def pair(used: object, left: object, money: bool = False) -> str:
        return "no limit" if left is None else (f"{used:,.2f} · {left:,.2f}" if money else f"{used} · {left}")

    for a in rows:
        table.add_row(f"{a['label']} ({a['identity']})", a["granted_by"],
                      f"{local(a['valid_until']):%Y-%m-%d}" if a["valid_until"] else "",
                      a["period"] or "", pair(a["orders_used"], a["orders_left"]),
                      pair(a["amount_used"], a["amount_left"], money=True),
                      f"{local(a['resets_at']):%Y-%m-%d}" if a["resets_at"] else "")
    console.print(table if rows else f"{card_no}: no pricing identity held")
