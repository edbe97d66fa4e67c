"""Pairwise precision and recall of a partition of records against a true partition, set-wise in DuckDB.

A pair is two records in one cluster. Precision: of the pairs Siyu put together, the share that truly
belong together; recall: of the true pairs, the share Siyu put together. Counted from the contingency
table (records per predicted × true cluster), never by listing pairs: a brand of a million people has
more pairs than memory. Only records present in both partitions count; the rest are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa


@dataclass
class PairScores:
    records: int  # records in both partitions
    missing: int  # true records Siyu does not have
    extra: int  # Siyu records the truth does not name
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    over_merged: pa.Table  # predicted clusters holding more than one true person: cluster, records, people

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pair_scores(con: duckdb.DuckDBPyConnection, predicted: pa.Table, truth: pa.Table, worst: int = 10) -> PairScores:
    """predicted(key, cluster) · truth(key, cluster); ``key`` names one record in both."""
    con.register("in_pred", predicted)
    con.register("in_true", truth)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE both_ AS
        SELECT p.cluster AS pc, t.cluster AS tc FROM (SELECT DISTINCT key, cluster FROM in_pred) p
        JOIN (SELECT DISTINCT key, cluster FROM in_true) t USING (key)
    """)
    def one(sql: str) -> int:
        return int(con.execute(sql).fetchall()[0][0])

    records = one("SELECT count(*) FROM both_")
    missing = one("SELECT count(*) FROM (SELECT DISTINCT key FROM in_true) WHERE key NOT IN (SELECT key FROM in_pred)")
    extra = one("SELECT count(*) FROM (SELECT DISTINCT key FROM in_pred) WHERE key NOT IN (SELECT key FROM in_true)")

    def pairs(group: str) -> int:
        # the column names come from this module, never from input
        return one(f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n FROM both_ GROUP BY {group})")  # noqa: S608

    over = con.sql(f"""
        SELECT pc AS cluster, count(*) AS records, count(DISTINCT tc) AS people FROM both_
        GROUP BY pc HAVING count(DISTINCT tc) > 1 ORDER BY people DESC, records DESC, cluster LIMIT {int(worst)}
    """).to_arrow_table()  # noqa: S608 (an int)
    return PairScores(records=records, missing=missing, extra=extra, predicted_pairs=pairs("pc"),
                      true_pairs=pairs("tc"), correct_pairs=pairs("pc, tc"), over_merged=over)
