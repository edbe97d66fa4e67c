"""Probabilistic OneID: Splink (Fellegi–Sunter, DuckDB backend) for buyers known only by a masked phone.

Tmall and JD show a buyer's phone masked (``138****1234``); the brand's own members carry full phones,
whose mask is the same text. Records that share the mask are compared on the real name (a blind index:
the profile's own, or the name its parcels usually go to), on the surname (the name's first character,
which is all JD's and Tmall's order APIs leave of a receiver: ``张**``) and on the usual city and
district. A buyer with no phone of its own is known by its usual receiver's phone, as a mask. Splink
estimates the parameters from the brand's own data: u by random sampling, m by expectation maximisation
within the mask blocks, the prior from exact (mask, name) agreement. A pair is kept at or above
``min_weight`` (log2 Bayes factor) and when it passes the guards (``guarded``).
"""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from siyu.analytics.oneid_score import MatchModel

FEATURES = ("unique_id", "mask7", "name", "surname", "city", "district", "has_full")
MASK7 = r"1[0-9]{2}\*{4}[0-9]{4}"  # 138****1234, a regular expression for SQL text
# kept beside the features for the gift guards; a list without them (``siyu oneid dedupe``) gets nulls
GUARDS = (("channel_id", pa.int64()), ("gender", pa.string()), ("one_parcel", pa.bool_()))
# Below this many records Splink's estimates are not worth trusting (its EM fails outright on a few
# hundred); the deterministic joins stand alone.
MIN_RECORDS = 2000


PLACE = ("city || '\x1f' || coalesce(district, '')", "city IS NOT NULL")  # a receiver's city and district


def usual_receivers(table: str, values: dict[str, tuple[str, str]], *, single_orders: bool) -> str:
    """SQL text of three CTEs over ``table`` (profile_id, …, orders: a buyer's orders per receiver value):
    ``totals`` (each buyer's orders), ``values_`` (profile_id, what, value, n) of ``values`` (what →
    (expression, condition)) and ``usual`` (profile_id, what, value): where a buyer's parcels usually go,
    the value on most of its orders and on two or more of them, or with ``single_orders`` on its only one.
    Names and expressions come from this package, never from input."""
    parts = "\n            UNION ALL\n            ".join(
        f"SELECT profile_id, '{what}' AS what, {expr} AS value, sum(orders) AS n FROM {table} WHERE {cond} GROUP BY 1, 3"  # noqa: S608
        for what, (expr, cond) in values.items())
    single = "OR any_value(t.total) = 1" if single_orders else ""
    return f"""totals AS (SELECT profile_id, sum(orders) AS total FROM {table} GROUP BY profile_id
        ), values_ AS (
            {parts}
        ), usual AS (
            SELECT v.profile_id, v.what, first(v.value ORDER BY v.n DESC, v.value) AS value
            FROM values_ v JOIN totals t USING (profile_id) GROUP BY v.profile_id, v.what
            HAVING (max(v.n) >= 2 {single}) AND max(v.n) * 2 > any_value(t.total)
        )"""  # noqa: S608 (text of this package)


