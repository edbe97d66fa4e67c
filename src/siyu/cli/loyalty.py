"""``siyu loyalty …``: the points ledger from the command line."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.bootstrap import start
from siyu.cli.progress import console

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
    from siyu.core.errors import SiyuError
    from siyu.loyalty import programme
    from siyu.loyalty import service as loyalty

    rt = start()
    try:
        with rt.db.unit_of_work() as s:
            summary = loyalty.summary(s, programme.default(), card_no)
            rows = loyalty.history(s, card_no, entries)
    except SiyuError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{card_no}: {summary['tier']} · {summary['points']:,} points ({summary['available']:,} "
                  f"available, {summary['pending']:,} pending, {summary['owed']:,} owed) · "
                  f"{summary['expiring_30_days']:,} expire within 30 days · {summary['progress_text']}")
    t = Table("when", "kind", "account", "points", "reason", "source")
    for r in rows:
        t.add_row(f"{local(r['occurred_at']):%Y-%m-%d %H:%M}", r["kind"], r["account"], f"{r['points']:+,}", r["reason"],
                  f"{r['source_type'] or ''} {r['source_ref'] or ''}".strip())
    console.print(t)
