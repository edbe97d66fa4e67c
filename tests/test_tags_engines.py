"""The default tag pack on the other engines — Spark (local mode) and PostgreSQL — gives every tag DuckDB
gives, row for row: one set of definitions, compiled once, transpiled by sqlglot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import new_pg_database
from siyu.analytics.engine import connect
from siyu.analytics.tables import PgTables, SparkTables
from siyu.analytics.tag_compiler import lake_into, prepare_lake, run_on, run_pack
from siyu.core.clock import now
from siyu.tags import definitions

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres() -> Iterator[Any]:
    import psycopg

    with new_pg_database("siyu_tags") as url, psycopg.connect(url, autocommit=True) as conn:
        yield PgTables(conn)


@pytest.mark.parametrize("engine", ["spark", "postgresql"])
def test_the_pack_on_another_engine_equals_duckdb(engine: str, request: pytest.FixtureRequest, demo_rt) -> None:  # type: ignore[no-untyped-def]
    tables = SparkTables(request.getfixturevalue("spark")) if engine == "spark" else request.getfixturevalue("postgres")
    pack, as_of = definitions.default(), now()
    with connect(demo_rt.settings.lake_dir) as con:
        duck = run_pack(con, pack, as_of).to_pylist()
        assert prepare_lake(con)
        lake_into(tables, con)
    other = run_on(tables, pack, as_of).to_pylist()
    got = {(r["person_id"], r["tag"], r["value"]) for r in other}
    want = {(r["person_id"], r["tag"], r["value"]) for r in duck}
    assert len(want) > 50_000
    for tag in pack.tags:
        mine = {r for r in got if r[1] == tag.name}
        theirs = {r for r in want if r[1] == tag.name}
        assert mine == theirs, (engine, tag.name, sorted(mine - theirs)[:3], sorted(theirs - mine)[:3])
