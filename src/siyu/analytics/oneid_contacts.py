"""A guide's WeCom contact and the member it is, when nothing but the guide and a name ties them.

A store guide adds customers on WeCom; the contact's WeChat nickname is often the person's real name
or their given name with a flourish (1,071 of the 2,003 contacts the demo brand's identifiers join to a
member of their guide), and the guide serves the same member at the store. A contact that no identifier
joins to a profile with a name of its own (no unionid the brand knows, no phone in the guide's remark, or
one only a nameless sign-up shares) is matched to the member of the same guide whose real name is its nickname, or whose given name of two or more characters is its
nickname but for one last character (吴静英's contact ``静英呀``; a one-character given name says too
little; only with ``oneid_contact_given_names``, whose measured precision is below OneID's), when:

- the genders agree (WeChat's for the contact, the member's own or their goods');
- the contact was added no earlier than a day before the member registered (a guide adds a customer
  they have met);
- that name names one person among the guide's members (members sharing a phone count once): two 王芳
  at one guide match neither.

The weight is a Fellegi–Sunter match weight (log2 Bayes factors summed) from the brand's own data:
for the name, m is the share of contacts joined by an identifier to a member of their guide whose
nickname is that member's name (or given name and one character), u the share of the brand's members
with that name; for the guide and the gender, which must agree, m is taken as 1 and u is the share of
members served by that guide, of that gender. Fewer than ``MIN_JOINED`` joined contacts to estimate m
from: no matches.

Matches are stored beside Splink's (``identity_matches``) and join as its pairs do, in batch, in real
time and on Spark. The rule is tested on generated brands whose nicknames follow these patterns; a
brand's own contacts may carry other habits (English names, pet names), which it then simply misses.
"""

from __future__ import annotations

from datetime import timedelta
from math import log2
from typing import Any

import duckdb
import pyarrow as pa

MIN_JOINED = 50
EVIDENCE = "nickname + guide + gender"


def contact_matches(con: duckdb.DuckDBPyConnection, contacts: pa.Table, members: pa.Table, traits: pa.Table,
                    links: pa.Table, named: pa.Array, *, max_fanout: int, blocked: list[str],
                    stats: dict[str, Any] | None = None) -> pa.Table:
    """contacts(profile_id, guide_id, seen_at, nick_bidx, nick_given_bidx: the nickname's blind index as a
    real name, and its start as a given name) · members(profile_id, guide_id, registered_at, name_bidx,
    given_bidx) · traits(profile_id, channel_id, gender) · links(profile_id, node) · named: the ids of
    profiles with a name of their own → (profile_a < profile_b, match_weight, evidence). ``stats``, when
    given, is filled with the brand's counts the weights took (``contact_pairs`` weighs with them)."""
    for name, table in (("cm_contacts", contacts), ("cm_members", members), ("cm_traits", traits),
                        ("cm_links", links), ("cm_blocked", pa.table({"node": pa.array(blocked, pa.string())})),
                        ("cm_named", pa.table({"profile_id": named.cast(pa.int64())}))):
        con.register(name, table)
    for name, sql in _linked(max_fanout).items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    if stats is not None:
        n, agree, people, guides, per_guide, genders, per_gender = con.sql(_CTES + _STATS).fetchall()[0]
        stats.update(n=n, agree=agree, people=people, per_guide=dict(zip(guides or [], per_guide or [], strict=True)),
                     per_gender=dict(zip(genders or [], per_gender or [], strict=True)))
    return con.sql(_CTES + f"""
        SELECT least(one.contact, one.member) AS profile_a, greatest(one.contact, one.member) AS profile_b,
               log2((m.agree / m.n) / (v.n / people.n)) + log2(people.n / pg.n) + log2(people.n / ps.n)
                   AS match_weight,
               '{EVIDENCE}' AS evidence
        FROM one JOIN per_value v ON v.how = one.how AND v.val = one.val
        JOIN per_guide pg ON pg.guide_id = one.guide_id JOIN per_gender ps ON ps.gender = one.gender, m, people
        WHERE m.n >= {MIN_JOINED} AND m.agree > 0
        ORDER BY profile_a, profile_b
    """).to_arrow_table()  # noqa: S608 (numbers and a constant)


