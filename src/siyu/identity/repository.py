"""Identity tables: bulk reads and writes for profiles, identities and their links."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
from sqlalchemy import (
    String,
    bindparam,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from siyu.core.bulk import KeysIn, chunks, insert_many, one_of, run, update_many
from siyu.core.clock import now
from siyu.core.columns import FEW, hold_write_lock, load, reserve_ids, stage_keys, upsert_pairs
from siyu.core.native import execute, fetch
from siyu.core.tables import read_arrow, to_arrow
from siyu.core.together import Together
from siyu.ingest.schemas import MASKED_PHONE, PHONE
from siyu.models import (
    Channel,
    Event,
    Identity,
    IdentityDecision,
    IdentityMatch,
    Order,
    OrderItem,
    Person,
    PersonMerge,
    PhoneSearchIndex,
    Product,
    Profile,
    ProfileIdentity,
    ProfilePerson,
    Shop,
    Sku,
)

GENDERS = ("F", "M")

PROFILE_STATE = (Profile.id, Profile.external_id, Profile.row_hash, Profile.name_enc.is_(None).label("no_name"),
                 Profile.address_enc.is_(None).label("no_address"), Profile.gender, Profile.birthday, Profile.province, Profile.city,
                 Profile.district, Profile.registered_at, Profile.store_id, Profile.guide_id,
                 Profile.first_seen_at, Profile.source)


def profiles_by_key(session: Session, channel_id: int, external_ids: Sequence[str]) -> dict[str, Any]:
    return {row.external_id: row for row in _rows_in_chunks(session, _PROFILES_BY_KEY, external_ids, channel=channel_id)}


def insert_profiles(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_many(session, Profile, rows)


def update_profiles(session: Session, rows: list[dict[str, Any]]) -> None:
    update_many(session, Profile, rows)


def identities_by_bidx(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found = {}
    wanted = set(keys)
    # The blind index already mixes in the kind, so ``bidx IN (…)`` is selective and uses the
    # (bidx, kind) unique index; a row-value IN over (kind, bidx) is not indexed by SQLite.
    for row in _rows_in_chunks(session, _IDENTITIES_BY_BIDX, {b for _, b in wanted}):
        if (row.kind, row.bidx) in wanted:
            found[(row.kind, row.bidx)] = row.id
    return found


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_many(session, Identity, rows)


def links_of(session: Session, profile_ids: Sequence[int]) -> set[tuple[int, int]]:
    return {(r.profile_id, r.identity_id) for r in _rows_in_chunks(session, _LINKS_OF, profile_ids)}


# Statements built once with the keys ``ids`` (``KeysIn``, run by ``_in_chunks``): a push runs dozens of
# small queries, and building and compiling each anew cost about as much as running it (profiled).
_PROFILES_BY_KEY = select(*PROFILE_STATE).where(Profile.channel_id == bindparam("channel"), KeysIn(Profile.external_id))
_IDENTITIES_BY_BIDX = select(Identity.id, Identity.kind, Identity.bidx).where(KeysIn(Identity.bidx))
_LINKS_OF = select(ProfileIdentity.profile_id, ProfileIdentity.identity_id).where(KeysIn(ProfileIdentity.profile_id))


def insert_links(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_many(session, ProfileIdentity, rows)


# -- batch resolution -----------------------------------------------------------------------------
PROFILE_PERSONS = pa.schema([("profile_id", pa.int64()), ("person_id", pa.int64()), ("channel_id", pa.int64()),
                             ("name_bidx", pa.string())])
_PROFILE_PERSON_COLS = (Profile.id, ProfilePerson.person_id, Profile.channel_id, Profile.name_bidx)
# every profile with its person, null where it has none yet
_WITH_PERSON = Profile.__table__.outerjoin(ProfilePerson.__table__, ProfilePerson.profile_id == Profile.id)
RECEIVER_COUNTS = pa.schema([("profile_id", pa.int64()), ("node", pa.string()), ("orders", pa.int64()),
                             ("total_orders", pa.int64())])


def profile_persons(session: Session) -> pa.Table:
    return read_arrow(session, select(*_PROFILE_PERSON_COLS).select_from(_WITH_PERSON).order_by(Profile.id),
                      PROFILE_PERSONS)


def names_without_index(session: Session, skip_channels: Iterable[str]) -> list[Any]:
    """(id, channel code, name_enc) of named profiles written before names, or given names, were indexed.
    Keyed on the surname index, which a masked name has too (on the name index, every masked name was
    decrypted again on every run), and on a real name's given-name index, "" when too short to index."""
    return list(session.execute(
        select(Profile.id, Channel.code, Profile.name_enc).join(Channel, Channel.id == Profile.channel_id)
        .where(Profile.name_enc.is_not(None), Channel.code.not_in(list(skip_channels)),
               Profile.surname_bidx.is_(None) | (Profile.name_bidx.is_not(None) & Profile.given_bidx.is_(None)))))


def profile_names(session: Session) -> pa.Table:
    """(profile_id, name_bidx, surname_bidx) of every profile with a name."""
    stmt = (select(Profile.id, Profile.name_bidx, Profile.surname_bidx).where(Profile.surname_bidx.is_not(None))
            .order_by(Profile.id))
    return read_arrow(session, stmt, pa.schema([("profile_id", pa.int64()), ("name_bidx", pa.string()),
                                                ("surname_bidx", pa.string())]))


