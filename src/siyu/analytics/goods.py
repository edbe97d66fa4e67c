"""Best sellers among a set of product lines, over the lake (人找货: the goods to put before an audience)."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from siyu.analytics.engine import has_table, ts

# Units net of refunds per product, over purchases paid in the window; lines are matched on the product
# (a product of one of the categories or one of the styles, when either is given; and of one of the seasons,
# when given).
BEST_SELLERS_SQL = """
SELECT pr.code, pr.name, pr.category, pr.style, pr.season,
       sum(i.quantity) FILTER (WHERE i.paid_fen - i.refunded_fen > 0)::BIGINT AS units,
       sum(i.paid_fen - i.refunded_fen)::BIGINT AS net_fen
FROM orders o JOIN order_items i ON i.order_id = o.id JOIN skus k ON k.id = i.sku_id
JOIN products pr ON pr.id = k.product_id
WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND coalesce(o.paid_at, o.created_at) > ?::TIMESTAMPTZ
  AND coalesce(o.paid_at, o.created_at) <= ?::TIMESTAMPTZ
  AND ((len(?::VARCHAR[]) = 0 AND len(?::VARCHAR[]) = 0)
       OR list_contains(?::VARCHAR[], pr.category) OR list_contains(?::VARCHAR[], pr.style))
  AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], pr.season))
GROUP BY ALL HAVING units > 0 ORDER BY units DESC, net_fen DESC, pr.code LIMIT ?
"""


def best_sellers(con: duckdb.DuckDBPyConnection, categories: list[str], styles: list[str], seasons: list[str],
                 as_of: datetime, days: int = 365, limit: int = 5) -> list[dict[str, object]]:
    if not all(has_table(con, t) for t in ("orders", "order_items", "skus", "products")):
        return []
    params = [ts(as_of - timedelta(days=days)), ts(as_of), categories, styles, categories, styles, seasons, seasons,
              limit]
    cur = con.execute(BEST_SELLERS_SQL, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
