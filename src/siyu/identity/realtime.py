"""OneID on arrival: resolve only the persons a few new or changed profiles touch, by the batch's rules.

The neighbourhood is closed before resolving: whole persons of the touched profiles, and every profile
reached from them through an identifier that can still join (fan-out within the limit), a receiver
phone, a stored probabilistic match or an operator's merge. Guards need global counts, so every profile
carrying one of the neighbourhood's identifiers is also given to the components step; those outside the
neighbourhood only count, they are never moved. The result for the neighbourhood is the batch's.
A stored match is followed as the batch made it, but a guide's contact matched by nickname whose
arrival-given identifier now joins it to a named profile loses that match (``still_matched``), as the
batch's rule would drop it.

An identifier shared by more profiles than the fan-out limit is not followed while the neighbourhood
grows (a walk-in phone would pull in everyone). If the components step still joins a profile outside
the neighbourhood to it (such an identifier split by names into groups within the limit), that
profile's person is added and the step runs again.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from siyu.analytics import oneid_small as small
from siyu.analytics.oneid import match_links
from siyu.analytics.oneid_contacts import EVIDENCE as CONTACT_EVIDENCE
from siyu.analytics.oneid_contacts import joined_to_named
from siyu.core.clock import now
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.core.tables import to_arrow
from siyu.identity import match_repository as mrepo
from siyu.identity import repository as repo
from siyu.identity.arrivals import orders_noted, take_arrived
from siyu.identity.reads import Reads
from siyu.identity.realtime_matches import rematch
from siyu.identity.service import ResolutionReport, apply_decisions, apply_small_plan, blocked_nodes
from siyu.ingest.schemas import ACCOUNT_KIND_LIST

TRAITS = ("persons", "surnames", "receiver_surnames", "genders")  # the components step's reads of each profile


def resolve_profiles(session: Session, vault: Vault, settings: Settings, profile_ids: set[int],
                     blocked: set[str] | None = None) -> ResolutionReport:
    """``blocked``: ``blocked_nodes``, when the caller has them already."""
    report = ResolutionReport()
    if not profile_ids:
        return report
    if blocked is None:
        blocked = set(blocked_nodes(vault, settings))
    decisions = repo.decisions(session)
    closure: set[int] = set()
    frontier = set(profile_ids)
    followable: set[int] = set()
    reads = Reads(session)
    while frontier:
        closure |= frontier
        nxt: set[int] = set()
        # A step is two statements: what the frontier carries, then who else carries or was sent it and
        # the other profiles of the frontier's persons. The first also reads the frontier's traits, which
        # the components step needs for the whole neighbourhood: a statement of their own there was a
        # round trip more, and so was asking for the persons' other profiles before the step (a new
        # profile, most arrivals, has no person yet).
        reads.prefetch({name: frontier for name in ("links", "receivers", "matches", *TRAITS)})
        rows = reads.node_links(frontier)
        followable.update(ident for _, ident, node, fan in rows
                          if node not in blocked and fan <= settings.oneid_max_fanout)
        follow = {i for _, i, _, _ in rows if i in followable}
        # a blocked phone joins nobody, so its parcels' buyers are not pulled in (a walk-in phone's are many)
        phones = {node.split(":", 1)[1] for _, _, node, _ in rows if node.startswith("phone:") and node not in blocked}
        sent_to = {node.split(":", 1)[1] for _, node, _, _ in reads.receivers(frontier) if node not in blocked}
        persons = reads.with_person(frontier)
        reads.prefetch({"carriers": follow, "senders": phones | sent_to, "phones": sent_to, "siblings": persons})
        nxt.update(reads.siblings(persons))
        nxt.update(p for _, p, _ in reads.carriers(follow))
        nxt.update(reads.senders(phones))
        nxt.update(p for p, _ in reads.phone_carriers(sent_to))
        nxt.update(reads.senders(sent_to))  # other buyers whose parcels go there (a Douyin and a mini-program one)
        for a, b, _ in reads.matches(frontier):
            nxt.update((a, b))
        for d in decisions:
            if d.action == "merge" and frontier & set(d.profile_ids):
                nxt.update(d.profile_ids)
        frontier = nxt - closure
    while True:
        profiles, comp_of = _components(session, reads, settings, closure, decisions, blocked)
        # An outside profile that lands in a component with the neighbourhood (through an identifier
        # past the fan-out limit that names split into small groups) joins it with its whole person.
        ours = {comp_of[p] for p in closure if p in comp_of}
        extra = {p for p, c in comp_of.items() if c in ours and p not in closure}
        if not extra:
            break
        closure |= extra | reads.siblings(extra)
    labels = {p: comp_of[p] for p in closure}
    current = {p: q for p, q in zip(profiles["profile_id"].to_pylist(), profiles["person_id"].to_pylist(), strict=True)
               if p in closure}
    report.profiles = len(closure)
    apply_small_plan(session, small.assign(labels, current), current, now(), report, only=closure)
    return report


def _components(session: Session, reads: Reads, settings: Settings, closure: set[int],
                decisions: list[Any], blocked: set[str]) -> tuple[pa.Table, dict[int, int]]:
    """Components over the neighbourhood and every profile carrying one of its identifiers (for the
    guards' global counts), by the batch's rules in plain Python (``analytics.oneid_small``)."""
    rows = reads.node_links(closure)
    link_rows = {(p, node): None for p, _, node, _ in rows}
    # receiver phones both ways: the neighbourhood's parcels, and parcels sent to its phones
    phones = {node.split(":", 1)[1] for _, _, node, _ in rows if node.startswith("phone:") and node not in blocked}
    buyers = closure | reads.senders(phones)
    sent = reads.receivers(buyers)
    sent_to = {node.split(":", 1)[1] for _, node, _, _ in sent if node not in blocked}
    # Who else carries an identifier, for the guards' counts; growing the neighbourhood read all but
    # those it did not follow. Not for a blocked one, which joins nobody whatever its count: a walk-in
    # phone's carriers and their traits were seconds of an arrival touching it (24,000 at 10M records).
    identifiers = {i for _, i, node, _ in rows if node not in blocked}
    reads.prefetch({"carriers": identifiers, "phones": sent_to})
    for _, p, node in reads.carriers(identifiers):
        link_rows[(p, node)] = None
    for p, node in reads.phone_carriers(sent_to):
        link_rows[(p, node)] = None
    receiver = to_arrow(sent, repo.RECEIVER_COUNTS)
    ids = closure | {p for p, _ in link_rows}
    reads.prefetch({name: ids for name in ("links", *TRAITS)})
    pairs = still_matched(session, reads.matches(closure), rows, link_rows, reads.surnames(ids),
                          settings.oneid_max_fanout, blocked)
    links = pa.table({"profile_id": pa.array([p for p, _ in link_rows], pa.int64()),
                      "node": pa.array([n for _, n in link_rows], pa.string())})
    if pairs:  # most neighbourhoods have none, and building the empty table was 4 % of an arrival
        links = pa.concat_tables([links, match_links(pa.array([a for a, _ in pairs], pa.int64()),
                                                     pa.array([b for _, b in pairs], pa.int64()))])
    links, receiver = apply_decisions(decisions, links, receiver)
    ids |= set(links["profile_id"].to_pylist())
    reads.prefetch({name: ids for name in ("links", *TRAITS)})  # what the decisions added, if anything
    profiles = reads.profile_persons(ids)
    order = profiles["profile_id"].to_pylist()
    profiles = profiles.append_column("surname_bidx", pa.array(
        [*map(surnames_by_rule(reads, settings, ids).get, order)], pa.string()))
    profiles = profiles.append_column("gender", pa.array([*map(reads.genders(ids).get, order)], pa.string()))
    comps = small.components(profiles, links, receiver, max_fanout=settings.oneid_max_fanout,
                             max_per_channel=settings.oneid_max_per_channel, blocked=blocked,
                             account_kinds=ACCOUNT_KIND_LIST,
                             single_orders=settings.oneid_single_order_receivers)
    return profiles, comps.labels


def still_matched(session: Session, pairs: list[tuple[int, int, str]], rows: list[Any], link_rows: dict[Any, None],
                  named: dict[int, str], max_fanout: int, blocked: set[str]) -> list[tuple[int, int]]:
    """The stored matches that still stand, as (profile_a, profile_b). A guide's contact is matched to a
    member by nickname only while no identifier joins it to a profile with a name of its own
    (``analytics.oneid_contacts``); an arrival that gives it one (a POS member with the phone in the
    guide's remark) ends that match here as the next batch run would, and the stored pair is dropped.
    ``rows`` (profile, identity, node, fan-out) and ``link_rows`` (profile, node) are the neighbourhood's
    and its identifiers' other carriers; ``named``: which of them carry a surname (the batch's named)."""
    # the nickname matches, by their contact (the member has a name; a nickname is none); most
    # neighbourhoods have none, and then nothing more is built
    contact_of = {(a, b): b if a in named else a for a, b, evidence in pairs
                  if evidence == CONTACT_EVIDENCE and (a in named) != (b in named)}
    joined: set[int] = set()
    if contact_of:
        carriers: dict[str, set[int]] = {}
        for p, node in link_rows:
            carriers.setdefault(node, set()).add(p)
        contacts = set(contact_of.values())
        joined = joined_to_named([r for r in rows if r[0] in contacts], carriers, named, max_fanout=max_fanout,
                                 blocked=blocked)
    stale = {pair for pair, contact in contact_of.items() if contact in joined}
    if stale:  # rare: a statement only then
        mrepo.change_matches(session, sorted(stale), [], CONTACT_EVIDENCE)
    return [(a, b) for a, b, evidence in pairs if not (evidence == CONTACT_EVIDENCE and (a, b) in stale)]


def surnames_by_rule(reads: Reads, settings: Settings, ids: set[int]) -> dict[int, str]:
    """These profiles' surnames by the batch's rule (``analytics.oneid.profile_surnames``): their own,
    their parcels', or those of the other profiles of their platform accounts. Real time, and
    ``identity.explain`` telling why a shared phone joined only one surname."""
    kinds = ACCOUNT_KIND_LIST
    accounts = {i for _, i, node, fan in reads.node_links(ids)
                if node.split(":", 1)[0] in kinds and 2 <= fan <= settings.oneid_max_fanout}
    acc_links = [(p, node) for _, p, node in reads.carriers(accounts)]
    everyone = ids | {p for p, _ in acc_links}
    reads.prefetch({"surnames": everyone, "receiver_surnames": everyone})
    return small.surnames(reads.surnames(everyone), reads.receiver_surnames(everyone),
                          acc_links, account_kinds=kinds, max_fanout=settings.oneid_max_fanout,
                          single_orders=settings.oneid_single_order_receivers)


def resolve_arrivals(session: Session, vault: Vault, settings: Settings) -> ResolutionReport:
    """Resolve what this unit of work wrote (``identity.arrivals``), before it commits."""
    arrived = take_arrived(session)
    if not arrived:
        report = ResolutionReport()
    else:
        repo.lock_resolution(session, keep_plans=True)
        # the masked-phone and parcel blocks the arrivals are in scored again, and the guides' contacts
        # they are or name compared again: profiles whose matches came or went are resolved with them
        blocked = set(blocked_nodes(vault, settings))
        moved = rematch(session, vault, settings, arrived, blocked)
        report = resolve_profiles(session, vault, settings, arrived | moved, blocked)
        repo.release_plans(session)
    orders = orders_noted(session)
    if orders:  # orders of profiles resolved before (a member's new order): their person, for loyalty
        repo.refresh_order_persons(session, orders)
    return report
