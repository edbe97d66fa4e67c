"""Real time equals batch: profiles resolved as they arrive, file by file in any order, end in the same
partition as one batch resolution of the same data (deterministic step)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from conftest import make_settings
from siyu.bootstrap import start
from siyu.cli.importer import run_import
from siyu.core.clock import now
from siyu.identity import repository as identity_repo
from siyu.identity.realtime import resolve_profiles
from siyu.identity.service import resolve_identities
from siyu.models import Channel, Profile


def _partition(rt) -> set[frozenset[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        rows = s.execute(select(Channel.code, Profile.external_id, Profile.person_id)
                         .join(Channel, Channel.id == Profile.channel_id)).all()
    groups: dict[int, set[tuple[str, str]]] = {}
    for code, ext, person in rows:
        assert person is not None, (code, ext)
        groups.setdefault(person, set()).add((code, ext))
    return {frozenset(g) for g in groups.values()}


_BATCH: dict[str, set[frozenset[tuple[str, str]]]] = {}


def _batch(small_brand: Path, home: Path) -> set[frozenset[tuple[str, str]]]:
    if "p" not in _BATCH:
        rt = start(make_settings(home, f"sqlite:///{home / 'batch.db'}", oneid_probabilistic=False))
        run_import(rt, small_brand)
        with rt.db.unit_of_work() as s:
            resolve_identities(s, rt.vault, rt.settings)
        _BATCH["p"] = _partition(rt)
        rt.db.dispose()
    return _BATCH["p"]


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arrival_in_any_order_gives_the_batch_partition(small_brand: Path, tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(small_brand, tmp_path_factory.mktemp("batch"))
    # a platform's export arrives as a whole (Tmall's item report is read with its order report)
    units = sorted(p for p in small_brand.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    files = data.draw(st.permutations(units))
    home = tmp_path_factory.mktemp("rt")
    rt = start(make_settings(home, f"sqlite:///{home / 'siyu.db'}", oneid_probabilistic=False))
    for f in files:
        stamp = now()
        run_import(rt, f)
        with rt.db.unit_of_work() as s:
            touched = identity_repo.touched_since(s, stamp)
            resolve_profiles(s, rt.vault, rt.settings, touched)
    assert _partition(rt) == batch
    rt.db.dispose()
