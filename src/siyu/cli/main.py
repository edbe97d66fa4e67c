"""The ``siyu`` command: Typer sub-commands assembled in one app."""

from __future__ import annotations

import gc

import typer

from siyu.cli.apikeys import app as apikeys
from siyu.cli.audiences import app as audiences
from siyu.cli.demo import db_upgrade, demo, serve_command, user_create
from siyu.cli.importer import import_command
from siyu.cli.loyalty import app as loyalty
from siyu.cli.oneid import app as oneid
from siyu.cli.synth import synth
from siyu.cli.tags import app as tags
from siyu.cli.webhooks import app as webhooks
from siyu.core.config import get_settings

app = typer.Typer(help="Siyu (私域): a self-hosted private-domain member platform.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """Siyu (私域): a self-hosted private-domain member platform."""
    # Every command reads the environment as it is now (one process may run several, as tests do).
    get_settings.cache_clear()


app.command("synth")(synth)
app.command("import")(import_command)
app.command("demo")(demo)
app.command("serve")(serve_command)
users = typer.Typer(help="Console users.", no_args_is_help=True)
users.command("create")(user_create)
app.add_typer(users, name="user")
db = typer.Typer(help="The operational database.", no_args_is_help=True)
db.command("upgrade")(db_upgrade)
app.add_typer(db, name="db")
app.add_typer(apikeys, name="apikey")
app.add_typer(webhooks, name="webhooks")
app.add_typer(oneid, name="oneid")
app.add_typer(loyalty, name="loyalty")
app.add_typer(tags, name="tags")
app.add_typer(audiences, name="audience")


def main() -> None:
    # Imports allocate millions of short-lived objects and no reference cycles worth collecting often:
    # the default generation-0 threshold (700) spends ~8% of an import in the cycle collector.
    gc.set_threshold(200_000, 50, 100)
    app()


if __name__ == "__main__":
    main()
