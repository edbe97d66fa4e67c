"""``siyu demo`` and ``siyu serve``: a synthetic brand prepared end to end, and the console."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import typer
from rich.table import Table

from siyu.bootstrap import Runtime, start
from siyu.cli.importer import print_reports, run_import
from siyu.cli.pipeline import after_import
from siyu.cli.progress import console, step_progress
from siyu.cli.webhooks import print_outcomes, replay_in_process
from siyu.synth.generate import DEFAULT_END, generate

PREPARED = "demo.prepared"


def _serve(rt: Runtime, host: str, port: int) -> None:
    import uvicorn

    from siyu.console.app import create_app

    console.print(f"Console: [bold]http://{host}:{port}[/bold]  (Ctrl+C to stop)")
    uvicorn.run(create_app(rt), host=host, port=port, log_level="warning")


def prepare_demo(rt: Runtime, members: int, seed: int) -> dict[str, float]:
    """Generate the brand once, import it once; a second run finds it prepared and does nothing."""
    from siyu.ops.service import advance_watermark, watermark

    timings: dict[str, float] = {}
    brand = rt.settings.home / "brand"
    manifest = brand / "_manifest.json"
    if not manifest.exists():
        t = time.perf_counter()
        with step_progress(f"synth {members:,} members") as update:
            generate(members, seed, brand, DEFAULT_END, progress=update)
        timings["synth"] = time.perf_counter() - t
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    with rt.db.read_only() as s:
        done = watermark(s, PREPARED) == digest
    if done:
        console.print(f"The demo brand in {brand} is already imported.")
        return timings
    t = time.perf_counter()
    print_reports(run_import(rt, brand))
    timings["import"] = time.perf_counter() - t
    # What the platforms pushed since the exports were pulled, through the real webhook endpoints.
    t = time.perf_counter()
    print_outcomes(replay_in_process(rt, brand / "_pushes"))
    timings["pushes"] = time.perf_counter() - t
    t = time.perf_counter()
    _douyin_indexes(rt, brand / "_pushes" / "apps.json")
    timings["douyin index"] = time.perf_counter() - t
    timings.update(after_import(rt))
    with rt.db.unit_of_work() as s:
        advance_watermark(s, PREPARED, digest)
    return timings


def _douyin_indexes(rt: Runtime, apps_file: Path) -> None:
    """The search indexes of the brand's phones, from its Douyin shop as the platform would answer
    (``synth.douyin_shop``, called in process over the real protocol); OneID runs next."""
    import httpx

    from siyu.cli.oneid import learn_douyin_indexes
    from siyu.ingest.douyin_api import DouyinShopApi
    from siyu.synth.douyin_shop import DouyinShop

    if not apps_file.exists():
        return
    apps = json.loads(apps_file.read_text())
    key, secret, shop_id = apps["douyin_app_key"], apps["douyin_app_secret"], apps["douyin_shop_id"]
    http = httpx.Client(transport=httpx.WSGITransport(app=DouyinShop(key, secret, shop_id)))
    learn_douyin_indexes(rt, DouyinShopApi("http://douyin.demo", key, secret, shop_id, http=http), resolve=False)


def demo(
    members: int = typer.Option(20_000, "--members", "-n", help="Size of the demo brand (first run only)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the demo brand (first run only)."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the console afterwards."),
    host: str | None = typer.Option(None, help="Console address (default SIYU_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Console port (default SIYU_PORT, 8000)."),
) -> None:
    """Prepare a demo brand end to end (synth → import → OneID → points → tags) and serve the console."""
    from siyu.accounts.service import ensure_demo_admin

    t0 = time.perf_counter()
    rt = start()
    timings = prepare_demo(rt, members, seed)
    with rt.db.unit_of_work() as s:
        username, password = ensure_demo_admin(s, rt.settings.home, rt.settings.demo_password)
    total = time.perf_counter() - t0
    table = Table("step", "seconds", title="demo preparation")
    for k, v in timings.items():
        table.add_row(k, f"{v:.1f}")
    table.add_row("[bold]total[/bold]", f"[bold]{total:.1f}[/bold]")
    console.print(table)
    console.print(f"Console login: user [bold]{username}[/bold], password [bold]{password}[/bold] "
                  f"(kept in {rt.settings.home / 'demo-credentials.txt'})")
    if serve:
        _serve(rt, host or rt.settings.host, port or rt.settings.port)


def serve_command(
    host: str | None = typer.Option(None, help="Address (default SIYU_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default SIYU_PORT, 8000)."),
) -> None:
    """Serve the console and API on the current SIYU_HOME / database."""
    rt = start()
    _serve(rt, host or rt.settings.host, port or rt.settings.port)


def user_create(username: str, password: str = typer.Option(..., prompt=True, hide_input=True,
                                                               confirmation_prompt=True)) -> None:
    """Create a console user."""
    from siyu.accounts.service import create_user

    rt = start()
    with rt.db.unit_of_work() as s:
        user = create_user(s, username, password)
    console.print(f"created user {user.username}")


def db_upgrade() -> None:
    """Apply database migrations (also done automatically by every command)."""
    rt = start()
    console.print(f"database at the latest revision: {rt.db.engine.url.render_as_string(hide_password=True)}")
