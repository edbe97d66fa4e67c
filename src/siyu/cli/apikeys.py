"""``siyu apikey``: keys for the ingestion API (REST batches, Segment-compatible events)."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.accounts.api_keys import SCOPES, create_api_key, list_api_keys, revoke_api_key
from siyu.bootstrap import start
from siyu.cli.progress import console, err_console
from siyu.core.errors import SiyuError

SCOPE_HELP = f"Repeat for each: {', '.join(SCOPES)}."
app = typer.Typer(help="API keys for the ingestion API.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="What the key is for, e.g. 'mini-program backend'."),
    scope: list[str] = typer.Option(..., "--scope", "-s", help=SCOPE_HELP),
) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    rt = start()
    try:
        with rt.db.unit_of_work() as s:
            key, secret = create_api_key(s, name, scope)
    except SiyuError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"API key {key.id} ({key.name}, {' '.join(key.scopes)}):")
    print(secret)
    console.print("[yellow]Keep it now: Siyu stores only its hash.[/yellow]")


@app.command("list")
def list_() -> None:
    """Every key with its scopes and state."""
    rt = start()
    with rt.db.read_only() as s:
        keys = list_api_keys(s)
    table = Table("id", "name", "key", "scopes", "created", "revoked")
    for k in keys:
        table.add_row(str(k.id), k.name, k.prefix + "…", " ".join(k.scopes), f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    console.print(table)


@app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="The key's id (siyu apikey list).")) -> None:
    """Revoke a key: requests with it are refused from now on."""
    rt = start()
    try:
        with rt.db.unit_of_work() as s:
            key = revoke_api_key(s, key_id)
    except SiyuError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"API key {key.id} ({key.name}) revoked.")
