"""Two platform buyers whose parcels go to the same masked receiver: a Douyin account and a Tmall one.

Douyin shows a receiver as ``张**``, ``1********35`` and a district with the start of the street
(``长江路***``); Taobao's order API as ``张**``, ``138****1234`` and ``长江路**号``, its seller-centre export
with the whole name and address; JD as ``张**``, ``138****1234`` and a district. None carries a full
phone, so no identifier joins one person's accounts across them, and Splink's masked-phone blocks
(``analytics.oneid_match``) compare only the 3+4 form. What every platform leaves visible is the
surname, the last two digits of the phone, the city and district and, from Douyin and Taobao, the first
three characters of the street line. A buyer with no full phone of its own is described by where its
parcels usually go (the value on most of its orders, and on two or more of them, or on its only order:
``one_parcel``), and two buyers of different channels *fit* when the surname, the phone ending and the
place agree, the street where both show one, and the 3+4 mask where both show one. A pair is joined when:

- each is the only person of the other's channel that fits it (buyers an identifier joins count as
  one person: a Tmall account's export and API records), and the people that fit a buyer all fit each
  other (one person's Douyin, Tmall and JD accounts do; a JD 张 that fits a Douyin and a Tmall 张 on two
  streets is two people, and joins neither);
- not both show a 3+4 mask (two such masks are Splink's to compare);
- the genders do not disagree (a parcel of men's goods to a woman was bought for someone else);
- neither is described by its only parcel (``one_parcel``: "neither"; "one" of them, or "both"): a
  parcel sent to a friend who shops on the other platform describes the friend;
- the weight reaches ``min_weight``. The weight is minus log2 of the strangers expected to fit by
  chance: ``-log2(n · f_surname · f_ending · f_place · f_street)``, ``n`` the buyers (as people), each
  ``f`` the share of them with that value (the street's within its place, when both show one). It
  falls as a brand grows (at millions of buyers a street holds several 张 whose phones end alike), so
  the rule joins fewer pairs there rather than more wrong ones. On random buyers, where every fit is a
  stranger, 0.16 % of them found a match at weight 4 (20,000 and 200,000 buyers) and 0.005 % at 8.

On five generated brands (seeds 7, 11, 23, 3, 42; ``siyu oneid evaluate``): 417–458 pairs a brand, 1
of them wrong in all; with "one", 1,731–1,889 pairs, 6–15 wrong, each a buyer described by its only
parcel, a gift. Pairs are stored beside Splink's (``identity_matches``) and join as its pairs do, in
batch, in real time and on Spark.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from siyu.analytics.oneid_match import MASK7, PLACE, usual_receivers

EVIDENCE = "phone ending + surname + city + district"
STREET = "street"
ONE_PARCEL = "one parcel"
# Which pairs may include a buyer described by its only parcel: neither, one of the two, or both.
ONE_PARCEL_RULE = {"neither": "NOT (c.op_x OR c.op_y)", "one": "NOT (c.op_x AND c.op_y)", "both": "true"}


def _register(con: duckdb.DuckDBPyConnection, receivers: pa.Table, phones: pa.Table, traits: pa.Table,
              links: pa.Table, blocked: list[str], known: pa.Table | None) -> None:
    if known is None:
        known = pa.table({"profile_a": pa.array([], pa.int64()), "profile_b": pa.array([], pa.int64())})
    for name, table in (("pm_receivers", receivers), ("pm_phones", phones), ("pm_traits", traits),
                        ("pm_links", links), ("pm_blocked", pa.table({"node": pa.array(blocked, pa.string())})),
                        ("pm_known", known.select(["profile_a", "profile_b"]))):
        con.register(name, table)


def _buyers_sql(max_fanout: int) -> str:
    """The CTEs every fit starts from: ``feats`` (each buyer without a full phone of its own: the ending,
    3+4 mask, surname, place and street where its parcels usually go, ``one_parcel``, channel, gender)
    and ``person_key`` (buyers an identifier joins are one person)."""
    return f"""
        WITH own AS (  -- a profile's own phones: a full one, its masks' endings, its 3+4 masks
            SELECT profile_id, bool_or(is_full) AS full, count(DISTINCT right(display, 2)) AS endings,
                   any_value(right(display, 2)) AS ending,
                   count(DISTINCT display) FILTER (WHERE regexp_full_match(display, '{MASK7}')) AS n7,
                   max(display) FILTER (WHERE regexp_full_match(display, '{MASK7}')) AS m7
            FROM pm_phones GROUP BY profile_id
        ), {usual_receivers("pm_receivers", {
            "surname": ("surname_bidx", "surname_bidx IS NOT NULL"), "street": ("street", "street IS NOT NULL"),
            "place": PLACE, "mask": ("mask", "mask IS NOT NULL")}, single_orders=True)},
        buyers AS (  -- buyers without a full phone of their own: the ending (and the 3+4 mask) of
            -- where their parcels usually go, else of their own masks when those agree on it (a receiver
            -- phone known in full, or learned from Douyin's index, changes nothing here: a batch run
            -- after the brand learns a phone finds the pairs it found before)
            SELECT t.profile_id,
                   coalesce(right(u.value, 2), CASE WHEN o.endings = 1 THEN o.ending END) AS ending,
                   CASE WHEN u.value IS NOT NULL THEN CASE WHEN regexp_full_match(u.value, '{MASK7}') THEN u.value END
                        WHEN o.n7 = 1 THEN o.m7 END AS mask7
            FROM totals t LEFT JOIN own o USING (profile_id)
            LEFT JOIN usual u ON u.profile_id = t.profile_id AND u.what = 'mask'
            WHERE NOT coalesce(o.full, false)
        ), feats AS MATERIALIZED (
            SELECT b.profile_id, b.ending, b.mask7, s.value AS surname, p.value AS place, st.value AS street,
                   t.total = 1 AS one_parcel, tr.channel_id, tr.gender
            FROM buyers b JOIN totals t USING (profile_id)
            JOIN usual s ON s.profile_id = b.profile_id AND s.what = 'surname'
            JOIN usual p ON p.profile_id = b.profile_id AND p.what = 'place'
            LEFT JOIN usual st ON st.profile_id = b.profile_id AND st.what = 'street'
            JOIN pm_traits tr ON tr.profile_id = b.profile_id
            WHERE regexp_full_match(b.ending, '[0-9]{{2}}')
        ), own_links AS (  -- the buyers' identifiers that may join (not on the blocklist)
            SELECT l.profile_id, l.node FROM pm_links l SEMI JOIN feats f ON f.profile_id = l.profile_id
            ANTI JOIN pm_blocked b ON b.node = l.node
        ), shared AS (  -- carried by 2 up to the fan-out limit
            SELECT l.node FROM pm_links l SEMI JOIN own_links o ON o.node = l.node GROUP BY l.node
            HAVING count(DISTINCT l.profile_id) BETWEEN 2 AND {int(max_fanout)}
        ), joining AS (SELECT l.profile_id, l.node FROM own_links l SEMI JOIN shared s ON s.node = l.node
        ), person_key AS MATERIALIZED (  -- one key for buyers an identifier joins (a Tmall account's
            -- export and API records): the lowest profile sharing one with it
            SELECT f.profile_id, least(f.profile_id, min(o.profile_id)) AS key FROM feats f
            LEFT JOIN joining l ON l.profile_id = f.profile_id LEFT JOIN joining o ON o.node = l.node
            GROUP BY f.profile_id"""  # noqa: S608 (numbers and constants)


def parcel_records(con: duckdb.DuckDBPyConnection, receivers: pa.Table, phones: pa.Table, traits: pa.Table,
                   links: pa.Table, *, max_fanout: int, blocked: list[str]) -> pa.Table:
    """Each buyer as ``parcel_matches`` compares it (``feats`` with its person ``key``), for real time."""
    _register(con, receivers, phones, traits, links, blocked, None)
    return con.sql(_buyers_sql(max_fanout) + """
        ) SELECT f.*, k.key FROM feats f JOIN person_key k USING (profile_id) ORDER BY f.profile_id
    """).to_arrow_table()  # noqa: S608 (numbers and constants)


def parcel_matches(con: duckdb.DuckDBPyConnection, receivers: pa.Table, phones: pa.Table, traits: pa.Table,
                   links: pa.Table, *, min_weight: float, max_fanout: int, blocked: list[str],
                   one_parcel: str = "neither", known: pa.Table | None = None,
                   buyers: pa.Table | None = None) -> pa.Table:
    """receivers(profile_id, surname_bidx, mask, street, city, district, orders: a buyer's orders per
    receiver value) · phones(profile_id, is_full, display) · traits(profile_id, channel_id, gender) · links
    (profile_id, node: buyers sharing an identifier that may join are one person to the uniqueness test)
    → (profile_a < profile_b, match_weight, evidence), leaving out the pairs of ``known`` (profile_a,
    profile_b: Splink's matches, which say more of the pair). ``buyers``: ``parcel_records`` of the same
    inputs, when the caller has them (the batch keeps them for real time)."""
    if buyers is None:
        buyers = parcel_records(con, receivers, phones, traits, links, max_fanout=max_fanout, blocked=blocked)
    _register(con, receivers, phones, traits, links, blocked, known)
    con.register("pm_buyers", buyers)
    return con.sql(f"""
        WITH feats AS (SELECT * EXCLUDE (key) FROM pm_buyers
        ), person_key AS (SELECT profile_id, key FROM pm_buyers
        ), cand AS MATERIALIZED (  -- every pair of people that fits, whatever the channels (for uniqueness)
            SELECT a.profile_id AS x, b.profile_id AS y, ka.key AS kx, kb.key AS ky, a.channel_id AS ch_x,
                   b.channel_id AS ch_y, a.channel_id <> b.channel_id AS across,
                   a.street IS NOT NULL AND b.street IS NOT NULL AS streets, coalesce(a.street, b.street) AS street,
                   a.surname, a.ending, a.place, a.one_parcel AS op_x, b.one_parcel AS op_y,
                   a.gender AS g_x, b.gender AS g_y, a.mask7 IS NOT NULL AND b.mask7 IS NOT NULL AS masks
            FROM feats a JOIN feats b ON a.surname = b.surname AND a.ending = b.ending AND a.place = b.place
                                         AND a.profile_id <> b.profile_id
            JOIN person_key ka ON ka.profile_id = a.profile_id JOIN person_key kb ON kb.profile_id = b.profile_id
            WHERE (a.street = b.street OR a.street IS NULL OR b.street IS NULL) AND ka.key <> kb.key
              AND (a.mask7 = b.mask7 OR a.mask7 IS NULL OR b.mask7 IS NULL)
        ), fits AS (SELECT DISTINCT x, ky FROM cand
        ), torn AS (  -- buyers two of whose fits do not fit each other: two people
            SELECT a.x FROM fits a JOIN fits b ON b.x = a.x AND b.ky > a.ky
            WHERE NOT EXISTS (SELECT 1 FROM cand c WHERE c.kx = a.ky AND c.ky = b.ky)
        ), alone AS (  -- one person fits among the buyers of each channel, and those fit each other (one
            -- person's Douyin, Tmall and JD accounts; two Tmall accounts that fit are two people, or a gift)
            SELECT x, ch_y FROM cand WHERE x NOT IN (SELECT x FROM torn) GROUP BY x, ch_y
            HAVING count(DISTINCT ky) = 1
        ), people AS (SELECT f.*, k.key FROM feats f JOIN person_key k USING (profile_id)
        ), n AS (SELECT count(DISTINCT key)::DOUBLE AS n FROM people
        ), f_surname AS (SELECT surname, count(DISTINCT key) / any_value(n.n) AS f FROM people, n GROUP BY 1
        ), f_ending AS (SELECT ending, count(DISTINCT key) / any_value(n.n) AS f FROM people, n GROUP BY 1
        ), f_place AS (SELECT place, count(DISTINCT key) / any_value(n.n) AS f FROM people, n GROUP BY 1
        ), place_streets AS (  -- a street's share of the people of its place who show their street
            SELECT place, street, count(DISTINCT key) / sum(count(DISTINCT key)) OVER (PARTITION BY place) AS f
            FROM people WHERE street IS NOT NULL GROUP BY 1, 2
        ), kept AS (
            SELECT c.*, -log2(n.n * fs.f * fe.f * fp.f * CASE WHEN c.streets THEN ps.f ELSE 1 END) AS match_weight
            FROM cand c SEMI JOIN alone ax ON ax.x = c.x AND ax.ch_y = c.ch_y
            SEMI JOIN alone ay ON ay.x = c.y AND ay.ch_y = c.ch_x
            JOIN f_surname fs ON fs.surname = c.surname JOIN f_ending fe ON fe.ending = c.ending
            JOIN f_place fp ON fp.place = c.place
            LEFT JOIN place_streets ps ON ps.place = c.place AND ps.street = c.street, n
            WHERE c.x < c.y AND c.across AND NOT c.masks AND {ONE_PARCEL_RULE[one_parcel]}
              AND coalesce(c.g_x = c.g_y, true)
            -- one pair per two people (a person's export and API records both fit)
            QUALIFY row_number() OVER (PARTITION BY least(kx, ky), greatest(kx, ky) ORDER BY x, y) = 1
        )
        SELECT x AS profile_a, y AS profile_b, match_weight,
               concat_ws(' + ', '{EVIDENCE}', CASE WHEN streets THEN '{STREET}' END,
                         CASE WHEN op_x OR op_y THEN '{ONE_PARCEL}' END) AS evidence
        FROM kept k WHERE match_weight >= {float(min_weight)!r}
          AND NOT EXISTS (SELECT 1 FROM pm_known w WHERE w.profile_a = k.x AND w.profile_b = k.y)
        ORDER BY profile_a, profile_b
    """).to_arrow_table()  # noqa: S608 (numbers and constants)
