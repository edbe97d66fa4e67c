"""``siyu tags …``: the tag catalogue."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.cli.progress import console

app = typer.Typer(help="Tags: the catalogue of tag values and their coverage.", no_args_is_help=True)


@app.command("catalogue")
def catalogue_command(tag: str = typer.Option("", "--tag", help="Only this tag name."),
                      limit: int = typer.Option(0, "--limit", min=0, help="At most this many values a tag (0: all).")) -> None:
    """Every tag value: members carrying it, their share, and who entered and left it since the previous run."""
    from siyu.core.config import get_settings
    from siyu.tags.definitions import default
    from siyu.tags.service import read_catalogue

    rows = read_catalogue(get_settings().tagstore_dir)
    if not rows:
        console.print("No tags computed yet: run [bold]siyu pipeline[/bold] (or the demo) first.")
        raise typer.Exit(1)
    if tag:
        rows = [r for r in rows if r["tag"] == tag]
        if not rows:
            console.print(f"[red]No tag named {tag!r} in the last run.[/red]")
            raise typer.Exit(1)
    dims = {t.name: t.dimension for t in default().tags}
    t = Table("tag", "dimension", "value", "members", "share", "entered", "left",
              title=f"Tag catalogue: {len({r['tag'] for r in rows}):,} tags, {len(rows):,} values")
    shown: dict[str, int] = {}
    for r in rows:
        shown[r["tag"]] = shown.get(r["tag"], 0) + 1
        if limit and shown[r["tag"]] > limit:
            continue
        t.add_row(r["tag"], dims.get(r["tag"], ""), r["value"], f"{r['members']:,}", f"{r['share']:.1%}",
                  f"+{r['entered']:,}", f"-{r['left']:,}")
    console.print(t)