def match_features(con: duckdb.DuckDBPyConnection, profiles: pa.Table, phones: pa.Table,
                   receivers: pa.Table, traits: pa.Table, *, single_orders: bool = False) -> pa.Table:
    """profiles(profile_id, name_bidx, surname_bidx) · phones(profile_id, is_full, display) ·
    receivers(profile_id, name_bidx, surname_bidx, mask, mask_full, city, district, orders) · traits(profile_id,
    channel_id, gender) → one row per profile with a 3+4 mask."""
    con.register("mf_profiles", profiles)
    con.register("mf_phones", phones)
    if "mask_full" not in receivers.column_names:  # a list's own phones (``siyu oneid dedupe``): full ones
        receivers = receivers.append_column("mask_full", pc.is_valid(receivers["mask"]))
    con.register("mf_receivers", receivers)
    con.register("mf_traits", traits)
    # A buyer's name, surname and place come from where their parcels usually go: a receiver on two or
    # more of their orders and on most of them; with ``single_orders`` also the receiver of a buyer's only
    # order, marked ``one_parcel`` — it may be a gift, which the guards of ``guarded`` look for (measured
    # without them on the demo: 109 of 7,442 matches wrong).
    return con.sql(f"""
        WITH masks AS (  -- a full phone's mask first; a masked phone of the 3+4 form otherwise
            SELECT profile_id, first(display ORDER BY is_full DESC, display) AS mask7, bool_or(is_full) AS has_full
            FROM mf_phones WHERE regexp_full_match(display, '{MASK7}') GROUP BY profile_id
        ), {usual_receivers("mf_receivers", {
            "name": ("name_bidx", "name_bidx IS NOT NULL"), "surname": ("surname_bidx", "surname_bidx IS NOT NULL"),
            "mask": ("mask", f"regexp_full_match(mask, '{MASK7}')"), "place": PLACE}, single_orders=single_orders)},
        usual_full AS (  -- whether the usual receiver's phone is known in full (or only as its mask)
            SELECT r.profile_id, bool_or(r.mask_full) AS full FROM mf_receivers r
            JOIN usual u ON u.profile_id = r.profile_id AND u.what = 'mask' AND u.value = r.mask GROUP BY 1
        ), base AS (  -- a phone of its own in full; else the usual receiver's phone's mask (a buyer's masks
            -- include its gifts' receivers: the one most parcels went to is its own); else a mask of its own
            SELECT profile_id, mask7, true AS has_full, true AS own_full FROM masks WHERE has_full
            UNION ALL
            SELECT u.profile_id, u.value, f.full, false FROM usual u JOIN usual_full f USING (profile_id)
            WHERE u.what = 'mask' AND u.profile_id NOT IN (SELECT profile_id FROM masks WHERE has_full)
            UNION ALL
            SELECT profile_id, mask7, false, false FROM masks
            WHERE NOT has_full AND profile_id NOT IN (SELECT profile_id FROM usual WHERE what = 'mask')
        ), feats AS (
            SELECT m.profile_id AS unique_id, m.mask7,
                   coalesce(p.name_bidx, n.value) AS name, coalesce(p.surname_bidx, s.value) AS surname,
                   nullif(split_part(pl.value, '\x1f', 1), '') AS city,
                   nullif(split_part(pl.value, '\x1f', 2), '') AS district, m.has_full, m.own_full,
                   tr.channel_id, tr.gender,
                   -- described by its only parcel, unless the phone is the buyer's own (a gift's receiver
                   -- then sits beside the giver's mask: it matches the receiver's records on neither)
                   p.name_bidx IS NULL AND coalesce(t.total, 0) = 1 AND NOT m.own_full AS one_parcel
            FROM base m LEFT JOIN mf_profiles p USING (profile_id) LEFT JOIN mf_traits tr USING (profile_id)
            LEFT JOIN totals t ON t.profile_id = m.profile_id
            LEFT JOIN usual n ON n.profile_id = m.profile_id AND n.what = 'name'
            LEFT JOIN usual s ON s.profile_id = m.profile_id AND s.what = 'surname'
            LEFT JOIN usual pl ON pl.profile_id = m.profile_id AND pl.what = 'place'
        )
        -- a masked phone alone names no one: such a record needs a name or a surname to be compared at all
        SELECT * EXCLUDE (own_full) FROM feats WHERE has_full OR name IS NOT NULL OR surname IS NOT NULL ORDER BY unique_id
    """).to_arrow_table()  # noqa: S608 (text of this module)


def probabilistic_matches(con: duckdb.DuckDBPyConnection, records: pa.Table, *, min_weight: float,
                          seed: int = 7, links: pa.Table | None = None, account_kinds: tuple[str, ...] = (),
                          fitted: list[MatchModel] | None = None) -> pa.Table:
    """Pairs (profile_a < profile_b, match_weight, evidence) at or above ``min_weight``. ``links``
    (profile_id, node 'kind:value') with ``account_kinds``: the platform account ids profiles carry, for
    the gift guard. The fitted model is appended to ``fitted`` (``analytics.oneid_score``) when given."""
    for column, kind in GUARDS:
        if column not in records.column_names:
            records = records.append_column(column, pa.nulls(records.num_rows, kind))
    empty = pa.table({"profile_a": pa.array([], pa.int64()), "profile_b": pa.array([], pa.int64()),
                      "match_weight": pa.array([], pa.float64()), "evidence": pa.array([], pa.string())})
    if records.num_rows < MIN_RECORDS:
        return empty
    try:
        return _fit_and_match(con, records, min_weight, seed, empty, links, account_kinds, fitted)
    except Exception as exc:  # a model that cannot be fitted joins nobody; OneID goes on
        logging.getLogger(__name__).warning("probabilistic OneID skipped: %s", exc)
        return empty


