"""Deterministic OneID: connected components of profiles over shared identifiers, set-wise in DuckDB.

Identifiers are nodes ``kind:blind_index``. An identifier is a *super-node* (a store's walk-in phone,
13800000000) when it is on the blocklist, when more profiles than ``max_fanout`` share it, or when more
than ``max_per_channel`` profiles *of one channel* share it: one person may well have a mini-program
account, a POS card and a WeCom contact with the same phone, but three POS cards on one number are a
cashier's placeholder, not a person. A super-node joins nobody and is reported with its fan-out. Each remaining identifier links its profiles as a star to the smallest profile id; labels then
spread by min-label propagation with pointer jumping until nothing changes (a handful of rounds, as
identity graphs are shallow).

A receiver phone on orders is weaker evidence (gifts go to other people): it counts only when it is on
at least two of the buyer's orders or on more than half of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa


@dataclass
class Components:
    labels: pa.Table  # profile_id, component (the smallest profile id in the component)
    super_nodes: pa.Table  # node, fanout, blocked
    rounds: int


def connected_components(con: duckdb.DuckDBPyConnection, profiles: pa.Table, links: pa.Table,
                         receiver: pa.Table, *, max_fanout: int, max_per_channel: int,
                         blocked: list[str]) -> Components:
    """profiles(profile_id, channel_id) · links(profile_id, node) ·
    receiver(profile_id, node, orders, total_orders)."""
    con.register("in_profiles", profiles)
    con.register("in_links", links)
    con.register("in_receiver", receiver)
    con.register("in_blocked", pa.table({"node": pa.array(blocked, type=pa.string())}))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE edges AS
        SELECT DISTINCT profile_id, node FROM in_links
        UNION
        SELECT profile_id, node FROM in_receiver WHERE orders >= 2 OR orders * 2 > total_orders
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE fan AS
        WITH per_channel AS (
            SELECT e.node, p.channel_id, count(DISTINCT e.profile_id) AS n
            FROM edges e JOIN in_profiles p USING (profile_id) GROUP BY 1, 2
        )
        SELECT node, sum(n) AS fanout, max(n) AS channel_fanout,
               node IN (SELECT node FROM in_blocked) AS blocked
        FROM per_channel GROUP BY node
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE fan AS
        SELECT *, blocked OR fanout > ? OR channel_fanout > ? AS super FROM fan
    """, [max_fanout, max_per_channel])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE star AS
        SELECT e.profile_id AS a, min(e.profile_id) OVER (PARTITION BY e.node) AS b
        FROM edges e JOIN fan f USING (node)
        WHERE f.fanout >= 2 AND NOT f.super
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE adj AS
        SELECT DISTINCT a, b FROM (SELECT a, b FROM star UNION ALL SELECT b, a FROM star) WHERE a <> b
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE lab AS SELECT DISTINCT profile_id AS p, profile_id AS l "
                "FROM in_profiles")
    rounds = 0
    while True:
        rounds += 1
        con.execute("""
            CREATE OR REPLACE TEMP TABLE step AS
            SELECT p, min(l) AS l FROM (
                SELECT p, l FROM lab
                UNION ALL SELECT adj.a AS p, lab.l FROM adj JOIN lab ON lab.p = adj.b
            ) GROUP BY p
        """)
        # Pointer jumping: take the label of your label; halves the remaining depth every round.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE nxt AS
            SELECT s.p, least(s.l, coalesce(t.l, s.l)) AS l FROM step s LEFT JOIN step t ON t.p = s.l
        """)
        changed = con.execute("SELECT count(*) FROM nxt JOIN lab USING (p) WHERE nxt.l <> lab.l").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE lab AS SELECT * FROM nxt")
        if changed == 0 or rounds > 100:
            break
    labels = con.sql("SELECT p AS profile_id, l AS component FROM lab ORDER BY p").to_arrow_table()
    supers = con.sql("SELECT node, fanout, blocked FROM fan WHERE super ORDER BY fanout DESC").to_arrow_table()
    return Components(labels=labels, super_nodes=supers, rounds=rounds)


def assign_persons(con: duckdb.DuckDBPyConnection, labels: pa.Table, current: pa.Table) -> pa.Table:
    """Keep person ids stable across runs.

    ``current``: (profile_id, person_id or null). Each existing person stays with the component holding
    most of its profiles (ties: the smaller component); a component keeps the oldest (smallest) person
    assigned to it and the others are merged into that one; a component with none needs a new person.
    Returns (profile_id, component, person_id or null, absorbed) where ``absorbed`` lists merged persons.
    """
    con.register("in_labels", labels)
    con.register("in_current", current)
    return con.sql("""
        WITH pc AS (
            SELECT l.component, c.person_id, count(*) AS n
            FROM in_labels l JOIN in_current c USING (profile_id)
            WHERE c.person_id IS NOT NULL GROUP BY 1, 2
        ), home AS (  -- where each existing person lives now
            SELECT person_id, arg_min(component, (-n, component)) AS component FROM pc GROUP BY person_id
        ), keeper AS (
            SELECT component, min(person_id) AS person_id, list(person_id ORDER BY person_id) AS candidates
            FROM home GROUP BY component
        )
        SELECT l.profile_id, l.component, k.person_id,
               list_filter(coalesce(k.candidates, []), lambda x: x <> k.person_id) AS absorbed
        FROM in_labels l LEFT JOIN keeper k USING (component)
        ORDER BY l.profile_id
    """).to_arrow_table()
