"""``siyu audience …``: count an audience expression over the last tag run."""

from __future__ import annotations

import time

import typer

from siyu.cli.progress import console, refusals

app = typer.Typer(help="Audiences: boolean expressions over tags and numeric fields.", no_args_is_help=True)


@app.command("count")
def count_command(expression: str = typer.Argument(..., help='e.g. "tier in (钻石, 王者) and points > 1000 and not tag(沉睡)"'),
                  sample: int = typer.Option(0, "--sample", min=0, max=1000, help="Show this many person ids.")) -> None:
    """How many persons the expression selects (and a sample of them)."""
    from siyu.audiences import service
    from siyu.core.config import get_settings

    store = get_settings().tagstore_dir
    with refusals():
        service.index(store)  # built once; the count below is what an operator waits for
        t = time.perf_counter()
        got = service.count(store, expression, sample)
        ms = (time.perf_counter() - t) * 1000
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

    rt = start()
    with refusals(), rt.db.read_only() as s:
        got = export(s, rt.vault, rt.settings, expression, fmt, Path(out))  # type: ignore[arg-type]
    console.print(f"{got['persons']:,} persons, {got['rows']:,} rows written to {got['path']} · {got['audience']}")


@app.command("save")
def save_command(name: str = typer.Argument(..., help="The audience's name."),
                 expression: str = typer.Argument(..., help="The expression."),
                 snapshot: bool = typer.Option(False, "--snapshot", help="Freeze its members now (else dynamic)."),
                 by: str = typer.Option(..., "--by", help="Who saves it (kept).")) -> None:
    """Keep an audience by name: dynamic (evaluated on every use) or a snapshot (members frozen now)."""
    from siyu.audiences import service
    from siyu.bootstrap import start

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        got = service.save(s, rt.settings.tagstore_dir, name, expression, kind="snapshot" if snapshot else "dynamic",
                           by=by)
    console.print(f"Saved {got['kind']} audience {got['name']}: {got['count']:,} persons now · {got['text']}")


@app.command("freeze")
def freeze_command(name: str = typer.Argument(...), by: str = typer.Option(..., "--by")) -> None:
    """A new frozen version of a snapshot audience, on the latest tags."""
    from siyu.audiences import service
    from siyu.bootstrap import start

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        got = service.freeze(s, rt.settings.tagstore_dir, name, by=by)
    console.print(f"{got['name']} version {got['version']}: {got['count']:,} persons")


@app.command("list")
def list_command() -> None:
    """The saved audiences."""
    from rich.table import Table

    from siyu.audiences import service
    from siyu.bootstrap import start
    from siyu.core.clock import local

    rt = start()
    with rt.db.read_only() as s:
        rows = service.saved(s)
    t = Table("name", "kind", "latest version", "saved by", "saved at", "expression", title="Saved audiences")
    for r in rows:
        t.add_row(r.name, r.kind, str(r.version or ""), r.created_by, f"{local(r.created_at):%Y-%m-%d %H:%M}",
                  r.expression)
    console.print(t if rows else "No saved audiences yet.")


@app.command("goods")
def goods_command(product: str = typer.Argument(..., help="The product code."),
                  inventory: str = typer.Option(..., "--inventory", help="CSV with columns sku, stock.")) -> None:
    """货找人: the members whose preferred colour and size match the product's SKUs in stock (and gender,
    unless the product is unisex); prints the audience expression to save or export."""
    from pathlib import Path

    from siyu.audiences.goods import find_people
    from siyu.bootstrap import start

    rt = start()
    with refusals(), rt.db.read_only() as s:
        got = find_people(s, rt.settings.tagstore_dir, product, Path(inventory))
    console.print(f"{got['product']} {got['name']} ({got['category']}, {got['in_stock_skus']} colour-size pairs in "
                  f"stock): {got['count']:,} persons")
    if got["text"]:
        console.print(got["text"])


@app.command("occasions")
def occasions_command(on: str = typer.Option("", "--on", help="The day (YYYY-MM-DD, Beijing); default today."),
                      everything: bool = typer.Option(False, "--all", help="Every occasion, in season or not.")) -> None:
    """人找货: the occasions in season (back to school, the change of season …), each audience's size and
    the best sellers of the lines to put before it."""
    from datetime import date, datetime, time

    from rich.table import Table

    from siyu.audiences.occasions import plan
    from siyu.core.clock import SHANGHAI, now
    from siyu.core.config import get_settings

    settings = get_settings()
    with refusals():
        try:
            at = datetime.combine(date.fromisoformat(on), time(12), SHANGHAI) if on else now()
        except ValueError:
            from siyu.core.errors import InvalidInput

            raise InvalidInput(f"--on: {on!r} is not a date (YYYY-MM-DD)") from None
        got = plan(settings.tagstore_dir, settings.lake_dir, at, everything)
    t = Table("occasion", "in season", "persons", "audience", "best sellers (units, last year)",
              title=f"人找货 · {at.astimezone(SHANGHAI).date()}")
    for o in got:
        goods = "\n".join(f"{g['name']} {g['code']} ({g['units']:,})" for g in o["goods"]) or "—"
        t.add_row(o["name"], "yes" if o["in_season"] else "no", f"{o['count']:,}", o["text"], goods)
    console.print(t)
