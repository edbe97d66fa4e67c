"""Deterministic OneID: connected components of profiles over shared identifiers, set-wise in DuckDB.

Identifiers are nodes ``kind:blind_index``. An identifier is a *super-node* (a store's walk-in phone,
13800000000) when it is on the blocklist, when more profiles than ``max_fanout`` share it, or when more
than ``max_per_channel`` profiles *of one channel* share it: one person may well have a mini-program
account, a POS card and a WeCom contact with the same phone, but three POS cards on one number are a
cashier's placeholder, not a person. A super-node joins nobody and is reported with its fan-out.

Each remaining identifier links its profiles as a star to its smallest profile id. Only profiles on a
star take part in what follows (the rest are alone and keep their own id): labels start at each
profile's smallest star centre and spread by min-label propagation with pointer jumping until every
star edge has one label at both ends (a handful of rounds, as identity graphs are shallow).

A receiver phone on orders is weaker evidence (gifts go to other people): it counts only when it is on
at least two of the buyer's orders and on more than half of them. With ``single_orders`` a buyer with no
phone of its own is also joined to the receiver of a single order (or of most of its orders), unless
another profile of the buyer's channel carries that phone or a carrier's gender is not the goods': more
recall, and a gift to a known person on another platform joined wrongly (measured in docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from siyu.analytics.tables import Tables, as_tables


@dataclass
class Components:
    labels: pa.Table  # profile_id, component (the smallest profile id in the component)
    super_nodes: pa.Table  # node, fanout, blocked
    rounds: int
    split_by_name: int = 0  # shared identifiers whose profiles disagree on the surname or the name


def match_links(profile_a: pa.Array | pa.ChunkedArray, profile_b: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Pairwise matches as identifier links: each pair shares a node ``match:a-b`` that only its two
    profiles carry, so matches go through the same guards and components as shared identifiers."""
    a, b = pa.chunked_array([profile_a]).cast(pa.int64()), pa.chunked_array([profile_b]).cast(pa.int64())
    node = pc.binary_join_element_wise("match:", a.cast(pa.string()), "-", b.cast(pa.string()), "")
    return pa.concat_tables([pa.table({"profile_id": a, "node": node}), pa.table({"profile_id": b, "node": node})])


