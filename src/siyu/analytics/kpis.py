"""Dashboard figures over the lake, for a date range in Beijing time (both ends inclusive).

Definitions (also in docs/architecture.md):
- a *sale* is an order that was paid (paid, shipped, completed or refunded later), dated by its payment;
- GMV is the sum paid on sales (before refunds); AOV is GMV / sales;
- repurchase rate is the share of buyers in the range (resolved persons) with two or more sales in it;
- member GMV counts sales whose person was a member when paying (joined at or before the payment);
- member count is active members who joined by the end of the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import duckdb

from siyu.analytics.engine import ts
from siyu.core.clock import SHANGHAI

SALES_SQL = """
CREATE OR REPLACE TEMP TABLE sales AS
SELECT o.id, o.paid_fen, o.paid_at, s.channel_id, p.person_id,
       strftime(timezone('Asia/Shanghai', o.paid_at), '%Y-%m') AS month,
       m.id IS NOT NULL AND m.joined_at <= o.paid_at AS by_member
FROM orders o
JOIN shops s ON s.id = o.shop_id
LEFT JOIN profiles p ON p.id = o.profile_id
LEFT JOIN members m ON m.person_id = p.person_id AND m.status = 'active'
WHERE o.status IN ('paid', 'shipped', 'completed', 'refunded') AND o.paid_at IS NOT NULL
  AND o.paid_at >= ?::TIMESTAMPTZ AND o.paid_at < ?::TIMESTAMPTZ
"""


@dataclass
class Dashboard:
    start: date
    end: date
    members: int = 0
    new_members: int = 0
    sales: int = 0
    gmv_fen: int = 0
    member_gmv_fen: int = 0
    buyers: int = 0
    repeat_buyers: int = 0
    channels: list[dict[str, object]] = field(default_factory=list)
    tiers: list[dict[str, object]] = field(default_factory=list)
    months: list[dict[str, object]] = field(default_factory=list)

    @property
    def member_share(self) -> float:
        return self.member_gmv_fen / self.gmv_fen if self.gmv_fen else 0.0

    @property
    def repurchase_rate(self) -> float:
        return self.repeat_buyers / self.buyers if self.buyers else 0.0

    @property
    def aov_fen(self) -> int:
        """Rounded half up to the fen."""
        return (2 * self.gmv_fen + self.sales) // (2 * self.sales) if self.sales else 0


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Beijing-time calendar days → the UTC instants [start 00:00, day after end 00:00)."""
    lo = datetime.combine(start, time(), SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time(), SHANGHAI)
    return lo, hi


def dashboard(con: duckdb.DuckDBPyConnection, start: date, end: date, tier_order: list[str]) -> Dashboard:
    d = Dashboard(start=start, end=end)
    lo, hi = (ts(b) for b in bounds(start, end))
    tables = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    if "members" in tables:
        d.members, d.new_members = con.execute(
            "SELECT count(*) FILTER (WHERE joined_at < $hi), count(*) FILTER (WHERE joined_at >= $lo AND joined_at < $hi) "
            "FROM members WHERE status = 'active'", {"lo": lo, "hi": hi}).fetchall()[0]
        rows = con.execute("SELECT tier, count(*) FROM members WHERE status = 'active' AND joined_at < $hi GROUP BY tier",
                       {"hi": hi}).fetchall()
        counts = dict(rows)
        d.tiers = [{"tier": t, "members": int(counts.get(t, 0))} for t in tier_order]
    if not {"orders", "shops", "profiles", "channels"} <= tables:
        return d
    con.execute(SALES_SQL.replace("LEFT JOIN members m", "LEFT JOIN members m" if "members" in tables else
                                  "LEFT JOIN (SELECT NULL::BIGINT id, NULL::BIGINT person_id, NULL::TIMESTAMPTZ "
                                  "joined_at, NULL::VARCHAR status) m"), [lo, hi])
    d.sales, d.gmv_fen, d.member_gmv_fen = (int(v or 0) for v in con.execute(
        "SELECT count(*), sum(paid_fen), sum(paid_fen) FILTER (WHERE by_member) FROM sales").fetchall()[0])
    d.buyers, d.repeat_buyers = (int(v or 0) for v in con.execute(
        "SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (SELECT person_id, count(*) n FROM sales "
        "WHERE person_id IS NOT NULL GROUP BY person_id)").fetchall()[0])
    d.channels = [{"code": c, "name_zh": zh, "name_en": en, "gmv_fen": int(g), "sales": int(n)}
                  for c, zh, en, g, n in con.execute(
                      "SELECT c.code, c.name_zh, c.name_en, sum(paid_fen), count(*) FROM sales JOIN channels c "
                      "ON c.id = sales.channel_id GROUP BY ALL ORDER BY 4 DESC").fetchall()]
    d.months = [{"month": m, "gmv_fen": int(g), "member_gmv_fen": int(mg or 0), "sales": int(n)}
                for m, g, mg, n in con.execute(
                    "SELECT month, sum(paid_fen), sum(paid_fen) FILTER (WHERE by_member), count(*) FROM sales "
                    "GROUP BY month ORDER BY month").fetchall()]
    return d