def _fit_and_match(con: duckdb.DuckDBPyConnection, records: pa.Table, min_weight: float, seed: int,
                   empty: pa.Table, links: pa.Table | None, account_kinds: tuple[str, ...],
                   fitted: list[MatchModel] | None) -> pa.Table:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.WARNING)
    # Within name blocks the surname always agrees, so that session cannot train its disagreement (Splink
    # warns on stderr); the session within mask blocks trains it.
    logging.getLogger("splink.internals.expectation_maximisation").setLevel(logging.ERROR)
    api = DuckDBAPI(con)
    sdf = api.register(records.select([*FEATURES, *(c for c, _ in GUARDS)]), table_name="siyu_match_records")
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("mask7")],
        # the mask and the surname with term-frequency adjustment: sharing a mask few records have, or a
        # rare surname, says more than sharing 王
        comparisons=[cl.ExactMatch("mask7").configure(term_frequency_adjustments=True), cl.ExactMatch("name"),
                     cl.ExactMatch("surname").configure(term_frequency_adjustments=True),
                     cl.ExactMatch("city"), cl.ExactMatch("district")],
        additional_columns_to_retain=["has_full", *(c for c, _ in GUARDS)],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(sdf, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("mask7", "name")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    share = min(1.0, 500_000 / records.num_rows)
    # two sessions: within masks (trains name and place), within names (trains the mask). On a small
    # brand a session can see no disagreement at all and drive an m-probability to 0, which Splink
    # refuses; that session's estimates are then left at Splink's defaults.
    for rule in ("mask7", "name"):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(rule),
                                                                             record_sample_proportion=share)
        except ValueError as exc:
            logging.getLogger(__name__).warning("probabilistic OneID: EM within %s skipped (%s)", rule, exc)
    pred = linker.inference.predict(threshold_match_weight=min_weight)
    table = pred.physical_name  # a table Splink created in ``con``
    columns = set(con.sql(f"SELECT * FROM {table} LIMIT 0").columns)  # noqa: S608
    if not {"name_l", "surname_l", "gamma_name", "gamma_surname", "gamma_city", "gamma_district"} <= columns:
        # Splink leaves out a comparison its training found no use for (seen on a 1,500-member brand);
        # without the name the guards below cannot be checked, so nothing is joined.
        logging.getLogger(__name__).warning("probabilistic OneID: the model has no name comparison; no joins")
        return empty
    if fitted is not None:
        fitted.append(MatchModel.from_splink(linker.misc.save_model_to_json()))
    return guarded(con, table, links, account_kinds)


def guarded(con: duckdb.DuckDBPyConnection, table: str, links: pa.Table | None,
            account_kinds: tuple[str, ...]) -> pa.Table:
    """The predicted pairs in ``table`` (Splink's columns: unique_id, gamma and each record's retained
    columns, suffixed _l and _r) that pass the guards, as (profile_a, profile_b, match_weight, evidence);
    ``links`` (profile_id, node) of ``account_kinds`` say which profiles are one platform account.

    Two full phones are different evidence, not a match; known names, or surnames, that differ say two
    people. A record whose name and place come from its buyer's only parcel (``one_parcel``) may describe
    the receiver of a gift: such a record is dropped when it matches another account of its own channel
    (the receiver shops there themselves: measured on the demo, 46 of 46 such pairs were wrong), and its
    pair when the genders disagree (a parcel of men's goods to a woman was bought for someone else) or
    when the other record too is known only by one parcel (either may be a gift: on two brands such pairs
    were wrong twice as often, and dropping them kept precision above 0.995 for 1.8 points of recall)."""
    con.register("pm_links", links if links is not None else
                 pa.table({"profile_id": pa.array([], pa.int64()), "node": pa.array([], pa.string())}))
    con.register("pm_account_kinds", pa.table({"kind": pa.array(list(account_kinds), pa.string())}))
    return con.sql(f"""
        WITH kept AS (
            SELECT * FROM {table}
            WHERE NOT (has_full_l AND has_full_r)
              AND NOT (name_l IS NOT NULL AND name_r IS NOT NULL AND name_l <> name_r)
              AND NOT (surname_l IS NOT NULL AND surname_r IS NOT NULL AND surname_l <> surname_r)
        ), other_account AS (  -- pairs of one channel that share no account id: two accounts
            SELECT unique_id_l, unique_id_r, one_parcel_l, one_parcel_r FROM kept k
            WHERE channel_id_l = channel_id_r AND NOT EXISTS (
                SELECT 1 FROM pm_links x JOIN pm_links y USING (node)
                WHERE x.profile_id = k.unique_id_l AND y.profile_id = k.unique_id_r
                  AND split_part(x.node, ':', 1) IN (SELECT kind FROM pm_account_kinds))
        ), gifts AS (
            SELECT unique_id_l AS id FROM other_account WHERE one_parcel_l
            UNION SELECT unique_id_r FROM other_account WHERE one_parcel_r
        )
        SELECT least(unique_id_l, unique_id_r) AS profile_a, greatest(unique_id_l, unique_id_r) AS profile_b,
               match_weight,
               concat_ws(' + ', 'masked phone', CASE WHEN gamma_name = 1 THEN 'name' END,
                         CASE WHEN gamma_surname = 1 THEN 'surname' END, CASE WHEN gamma_city = 1 THEN 'city' END,
                         CASE WHEN gamma_district = 1 THEN 'district' END,
                         CASE WHEN one_parcel_l OR one_parcel_r THEN 'one parcel' END) AS evidence
        FROM kept
        WHERE unique_id_l NOT IN (SELECT id FROM gifts) AND unique_id_r NOT IN (SELECT id FROM gifts)
          AND NOT coalesce((one_parcel_l OR one_parcel_r) AND gender_l <> gender_r, false)
          AND NOT coalesce(one_parcel_l AND one_parcel_r, false)  -- two parcels, either a gift
        ORDER BY profile_a, profile_b
    """).to_arrow_table()  # noqa: S608 (a table name Splink generated)
