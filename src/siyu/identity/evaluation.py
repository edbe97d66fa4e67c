"""``siyu oneid evaluate``: how close Siyu's persons are to the people really behind the records.

The truth is a table of records — (channel, external_id) as Siyu keys a profile — and the person each
belongs to; the generator writes one (``_truth/profiles.parquet``), a brand can build one from a hand-
checked sample. Scores are pairwise (``analytics.evaluate``). A profile OneID has not placed yet counts
as a person of its own.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from siyu.analytics.engine import connect
from siyu.analytics.evaluate import PairScores, pair_scores
from siyu.core.errors import UnreadableFile
from siyu.identity import repository as repo

TRUTH_COLUMNS = ("channel", "external_id", "person")


def read_truth(path: Path) -> pa.Table:
    """A truth file (Parquet or CSV), or a folder holding ``profiles.parquet``."""
    if path.is_dir():
        path = path / "profiles.parquet"
    if not path.is_file():
        raise UnreadableFile(str(path), "no such file (give the truth file, or the folder with profiles.parquet)")
    try:
        table = pq.read_table(path) if path.suffix.lower() == ".parquet" else pcsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnreadableFile(str(path), f"not a readable Parquet or CSV table ({exc})") from None
    missing = [c for c in TRUTH_COLUMNS if c not in table.column_names]
    if missing:
        raise UnreadableFile(str(path), f"no column {missing[0]!r}; a truth file has {', '.join(TRUTH_COLUMNS)}")
    return table.select(list(TRUTH_COLUMNS)).cast(pa.schema([(c, pa.string()) for c in TRUTH_COLUMNS]))


def _key(channel: pa.ChunkedArray, external_id: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(channel, external_id, "\x1f")


def evaluate(session: Session, truth: pa.Table, worst: int = 10) -> PairScores:
    profiles = repo.profile_keys(session)
    key = _key(profiles["channel"], profiles["external_id"])
    # unplaced profiles are their own cluster: a negative number no person id can equal
    alone = pc.negate(pa.array(range(1, profiles.num_rows + 1), pa.int64()))
    cluster = pc.coalesce(profiles["person_id"], alone)
    predicted = pa.table({"key": key, "cluster": cluster.cast(pa.string())})
    true = pa.table({"key": _key(truth["channel"], truth["external_id"]), "cluster": truth["person"]})
    with connect() as con:
        return pair_scores(con, predicted, true, worst)