def profile_keys(session: Session) -> pa.Table:
    """Every profile as (channel code, external id, person id or null)."""
    rows = session.execute(select(Channel.code, Profile.external_id, ProfilePerson.person_id).select_from(_WITH_PERSON)
                           .join(Channel, Channel.id == Profile.channel_id).order_by(Profile.id)).yield_per(50_000)
    return to_arrow(rows, pa.schema([("channel", pa.string()), ("external_id", pa.string()),
                                     ("person_id", pa.int64())]))


def identity_links(session: Session, kinds: Iterable[str]) -> pa.Table:
    """(profile_id, node) where node is 'kind:blind_index'."""
    stmt = (select(ProfileIdentity.profile_id, Identity.kind + ":" + Identity.bidx)
            .join(Identity, Identity.id == ProfileIdentity.identity_id).where(Identity.kind.in_(sorted(kinds))))
    return read_arrow(session, stmt, pa.schema([("profile_id", pa.int64()), ("node", pa.string())]))


def _receiver_counts(buyers: Any) -> Any:
    """(profile_id, node, orders with that receiver phone, all orders of the profile) for the buyers
    ``buyers`` selects (a condition on ``Order.profile_id``)."""
    per_phone = (select(Order.profile_id, Order.receiver_phone_bidx, func.count().label("n"))
                 .where(buyers, Order.receiver_phone_bidx.is_not(None))
                 .group_by(Order.profile_id, Order.receiver_phone_bidx).subquery())
    totals = (select(Order.profile_id, func.count().label("total")).where(buyers)
              .group_by(Order.profile_id).subquery())
    return (select(per_phone.c.profile_id, literal("phone:") + per_phone.c.receiver_phone_bidx, per_phone.c.n,
                   totals.c.total).join(totals, totals.c.profile_id == per_phone.c.profile_id))


def receiver_phone_counts(session: Session) -> pa.Table:
    return to_arrow(session.execute(_receiver_counts(Order.profile_id.is_not(None))).yield_per(50_000),
                    RECEIVER_COUNTS)


_STAMP = bindparam("stamp", type_=Person.created_at.type)
_FEW_PERSONS = (insert(Person).from_select(["created_at", "updated_at"], select(_STAMP, _STAMP)
                                           .select_from(func.generate_series(1, bindparam("n"))))
                .returning(Person.id))


def create_persons(session: Session, n: int, stamp: datetime) -> list[int]:
    """``n`` new persons; their ids, in ascending order. Many are reserved and written as columns (an
    INSERT … RETURNING a row at a time was 3 s of a million-record run). The person or two of a
    real-time arrival on PostgreSQL take one INSERT … RETURNING: reserving (five statements) and copying
    were 4 ms of a new member's 11 ms there (profiled at 10M records)."""
    if n == 0:
        return []
    if n <= FEW and _round_trips(session):
        return sorted(r[0] for r in fetch(session, _FEW_PERSONS, {"stamp": stamp, "n": n}))
    ids = new_ids(session, Person, n)
    load(session, Person, pa.table({"id": ids}), {"created_at": stamp, "updated_at": stamp})
    return ids.tolist()  # type: ignore[no-any-return]


REBUILD_FROM = 10_000  # moves below this are upserted whatever the share: a rebuild's fixed cost is its DDL


