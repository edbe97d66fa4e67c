"""The lake's fact views keep the latest version of every id, whatever order the parts hold them in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.analytics.engine import connect
from siyu.analytics.lake import write_part

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# a part: the ids it holds (once each, as the export writes them) and the hour its rows were updated
parts_strategy = st.lists(
    st.tuples(st.sets(st.integers(1, 60), min_size=1, max_size=25), st.integers(0, 5)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=parts_strategy)
def test_views_keep_the_latest_version_of_each_id(tmp_path_factory, parts) -> None:  # type: ignore[no-untyped-def]
    lake: Path = tmp_path_factory.mktemp("lake")
    expected: dict[int, tuple[datetime, int]] = {}
    for k, (ids, hour) in enumerate(parts):
        at = T0 + timedelta(hours=hour)
        rows = sorted(ids)
        write_part(lake, "orders", pa.table({"id": pa.array(rows, pa.int64()),
                                             "version": pa.array([k] * len(rows), pa.int64()),
                                             "updated_at": pa.array([at] * len(rows), pa.timestamp("us", tz="UTC"))}))
        for i in rows:  # the latest update wins; at the same time, the later part
            if i not in expected or expected[i][0] <= at:
                expected[i] = (at, k)
    with connect(lake) as con:
        got = con.execute("SELECT id, version FROM orders").fetchall()
    assert sorted(got) == sorted((i, k) for i, (_, k) in expected.items())


def test_a_part_without_statistics_is_still_deduplicated(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    (tmp_path / "orders").mkdir()
    for k, ids in enumerate(([1, 2, 3], [2, 9], [1])):
        t = pa.table({"id": pa.array(ids, pa.int64()), "version": pa.array([k] * len(ids), pa.int64()),
                      "updated_at": pa.array([T0 + timedelta(hours=k)] * len(ids), pa.timestamp("us", tz="UTC"))})
        pq.write_table(t, tmp_path / "orders" / f"part-{k:06d}.parquet", write_statistics=False)
    with connect(tmp_path) as con:
        got = sorted(con.execute("SELECT id, version FROM orders").fetchall())
    assert got == [(1, 2), (2, 1), (3, 0), (9, 1)]
