"""Rich progress for long-running commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()
# Errors are never hard-wrapped: a path or a record name cut in two can be neither copied nor searched.
err_console = Console(stderr=True, soft_wrap=True)


@contextmanager
def step_progress(title: str) -> Iterator:  # type: ignore[type-arg]
    """Yields ``update(label, done, total)`` driving one bar."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[step]}"), TimeElapsedColumn(), console=console,
                  transient=False) as progress:
        task = progress.add_task(title, total=None, step="")

        def update(label: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, step=label)

        yield update


@contextmanager
def refusals(code: int = 1) -> Iterator[None]:
    """A refusal from Siyu (``SiyuError``: bad input, not found, a conflict) printed as its message, and
    the command ends with exit ``code`` rather than a traceback."""
    import typer

    from siyu.core.errors import SiyuError

    try:
        yield
    except SiyuError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code) from None
