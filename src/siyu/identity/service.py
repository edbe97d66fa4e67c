"""OneID batch resolution: who is the same person, with ids that stay stable from run to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from siyu.analytics.engine import connect
from siyu.analytics.oneid import assign_persons, connected_components, match_links, profile_surnames
from siyu.analytics.oneid_contacts import contact_matches
from siyu.analytics.oneid_match import match_features, probabilistic_matches
from siyu.analytics.oneid_parcels import parcel_matches, parcel_records
from siyu.analytics.oneid_score import MatchModel
from siyu.analytics.tables import open_tables
from siyu.core.clock import now
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.core.errors import InvalidInput, NotFound
from siyu.identity import repository as repo
from siyu.identity.profiles import (
    NICKNAME_CHANNELS,
    name_indexes,
    nickname_indexes,
    profile_name_indexes,
    street_index,
)
from siyu.identity.realtime_contacts import keep_contacts
from siyu.identity.realtime_matches import keep_model, keep_parcels
from siyu.ingest.normalize import receiver_mask
from siyu.ingest.schemas import ACCOUNT_KIND_LIST, JOINING_KINDS, PHONE


@dataclass
class SuperNode:
    kind: str
    display: str | None
    fanout: int
    blocked: bool


@dataclass
class ResolutionReport:
    profiles: int = 0
    persons: int = 0
    new_persons: int = 0
    merged: int = 0
    moved_profiles: int = 0
    rounds: int = 0
    split_by_name: int = 0  # shared phones / emails whose profiles disagree on the surname or the name
    probabilistic: int = 0  # pairs joined by the probabilistic model
    super_nodes: list[SuperNode] = field(default_factory=list)


def resolve_identities(session: Session, vault: Vault, settings: Settings) -> ResolutionReport:
    """Deterministic pass over every profile: join on shared identifiers, skip super-nodes, keep ids.

    Idempotent: a second run over the same data changes nothing.
    """
    report = ResolutionReport()
    # Real-time resolutions wait for this run, as SQLite's writers wait for each other: one resolving a
    # new profile between this run's read and its write would have its person written over (or, in a
    # rebuild, left out), and one writing rows this run's backfills below have locked while holding the
    # lock this run wants would deadlock with it.
    repo.lock_resolution(session)
    _index_old_names(session, vault)
    profiles = repo.profile_persons(session)
    report.profiles = profiles.num_rows
    if profiles.num_rows == 0:
        return report
    links = repo.identity_links(session, sorted(JOINING_KINDS))
    receiver = repo.receiver_phone_counts(session)
    blocked = blocked_nodes(vault, settings)
    _index_old_receiver_names(session, vault)
    _mask_old_receiver_phones(session, vault)
    _index_old_receiver_streets(session, vault)
    names, places = repo.profile_names(session), repo.receiver_places(session)
    traits = _traits(profiles, repo.profile_genders(session))
    matches = _probabilistic(session, vault, settings, names, places, traits, links, blocked)
    report.probabilistic = matches.num_rows
    with connect() as con:
        surnames = profile_surnames(con, names.select(["profile_id", "surname_bidx"]),
                                    places.select(["profile_id", "surname_bidx", "orders"]), links,
                                    account_kinds=ACCOUNT_KIND_LIST, max_fanout=settings.oneid_max_fanout,
                                    single_orders=settings.oneid_single_order_receivers)
    links = pa.concat_tables([links, match_links(matches["profile_a"], matches["profile_b"])])
    links, receiver = apply_decisions(repo.decisions(session), links, receiver)
    # the components on the configured engine (SIYU_ENGINE: duckdb, or spark for a cluster's scale);
    # keeping ids stable is one join over the labels and stays on DuckDB
    with open_tables(settings.engine) as tables:
        comps = connected_components(tables, with_traits(profiles, surnames, traits), links,
                                     receiver, max_fanout=settings.oneid_max_fanout,
                                     max_per_channel=settings.oneid_max_per_channel, blocked=blocked,
                                     account_kinds=ACCOUNT_KIND_LIST,
                                     single_orders=settings.oneid_single_order_receivers)
    with connect() as con:
        plan = assign_persons(con, comps.labels, profiles.select(["profile_id", "person_id"])).cast(PLAN)
    report.rounds = comps.rounds
    report.split_by_name = comps.split_by_name
    stamp = now()
    apply_plan(session, plan, profiles, stamp, report)
    if report.moved_profiles:
        # the person ids just written are what real-time look-ups join on (``find_person``): with the
        # statistics of before, PostgreSQL took a brand's profiles for personless and scanned them in
        # person order, over 11 s a look-up at 10M records (measured, autovacuum off)
        repo.refresh_person_statistics(session)

    sn = comps.super_nodes.to_pydict()
    keys = [tuple(n.split(":", 1)) for n in sn["node"]]
    shown = repo.displays(session, keys) if keys else {}
    report.super_nodes = [SuperNode(k[0], shown.get(k), f, b)
                          for k, f, b in zip(keys, sn["fanout"], sn["blocked"], strict=True)]
    return report


def blocked_nodes(vault: Vault, settings: Settings) -> list[str]:
    """The blocklisted phones as identifier nodes (``phone:<blind index>``)."""
    return [f"{PHONE}:{vault.blind_index(PHONE, p)}" for p in settings.oneid_blocklist]


# A plan: each profile's component, the person the component keeps (null: a new one) and the persons it
# absorbs (``analytics.oneid.assign_persons``; ``analytics.oneid_small.assign`` in real time).
PLAN = pa.schema([("profile_id", pa.int64()), ("component", pa.int64()), ("person_id", pa.int64()),
                  ("absorbed", pa.list_(pa.int64()))])


def apply_plan(session: Session, plan: pa.Table, profiles: pa.Table, stamp: Any,
               report: ResolutionReport, only: set[int] | None = None) -> None:
    """New persons for components without one, profile moves, merges recorded, facts re-pointed; the
    report's counts of them, and of the plan's persons.

    Column-wise over the plan: a Python loop over its rows, and the plan turned into Python lists, were
    about 2 s of a 2M-record run (profiled), growing with every profile the brand has."""
    comp = plan.column("component").to_numpy()
    keeper = plan.column("person_id")
    missing = keeper.is_null().to_numpy(zero_copy_only=False)
    # sorted: new persons' ids follow the components' order (Arrow's hash then a sort: np.unique was 4.7 s
    # of a 10M-record run)
    needing = np.sort(pc.unique(pa.array(comp[missing])).to_numpy())
    fresh = np.asarray(repo.create_persons(session, len(needing), stamp), dtype=np.int64)
    report.new_persons = len(fresh)
    target = keeper.fill_null(0).to_numpy().copy()
    if len(needing):
        target[missing] = fresh[np.searchsorted(needing, comp[missing])]
    # each planned profile's person now (null, as -1: never a target, so the profile moves)
    at = pc.index_in(plan.column("profile_id"), value_set=profiles.column("profile_id").combine_chunks())
    current = pc.take(profiles.column("person_id"), at).fill_null(-1).to_numpy()
    moving = current != target
    absorbed = plan.column("absorbed").combine_chunks()
    into = target[pc.list_parent_indices(absorbed).to_numpy()]
    merges = sorted(set(zip(pc.list_flatten(absorbed).to_pylist(), into.tolist(), strict=True)))
    _write_plan(session, plan.column("profile_id").to_numpy()[moving], target[moving], merges, stamp, report,
                of=profiles.num_rows, only=only)
    report.persons = pc.count_distinct(plan.column("component")).as_py()


def apply_small_plan(session: Session, plan: dict[str, list], current: dict[int, int | None],  # type: ignore[type-arg]
                     stamp: Any, report: ResolutionReport, only: set[int]) -> None:
    """``apply_plan`` for a real-time neighbourhood's plan (``analytics.oneid_small.assign``) and its
    profiles' persons now, in plain Python: Arrow's calls on a plan of a few rows cost more than their
    work, about 1 ms of a 10 ms arrival at 10M records (profiled)."""
    comps, keepers = plan["component"], plan["person_id"]
    needing = sorted({c for c, k in zip(comps, keepers, strict=True) if k is None})
    fresh = dict(zip(needing, repo.create_persons(session, len(needing), stamp), strict=True))
    report.new_persons = len(fresh)
    target = [k if k is not None else fresh[c] for c, k in zip(comps, keepers, strict=True)]
    moving = [(p, t) for p, t in zip(plan["profile_id"], target, strict=True) if current.get(p) != t]
    merges = sorted({(a, t) for gone, t in zip(plan["absorbed"], target, strict=True) for a in gone})
    _write_plan(session, np.array([p for p, _ in moving], dtype=np.int64), np.array([t for _, t in moving], dtype=np.int64),
                merges, stamp, report, of=len(current), only=only)
    report.persons = len(set(comps))


def _write_plan(session: Session, ids: np.ndarray, persons: np.ndarray, merges: list[tuple[int, int]], stamp: Any,
                report: ResolutionReport, *, of: int, only: set[int] | None) -> None:
    """Profiles ``ids`` to ``persons``, ``merges`` (absorbed, into) recorded, facts re-pointed (only those
    of ``only``, the real-time path's neighbourhood, when given); ``of``: the profiles planned."""
    repo.set_profile_persons(session, ids, persons, of=of)
    repo.record_merges(session, merges, "shared identifier", stamp)
    repo.refresh_fact_persons(session, only)
    report.moved_profiles = len(ids)
    report.merged = len(merges)


def _index_old_names(session: Session, vault: Vault) -> None:
    """Profiles stored before names (or given names) were indexed get their indexes once (decrypting each
    name once)."""
    rows = repo.names_without_index(session, NICKNAME_CHANNELS)
    if rows:
        repo.update_profiles(session, [{"id": pid, **profile_name_indexes(vault, code, vault.decrypt(enc, "profile.name"))}
                                       for pid, code, enc in rows])


def with_traits(profiles: pa.Table, surnames: pa.Table, traits: pa.Table) -> pa.Table:
    """(profile_id, channel_id, name_bidx, surname_bidx, gender) for the components: each profile's
    surname (``analytics.oneid.profile_surnames``) and gender (``_traits``, in ``profiles``' order), or null."""
    at = pc.index_in(profiles["profile_id"], value_set=surnames["profile_id"].combine_chunks())
    return profiles.select(["profile_id", "channel_id", "name_bidx"]).append_column(
        "surname_bidx", pc.take(surnames["surname_bidx"], at)).append_column("gender", traits["gender"])


def _traits(profiles: pa.Table, known: pa.Table) -> pa.Table:
    """(profile_id, channel_id, gender) in ``profiles``' order, from ``repo.profile_genders``."""
    at = pc.index_in(profiles["profile_id"], value_set=known["profile_id"].combine_chunks())
    return profiles.select(["profile_id", "channel_id"]).append_column("gender", pc.take(known["gender"], at))


def _probabilistic(session: Session, vault: Vault, settings: Settings, names: pa.Table, places: pa.Table,
                   traits: pa.Table, links: pa.Table, blocked: list[str]) -> pa.Table:
    """Splink matches of masked-phone buyers (``analytics.oneid_match``), buyers of two platforms whose
    parcels go to one masked receiver (``analytics.oneid_parcels``) and guides' contacts matched to their
    members (``analytics.oneid_contacts``), stored with their weights; ``traits`` (profile_id, channel_id,
    gender) and ``blocked`` (``blocked_nodes``) for the guards."""
    if not settings.oneid_probabilistic:
        repo.replace_matches(session, [])
        keep_model(session, settings, [], None)
        keep_parcels(session, settings, None)
        keep_contacts(session, None)
        return pa.table({"profile_a": pa.array([], pa.int64()), "profile_b": pa.array([], pa.int64())})
    with connect() as con:
        phones = repo.phone_displays(session)
        records = match_features(con, names, phones, places, traits,
                                 single_orders=settings.oneid_single_order_receivers)
        fitted: list[MatchModel] = []
        matches = probabilistic_matches(con, records, min_weight=settings.oneid_match_weight, links=links,
                                        account_kinds=ACCOUNT_KIND_LIST, fitted=fitted)
        keep_model(session, settings, fitted, records)
        buyers = parcel_records(con, places, phones, traits, links, max_fanout=settings.oneid_max_fanout,
                                blocked=blocked)
        parcels = parcel_matches(con, places, phones, traits, links, min_weight=settings.oneid_parcel_weight,
                                 max_fanout=settings.oneid_max_fanout, blocked=blocked,
                                 one_parcel=settings.oneid_parcel_one_parcel, known=matches, buyers=buyers)
        keep_parcels(session, settings, buyers)
        nicknames, members, stats = (_contact_nicknames(session, vault, settings.oneid_contact_given_names),
                                     repo.guided_members(session), {})
        contacts = contact_matches(con, nicknames, members, traits, links, names["profile_id"],
                                   max_fanout=settings.oneid_max_fanout, blocked=blocked, stats=stats)
        keep_contacts(session, stats, nicknames, members)
        matches = pa.concat_tables([matches, parcels.cast(matches.schema), contacts.cast(matches.schema)])
    stamp = now()
    repo.replace_matches(session, [{"profile_a": a, "profile_b": b, "match_weight": round(w, 3), "evidence": e,
                                    "created_at": stamp} for a, b, w, e in zip(*(matches[c].to_pylist() for c in
                                    ("profile_a", "profile_b", "match_weight", "evidence")), strict=True)])
    return matches


def _contact_nicknames(session: Session, vault: Vault, given: bool) -> pa.Table:
    """(profile_id, guide_id, seen_at, nick_bidx, nick_given_bidx) of guides' WeCom contacts
    (``profiles.nickname_indexes``); compared with members' names, and kept for real time with the
    contact rule's records (``identity_guide_records``), never as a name."""
    rows = repo.guided_contacts(session, NICKNAME_CHANNELS)
    nick = [nickname_indexes(vault, vault.decrypt(r.name_enc, "profile.name"), given) for r in rows]
    return pa.table({"profile_id": pa.array([r.id for r in rows], pa.int64()),
                     "guide_id": pa.array([r.guide_id for r in rows], pa.int64()),
                     "seen_at": pa.array([r.first_seen_at for r in rows], pa.timestamp("us", tz="UTC")),
                     "nick_bidx": pa.array([n for n, _ in nick], pa.string()),
                     "nick_given_bidx": pa.array([g for _, g in nick], pa.string())})


def _index_old_receiver_names(session: Session, vault: Vault) -> None:
    rows = repo.receiver_names_without_index(session)
    if rows:
        repo.update_orders(session, [{"id": oid, **name_indexes(vault, code, vault.decrypt(enc, "order.receiver_name"),
                                                                "receiver_")} for oid, code, enc in rows])


def _index_old_receiver_streets(session: Session, vault: Vault) -> None:
    rows = repo.receiver_streets_without_index(session)
    if rows:
        repo.update_orders(session, [{"id": oid, "receiver_street_bidx": street_index(
            vault, vault.decrypt(enc, "order.address"), province, city, district)}
            for oid, enc, province, city, district in rows])


def _mask_old_receiver_phones(session: Session, vault: Vault) -> None:
    rows = repo.receiver_phones_without_mask(session)
    if rows:
        repo.update_orders(session, [{"id": oid, "receiver_phone_mask": receiver_mask(vault.decrypt(enc, "order.receiver_phone"))}
                                     for oid, enc in rows])


def apply_decisions(decisions: list[Any], links: pa.Table, receiver: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Operators' decisions, oldest first, over the identifier graph:
    - ``split``: the decision's profiles keep their identifiers (and matches, and receiver phones) to
      themselves: each node they carry becomes a node of the decision, so they can still join one another
      but nobody outside, whatever the next import brings;
    - ``merge``: a node only the two profiles carry, which no later split scopes away (the operator's
      explicit word wins)."""
    def scoped(table: pa.Table, ids: pa.Array, suffix: str) -> pa.Table:
        inside = pc.is_in(table["profile_id"], value_set=ids)
        node = pc.if_else(inside, pc.binary_join_element_wise(table["node"], suffix, ""), table["node"])
        return table.set_column(table.column_names.index("node"), "node", node)

    manual = []
    for d in decisions:
        ids = pa.array(d.profile_ids, pa.int64())
        if d.action == "split":
            links, receiver = scoped(links, ids, f"#split{d.id}"), scoped(receiver, ids, f"#split{d.id}")
        elif d.action == "merge":
            manual.append(pa.table({"profile_id": ids, "node": pa.array([f"manual:{d.id}"] * len(ids), pa.string())}))
    if manual:
        links = pa.concat_tables([links, *manual])
    return links, receiver


def split_person(session: Session, vault: Vault, settings: Settings, person_id: int, profile_ids: list[int],
                 actor: str, reason: str | None) -> ResolutionReport:
    """Move ``profile_ids`` out of ``person_id`` into a person of their own, for good; re-resolves."""
    have = set(repo.person_profile_ids(session, person_id))
    if not have:
        raise NotFound(f"no person {person_id}, or it has no profiles")
    wrong = sorted(set(profile_ids) - have)
    if wrong:
        raise InvalidInput(f"profile {wrong[0]} is not one of person {person_id}'s ({', '.join(map(str, sorted(have)))})")
    if not profile_ids or set(profile_ids) == have:
        raise InvalidInput("name some of the person's profiles to split off, not none or all")
    repo.add_decision(session, {"action": "split", "profile_ids": sorted(set(profile_ids)), "person_id": person_id,
                                "actor": actor[:64], "reason": (reason or "")[:255] or None, "created_at": now()})
    return resolve_identities(session, vault, settings)


def merge_persons(session: Session, vault: Vault, settings: Settings, keep: int, other: int, actor: str,
                  reason: str | None) -> ResolutionReport:
    """Operator's merge of two persons (the older id survives, as in every merge); re-resolves."""
    a, b = repo.person_profile_ids(session, keep), repo.person_profile_ids(session, other)
    if not a or not b:
        raise NotFound(f"person {keep if not a else other} does not exist or has no profiles")
    if keep == other:
        raise InvalidInput("a person cannot be merged with itself")
    repo.add_decision(session, {"action": "merge", "profile_ids": [a[0], b[0]], "person_id": keep,
                                "actor": actor[:64], "reason": (reason or "")[:255] or None, "created_at": now()})
    return resolve_identities(session, vault, settings)


def phones_of(session: Session, vault: Vault, settings: Settings, person_ids: list[int]) -> dict[int, list[str]]:
    """Each person's phones (decrypted, normalised), the placeholder numbers of the blocklist left out."""
    blocked = set(settings.oneid_blocklist)
    out: dict[int, list[str]] = {}
    for person, enc in repo.phones_of_persons(session, person_ids):
        phone = vault.decrypt(enc, f"identity.{PHONE}")
        if phone and phone not in blocked:
            out.setdefault(person, []).append(phone)
    return {p: sorted(set(v)) for p, v in out.items()}
