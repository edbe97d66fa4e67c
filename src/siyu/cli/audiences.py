"""``siyu audience …``: count an audience expression over the last tag run."""

from __future__ import annotations

import time

import typer

from siyu.cli.progress import console

app = typer.Typer(help="Audiences: boolean expressions over tags and numeric fields.", no_args_is_help=True)


@app.command("count")
def count_command(expression: str = typer.Argument(..., help='e.g. "tier in (钻石, 王者) and points > 1000 and not tag(沉睡)"'),
                  sample: int = typer.Option(0, "--sample", min=0, max=1000, help="Show this many person ids.")) -> None:
    """How many persons the expression selects (and a sample of them)."""
    from siyu.audiences import service
    from siyu.core.config import get_settings
    from siyu.core.errors import SiyuError

    store = get_settings().tagstore_dir
    try:
        service.index(store)  # built once; the count below is what an operator waits for
        t = time.perf_counter()
        got = service.count(store, expression, sample)
        ms = (time.perf_counter() - t) * 1000
    except SiyuError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{got['count']:,} persons · {got['text']} · {ms:.1f} ms")
    if got["sample"]:
        console.print("sample: " + ", ".join(str(p) for p in got["sample"]))


@app.command("export")
def export_command(expression: str = typer.Argument(..., help="The audience expression."),
                   out: str = typer.Option(..., "--out", help="The file to write."),
                   fmt: str = typer.Option("csv", "--format", help="csv · xlsx · hashed (SHA-256 and MD5 of phones)")) -> None:
    """Write an audience out: members (card, tier, masked phone) as CSV or Excel, or hashed phones for an
    ad platform."""
    from pathlib import Path

    from siyu.audiences.export import export
    from siyu.bootstrap import start
    from siyu.core.errors import SiyuError

    rt = start()
    try:
        with rt.db.read_only() as s:
            got = export(s, rt.vault, rt.settings, expression, fmt, Path(out))  # type: ignore[arg-type]
    except SiyuError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{got['persons']:,} persons, {got['rows']:,} rows written to {got['path']} · {got['audience']}")