# the counts the weights take, for real time (``contact_pairs``)
_STATS = """
    SELECT (SELECT n FROM m), (SELECT agree FROM m), (SELECT n FROM people),
           (SELECT list(guide_id::VARCHAR ORDER BY guide_id) FROM per_guide),
           (SELECT list(n ORDER BY guide_id) FROM per_guide),
           (SELECT list(gender ORDER BY gender) FROM per_gender), (SELECT list(n ORDER BY gender) FROM per_gender)"""


def _linked(max_fanout: int) -> dict[str, str]:
    """What the rule needs of the identifier links, each computed once (the counts and the matches
    share them; recomputed for each, the links were scanned twice): the contacts joined to another
    profile, and each member's person key."""
    ok_links = """
        WITH ok_links AS (  -- links by identifiers that may join (not on the blocklist)
            SELECT l.profile_id, l.node FROM cm_links l ANTI JOIN cm_blocked b ON b.node = l.node
        )"""
    joined = ok_links + f""", fan AS (  -- the contacts' identifiers that join: carried by 2 up to the fan-out limit
            SELECT node FROM ok_links
            WHERE node IN (SELECT node FROM ok_links SEMI JOIN cm_contacts c ON c.profile_id = ok_links.profile_id)
            GROUP BY node HAVING count(DISTINCT profile_id) BETWEEN 2 AND {int(max_fanout)}
        )  -- (contact, other profile) sharing a joining identifier
        SELECT DISTINCT l.profile_id AS contact, o.profile_id AS other
        FROM ok_links l SEMI JOIN cm_contacts c ON c.profile_id = l.profile_id
        JOIN fan ON fan.node = l.node JOIN ok_links o ON o.node = l.node AND o.profile_id <> l.profile_id"""  # noqa: S608 (a number)
    # a member's person, as far as a phone tells (one person's POS card and mini-program)
    person_key = ok_links + """
        SELECT mb.profile_id, coalesce(min(l.node), 'profile:' || mb.profile_id::VARCHAR) AS key
        FROM cm_members mb LEFT JOIN ok_links l ON l.profile_id = mb.profile_id AND starts_with(l.node, 'phone:')
        GROUP BY mb.profile_id"""  # noqa: S608 (constant text)
    return {"cm_joined": joined, "cm_person_key": person_key}


# the rule's steps after the links, for the matches and for the counts they weigh with
_CTES = """
        WITH m AS (  -- of contacts joined to a member of their own guide: how often the nickname is the name
            SELECT count(DISTINCT c.profile_id) AS n,
                   count(DISTINCT c.profile_id) FILTER (WHERE c.nick_bidx = mb.name_bidx
                                                        OR c.nick_given_bidx = mb.given_bidx) AS agree
            FROM cm_joined j JOIN cm_contacts c ON c.profile_id = j.contact
            JOIN cm_members mb ON mb.profile_id = j.other AND mb.guide_id = c.guide_id
        ), g AS (SELECT profile_id, gender FROM cm_traits WHERE gender IS NOT NULL
        ), named_joined AS (  -- contacts an identifier joins to a profile with a name of its own
            SELECT DISTINCT j.contact FROM cm_joined j SEMI JOIN cm_named n ON n.profile_id = j.other
        ), lone AS MATERIALIZED (  -- contacts nothing joins to a named profile, with their gender
            -- (materialised: joined to the members on the gender first, the plan paired every woman)
            SELECT c.profile_id, c.guide_id, c.seen_at, c.nick_bidx, c.nick_given_bidx, g.gender FROM cm_contacts c
            JOIN g ON g.profile_id = c.profile_id ANTI JOIN named_joined j ON j.contact = c.profile_id
        ), gm AS MATERIALIZED (  -- members with their gender and person key
            SELECT mb.profile_id, mb.guide_id, mb.registered_at, mb.name_bidx, mb.given_bidx, g.gender, k.key
            FROM cm_members mb
            JOIN g ON g.profile_id = mb.profile_id JOIN cm_person_key k ON k.profile_id = mb.profile_id
        ), cand AS (  -- the nickname is the member's name, or their given name and a flourish
            SELECT c.profile_id AS contact, mb.profile_id AS member, mb.key, c.guide_id, c.gender,
                   'name' AS how, mb.name_bidx AS val
            FROM lone c JOIN gm mb ON mb.guide_id = c.guide_id AND mb.name_bidx = c.nick_bidx AND mb.gender = c.gender
            WHERE mb.registered_at <= c.seen_at + INTERVAL 1 DAY
            UNION
            SELECT c.profile_id, mb.profile_id, mb.key, c.guide_id, c.gender, 'given', mb.given_bidx
            FROM lone c JOIN gm mb ON mb.guide_id = c.guide_id AND mb.given_bidx = c.nick_given_bidx
                                      AND mb.gender = c.gender
            WHERE mb.registered_at <= c.seen_at + INTERVAL 1 DAY
        ), one AS (  -- one person named: the member profile with the lowest id (its person's others join it)
            SELECT contact, min(member) AS member, any_value(guide_id) AS guide_id, any_value(gender) AS gender,
                   max(how) AS how, arg_max(val, how) AS val
            FROM cand GROUP BY contact HAVING count(DISTINCT key) = 1
        ), people AS (SELECT count(DISTINCT key) AS n FROM gm
        ), per_guide AS (SELECT guide_id, count(DISTINCT key) AS n FROM gm GROUP BY 1
        ), per_gender AS (SELECT gender, count(DISTINCT key) AS n FROM gm GROUP BY 1
        ), per_value AS (  -- how many people carry each name, each given name
            SELECT 'name' AS how, name_bidx AS val, count(DISTINCT key) AS n FROM gm GROUP BY 2
            UNION ALL
            SELECT 'given', given_bidx, count(DISTINCT key) FROM gm WHERE given_bidx IS NOT NULL GROUP BY 2
        )"""


