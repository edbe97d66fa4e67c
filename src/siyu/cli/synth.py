"""``siyu synth``: write a synthetic brand's platform exports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from siyu.cli.progress import console, step_progress
from siyu.synth.generate import DEFAULT_END, generate


def synth(
    members: int = typer.Option(20_000, "--members", "-n", help="People in the brand's customer base."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same brand, byte for byte."),
    out: Path = typer.Option(Path("brand"), "--out", "-o", help="Directory to write into."),
    end: str = typer.Option(DEFAULT_END.isoformat(), help="Last day (exclusive) of the three-year window."),
) -> None:
    """Generate a realistic synthetic brand: platform exports plus a ground-truth file."""
    if members < 100:
        raise typer.BadParameter("at least 100 members", param_hint="--members")
    with step_progress(f"synth {members:,} members") as update:
        counts = generate(members, seed, out, dt.date.fromisoformat(end), progress=update)
    table = Table("file", "records", title=f"written to {out}")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
