"""``siyu tags …``: the tag catalogue."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.cli.progress import console, refusals

app = typer.Typer(help="Tags: the catalogue, manual tags and notes, and a tag run.", no_args_is_help=True)


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


@app.command("set")
def set_command(person: int = typer.Argument(..., help="The person's id."),
                tag: str = typer.Argument(..., help="A manual tag of the pack (e.g. 导购标记)."),
                value: str = typer.Argument(..., help="One of its values."),
                by: str = typer.Option(..., "--by", help="Who sets it (kept)."),
                reason: str = typer.Option("", "--reason", help="Why (kept).")) -> None:
    """Mark a person by hand with a value of a manual tag (in audiences from the next tag run)."""
    from siyu.bootstrap import start
    from siyu.tags.definitions import default
    from siyu.tags.manual import set_tag

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        got = set_tag(s, default(), person, tag, value, by, reason or None)
    console.print(f"person {got.person_id}: {tag} = {value}" + ("" if got.changed else " (already set)"))


@app.command("remove")
def remove_command(person: int = typer.Argument(..., help="The person's id."),
                   tag: str = typer.Argument(..., help="A manual tag of the pack."),
                   value: str = typer.Argument(..., help="The value to take off."),
                   by: str = typer.Option(..., "--by", help="Who removes it (kept).")) -> None:
    """Take a manual tag's value off a person (the row stays, with who removed it and when)."""
    from siyu.bootstrap import start
    from siyu.tags.definitions import default
    from siyu.tags.manual import remove_tag

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        got = remove_tag(s, default(), person, tag, value, by)
    console.print(f"person {got.person_id}: {tag} = {value} " + ("removed" if got.changed else "was not set"))


@app.command("note")
def note_command(person: int = typer.Argument(..., help="The person's id."),
                 text: str = typer.Argument(..., help="The note (keyword tags read it)."),
                 by: str = typer.Option(..., "--by", help="Who writes it (kept)."),
                 key: str = typer.Option("", "--key", help="A key for this note: the same key twice is kept once.")) -> None:
    """Write a guide's note on a person; keyword tags (关注点) read notes at the next tag run."""
    import uuid

    from siyu.bootstrap import start
    from siyu.ingest.service import add_note
    from siyu.tags.manual import resolve_person

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        who = resolve_person(s, person)
        new = add_note(s, who, text, by, key or uuid.uuid4().hex)
    console.print(f"person {who}: note " + ("kept" if new else "already kept"))


@app.command("run")
def run_command() -> None:
    """Compute the tag pack now over the lake (exported first), as the pipeline's last step does."""
    import time

    from siyu.bootstrap import start
    from siyu.core.clock import now
    from siyu.lake.service import export_lake
    from siyu.tags.service import compute_tags

    rt = start()
    t = time.perf_counter()
    with console.status("Exporting to the lake…"), rt.db.unit_of_work() as s:
        export_lake(s, rt.settings.lake_dir)
    with console.status("Computing tags…"):
        counts = compute_tags(rt.settings.lake_dir, rt.settings.tagstore_dir, now())
    console.print(f"Tags: {len(counts):,} tag names, {sum(counts.values()):,} person tags "
                  f"in {time.perf_counter() - t:.1f} s")
