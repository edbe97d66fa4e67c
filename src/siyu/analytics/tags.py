"""Tags outside the declarative pack (``tag_compiler``): 偏好渠道 by order spend, and the tag catalogue.
The purchase rule below is shared with ``analytics.channels``."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from siyu.analytics.engine import has_table

# A purchase counts once paid and not cancelled; refunds reduce its value, a full refund removes it.
PURCHASES_SQL = """
SELECT p.person_id, o.id AS order_id, coalesce(o.paid_at, o.created_at) AS bought_at, o.paid_fen - o.refunded_fen AS net_fen
FROM orders o JOIN profiles p ON p.id = o.profile_id
WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND o.paid_fen - o.refunded_fen > 0
  AND p.person_id IS NOT NULL
"""


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