def joined_to_named(links: list[Any], carriers: dict[str, set[int]], named: Any, *, max_fanout: int,
                    blocked: set[str]) -> set[int]:
    """The contacts of ``links`` (profile, identity, node, fan-out) that an identifier that may join (not
    blocked, carried by 2 up to ``max_fanout``) joins to another profile with a name of its own: the
    profiles the rule matches no more (``named_joined`` above), in real time. ``carriers``: each node's
    profiles; ``named``: those with a name."""
    return {p for p, _, node, fan in links if node not in blocked and 2 <= fan <= max_fanout
            and any(q != p and q in named for q in carriers.get(node, ()))}


def contact_pairs(contacts: list[dict[str, Any]], members: list[dict[str, Any]], genders: dict[int, str],
                  keys: dict[int, str], joined: set[int], stats: dict[str, Any]) -> list[tuple[int, int, float, str]]:
    """``contact_matches`` for a few contacts in plain Python, with the counts a batch run kept
    (``stats``), for real time. ``contacts`` and ``members``: (profile_id, guide_id, at, name, given),
    a contact's ``at`` when it was added and its names the nickname's indexes, a member's when it
    registered; ``members`` holds every member carrying a name or given name of the contacts' (of every
    guide: how many people carry a name weighs its agreement); ``keys``: each member's person key
    (``person_key`` above); ``joined``: the contacts an identifier joins to a profile with a name of its
    own → (profile_a < profile_b, match_weight, evidence), by profile."""
    if stats["n"] < MIN_JOINED or stats["agree"] <= 0:
        return []
    gm = [m for m in members if m["profile_id"] in genders]
    carrying: dict[tuple[str, str], set[str]] = {}  # (how, value) → the people carrying it
    for m in gm:
        carrying.setdefault(("name", m["name"]), set()).add(keys[m["profile_id"]])
        if m["given"] is not None:
            carrying.setdefault(("given", m["given"]), set()).add(keys[m["profile_id"]])
    out = []
    for c in contacts:
        gender = genders.get(c["profile_id"])
        if gender is None or c["profile_id"] in joined or c["at"] is None:
            continue
        latest = c["at"] + timedelta(days=1)  # a guide adds a customer they have met
        cand = [(m, how, m[how]) for m in gm for how in ("name", "given")
                if m["guide_id"] == c["guide_id"] and c[how] is not None and m[how] == c[how]
                and genders[m["profile_id"]] == gender and m["at"] is not None and m["at"] <= latest]
        if not cand or len({keys[m["profile_id"]] for m, _, _ in cand}) != 1:
            continue
        how = max(h for _, h, _ in cand)
        value = next(v for _, h, v in cand if h == how)
        member = min(m["profile_id"] for m, _, _ in cand)
        people = stats["people"]
        weight = (log2((stats["agree"] / stats["n"]) / (len(carrying[(how, value)]) / people))
                  + log2(people / stats["per_guide"].get(str(c["guide_id"]), 1))
                  + log2(people / stats["per_gender"].get(gender, 1)))
        out.append((min(c["profile_id"], member), max(c["profile_id"], member), weight, EVIDENCE))
    return sorted(out)
