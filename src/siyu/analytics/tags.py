"""First tags, computed set-wise over the lake: RFM segment, source channel, tier.

RFM follows the classic eight-segment rule the seeds use: each of recency, frequency and monetary value is
"high" or "low" against the mean of the brand's buyers (recency is high when the last purchase is more
recent than average).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from siyu.analytics.engine import has_table, ts

# (R high, F high, M high) → segment
RFM_SEGMENTS = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}

# A purchase counts once paid and not cancelled; refunds reduce its value, a full refund removes it.
PURCHASES_SQL = """
SELECT p.person_id, o.id AS order_id, coalesce(o.paid_at, o.created_at) AS bought_at, o.paid_fen - o.refunded_fen AS net_fen
FROM orders o JOIN profiles p ON p.id = o.profile_id
WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND o.paid_fen - o.refunded_fen > 0
  AND p.person_id IS NOT NULL
"""


def rfm(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pa.Table:
    cases = " ".join(f"WHEN r_high = {r} AND f_high = {f} AND m_high = {m} THEN '{name}'"
                     for (r, f, m), name in RFM_SEGMENTS.items())
    sql = f"""
    WITH per AS (
      SELECT person_id, date_diff('day', max(bought_at), ?::TIMESTAMPTZ) AS recency_days,
             count(*) AS frequency, sum(net_fen) AS monetary_fen
      FROM ({PURCHASES_SQL}) GROUP BY person_id),
    flagged AS (
      SELECT *, recency_days < avg(recency_days) OVER () AS r_high,
             frequency > avg(frequency) OVER () AS f_high,
             monetary_fen > avg(monetary_fen) OVER () AS m_high FROM per)
    SELECT person_id, recency_days, frequency, monetary_fen, CASE {cases} END AS segment
    FROM flagged ORDER BY person_id
    """  # noqa: S608 - built from constants
    return con.sql(sql, params=[ts(as_of)]).to_arrow_table()


def source_channels(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Where each person first appeared: their earliest profile (registration, else first activity)."""
    return con.sql("""
      SELECT person_id, arg_min(c.name_zh, (coalesce(p.registered_at, p.first_seen_at, p.created_at), p.id))
             AS channel
      FROM profiles p JOIN channels c ON c.id = p.channel_id
      WHERE p.person_id IS NOT NULL GROUP BY person_id ORDER BY person_id
    """).to_arrow_table()


def preferred_channels(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(person_id, tag, value): 偏好渠道, the channel with the largest net spend over a person's orders
    (``analytics.channels.purchase_channels``); the pack's other tags come from ``tag_compiler``."""
    if not (has_table(con, "orders") and has_table(con, "shops") and has_table(con, "channels")):
        return pa.table({"person_id": pa.array([], pa.int64()), "tag": pa.array([], pa.string()),
                         "value": pa.array([], pa.string())})
    from siyu.analytics.channels import purchase_channels

    con.register("pref_t", purchase_channels(con))
    return con.sql("SELECT person_id::BIGINT AS person_id, '偏好渠道' AS tag, channel_name AS value FROM pref_t "
                   "WHERE preferred ORDER BY person_id").to_arrow_table()


def catalogue(con: duckdb.DuckDBPyConnection, current: Path, previous: Path | None) -> pa.Table:
    """Per tag and value: how many persons carry it, their share of all tagged persons, and how many
    entered and left it since the previous run (``previous``: that run's tag file, if there was one)."""
    cur = str(current).replace("'", "''")  # paths we wrote; a table function cannot take them as parameters
    con.execute(f"CREATE OR REPLACE TEMP VIEW cur_tags AS SELECT * FROM read_parquet('{cur}')")  # noqa: S608
    if previous is not None and previous.exists():
        prev = str(previous).replace("'", "''")
        con.execute(f"CREATE OR REPLACE TEMP VIEW prev_tags AS SELECT * FROM read_parquet('{prev}')")  # noqa: S608
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW prev_tags AS SELECT * FROM cur_tags WHERE false")
    return con.sql("""
      WITH people AS (SELECT count(DISTINCT person_id) AS n FROM cur_tags),
      now_ AS (SELECT tag, value, count(*) AS members FROM cur_tags GROUP BY ALL),
      entered AS (SELECT tag, value, count(*) AS entered FROM
                  (SELECT person_id, tag, value FROM cur_tags EXCEPT SELECT person_id, tag, value FROM prev_tags)
                  GROUP BY ALL),
      left_ AS (SELECT tag, value, count(*) AS left_ FROM
                (SELECT person_id, tag, value FROM prev_tags EXCEPT SELECT person_id, tag, value FROM cur_tags)
                GROUP BY ALL),
      keys AS (SELECT tag, value FROM now_ UNION SELECT tag, value FROM left_)
      SELECT k.tag, k.value, coalesce(n.members, 0) AS members,
             round(coalesce(n.members, 0) / greatest((SELECT n FROM people), 1), 4) AS share,
             coalesce(e.entered, 0) AS entered, coalesce(l.left_, 0) AS "left"
      FROM keys k LEFT JOIN now_ n USING (tag, value) LEFT JOIN entered e USING (tag, value)
      LEFT JOIN left_ l USING (tag, value) ORDER BY k.tag, members DESC, k.value
    """).to_arrow_table()