def connected_components(con: duckdb.DuckDBPyConnection | Tables, profiles: pa.Table, links: pa.Table,
                         receiver: pa.Table, *, max_fanout: int, max_per_channel: int,
                         blocked: list[str], shared_kinds: tuple[str, ...] = ("phone", "email"),
                         account_kinds: tuple[str, ...] = (), single_orders: bool = False) -> Components:
    """profiles(profile_id, channel_id, name_bidx[, surname_bidx, gender]) · links(profile_id, node) ·
    receiver(profile_id, node, orders, total_orders).

    ``shared_kinds``: identifiers a family shares (one phone for mother and son). Such a node joins only
    profiles that agree on the surname and on the real name: where its profiles disagree on either,
    each surname (then each name) forms its own node, and profiles without one join nobody through it
    (they could belong to either). ``profiles`` may carry ``surname_bidx`` (``profile_surnames``).
    ``account_kinds``: a platform's account ids, exempt from the per-channel fan-out guard (one account
    may be several profiles of its channel).

    Runs on DuckDB or on Spark (``analytics.tables``): the statements are the same, so is the partition.
    """
    t = as_tables(con)
    for column in ("surname_bidx", "gender"):
        if column not in profiles.column_names:
            profiles = profiles.append_column(column, pa.nulls(profiles.num_rows, pa.string()))
    t.put("in_profiles", profiles)
    t.put("in_links", links)
    t.put("in_receiver", receiver)
    t.put("in_blocked", pa.table({"node": pa.array(blocked, type=pa.string())}))
    t.put("in_shared", pa.table({"kind": pa.array(list(shared_kinds), type=pa.string())}))
    t.put("in_account", pa.table({"kind": pa.array(list(account_kinds), type=pa.string())}))
    # a receiver phone is the buyer's own only when it is their usual one: on two orders or more, and on
    # most of them (a single order, or one of several receivers, may be a gift)
    usual = "SELECT profile_id, node FROM in_receiver WHERE orders >= 2 AND orders * 2 > total_orders"
    if single_orders:
        # or a buyer with no phone of its own: its one parcel's (one gift in twenty is not), unless it
        # was a gift: an account of the buyer's channel carries that phone (one person has one openid per
        # app, one Douyin open id: a parcel to it from another account is someone else's), or a carrier's
        # gender is not that of the goods bought (``gender``: men's shoes to a woman's phone). Only the
        # single parcels' phones are looked up, once per (phone, channel) and (phone, gender): a walk-in
        # phone's thousands of cards must not multiply them (a join on the carriers themselves filled
        # the disk at 10M), and a brand without such parcels pays nothing.
        usual += """
            UNION
            SELECT r.profile_id, r.node FROM single_parcels r JOIN in_profiles b ON b.profile_id = r.profile_id
            LEFT JOIN (SELECT DISTINCT node, channel_id FROM parcel_carriers) c ON c.node = r.node AND c.channel_id = b.channel_id
            LEFT JOIN (SELECT DISTINCT node, gender FROM parcel_carriers WHERE gender IS NOT NULL) g
                   ON g.node = r.node AND g.gender <> b.gender
            WHERE c.node IS NULL AND g.node IS NULL AND r.profile_id NOT IN (
                SELECT profile_id FROM in_links WHERE node LIKE 'phone:%' AND profile_id IN (SELECT profile_id FROM single_parcels))
        """
        t.make("single_parcels", "SELECT profile_id, node FROM in_receiver WHERE orders < 2 AND orders * 2 > total_orders")
        t.make("parcel_carriers", """
            SELECT l.node, p.channel_id, p.gender FROM in_links l JOIN in_profiles p ON p.profile_id = l.profile_id
            WHERE l.node IN (SELECT node FROM single_parcels)
        """)
    t.make("raw_edges", f"""
        SELECT profile_id, node FROM in_links
        UNION  -- distinct rows of both sides at once
        {usual}
    """)  # noqa: S608 (the statement's text is this module's)
    # "more than one name on the node" as min <> max of a GROUP BY joined back: one hash aggregation
    # where windows over every node's partition sorted each (0.63 s of 2.5 s at 2M records). Surnames
    # first, then names within each surname's node. One aggregation finds the few nodes whose profiles
    # disagree on either, and only their edges go through the two splits: both splits over every edge
    # were 2.2 s of a 6 s core at 10M records, nearly all spent on nodes nothing would split.
    t.make("edges", """
        WITH ep AS (
            SELECT e.profile_id, e.node, p.name_bidx, p.surname_bidx, p.channel_id
            FROM raw_edges e JOIN in_profiles p ON p.profile_id = e.profile_id
        ), disputed AS (  -- shared nodes whose profiles disagree on the surname or on the name (a profile
            -- with neither can make no disagreement: min and max skip nulls)
            SELECT node FROM ep WHERE (surname_bidx IS NOT NULL OR name_bidx IS NOT NULL)
                                  AND split_part(node, ':', 1) IN (SELECT kind FROM in_shared) GROUP BY node
            HAVING min(surname_bidx) <> max(surname_bidx) OR min(name_bidx) <> max(name_bidx)
        ), marked AS (
            SELECT ep.*, d.node IS NOT NULL AS disputed FROM ep LEFT JOIN disputed d ON d.node = ep.node
        ), by_surname AS (  -- of those, the nodes whose profiles disagree on the surname
            SELECT node FROM marked WHERE disputed GROUP BY node HAVING min(surname_bidx) <> max(surname_bidx)
        ), ep2 AS (
            SELECT m.profile_id, CASE WHEN s.node IS NOT NULL THEN m.node || '#' || m.surname_bidx ELSE m.node END AS node,
                   m.name_bidx, m.channel_id, s.node IS NOT NULL AS split
            FROM marked m LEFT JOIN by_surname s ON s.node = m.node
            WHERE m.disputed AND NOT (s.node IS NOT NULL AND m.surname_bidx IS NULL)
        ), named AS (  -- and then those whose profiles disagree on the name
            SELECT node FROM ep2 GROUP BY node HAVING min(name_bidx) <> max(name_bidx)
        )
        SELECT profile_id, node, false AS split, channel_id FROM marked WHERE NOT disputed
        UNION ALL
        SELECT ep2.profile_id, CASE WHEN n.node IS NOT NULL THEN ep2.node || '#' || ep2.name_bidx ELSE ep2.node END AS node,
               ep2.split OR n.node IS NOT NULL AS split, ep2.channel_id
        FROM ep2 LEFT JOIN named n ON n.node = ep2.node
        WHERE NOT (n.node IS NOT NULL AND ep2.name_bidx IS NULL)
    """)
    # each node's smallest profile found with its counts (the star's centre), not by a window
    t.make("fan", """
        WITH per_channel AS (  -- a profile is on a node once in ``edges`` (distinct above): count(*)
            SELECT node, channel_id, count(*) AS n, min(profile_id) AS first FROM edges GROUP BY node, channel_id
        ), per_node AS (
            SELECT node, sum(n) AS fanout, max(n) AS channel_fanout, min(first) AS first FROM per_channel GROUP BY node
        )
        SELECT f.node, f.fanout, f.channel_fanout, f.first, b.node IS NOT NULL AS blocked,
               b.node IS NOT NULL OR f.fanout > ? OR (f.channel_fanout > ? AND a.kind IS NULL) AS super
        FROM per_node f LEFT JOIN in_blocked b ON b.node = split_part(f.node, '#', 1)
        LEFT JOIN in_account a ON a.kind = split_part(f.node, ':', 1)
    """, [max_fanout, max_per_channel])
    t.make("star", """
        SELECT e.profile_id AS a, f.first AS b
        FROM edges e JOIN fan f ON f.node = e.node
        WHERE f.fanout >= 2 AND NOT f.super
    """)
    t.make("adj", """
        SELECT DISTINCT a, b FROM (SELECT a, b FROM star UNION ALL SELECT b, a FROM star) u WHERE a <> b
    """)
    # Only profiles on a star take part; the rest are alone and keep their own id (added at the end).
    # The first labels: each profile's smallest star centre (what one round from its own id would give,
    # by an aggregation of the stars instead of a join of every profile's label). A centre is on its own
    # star, so every profile a round can reach has a label.
    t.make("lab", "SELECT a AS p, least(a, min(b)) AS l FROM star GROUP BY a")
    rounds = 0
    # Done when every star edge has one label at both ends: labels are then constant on each component,
    # and the component's smallest profile keeps its own id, so that is everyone's label. Checking is one
    # scan of the stars, cheaper than the round that would find nothing to change.
    while t.scalar("SELECT count(*) FROM star s JOIN lab x ON x.p = s.a JOIN lab y ON y.p = s.b "
                   "WHERE x.l <> y.l") > 0 and rounds <= 100:
        rounds += 1
        t.make("step", """
            SELECT p, min(l) AS l FROM (
                SELECT p, l FROM lab
                UNION ALL SELECT adj.a AS p, lab.l FROM adj JOIN lab ON lab.p = adj.b
            ) u GROUP BY p
        """)
        # Pointer jumping: take the label of your label; halves the remaining depth every round.
        t.make("lab", """
            SELECT s.p, least(s.l, coalesce(t.l, s.l)) AS l FROM step s LEFT JOIN step t ON t.p = s.l
        """)
    labels = t.fetch("SELECT p.profile_id, coalesce(lab.l, p.profile_id) AS component "
                     "FROM (SELECT DISTINCT profile_id FROM in_profiles) p LEFT JOIN lab ON lab.p = p.profile_id "
                     "ORDER BY p.profile_id")
    # a node split by name is reported once, under its own identifier
    supers = t.fetch("SELECT split_part(node, '#', 1) AS node, max(fanout) AS fanout, bool_or(blocked) AS blocked "
                     "FROM fan WHERE super GROUP BY split_part(node, '#', 1) ORDER BY fanout DESC, node")
    split = t.scalar("SELECT count(DISTINCT split_part(node, '#', 1)) FROM edges WHERE split")
    return Components(labels=labels, super_nodes=supers, rounds=rounds, split_by_name=split)


