"""``siyu oneid …``: identity resolution from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.bootstrap import start
from siyu.cli.progress import console
from siyu.core.errors import UnreadableFile

app = typer.Typer(help="OneID: who is the same person.", no_args_is_help=True)


@app.command("evaluate")
def evaluate_command(
    truth: Path = typer.Option(..., "--truth", help="Ground truth: channel, external_id, person (Parquet or "
                                                    "CSV), or a generated brand's _truth folder."),
    worst: int = typer.Option(10, "--worst", help="How many over-merged persons to list."),
) -> None:
    """Pairwise precision, recall and F1 of the current persons against a ground truth."""
    from siyu.identity.evaluation import evaluate, read_truth

    try:
        table = read_truth(truth)
    except UnreadableFile as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    rt = start()
    with rt.db.read_only() as s:
        sc = evaluate(s, table, worst)
    out = Table("measure", "value", title="OneID against the truth (pairwise)")
    out.add_row("records in both", f"{sc.records:,}")
    out.add_row("truth records Siyu lacks", f"{sc.missing:,}")
    out.add_row("Siyu profiles the truth lacks", f"{sc.extra:,}")
    out.add_row("pairs joined by Siyu", f"{sc.predicted_pairs:,}")
    out.add_row("true pairs", f"{sc.true_pairs:,}")
    out.add_row("pairs joined rightly", f"{sc.correct_pairs:,}")
    out.add_row("[bold]precision[/bold]", f"[bold]{sc.precision:.4f}[/bold]")
    out.add_row("[bold]recall[/bold]", f"[bold]{sc.recall:.4f}[/bold]")
    out.add_row("[bold]F1[/bold]", f"[bold]{sc.f1:.4f}[/bold]")
    console.print(out)
    if sc.over_merged.num_rows:
        worst_t = Table("person", "records", "true people", title="over-merged persons (worst first)")
        for row in sc.over_merged.to_pylist():
            worst_t.add_row(str(row["cluster"]), str(row["records"]), str(row["people"]))
        console.print(worst_t)
