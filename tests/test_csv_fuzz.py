"""Hypothesis over the CSV connectors (POS members / sales / returns, Tmall orders, master data): a cell
replaced by anything (emoji, huge text, blanks), a column missing, a row repeated, bytes that are not
valid in the file's encoding. Nothing crashes: the file either fails as a whole with a clear message
(a required column missing, undecodable bytes) or every row comes out as records or precise rejects."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.core.errors import UnreadableFile
from siyu.ingest.connectors.registry import connector_for
from siyu.ingest.schemas import Reject

FILES = ["pos/members.csv", "pos/sales.csv", "pos/returns.csv", "catalog/products.csv", "catalog/skus.csv",
         "org/stores.csv", "org/guides.csv"]
cells = st.text(max_size=30) | st.text(min_size=300, max_size=500) | st.sampled_from(
    ["😀🎉", "", " ", "-1", "0", "１２３", "2026-02-30 25:00:00", "13800000000", "138****1234", "=\"123\"", "\u0000"])


def _sample(brand: Path, rel: str, rows: int = 8) -> tuple[list[str], list[list[str]], str]:
    path = brand / rel
    encoding = "gbk" if "tmall" in rel else "utf-8-sig"
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        body = [r for _, r in zip(range(rows), reader, strict=False)]
    return header, body, encoding


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rel=st.sampled_from(FILES), data=st.data(), value=cells,
       how=st.sampled_from(["cell", "drop_column", "duplicate_row", "bad_bytes"]))
def test_csv_rows_survive_anything(small_brand: Path, tmp_path: Path, rel: str, data, value: str, how: str) -> None:  # type: ignore[no-untyped-def]
    header, body, encoding = _sample(small_brand, rel)
    i = data.draw(st.integers(0, len(body) - 1))
    j = data.draw(st.integers(0, len(header) - 1))
    if how == "cell":
        body[i][j] = value.replace("\u0000", "") if "\u0000" in value else value
    elif how == "drop_column":
        header = header[:j] + header[j + 1:]
        body = [r[:j] + r[j + 1:] for r in body]
    elif how == "duplicate_row":
        body.insert(i, list(body[i]))
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *body])
    raw = buf.getvalue().encode("utf-8")
    if how == "bad_bytes":  # a truncated multi-byte character in the middle of a row
        cut = raw.index(b"\n", len(raw) // 2)
        raw = raw[:cut] + b"\xe4\xb8" + raw[cut:]
    f = tmp_path / Path(rel).name
    f.write_bytes(raw)
    try:
        connector = connector_for(f)
        out = list(connector.parse(f))
    except UnreadableFile as exc:
        assert exc.problem and str(f) in str(exc)
        return
    rejects = [r for r in out if isinstance(r, Reject)]
    for r in rejects:
        assert r.location and r.field and r.reason
    assert len(out) >= 1
    assert len(rejects) <= len(body) + 1