def profile_surnames(con: duckdb.DuckDBPyConnection, own: pa.Table, receivers: pa.Table, links: pa.Table, *,
                     account_kinds: tuple[str, ...], max_fanout: int, single_orders: bool = False) -> pa.Table:
    """Each profile's surname as evidence for the split by surname: its own name's; else its parcels'
    usual receiver's (on two orders or more and on most of them, as a receiver phone counts; with
    ``single_orders``, as there, a single order's or most orders' receiver); else, if
    the other profiles of its platform account (an account id shared, within the fan-out limit) agree
    on one, theirs — a Tmall member centre's profile has the phone and no name, the same account's order
    export has the receivers.

    own(profile_id, surname_bidx) · receivers(profile_id, surname_bidx, orders), null surnames included
    (every order counts in the total) · links(profile_id, node) → (profile_id, surname_bidx), non-null.
    ``analytics.oneid_small.surnames`` is the same rule in plain Python."""
    if own["surname_bidx"].null_count == own.num_rows and receivers["surname_bidx"].null_count == receivers.num_rows:
        # no surname anywhere (a brand without names): nothing to spread over 10M account links
        return pa.table({"profile_id": pa.array([], pa.int64()), "surname_bidx": pa.array([], pa.string())})
    con.register("ps_own", own)
    con.register("ps_receivers", receivers)
    con.register("ps_links", links)
    con.register("ps_account", pa.table({"kind": pa.array(list(account_kinds), pa.string())}))
    return con.sql("""
        WITH per AS (
            SELECT profile_id, surname_bidx, sum(orders) AS n FROM ps_receivers GROUP BY 1, 2
        ), usual AS (
            SELECT profile_id, first(surname_bidx ORDER BY n DESC, surname_bidx) FILTER (surname_bidx IS NOT NULL) AS s,
                   max(n) FILTER (surname_bidx IS NOT NULL) AS n, sum(n) AS total
            FROM per GROUP BY profile_id
        ), base AS (
            SELECT coalesce(o.profile_id, u.profile_id) AS profile_id,
                   coalesce(o.surname_bidx, CASE WHEN (u.n >= 2 OR ?) AND u.n * 2 > u.total THEN u.s END) AS s
            FROM (SELECT * FROM ps_own WHERE surname_bidx IS NOT NULL) o FULL JOIN usual u USING (profile_id)
        ), acc_all AS (
            SELECT profile_id, node FROM ps_links WHERE split_part(node, ':', 1) IN (SELECT kind FROM ps_account)
        ), acc AS (  -- account ids two profiles or more carry, within the fan-out limit
            SELECT profile_id, node FROM acc_all
            WHERE node IN (SELECT node FROM acc_all GROUP BY node HAVING count(*) BETWEEN 2 AND ?)
        ), via AS (
            SELECT a.profile_id, min(b.s) AS s, count(DISTINCT b.s) AS k
            FROM acc a JOIN acc o ON o.node = a.node AND o.profile_id <> a.profile_id
            JOIN base b ON b.profile_id = o.profile_id WHERE b.s IS NOT NULL GROUP BY a.profile_id
        )
        SELECT coalesce(b.profile_id, v.profile_id) AS profile_id,
               coalesce(b.s, CASE WHEN v.k = 1 THEN v.s END) AS surname_bidx
        FROM base b FULL JOIN via v USING (profile_id)
        WHERE coalesce(b.s, CASE WHEN v.k = 1 THEN v.s END) IS NOT NULL
        ORDER BY profile_id
    """, params=[single_orders, max_fanout]).to_arrow_table()


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
