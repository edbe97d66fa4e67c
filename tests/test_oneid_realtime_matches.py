"""Splink's masked-phone matches made on arrival with the batch's stored model
(``identity.realtime_matches``): the same matches as the batch's."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, or_, select

from conftest import make_settings
from siyu.bootstrap import start
from siyu.cli.importer import run_import
from siyu.cli.webhooks import replay_in_process
from siyu.identity import match_repository as mrepo
from siyu.identity.realtime_matches import rematch
from siyu.identity.service import blocked_nodes, resolve_identities
from siyu.models import IdentityMatch, MatchRecord, ParcelRecord


def _matches(rt, prefix: str = "masked phone") -> dict[tuple[int, int], tuple[float, str]]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        rows = s.execute(select(IdentityMatch.profile_a, IdentityMatch.profile_b, IdentityMatch.match_weight,
                                IdentityMatch.evidence).where(IdentityMatch.evidence.startswith(prefix)))
        return {(a, b): (w, e) for a, b, w, e in rows}


def _splink(rt) -> dict[tuple[int, int], tuple[float, str]]:  # type: ignore[no-untyped-def]
    return _matches(rt)


def _records(rt, table=MatchRecord) -> dict[int, tuple]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        return {r[0]: tuple(r) for r in s.execute(select(table.__table__))}


def test_records_scored_again_on_arrival_give_the_batchs_matches(rt, brand3k: Path) -> None:  # type: ignore[no-untyped-def]
    """Forget some profiles' records and matches, Splink's and the parcel rule's, as if they had just
    arrived: scoring their blocks again with what the batch stored gives back the batch's matches,
    weights and evidence."""
    run_import(rt, brand3k)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    splink, parcels = _matches(rt), _matches(rt, "phone ending")
    records, buyers = _records(rt), _records(rt, ParcelRecord)
    assert len(splink) > 1000 and len(records) > 4000 and len(parcels) > 30 and len(buyers) > 300
    with rt.db.read_only() as s:  # more keys than one statement binds: read in chunks, every row once
        got = mrepo.arriving(s, list(records))
    assert sorted(r[0] for r in got["records"]) == sorted(records)
    picked = sorted({p for pair in [*list(splink)[::25], *list(parcels)[::3]] for p in pair}
                    | set(list(records)[::400]))
    with rt.db.unit_of_work() as s:
        for table in (MatchRecord, ParcelRecord):
            s.execute(delete(table).where(table.profile_id.in_(picked)))
        s.execute(delete(IdentityMatch).where(or_(IdentityMatch.profile_a.in_(picked),
                                                  IdentityMatch.profile_b.in_(picked)),
                                              or_(*(IdentityMatch.evidence.startswith(p)
                                                    for p in ("masked phone", "phone ending")))))
    assert len(_splink(rt)) < len(splink) - 40 and len(_matches(rt, "phone ending")) < len(parcels) - 10
    blocked = set(blocked_nodes(rt.vault, rt.settings))
    with rt.db.unit_of_work() as s:
        moved = rematch(s, rt.vault, rt.settings, picked, blocked)
    assert moved and moved <= {p for pair in [*splink, *parcels] for p in pair}
    assert _records(rt) == records and _records(rt, ParcelRecord) == buyers
    for prefix, before in (("masked phone", splink), ("phone ending", parcels)):
        again = _matches(rt, prefix)
        assert again.keys() == before.keys(), prefix
        assert all(abs(again[k][0] - w) < 1e-3 and again[k][1] == e for k, (w, e) in before.items())
    with rt.db.unit_of_work() as s:  # nothing changed since: nothing to score
        assert rematch(s, rt.vault, rt.settings, picked, blocked) == set()


def _pushes_then_batch(brand: Path, home: Path, pushes: Path) -> None:
    """Import and resolve the brand, replay ``pushes`` on arrival, then run the batch: it must find the
    Splink and parcel matches real time made, and move nobody."""
    rt = start(make_settings(home, f"sqlite:///{home / 'siyu.db'}"))
    run_import(rt, brand)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    before = _splink(rt)
    replay_in_process(rt, pushes)
    on_arrival, parcels = _splink(rt), _matches(rt, "phone ending")
    assert len(on_arrival.keys() - before.keys()) > 100
    with rt.db.unit_of_work() as s:
        report = resolve_identities(s, rt.vault, rt.settings)
    assert _splink(rt).keys() == on_arrival.keys()
    assert _matches(rt, "phone ending").keys() == parcels.keys()
    assert report.moved_profiles == 0 and report.new_persons == 0
    rt.db.dispose()


def test_pushed_buyers_are_matched_on_arrival_as_the_next_batch_run_matches_them(brand3k: Path, tmp_path: Path) -> None:
    """The brand's exports imported and resolved, then its last week of Youzan, Douyin and WeCom pushes
    through the webhook endpoints, resolved on arrival: the next batch run finds the same Splink matches
    and moves nobody (before real time scored arrivals, it added every one of them)."""
    _pushes_then_batch(brand3k, tmp_path, brand3k / "_pushes")


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_pushes_in_any_order_are_matched_as_the_next_batch_run_matches_them(brand3k: Path, tmp_path_factory,  # type: ignore[no-untyped-def]
                                                                             seed: int) -> None:
    """The same week of pushes, every delivery of every platform in one random order: whatever the
    order, the batch run after them finds the Splink matches real time made and moves nobody."""
    home = tmp_path_factory.mktemp("order")
    lines = [line for f in sorted((brand3k / "_pushes").glob("*.jsonl"))
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(seed).shuffle(lines)
    pushes = home / "pushes"
    pushes.mkdir()
    (pushes / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(brand3k / "_pushes" / "apps.json", pushes / "apps.json")
    _pushes_then_batch(brand3k, home, pushes)


def test_without_a_stored_model_nothing_is_scored(rt) -> None:  # type: ignore[no-untyped-def]
    rt.settings.oneid_probabilistic = True
    with rt.db.unit_of_work() as s:
        assert rematch(s, rt.vault, rt.settings, [1, 2, 3], set()) == set()
