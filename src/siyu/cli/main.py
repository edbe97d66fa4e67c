"""The ``siyu`` command: Typer sub-commands assembled in one app."""

from __future__ import annotations

import typer

from siyu.cli.synth import synth

app = typer.Typer(help="Siyu (私域): a self-hosted private-domain member platform.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """Siyu (私域): a self-hosted private-domain member platform."""


app.command("synth")(synth)


def main() -> None:
    app()
