"""OneID batch resolution: who is the same person, with ids that stay stable from run to run."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from siyu.analytics.engine import connect
from siyu.analytics.oneid import assign_persons, connected_components
from siyu.core.clock import now
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.identity import repository as repo
from siyu.identity.profiles import NICKNAME_CHANNELS, name_index
from siyu.ingest.schemas import JOINING_KINDS, PHONE


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
    split_by_name: int = 0  # shared phones / emails whose profiles disagree on the name
    super_nodes: list[SuperNode] = field(default_factory=list)


def resolve_identities(session: Session, vault: Vault, settings: Settings) -> ResolutionReport:
    """Deterministic pass over every profile: join on shared identifiers, skip super-nodes, keep ids.

    Idempotent: a second run over the same data changes nothing.
    """
    report = ResolutionReport()
    _index_old_names(session, vault)
    profiles = repo.profile_persons(session)
    report.profiles = profiles.num_rows
    if profiles.num_rows == 0:
        return report
    links = repo.identity_links(session, sorted(JOINING_KINDS))
    receiver = repo.receiver_phone_counts(session)
    blocked = [f"{PHONE}:{vault.blind_index(PHONE, p)}" for p in settings.oneid_blocklist]
    with connect() as con:
        comps = connected_components(con, profiles.select(["profile_id", "channel_id", "name_bidx"]), links, receiver,
                                     max_fanout=settings.oneid_max_fanout,
                                     max_per_channel=settings.oneid_max_per_channel, blocked=blocked)
        plan = assign_persons(con, comps.labels, profiles.select(["profile_id", "person_id"])).to_pydict()
    report.rounds = comps.rounds
    report.split_by_name = comps.split_by_name
    stamp = now()

    needing = sorted({c for c, p in zip(plan["component"], plan["person_id"], strict=True) if p is None})
    fresh = dict(zip(needing, repo.create_persons(session, len(needing), stamp), strict=True))
    report.new_persons = len(fresh)
    current = dict(zip(profiles.column("profile_id").to_pylist(), profiles.column("person_id").to_pylist(),
                       strict=True))
    moves, merges = [], set()
    for pid, comp, person, absorbed in zip(plan["profile_id"], plan["component"], plan["person_id"],
                                           plan["absorbed"], strict=True):
        target = person if person is not None else fresh[comp]
        if current.get(pid) != target:
            moves.append((pid, target))
        for a in absorbed or []:
            merges.add((a, target))
    repo.set_profile_persons(session, moves, stamp)
    repo.record_merges(session, sorted(merges), "shared identifier", stamp)
    repo.refresh_fact_persons(session)
    report.moved_profiles = len(moves)
    report.merged = len(merges)
    report.persons = len(set(plan["component"]))

    sn = comps.super_nodes.to_pydict()
    keys = [tuple(n.split(":", 1)) for n in sn["node"]]
    shown = repo.displays(session, keys) if keys else {}
    report.super_nodes = [SuperNode(k[0], shown.get(k), f, b)
                          for k, f, b in zip(keys, sn["fanout"], sn["blocked"], strict=True)]
    return report


def _index_old_names(session: Session, vault: Vault) -> None:
    """Profiles stored before names were indexed get their index once (decrypting each name once)."""
    rows = repo.names_without_index(session, NICKNAME_CHANNELS)
    if rows:
        repo.update_profiles(session, [{"id": pid, "name_bidx": name_index(vault, code, vault.decrypt(enc, "profile.name"))}
                                       for pid, code, enc in rows])
