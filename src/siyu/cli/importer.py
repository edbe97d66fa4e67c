"""``siyu import``: load platform exports from a file or a directory."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from siyu.bootstrap import Runtime, start
from siyu.cli.progress import console, err_console
from siyu.core.errors import UnreadableFile
from siyu.ingest.service import FileReport, Importer, after_bulk_write, plan, plan_mapped


def run_import(rt: Runtime, path: Path, mapping: Path | None = None) -> list[FileReport]:
    """Import everything under ``path``; one transaction per file. Raises UnreadableFile."""
    planned = plan_mapped(path, mapping) if mapping is not None else plan(path)
    reports = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("records"), TimeElapsedColumn(), console=console) as progress:
        for item in planned:
            task = progress.add_task(f"{item.connector.name}: {item.path.name}", total=None)
            with rt.db.unit_of_work() as session:
                importer = Importer(session, rt.vault, rt.settings.reject_dir, rt.settings.import_batch_size)
                report = importer.import_file(item, on_progress=lambda n, t=task: progress.advance(t, n))
            progress.update(task, total=report.read, completed=report.read)
            reports.append(report)
    if any(r.inserted or r.updated for r in reports):
        with rt.db.unit_of_work() as session:
            after_bulk_write(session)
    return reports


def print_reports(reports: list[FileReport]) -> None:
    table = Table("file", "format", "read", "inserted", "updated", "unchanged", "rejected", title="import")
    for r in reports:
        table.add_row(Path(r.path).name, r.connector, f"{r.read:,}", f"{r.inserted:,}", f"{r.updated:,}",
                      f"{r.unchanged:,}", f"[red]{r.rejected:,}[/red]" if r.rejected else "0")
    console.print(table)
    for r in reports:
        if r.report_path:
            console.print(f"[yellow]{r.rejected:,} rejected, {r.warnings:,} warnings in {Path(r.path).name}: "
                          f"see {r.report_path}[/yellow]")


def import_command(
    path: Path = typer.Argument(..., help="A file or a directory of platform exports."),
    mapping: Path | None = typer.Option(None, "--mapping", "-m", help=(
        "A column-mapping YAML for a file in no platform's format (CSV, Excel, JSON Lines, Parquet); "
        "see docs/formats.md.")),
) -> None:
    """Import platform exports and API responses (Tmall, JD, Douyin, Youzan, mini-program, POS, WeCom, events, catalogue)."""
    from siyu.cli.pipeline import after_import

    rt = start()
    started = time.perf_counter()
    try:
        reports = run_import(rt, path, mapping)
    except UnreadableFile as exc:
        err_console.print(f"[red]cannot import {exc.path}: {exc.problem}[/red]")
        raise typer.Exit(2) from None
    timings = {"import": time.perf_counter() - started}
    print_reports(reports)
    timings.update(after_import(rt))
    console.print("took: " + " · ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
