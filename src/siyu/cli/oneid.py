"""``siyu oneid …``: identity resolution from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.bootstrap import start
from siyu.cli.progress import console, refusals
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


@app.command("explain")
def explain_command(person: int = typer.Argument(..., help="A person id (an absorbed one is followed).")) -> None:
    """Which records make a person, which identifiers joined them, and the person's merge history."""
    from siyu.core.errors import NotFound
    from siyu.identity.explain import explain

    rt = start()
    with rt.db.read_only() as s:
        try:
            ex = explain(s, rt.vault, rt.settings, person)
        except NotFound as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    if ex.redirect:
        into, reason, when = ex.redirect
        console.print(f"Person {ex.asked} was merged into {into} ({reason}, {when:%Y-%m-%d %H:%M} UTC).")
    console.print(f"[bold]Person {ex.person_id}[/bold]: {len(ex.profiles)} profiles")
    prof = Table("profile", "channel", "record", "first seen", "registered", "source")
    for p in ex.profiles:
        prof.add_row(str(p.id), p.channel, p.external_id, f"{p.first_seen_at:%Y-%m-%d}" if p.first_seen_at else "",
                     f"{p.registered_at:%Y-%m-%d}" if p.registered_at else "", p.source or "")
    console.print(prof)
    ev = Table("identifier", "value", "profiles here", "profiles anywhere", "role", title="identifiers")
    for e in ex.evidence:
        ev.add_row(e.kind, e.display or "", ", ".join(map(str, e.profiles)), str(e.fanout), e.verdict)
    console.print(ev)
    if ex.receivers:
        rc = Table("buyer profile", "receiver phone", "orders", "role", title="parcels sent to this person's phone")
        for r in ex.receivers:
            rc.add_row(str(r.buyer), r.display or "", str(r.orders), r.verdict)
        console.print(rc)
    if ex.matches:
        mt = Table("profile", "profile", "match weight", "agreeing",
                   title="probabilistic joins (Splink; parcels to one masked receiver; guides' WeCom contacts)")
        for a, b, w, evidence in ex.matches:
            mt.add_row(str(a), str(b), f"{w:.1f}", evidence)
        console.print(mt)
    for m in ex.absorbed:
        console.print(f"absorbed person {m.absorbed_id} ({m.reason}, {m.created_at:%Y-%m-%d %H:%M} UTC)")
    for d in ex.decisions:
        console.print(f"{d.action} of profiles {', '.join(map(str, d.profile_ids))} by {d.actor} "
                      f"({d.created_at:%Y-%m-%d %H:%M} UTC){': ' + d.reason if d.reason else ''}")


@app.command("channels")
def channels_command(person: int = typer.Argument(..., help="A person id.")) -> None:
    """Where a person buys (orders, net spend, share per channel) and where the brand can reach them, from
    the lake as of the last export."""
    from siyu.identity.channels import person_channels

    rt = start()
    pc_ = person_channels(rt.settings.lake_dir, person)
    t = Table("channel", "orders", "net spend (¥)", "share", "last bought", "preferred",
              title=f"person {person}: where they buy")
    for r in pc_.purchases:
        t.add_row(r["channel_name"], str(r["orders"]), f"{r['spend_fen'] / 100:,.2f}", f"{r['share']:.0%}",
                  f"{r['last_bought_at']:%Y-%m-%d}", "★" if r["preferred"] else "")
    console.print(t)
    reachable = [name for name, ok in (("WeCom", pc_.wecom), ("SMS", pc_.sms), ("mini-program", pc_.miniprogram)) if ok]
    console.print("reachable by: " + (", ".join(reachable) if reachable else "no owned channel"))


@app.command("dedupe")
def dedupe_command(
    path: Path = typer.Argument(..., help="A CSV of person records from any system."),
    config: Path = typer.Option(..., "--config", help="YAML naming the columns: columns: {name, phone, email, "
                                                       "birthday, address}, ids: [...]"),
    out: Path = typer.Option(..., "--out", help="Where to write the file with cluster_id and cluster_size."),
) -> None:
    """Cluster a list of people with OneID's rules; writes each row's cluster id. Nothing is stored."""
    from siyu.core.config import get_settings
    from siyu.identity.dedupe import dedupe

    with refusals():
        rep = dedupe(path, config, out, get_settings())
    console.print(f"{rep.rows:,} rows → {rep.clusters:,} people; {rep.duplicated_rows:,} rows have a duplicate; "
                  f"{rep.probabilistic:,} probabilistic pairs; {rep.skipped_values:,} shared values not used "
                  f"(too many rows or blocklist). Written to {rep.out}")
    if rep.unusable:
        console.print(f"{len(rep.unusable):,} values could not be read (their rows are clustered on the rest): "
                      + "; ".join(rep.unusable[:5]) + ("; …" if len(rep.unusable) > 5 else ""))


