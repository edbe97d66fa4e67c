"""``siyu webhooks replay``: send captured push deliveries to Siyu's webhook endpoints.

A captured delivery is one JSON object per line: ``method``, ``path``, ``query``, ``headers`` and the raw
``body`` exactly as the platform sent it (the generator writes the demo brand's under ``_pushes/``; a
brand can capture its own at a proxy). Replaying goes through the real endpoints, so every delivery is
checked for its signature and claimed by its message id like a live push: replaying twice changes
nothing. The demo replays in process; against a running server, pass ``--url``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.table import Table

from siyu.bootstrap import Runtime
from siyu.cli.progress import console
from siyu.core.errors import UnreadableFile

app = typer.Typer(help="Platform pushes (webhooks).", no_args_is_help=True)
FIELDS = ("method", "path", "headers", "body")


def read_deliveries(path: Path) -> list[dict[str, Any]]:
    """Every delivery of the file; a malformed line fails the file naming the line and field, before
    anything is sent."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnreadableFile(str(path), f"line {n}: not JSON ({exc.msg})") from None
        missing = [f for f in FIELDS if not isinstance(d, dict) or f not in d]
        if missing:
            raise UnreadableFile(str(path), f"line {n}: no {missing[0]!r} (a captured delivery has {', '.join(FIELDS)})")
        if not isinstance(d["body"], str) or not isinstance(d["headers"], dict):
            raise UnreadableFile(str(path), f"line {n}: 'body' must be the raw text and 'headers' an object")
        if not str(d["path"]).startswith("/webhooks/"):
            raise UnreadableFile(str(path), f"line {n}: path {str(d['path'])[:60]!r} is not a webhook endpoint")
        out.append(d)
    return out


async def _send(client: httpx.AsyncClient, deliveries: list[dict[str, Any]]) -> Counter[str]:
    """In order, one at a time (a platform delivers a shop's messages in order); outcome counts."""
    seen: Counter[str] = Counter()
    for d in deliveries:
        r = await client.request(d["method"], d["path"], params=d.get("query") or {}, headers=d["headers"],
                                 content=d["body"].encode("utf-8"))
        if r.status_code != 200:
            seen[f"refused ({r.status_code})"] += 1
            continue
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
        outcomes = body.get("outcomes") if isinstance(body, dict) else None
        if outcomes:
            seen.update(outcomes.values())
        else:
            seen[r.headers.get("x-siyu-outcome") or "accepted"] += 1
    return seen


async def _replay(files: list[Path], client: httpx.AsyncClient) -> dict[str, Counter[str]]:
    out = {}
    async with client:
        for f in files:
            out[f.name] = await _send(client, read_deliveries(f))
    return out


def replay_in_process(rt: Runtime, folder: Path) -> dict[str, Counter[str]]:
    """The captured deliveries of ``folder`` through this runtime's own app, with the platform
    credentials of ``folder/apps.json`` (the apps the deliveries were signed for)."""
    from siyu.console.app import create_app

    files = sorted(folder.glob("*.jsonl"))
    if not files:
        return {}
    apps = json.loads((folder / "apps.json").read_text()) if (folder / "apps.json").exists() else {}
    settings = rt.settings.model_copy(update={k: v for k, v in apps.items() if k in type(rt.settings).model_fields})
    app_ = create_app(Runtime(settings=settings, db=rt.db, vault=rt.vault))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_), base_url="http://siyu.replay")
    return asyncio.run(_replay(files, client))


def print_outcomes(results: dict[str, Counter[str]]) -> None:
    table = Table("file", "messages", "outcomes", title="webhook replay")
    for name, seen in results.items():
        # a Douyin delivery carries up to 20 messages; outcomes are per message
        table.add_row(name, f"{sum(seen.values()):,}", " · ".join(f"{k} {v:,}" for k, v in sorted(seen.items())))
    console.print(table)


@app.command("replay")
def replay_command(
    path: Path = typer.Argument(..., help="A captured-deliveries file (.jsonl) or a folder of them."),
    url: str = typer.Option(..., "--url", help="The running Siyu server, e.g. http://127.0.0.1:8000"),
) -> None:
    """Send captured platform pushes (Youzan, Douyin, WeCom) to a running Siyu's webhook endpoints."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    try:
        results = asyncio.run(_replay(files, httpx.AsyncClient(base_url=url, timeout=30)))
    except UnreadableFile as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    print_outcomes(results)
