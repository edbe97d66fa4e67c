"""The default tag pack on Spark (local mode) gives every tag DuckDB gives, row for row."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.analytics.engine import connect
from siyu.analytics.tables import SparkTables
from siyu.analytics.tag_compiler import lake_into, prepare_lake, run_on, run_pack
from siyu.core.clock import now
from siyu.tags import definitions

pytestmark = pytest.mark.slow


def test_the_pack_on_spark_equals_duckdb(spark: Any, demo_rt) -> None:  # type: ignore[no-untyped-def]
    pack, as_of = definitions.default(), now()
    with connect(demo_rt.settings.lake_dir) as con:
        duck = run_pack(con, pack, as_of).to_pylist()
        assert prepare_lake(con)
        tables = SparkTables(spark)
        lake_into(tables, con)
    on_spark = run_on(tables, pack, as_of).to_pylist()
    got = {(r["person_id"], r["tag"], r["value"]) for r in on_spark}
    want = {(r["person_id"], r["tag"], r["value"]) for r in duck}
    assert len(want) > 50_000
    for tag in pack.tags:
        mine = {r for r in got if r[1] == tag.name}
        theirs = {r for r in want if r[1] == tag.name}
        assert mine == theirs, (tag.name, sorted(mine - theirs)[:3], sorted(theirs - mine)[:3])