def set_profile_persons(session: Session, ids: np.ndarray, persons: np.ndarray, *, of: int) -> None:
    """Profile ``ids[i]`` now belongs to person ``persons[i]``; ``of``: the profiles there are. A run
    moving a fifth of them or more (a brand's first run, a changed rule) rebuilds the table."""
    upsert_pairs(session, ProfilePerson, ids, persons, rebuild=len(ids) >= max(REBUILD_FROM, of // 5))


def record_merges(session: Session, merges: list[tuple[int, int]], reason: str, stamp: datetime) -> None:
    """(absorbed, into): the absorbed person redirects to the one that keeps its id."""
    if not merges:
        return
    update_many(session, Person, [{"id": a, "merged_into_id": b, "updated_at": stamp} for a, b in merges])
    insert_many(session, PersonMerge, [{"absorbed_id": a, "into_id": b, "reason": reason, "created_at": stamp}
                                       for a, b in merges])


def refresh_fact_persons(session: Session, profile_ids: Iterable[int] | None = None) -> None:
    """Orders and events carry their profile's person for operational queries (member 360); all of them,
    or only those of ``profile_ids`` (the real-time path, where a full pass cost 38 ms a call)."""
    if profile_ids is not None and _round_trips(session):
        execute(session, _REFRESH_BOTH_OF, {"ids": sorted(set(profile_ids)), "stamp": now()})
        return
    for model in (Order, Event):
        if profile_ids is None:
            run(session, _refresh_persons(model, model.profile_id.is_not(None)))
            continue
        for part in chunks(sorted(set(profile_ids))):
            run(session, _REFRESH_PERSONS_OF[model], {"ids": list(part)})


def _refresh_persons(model: Any, scope: Any) -> Any:
    person = select(ProfilePerson.person_id).where(ProfilePerson.profile_id == model.profile_id).scalar_subquery()
    return update(model).where(scope, model.person_id.is_distinct_from(person)).values(person_id=person)


def refresh_order_persons(session: Session, order_ids: Iterable[int]) -> None:
    """These orders carry their profile's person (orders that arrived for a profile already resolved)."""
    person = select(ProfilePerson.person_id).where(ProfilePerson.profile_id == Order.profile_id).scalar_subquery()
    for part in chunks(sorted(set(order_ids))):
        session.execute(update(Order).where(Order.id.in_(list(part)), Order.person_id.is_distinct_from(person))
                        .values(person_id=person).execution_options(synchronize_session=False))


def displays(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    wanted = set(keys)
    found = {}
    for part in chunks(sorted({b for _, b in wanted})):
        for r in session.execute(select(Identity.kind, Identity.bidx, Identity.display)
                                 .where(Identity.bidx.in_(part))):
            if (r.kind, r.bidx) in wanted:
                found[(r.kind, r.bidx)] = r.display
    return found


# -- probabilistic matching ---------------------------------------------------------------------------
def phone_displays(session: Session) -> pa.Table:
    """(profile_id, full phone?, masked display) of every phone and masked phone a profile carries."""
    stmt = (select(ProfileIdentity.profile_id, Identity.kind == PHONE, Identity.display)
            .join(Identity, Identity.id == ProfileIdentity.identity_id)
            .where(Identity.kind.in_([PHONE, MASKED_PHONE]), Identity.display.is_not(None)))
    return to_arrow(session.execute(stmt).yield_per(50_000),
                    pa.schema([("profile_id", pa.int64()), ("is_full", pa.bool_()), ("display", pa.string())]))


def gender_rows(own_where: Any, buyer_where: Any) -> Any:
    """(profile_id, gender) of profiles whose gender is known: their own (a member's form, WeChat's), else
    the gender of every gendered product they bought when they all agree (unisex goods say nothing)."""
    # each gender its own comparison, not an IN list: an IN list's text is made at each run
    # (``core.native`` runs statements of a fixed text)
    own = select(Profile.id, Profile.gender).where(or_(*(Profile.gender == g for g in GENDERS)), own_where)
    goods = (select(Order.profile_id, func.min(Product.gender)).join(OrderItem, OrderItem.order_id == Order.id)
             .join(Sku, Sku.id == OrderItem.sku_id).join(Product, Product.id == Sku.product_id)
             # the profiles of ``own`` only: in real time, a scan of every gendered profile per arrival
             # was 8 of its 10 ms (measured on the demo)
             .where(Order.profile_id.is_not(None), or_(*(Product.gender == g for g in GENDERS)), buyer_where,
                    Order.profile_id.not_in(own.with_only_columns(Profile.id)))
             .group_by(Order.profile_id).having(func.count(distinct(Product.gender)) == 1))
    return own.union_all(goods)


GENDER_SCHEMA = pa.schema([("profile_id", pa.int64()), ("gender", pa.string())])


def profile_genders(session: Session) -> pa.Table:
    return read_arrow(session, gender_rows(true(), true()), GENDER_SCHEMA)


# (buyer, receiver name and surname indexes, phone mask, phone known in full 1/0, street index, city,
# district): what a buyer's parcels say of where they go, counted by ``receiver_places``
PLACE_COLUMNS = (Order.profile_id, Order.receiver_name_bidx, Order.receiver_surname_bidx,
                 func.nullif(Order.receiver_phone_mask, "", type_=String),
                 case((Order.receiver_phone_bidx.is_not(None), 1), else_=0),
                 func.nullif(Order.receiver_street_bidx, "", type_=String), Order.city, Order.district)


def receiver_places(session: Session) -> pa.Table:
    """(profile_id, receiver name and surname indexes, phone mask, whether the phone is known in full,
    street index, city, district, orders) over each buyer's orders (``PLACE_COLUMNS``, the flag boolean)."""
    cols = (*PLACE_COLUMNS[:4], Order.receiver_phone_bidx.is_not(None), *PLACE_COLUMNS[5:])
    stmt = select(*cols, func.count()).where(Order.profile_id.is_not(None)).group_by(*cols)
    return to_arrow(session.execute(stmt).yield_per(50_000),
                    pa.schema([("profile_id", pa.int64()), ("name_bidx", pa.string()), ("surname_bidx", pa.string()),
                               ("mask", pa.string()), ("mask_full", pa.bool_()), ("street", pa.string()),
                               ("city", pa.string()), ("district", pa.string()), ("orders", pa.int64())]))


def guided_contacts(session: Session, channels: Iterable[str]) -> list[Any]:
    """(profile_id, guide_id, first_seen_at, name_enc) of the nickname channels' contacts a guide serves."""
    return list(session.execute(
        select(Profile.id, Profile.guide_id, Profile.first_seen_at, Profile.name_enc)
        .join(Channel, Channel.id == Profile.channel_id)
        .where(Channel.code.in_(sorted(channels)), Profile.guide_id.is_not(None), Profile.name_enc.is_not(None))
        .order_by(Profile.id)))


def guided_members(session: Session) -> pa.Table:
    """(profile_id, guide_id, registered_at, name_bidx, given_bidx or null) of the named profiles a guide
    serves."""
    stmt = (select(Profile.id, Profile.guide_id, Profile.registered_at, Profile.name_bidx,
                   func.nullif(Profile.given_bidx, ""))
            .where(Profile.guide_id.is_not(None), Profile.name_bidx.is_not(None)).order_by(Profile.id))
    return to_arrow(session.execute(stmt).yield_per(50_000),
                    pa.schema([("profile_id", pa.int64()), ("guide_id", pa.int64()),
                               ("registered_at", pa.timestamp("us", tz="UTC")), ("name_bidx", pa.string()),
                               ("given_bidx", pa.string())]))


def refresh_person_statistics(session: Session) -> None:
    """PostgreSQL: the planner's statistics of the tables whose person ids a batch run rewrote (ANALYZE
    samples each table: well under a second at 10M records). SQLite plans by its indexes alone."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE profile_persons, orders, events"))


def receiver_phones_without_mask(session: Session) -> list[Any]:
    """(order id, receiver_phone_enc) of orders written before receiver phones were masked."""
    return list(session.execute(select(Order.id, Order.receiver_phone_enc).where(
        Order.receiver_phone_enc.is_not(None), Order.receiver_phone_mask.is_(None))))


def receiver_names_without_index(session: Session) -> list[Any]:
    """(order id, channel code, receiver_name_enc) of orders written before receiver names were indexed
    (keyed on the surname index, as ``names_without_index``)."""
    return list(session.execute(
        select(Order.id, Channel.code, Order.receiver_name_enc).join(Shop, Shop.id == Order.shop_id)
        .join(Channel, Channel.id == Shop.channel_id)
        .where(Order.receiver_name_enc.is_not(None), Order.receiver_surname_bidx.is_(None))))


def receiver_streets_without_index(session: Session) -> list[Any]:
    """(order id, address_enc, province, city, district) of orders written before streets were indexed."""
    return list(session.execute(
        select(Order.id, Order.address_enc, Order.province, Order.city, Order.district)
        .where(Order.address_enc.is_not(None), Order.receiver_street_bidx.is_(None))))


def update_orders(session: Session, rows: list[dict[str, Any]]) -> None:
    update_many(session, Order, rows)


def replace_matches(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(delete(IdentityMatch))
    insert_many(session, IdentityMatch, rows)


def matches_of(session: Session, profile_ids: Sequence[int]) -> list[Any]:
    ids = list(profile_ids)
    return list(session.execute(
        select(IdentityMatch.profile_a, IdentityMatch.profile_b, IdentityMatch.match_weight, IdentityMatch.evidence)
        .where(IdentityMatch.profile_a.in_(ids) | IdentityMatch.profile_b.in_(ids))
        .order_by(IdentityMatch.match_weight.desc())))


# -- operators' decisions ------------------------------------------------------------------------------
class Decision(NamedTuple):
    id: int
    action: str
    profile_ids: list[int]


def decisions(session: Session) -> list[Decision]:
    return [Decision(*r) for r in fetch(session, _DECISIONS)]


# built once: every real-time resolution reads the operators' decisions (profiled, demo pushes)
_DECISIONS = select(IdentityDecision.id, IdentityDecision.action, IdentityDecision.profile_ids).order_by(IdentityDecision.id)


def add_decision(session: Session, row: dict[str, Any]) -> None:
    session.add(IdentityDecision(**row))
    session.flush()


def person_profile_ids(session: Session, person_id: int) -> list[int]:
    return list(session.scalars(select(ProfilePerson.profile_id).where(ProfilePerson.person_id == person_id)
                                .order_by(ProfilePerson.profile_id)))


def decisions_about(session: Session, person_id: int) -> list[Any]:
    return list(session.execute(select(IdentityDecision.action, IdentityDecision.profile_ids, IdentityDecision.actor,
                                       IdentityDecision.reason, IdentityDecision.created_at)
                                .where(IdentityDecision.person_id == person_id).order_by(IdentityDecision.id)))


def person_by_identity(session: Session, kind: str, bidx: str) -> int | None:
    return session.scalar(select(ProfilePerson.person_id)
                          .join(ProfileIdentity, ProfileIdentity.profile_id == ProfilePerson.profile_id)
                          .join(Identity, Identity.id == ProfileIdentity.identity_id)
                          .where(Identity.kind == kind, Identity.bidx == bidx)
                          .order_by(ProfilePerson.person_id).limit(1))


def person_by_external_id(session: Session, external_id: str) -> int | None:
    # Every channel named, so the (channel_id, external_id) key is probed once per channel: without
    # them the planner walked the person index in order, a scan (98 ms at a million profiles, measured)
    return session.scalar(select(func.min(ProfilePerson.person_id))
                          .join(Profile, Profile.id == ProfilePerson.profile_id)
                          .where(Profile.channel_id.in_(select(Channel.id).scalar_subquery()),
                                 Profile.external_id == external_id))


def phone_persons_sample(session: Session, n: int) -> list[Any]:
    """``n`` random phones on profiles with a person: (value_enc, person_id) — benchmarks' arrivals."""
    return list(session.execute(
        select(Identity.value_enc, func.min(ProfilePerson.person_id))
        .join(ProfileIdentity, ProfileIdentity.identity_id == Identity.id)
        .join(ProfilePerson, ProfilePerson.profile_id == ProfileIdentity.profile_id)
        .where(Identity.kind == "phone")
        .group_by(Identity.id, Identity.value_enc).order_by(func.random()).limit(n)).all())


# -- real-time resolution (a few profiles at a time) -------------------------------------------------
# An arbitrary constant naming "OneID resolution" among PostgreSQL's advisory locks.
_RESOLUTION_LOCK = 0x51_59_0001


_LOCK = select(func.pg_advisory_xact_lock(_RESOLUTION_LOCK))
_LOCK_AND_KEEP_PLANS = select(func.pg_advisory_xact_lock(_RESOLUTION_LOCK),
                              func.set_config("plan_cache_mode", "force_generic_plan", True))


def lock_resolution(session: Session, *, keep_plans: bool = False) -> None:
    """Serialise real-time resolutions until this transaction ends. Two requests resolving at once
    would each miss the other's uncommitted profile: two new profiles with one phone would each get a
    new person. After the lock, READ COMMITTED shows every resolution committed before. SQLite
    serialises writing transactions already.

    ``keep_plans`` (real time, PostgreSQL): also keep the plans of the prepared statements run until
    ``release_plans`` (psycopg prepares a statement run five times on a connection). A resolution's
    reads are the same few statements, their keys bound as one array (``core.bulk.KeysIn``), and
    planning them each time was 0.6–1 ms each, more than running them. Left to itself the planner kept
    re-planning, the generic plan priced for ten keys against a custom plan for the two or three an
    arrival has. Set in the same round trip as the lock."""
    if session.get_bind().dialect.name == "postgresql":
        execute(session, _LOCK_AND_KEEP_PLANS if keep_plans else _LOCK)


def release_plans(session: Session) -> None:
    """Back to the planner's own choice for the rest of the transaction (the points of the arrived
    orders are booked next, by statements nobody measured with kept plans)."""
    if session.get_bind().dialect.name == "postgresql":
        execute(session, _RESET_PLANS)


_RESET_PLANS = text("RESET plan_cache_mode")


def _in_chunks(session: Session, stmt: Any, ids: Iterable[Any], **params: Any) -> list[Any]:
    """Rows of ``stmt`` for every chunk of the keys (bounded IN lists), as tuples (``core.native``)."""
    out: list[Any] = []
    for part in chunks(sorted(set(ids))):
        out.extend(fetch(session, stmt, {"ids": list(part), **params}))
    return out


def _rows_in_chunks(session: Session, stmt: Any, ids: Iterable[Any], **params: Any) -> list[Any]:
    """``_in_chunks`` through SQLAlchemy's results: rows by column name, values its types convert."""
    out: list[Any] = []
    for part in chunks(sorted(set(ids))):
        out.extend(run(session, stmt, {"ids": list(part), **params}))
    return out


_REFRESH_PERSONS_OF = {m: _refresh_persons(m, KeysIn(m.profile_id)) for m in (Order, Event)}
# PostgreSQL: both in one round trip, as data-modifying WITH queries (each runs to completion whether read
# or not); a real-time arrival ends with it
# (``updated_at`` given, as the ORM's ``onupdate`` cannot fill it inside a WITH)
_REFRESHED = [_REFRESH_PERSONS_OF[m].values(updated_at=bindparam("stamp", type_=m.updated_at.type))
              .returning(m.id).cte(f"refreshed_{m.__tablename__}") for m in (Order, Event)]
_REFRESH_BOTH_OF = select(*(select(func.count()).select_from(c).scalar_subquery() for c in _REFRESHED))
# On PostgreSQL each statement is a round trip (0.2–0.3 ms on this machine's loopback): there a read that
# needs another's answer is one statement. SQLite has no round trips to save, so it keeps the two simple
# statements its real time was tuned with (a profile's identifiers, then their fan-outs).
_SAME_PERSON = aliased(ProfilePerson)
# (profile asked, every profile of its person): read with a neighbourhood step's second statement
_SIBLINGS = (select(_SAME_PERSON.profile_id.label("asked"), ProfilePerson.profile_id)
             .join(_SAME_PERSON, _SAME_PERSON.person_id == ProfilePerson.person_id)
             .where(KeysIn(_SAME_PERSON.profile_id)))
_NODE = Identity.kind + ":" + Identity.bidx
_LINK_NODES = (select(ProfileIdentity.profile_id, Identity.id.label("identity_id"), _NODE.label("node"))
               .join(Identity, Identity.id == ProfileIdentity.identity_id)
               .where(KeysIn(ProfileIdentity.profile_id), KeysIn(Identity.kind, "kinds")))
_NODES_OF = _LINK_NODES.cte("nodes_of")
_CARRIER = aliased(ProfileIdentity)
# the fan-out of each of these identifiers once, through the identity index: a count over every link was
# 75 ms of a 20,000-member brand's real-time call, and a count per link (not per identifier) 10 ms an
# arrival whose neighbourhood carries the walk-in phone
_FANOUT = (select(_CARRIER.identity_id, func.count().label("n"))
           .where(_CARRIER.identity_id.in_(select(_NODES_OF.c.identity_id))).group_by(_CARRIER.identity_id)
           .subquery())
_NODE_LINKS = (select(_NODES_OF.c.profile_id, _NODES_OF.c.identity_id, _NODES_OF.c.node, _FANOUT.c.n)
               .join(_FANOUT, _FANOUT.c.identity_id == _NODES_OF.c.identity_id))
_FANOUT_OF = (select(ProfileIdentity.identity_id, func.count()).where(KeysIn(ProfileIdentity.identity_id))
              .group_by(ProfileIdentity.identity_id))
_CARRIERS = (select(Identity.id, ProfileIdentity.profile_id, _NODE).join(Identity, Identity.id == ProfileIdentity.identity_id)
             .where(KeysIn(Identity.id)))
_PHONE_CARRIERS = (select(ProfileIdentity.profile_id, _NODE).join(Identity, Identity.id == ProfileIdentity.identity_id)
                   .where(Identity.kind == PHONE, KeysIn(Identity.bidx)))
_PROFILE_PERSONS_OF = select(*_PROFILE_PERSON_COLS).select_from(_WITH_PERSON).where(KeysIn(Profile.id))
_RECEIVER_ROWS_OF = _receiver_counts(KeysIn(Order.profile_id))
_BUYERS_SENDING_TO = (select(Order.receiver_phone_bidx, Order.profile_id)
                      .where(KeysIn(Order.receiver_phone_bidx), Order.profile_id.is_not(None)).distinct())
_SURNAMES_OF = select(Profile.id, Profile.surname_bidx).where(KeysIn(Profile.id), Profile.surname_bidx.is_not(None))
_RECEIVER_SURNAMES_OF = (select(Order.profile_id, Order.receiver_surname_bidx, func.count())
                         .where(KeysIn(Order.profile_id)).group_by(Order.profile_id, Order.receiver_surname_bidx))
_GENDERS_OF = gender_rows(KeysIn(Profile.id), KeysIn(Order.profile_id))
_MATCH_ROWS_OF = select(IdentityMatch.profile_a, IdentityMatch.profile_b, IdentityMatch.evidence).where(
    KeysIn(IdentityMatch.profile_a) | KeysIn(IdentityMatch.profile_b))


# The reads of a real-time resolution, answerable together (``core.together``): a neighbourhood's step
# asks the first three and the traits of the same profiles, then the next three of what they named and
# the other profiles of their persons (siblings); the components step asks the traits of one set of
# profiles.
_TOGETHER = Together({"links": _NODE_LINKS, "receivers": _RECEIVER_ROWS_OF, "matches": _MATCH_ROWS_OF,
                      "carriers": _CARRIERS, "senders": _BUYERS_SENDING_TO, "phones": _PHONE_CARRIERS,
                      "siblings": _SIBLINGS,
                      "persons": _PROFILE_PERSONS_OF, "surnames": _SURNAMES_OF,
                      "receiver_surnames": _RECEIVER_SURNAMES_OF, "genders": _GENDERS_OF})


def read_together(session: Session, wanted: dict[str, set[Any]], kinds: Iterable[str]) -> dict[str, list[Any]]:
    """{read: rows} for the reads of ``wanted`` (read → keys) that fit one statement, each row as the
    function of that read below gives it (``persons``: ``profile_persons_of``'s columns); a read left
    out is not in the answer. ``kinds``: the joining kinds ``links`` follows."""
    return _TOGETHER.run(session, _TOGETHER.fits(wanted), kinds=sorted(kinds))


def _round_trips(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def siblings_of(session: Session, profile_ids: Iterable[int]) -> list[Any]:
    """(profile asked, profile of the same person): every profile of these profiles' persons (those
    without a person give none)."""
    return _in_chunks(session, _SIBLINGS, profile_ids)


def node_links(session: Session, profile_ids: Iterable[int], kinds: Iterable[str]) -> list[Any]:
    """(profile_id, identity_id, node, fan-out) of these profiles' joining identifiers."""
    if _round_trips(session):
        return [tuple(r) for r in _in_chunks(session, _NODE_LINKS, profile_ids, kinds=sorted(kinds))]
    rows = _in_chunks(session, _LINK_NODES, profile_ids, kinds=sorted(kinds))
    fan = dict(_in_chunks(session, _FANOUT_OF, {r[1] for r in rows}))
    return [(p, i, node, fan[i]) for p, i, node in rows]


def carriers(session: Session, identity_ids: Iterable[int]) -> list[Any]:
    """(identity_id, profile_id, node) of every profile carrying these identifiers."""
    return _in_chunks(session, _CARRIERS, identity_ids)


def phone_carriers(session: Session, bidxs: Iterable[str]) -> list[Any]:
    """(profile_id, node) of the profiles carrying these phones (blind indexes)."""
    return _in_chunks(session, _PHONE_CARRIERS, bidxs)


def profile_persons_of(session: Session, profile_ids: Iterable[int]) -> pa.Table:
    return to_arrow(_in_chunks(session, _PROFILE_PERSONS_OF, profile_ids), PROFILE_PERSONS)


def genders_of(session: Session, profile_ids: Iterable[int]) -> dict[int, str]:
    """``profile_genders`` of these profiles (real time, explain)."""
    return dict(_in_chunks(session, _GENDERS_OF, profile_ids))


def surnames_of(session: Session, profile_ids: Iterable[int]) -> dict[int, str]:
    """{profile: its own name's surname index} of these profiles, where they have one."""
    return dict(_in_chunks(session, _SURNAMES_OF, profile_ids))  # type: ignore[arg-type]


def receiver_surnames_of(session: Session, profile_ids: Iterable[int]) -> list[Any]:
    """(profile_id, receiver surname index or None, orders) over these buyers' orders."""
    return _in_chunks(session, _RECEIVER_SURNAMES_OF, profile_ids)


def receiver_rows_of(session: Session, profile_ids: Iterable[int]) -> list[Any]:
    """``receiver_phone_counts`` rows of these buyers."""
    return _in_chunks(session, _RECEIVER_ROWS_OF, profile_ids)


def buyers_sending_to(session: Session, phone_bidxs: Iterable[str]) -> list[Any]:
    """(phone blind index, buyer) of the orders sent to these phones, each pair once."""
    return _in_chunks(session, _BUYERS_SENDING_TO, phone_bidxs)


def match_rows_of(session: Session, profile_ids: Iterable[int]) -> list[Any]:
    """(profile_a, profile_b, evidence) of the stored matches touching these profiles, each pair once."""
    return sorted({(a, b, e) for a, b, e in _in_chunks(session, _MATCH_ROWS_OF, profile_ids)})


def touched_since(session: Session, since: datetime) -> set[int]:
    """Profiles created or changed, given a new identifier, or with orders written, at or after ``since``
    (an order's receiver phone is evidence too)."""
    changed = set(session.scalars(select(Profile.id).where(Profile.updated_at >= since)))
    changed.update(session.scalars(select(ProfileIdentity.profile_id).where(ProfileIdentity.created_at >= since)))
    changed.update(session.scalars(select(Order.profile_id).where(Order.updated_at >= since,
                                                                  Order.profile_id.is_not(None)).distinct()))
    return changed


# -- explaining one person -------------------------------------------------------------------------
def person_row(session: Session, person_id: int) -> Any:
    return session.execute(select(Person.id, Person.merged_into_id, Person.created_at)
                           .where(Person.id == person_id)).first()


def merged_persons(session: Session) -> dict[int, int]:
    """absorbed person → the person it was merged into."""
    return dict(session.execute(select(Person.id, Person.merged_into_id)
                                .where(Person.merged_into_id.is_not(None))).all())


def person_profiles(session: Session, person_id: int) -> list[Any]:
    return list(session.execute(
        select(Profile.id, Channel.code.label("channel"), Profile.external_id, Profile.name_bidx,
               Profile.first_seen_at, Profile.registered_at, Profile.source)
        .join(ProfilePerson, ProfilePerson.profile_id == Profile.id).join(Channel, Channel.id == Profile.channel_id)
        .where(ProfilePerson.person_id == person_id).order_by(Profile.id)))


def identities_with_fanout(session: Session, profile_ids: Sequence[int]) -> list[Any]:
    """(profile_id, kind, bidx, display, profiles sharing it, most of them in one channel, distinct real
    names among them, identity_id)."""
    mine = (select(ProfileIdentity.profile_id, ProfileIdentity.identity_id)
            .where(ProfileIdentity.profile_id.in_(list(profile_ids))).subquery())
    ids = select(mine.c.identity_id).distinct()
    per_channel = (select(ProfileIdentity.identity_id, Profile.channel_id, func.count().label("n"))
                   .join(Profile, Profile.id == ProfileIdentity.profile_id)
                   .where(ProfileIdentity.identity_id.in_(ids))
                   .group_by(ProfileIdentity.identity_id, Profile.channel_id).subquery())
    share = (select(per_channel.c.identity_id, func.sum(per_channel.c.n).label("fanout"),
                    func.max(per_channel.c.n).label("channel_fanout"))
             .group_by(per_channel.c.identity_id).subquery())
    names = (select(ProfileIdentity.identity_id, func.count(distinct(Profile.name_bidx)).label("names"))
             .join(Profile, Profile.id == ProfileIdentity.profile_id).where(ProfileIdentity.identity_id.in_(ids))
             .group_by(ProfileIdentity.identity_id).subquery())
    return list(session.execute(
        select(mine.c.profile_id, Identity.kind, Identity.bidx, Identity.display, share.c.fanout,
               share.c.channel_fanout, names.c.names, mine.c.identity_id)
        .join(names, names.c.identity_id == mine.c.identity_id)
        .join(Identity, Identity.id == mine.c.identity_id).join(share, share.c.identity_id == mine.c.identity_id)
        .order_by(mine.c.profile_id, Identity.kind)))


def merges_into(session: Session, person_id: int) -> list[Any]:
    return list(session.execute(select(PersonMerge.absorbed_id, PersonMerge.reason, PersonMerge.created_at)
                                .where(PersonMerge.into_id == person_id).order_by(PersonMerge.created_at)))


def merge_of(session: Session, person_id: int) -> Any:
    return session.execute(select(PersonMerge.into_id, PersonMerge.reason, PersonMerge.created_at)
                           .where(PersonMerge.absorbed_id == person_id).order_by(PersonMerge.id.desc())).first()


# -- column bulk (imports of millions of lines) ------------------------------------------------------
def profile_seen_by_key(session: Session, channel_id: int, external_ids: pa.Array) -> dict[str, tuple[int, Any]]:
    """external_id → (profile id, first_seen_at) for the given keys, by one join on staged keys."""
    keys = stage_keys(session, external_ids)
    rows = session.execute(select(Profile.external_id, Profile.id, Profile.first_seen_at)
                           .join(keys, keys.c.k == Profile.external_id).where(Profile.channel_id == channel_id))
    return {r.external_id: (r.id, r.first_seen_at) for r in rows}


def identity_ids(session: Session, kind: str, bidxs: pa.Array) -> dict[str, int]:
    keys = stage_keys(session, bidxs)
    rows = session.execute(select(Identity.bidx, Identity.id).join(keys, keys.c.k == Identity.bidx)
                           .where(Identity.kind == kind))
    return {r.bidx: r.id for r in rows}


def new_ids(session: Session, model: Any, n: int) -> Any:
    hold_write_lock(session, model)
    return reserve_ids(session, model, n)


def load_rows(session: Session, model: Any, table: pa.Table, constants: dict[str, Any] | None = None) -> None:
    load(session, model, table, constants)


def link_if_missing(session: Session, pairs: list[dict[str, Any]]) -> None:
    insert_many(session, ProfileIdentity, pairs, skip_conflicts_on=("profile_id", "identity_id"))


def phones_of_persons(session: Session, person_ids: Sequence[int]) -> list[Any]:
    """(person_id, value_enc) of the phones on these persons' profiles, one row per person and phone."""
    out: list[Any] = []
    for part in chunks(list(person_ids)):
        out += list(session.execute(
            select(ProfilePerson.person_id, Identity.value_enc).distinct()
            .join(ProfileIdentity, ProfileIdentity.profile_id == ProfilePerson.profile_id)
            .join(Identity, Identity.id == ProfileIdentity.identity_id)
            .where(Identity.kind == "phone", one_of(session, ProfilePerson.person_id, part))))
    return out


def phones_without_index(session: Session, platform: str, after: int, limit: int) -> list[Any]:
    """(id, bidx, value_enc) of known phones after identity ``after`` whose index the platform has not
    given yet, in id order."""
    asked = select(PhoneSearchIndex.phone_bidx).where(PhoneSearchIndex.platform == platform)
    return list(session.execute(
        select(Identity.id, Identity.bidx, Identity.value_enc)
        .where(Identity.kind == PHONE, Identity.id > after, Identity.value_enc.is_not(None),
               Identity.bidx.not_in(asked))
        .order_by(Identity.id).limit(limit)))


def _receivers_to_ask(platform: str) -> tuple[Any, ...]:
    """Orders whose receiver phone is known in full (other channels': the platform's own carry only its
    index), a phone neither asked of ``platform`` yet nor a known phone (those are asked as identities)."""
    # NOT EXISTS, each an index probe per order (the indexes on (platform, phone) and (bidx, kind)):
    # NOT IN hashed every known phone again for each batch of a thousand orders.
    asked = select(PhoneSearchIndex.id).where(PhoneSearchIndex.platform == platform,
                                              PhoneSearchIndex.phone_bidx == Order.receiver_phone_bidx)
    own = select(Identity.id).where(Identity.bidx == Order.receiver_phone_bidx, Identity.kind == PHONE)
    return (Order.receiver_phone_enc.is_not(None), Order.receiver_phone_bidx.is_not(None),
            ~asked.exists(), ~own.exists())


def receiver_phones_without_index(session: Session, platform: str, after: int, limit: int) -> list[Any]:
    """(order id, receiver phone bidx, receiver_phone_enc) of orders after ``after`` whose receiver's
    phone the platform has not indexed yet, in id order (a phone on many orders comes once per batch:
    a batch's learned phones are not asked again in the next)."""
    return list(session.execute(
        select(Order.id, Order.receiver_phone_bidx, Order.receiver_phone_enc)
        .where(Order.id > after, *_receivers_to_ask(platform)).order_by(Order.id).limit(limit)))


def count_receiver_phones_without_index(session: Session, platform: str) -> int:
    return int(session.scalar(select(func.count(distinct(Order.receiver_phone_bidx)))
                              .where(*_receivers_to_ask(platform))) or 0)


def add_search_indexes(session: Session, platform: str, rows: list[tuple[str, str]], stamp: datetime) -> None:
    """(phone bidx, search index) pairs; an index already stored is kept (the platform's never changes)."""
    insert_many(session, PhoneSearchIndex, [{"platform": platform, "phone_bidx": b, "search_index": i,
                                             "created_at": stamp} for b, i in rows],
                skip_conflicts_on=("platform", "search_index"))


def point_orders_at_phones(session: Session, platform: str, indexes: Sequence[str]) -> list[int]:
    """Orders of ``platform`` whose receiver is known only by one of these learned indexes get the
    phone's blind index; returns their buyers' profile ids."""
    buyers: set[int] = set()
    channel = select(Channel.id).where(Channel.code == platform).scalar_subquery()
    shops = select(Shop.id).where(Shop.channel_id == channel)
    for part in chunks(list(indexes)):
        phone = (select(PhoneSearchIndex.phone_bidx)
                 .where(PhoneSearchIndex.platform == platform,
                        PhoneSearchIndex.search_index == Order.receiver_phone_index).scalar_subquery())
        where = (Order.receiver_phone_index.in_(part), Order.receiver_phone_bidx.is_(None), Order.shop_id.in_(shops))
        buyers.update(p for p in session.scalars(select(Order.profile_id).where(*where).distinct()) if p is not None)
        session.execute(update(Order).where(*where).values(receiver_phone_bidx=phone)
                        .execution_options(synchronize_session=False))
    return sorted(buyers)


def orders_pointed(session: Session, platform: str) -> int:
    """Orders of ``platform`` known only by a search index whose phone is now known."""
    channel = select(Channel.id).where(Channel.code == platform).scalar_subquery()
    return int(session.scalar(select(func.count()).select_from(Order).where(
        Order.receiver_phone_index.is_not(None), Order.receiver_phone_bidx.is_not(None),
        Order.shop_id.in_(select(Shop.id).where(Shop.channel_id == channel)))) or 0)


def count_phones_without_index(session: Session, platform: str) -> int:
    asked = select(PhoneSearchIndex.phone_bidx).where(PhoneSearchIndex.platform == platform)
    return int(session.scalar(select(func.count()).select_from(Identity).where(
        Identity.kind == PHONE, Identity.value_enc.is_not(None), Identity.bidx.not_in(asked))) or 0)
