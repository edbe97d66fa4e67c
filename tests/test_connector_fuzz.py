"""Hypothesis: platform responses with one field replaced by anything (wrong types, huge text, emoji,
nulls, nested objects) never crash a connector, and every record comes out either as an order / refund
or as a reject that names the field's record."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.ingest.connectors.jd import JdOrders
from siyu.ingest.connectors.taobao_top import TopRefunds, TopTrades
from siyu.ingest.connectors.youzan import YouzanTrades
from siyu.ingest.schemas import OrderIn, RefundIn, Reject

SAMPLES = Path(__file__).parent / "samples"
CASES = [
    (TopTrades(), "taobao_trades_sold_get.json", ("trades_sold_get_response", "trades", "trade")),
    (TopRefunds(), "taobao_refunds_receive_get.json", ("refunds_receive_get_response", "refunds", "refund")),
    (JdOrders(), "jd_pop_order_search.json", ("jingdong_pop_order_search_responce", "searchorderinfo_result",
                                              "orderInfoList")),
    (YouzanTrades(), "youzan_trades_sold_get.json", ("data", "full_order_info_list")),
]

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
    | st.text(min_size=300, max_size=400) | st.sampled_from(["😀🎉", "138****1234", "", " ", "-1", "0", "1e9",
                                                              "2026-02-30 25:00:00", "１２３", "\u0000"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(CASES), data=st.data(), value=junk)
def test_any_field_any_value(tmp_path: Path, case, data, value) -> None:  # type: ignore[no-untyped-def]
    connector, sample, list_path = case
    doc = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    records = doc
    for key in list_path:
        records = records[key]
    n = len(records)
    k = data.draw(st.integers(0, n - 1))
    paths = _paths(records[k])
    path = data.draw(st.sampled_from(paths))
    broken = copy.deepcopy(doc)
    target = broken
    for key in list_path:
        target = target[key]
    _set(target[k], path, value)
    f = tmp_path / "resp.jsonl"
    f.write_text(json.dumps(doc, ensure_ascii=False) + "\n" + json.dumps(broken, ensure_ascii=False) + "\n",
                 encoding="utf-8")

    out = list(connector.parse(f))
    assert all(isinstance(r, OrderIn | RefundIn | Reject) for r in out)
    rejects = [r for r in out if isinstance(r, Reject)]
    kept = [r for r in out if isinstance(r, OrderIn | RefundIn)]
    # Line 1 is intact: all of its records come out. Line 2 yields each record once, or one reject for it.
    assert len(kept) + len(rejects) == 2 * n
    for r in rejects:
        assert r.location.startswith(f"line 2 record {k}") and r.field and r.reason
