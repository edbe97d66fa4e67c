"""Channel preference per person: where they buy (orders, net spend, share of spend per channel) and
where the brand can reach them (WeCom friendship, SMS to a phone, mini-program subscription)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from siyu.analytics.tags import PURCHASES_SQL


def purchase_channels(con: duckdb.DuckDBPyConnection, person: int | None = None) -> pa.Table:
    """(person_id, channel code, channel name, orders, spend_fen, share, last_bought_at, preferred): one row
    per person and channel they bought in; ``preferred`` marks the channel with the largest net spend
    (ties: the most recent, then the code)."""
    return con.sql(f"""
        WITH buys AS (
            SELECT b.*, c.code, c.name_zh FROM ({PURCHASES_SQL}) b
            JOIN orders o ON o.id = b.order_id JOIN shops s ON s.id = o.shop_id JOIN channels c ON c.id = s.channel_id
        ), per AS (
            SELECT person_id, code AS channel, any_value(name_zh) AS channel_name, count(*) AS orders,
                   sum(net_fen) AS spend_fen, max(bought_at) AS last_bought_at
            FROM buys {_only(person)} GROUP BY person_id, code
        )
        SELECT person_id, channel, channel_name, orders, spend_fen,
               round(spend_fen / sum(spend_fen) OVER (PARTITION BY person_id), 4) AS share, last_bought_at,
               row_number() OVER (PARTITION BY person_id ORDER BY spend_fen DESC, last_bought_at DESC, channel) = 1
                   AS preferred
        FROM per ORDER BY person_id, spend_fen DESC, channel
    """).to_arrow_table()  # noqa: S608 - built from constants


def reach(con: duckdb.DuckDBPyConnection, person: int | None = None) -> pa.Table:
    """(person_id, wecom, sms, miniprogram): a WeCom contact, a full phone, a mini-program account."""
    only = f"AND p.person_id = {int(person)}" if person is not None else ""
    return con.sql(f"""
        WITH phones AS (
            SELECT DISTINCT l.profile_id FROM identity_links l WHERE l.kind = 'phone'
        )
        SELECT p.person_id, bool_or(c.code = 'wecom') AS wecom, bool_or(ph.profile_id IS NOT NULL) AS sms,
               bool_or(c.code = 'miniprogram') AS miniprogram
        FROM profiles p JOIN channels c ON c.id = p.channel_id LEFT JOIN phones ph ON ph.profile_id = p.id
        WHERE p.person_id IS NOT NULL {only} GROUP BY p.person_id ORDER BY p.person_id
    """).to_arrow_table()  # noqa: S608 - an int


def _only(person: int | None) -> str:
    return f"WHERE person_id = {int(person)}" if person is not None else ""