@app.command("resolve")
def resolve_command() -> None:
    """Re-resolve every profile now, as after an import (probabilistic matches made anew), then members,
    points, the lake and tags: for a schedule, where records arrive by the API and webhooks."""
    import time

    from siyu.cli.pipeline import after_import

    rt = start()
    started = time.perf_counter()
    timings = after_import(rt)
    console.print("took: " + " · ".join(f"{k} {v:.1f} s" for k, v in timings.items())
                  + f" · total {time.perf_counter() - started:.1f} s")


def _print_resolution(rep) -> None:  # type: ignore[no-untyped-def]
    console.print(f"OneID re-run: {rep.profiles:,} profiles → {rep.persons:,} persons "
                  f"({rep.new_persons:,} new, {rep.merged:,} merged, {rep.moved_profiles:,} profiles moved)")


@app.command("split")
def split_command(
    person: int = typer.Argument(..., help="The person to split."),
    profiles: str = typer.Option(..., "--profiles", help="Comma-separated profile ids that are someone else."),
    by: str = typer.Option(None, "--by", help="Who decides (default: the login name)."),
    reason: str = typer.Option(None, "--reason", help="Why, for the record."),
) -> None:
    """Split profiles off a person for good: the next automatic runs keep them apart."""
    from siyu.identity.service import split_person

    try:
        ids = [int(p) for p in profiles.split(",") if p.strip()]
    except ValueError:
        console.print(f"[red]--profiles must be comma-separated profile ids, not {profiles!r}[/red]")
        raise typer.Exit(1) from None
    _decide(lambda s, rt, actor: split_person(s, rt.vault, rt.settings, person, ids, actor, reason), by)


@app.command("merge")
def merge_command(
    person: int = typer.Argument(..., help="One person."),
    other: int = typer.Argument(..., help="The other person (the older id of the two survives)."),
    by: str = typer.Option(None, "--by", help="Who decides (default: the login name)."),
    reason: str = typer.Option(None, "--reason", help="Why, for the record."),
) -> None:
    """Merge two persons for good: the next automatic runs keep them together."""
    from siyu.identity.service import merge_persons

    _decide(lambda s, rt, actor: merge_persons(s, rt.vault, rt.settings, person, other, actor, reason), by)


def _decide(act, by: str | None) -> None:  # type: ignore[no-untyped-def]
    """An operator's decision in one unit of work, then the re-run's figures; a refusal is printed."""
    import getpass

    rt = start()
    with refusals(), rt.db.unit_of_work() as s:
        rep = act(s, rt, by or getpass.getuser())
    _print_resolution(rep)


def learn_douyin_indexes(rt, source, *, batch: int = 1000, resolve: bool = True):  # type: ignore[no-untyped-def]
    """Every known phone's Douyin search index, ``batch`` phones per unit of work (a crash keeps what was
    learned); with ``resolve`` the buyers whose orders now name a phone are resolved in the same unit."""
    from siyu.cli.progress import step_progress
    from siyu.identity.realtime import resolve_arrivals
    from siyu.identity.search_index import IndexReport, learn_search_indexes, phones_to_index

    total = IndexReport()
    with rt.db.read_only() as s:
        todo = phones_to_index(s, "douyin")
    with step_progress("Douyin search indexes") as update:
        asked = 0

        def count(n: int) -> None:
            nonlocal asked
            asked += n
            update("phones", asked, todo)

        for receivers in (False, True):  # people's own phones, then the phones other channels' parcels went to
            after = 0
            while True:
                with rt.db.unit_of_work() as s:
                    rep = learn_search_indexes(s, rt.vault, source, "douyin", after=after, limit=batch,
                                               step=count, receivers=receivers)
                    if resolve:
                        resolve_arrivals(s, rt.vault, rt.settings)
                after = rep.last_id
                total.learned += rep.learned
                total.orders += rep.orders
                total.buyers += rep.buyers
                if rep.seen == 0:
                    break
        total.seen = asked
    console.print(f"Douyin: {total.learned:,} of {total.seen:,} phones indexed; {total.orders:,} orders now name "
                  f"their receiver's phone, for {total.buyers:,} buyers")
    return total


@app.command("douyin-index")
def douyin_index_command(
    batch: int = typer.Option(1000, "--batch", min=1, help="Phones per unit of work."),
) -> None:
    """Ask Douyin (order.getSearchIndex) for the search index of every known phone not asked before (people's
    own, then those other channels' parcels went to): Douyin orders to those phones then count as receiver
    phones, and OneID resolves their buyers."""
    from siyu.core.errors import NotConfigured
    from siyu.ingest.douyin_api import DouyinShopApi

    rt = start()
    cfg = rt.settings
    with refusals():
        if not (cfg.douyin_app_key and cfg.douyin_app_secret and cfg.douyin_shop_id):
            raise NotConfigured("set SIYU_DOUYIN_APP_KEY, SIYU_DOUYIN_APP_SECRET and SIYU_DOUYIN_SHOP_ID "
                                "(the shop's self-built app) to ask Douyin for search indexes")
        api = DouyinShopApi(cfg.douyin_api_url, cfg.douyin_app_key, cfg.douyin_app_secret, cfg.douyin_shop_id)
        learn_douyin_indexes(rt, api, batch=batch)
