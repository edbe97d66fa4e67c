"""The guides' contact rule on arrival (``analytics.oneid_contacts``), with the counts the last batch
run kept.

A guide's WeCom contact that arrives, or changes, is compared with the members of its guide whose name
is its nickname; a named member a guide serves that arrives, or changes, has the contacts of its guide
carrying its name compared again (a namesake at the guide ends a match, a second phone may make two
namesakes one person). What each is compared with is in ``identity_guide_records``, which the batch
writes whole and arrivals keep current: the batch decrypts every contact's nickname each run, an arrival
only its own. The matches that came or went are written; real time then resolves their profiles.

What differs from the next batch run: the weights take the batch's counts of joined contacts and of
people per guide and gender (how many people carry the name is counted now), so a weight may move a
little; whether a pair is made does not depend on them. A contact that an arrival joins to a named
profile loses its match in ``identity.realtime.still_matched``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from siyu.analytics.oneid_contacts import EVIDENCE, contact_pairs, joined_to_named
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.identity import guide_records as grepo
from siyu.identity import match_repository as mrepo
from siyu.identity.profiles import NICKNAME_CHANNELS, nickname_indexes
from siyu.identity.reads import Reads

KIND = "contacts"


def keep_contacts(session: Session, stats: dict[str, Any] | None, contacts: pa.Table | None = None,
                  members: pa.Table | None = None) -> None:
    """After the batch's contact rule: the counts it weighed with and every contact and member it
    compared; with none (the rule off), nothing, and real time makes no contact match."""
    if stats is None:
        mrepo.forget_model(session, KIND)
    else:
        mrepo.store_model(session, KIND, stats)
    grepo.replace_records(session, contacts, members)


def rematch_contacts(session: Session, vault: Vault, settings: Settings, stats: dict[str, Any], profile_ids: list[int],
                     blocked: set[str]) -> set[int]:
    """The contacts these profiles are, or whose members they are, compared again; the profiles whose
    contact matches came or went."""
    got = grepo.guided(session, profile_ids)
    old = {r["profile_id"]: r for r in map(grepo.as_record, got["records"])}
    new = {r["profile_id"]: r for r in (_record(vault, settings, row) for row in got["profiles"]) if r is not None}
    changed = [r for p, r in new.items() if old.get(p) != r]
    gone = [p for p in old if p not in new]
    if changed or gone:
        grepo.put_records(session, changed, [*gone, *(r["profile_id"] for r in changed if r["profile_id"] in old)])
    arrived = [*old.values(), *new.values()]
    if not arrived:
        return set()
    # everyone sharing a name with the arrivals: the contacts to compare again are among them, and so
    # are those contacts' namesakes at every guide (they weigh the name)
    names = {r["name"] for r in arrived if r["name"] is not None}
    givens = {r["given"] for r in arrived if r["given"] is not None}
    near = {r["profile_id"]: r for r in grepo.carrying(session, names, givens)}
    near.update(new)
    for p in gone:
        near.pop(p, None)
    asked = {(r["guide_id"], how, r[how]) for r in arrived if not r["contact"] for how in ("name", "given")
             if r[how] is not None}
    contacts = [r for r in near.values() if r["contact"] and (
        r["profile_id"] in new or any((r["guide_id"], how, r[how]) in asked for how in ("name", "given")))]
    more = ({r["name"] for r in contacts} - names - {None}, {r["given"] for r in contacts} - givens - {None})
    if any(more):  # a member's contact whose other form (its given name) no arrival carries
        near.update({r["profile_id"]: r for r in grepo.carrying(session, *more) if r["profile_id"] not in near})
    members = [r for r in near.values() if not r["contact"]]
    reads = Reads(session)
    ids = {r["profile_id"] for r in [*contacts, *members]}
    reads.prefetch({"links": ids, "genders": ids, "matches": {r["profile_id"] for r in contacts} | set(gone)})
    pairs = contact_pairs(sorted(contacts, key=lambda r: r["profile_id"]), members, reads.genders(ids),
                          _person_keys(reads, members, blocked),
                          _joined(session, reads, [r["profile_id"] for r in contacts], settings.oneid_max_fanout,
                                  blocked),
                          stats)
    stored = [(a, b) for a, b, e in reads.matches({r["profile_id"] for r in contacts} | set(gone)) if e == EVIDENCE]
    return mrepo.write_pairs(session, stored, pairs, EVIDENCE)


def _record(vault: Vault, settings: Settings, row: Any) -> dict[str, Any] | None:
    """A guided profile as the rule compares it: a contact by its nickname, a member by its real name."""
    pid, channel, guide, name_enc, seen_at, registered_at, name_bidx, given_bidx = row
    if channel in NICKNAME_CHANNELS:
        if name_enc is None:
            return None
        nick, nick_given = nickname_indexes(vault, vault.decrypt(name_enc, "profile.name"),
                                            settings.oneid_contact_given_names)
        return {"profile_id": pid, "guide_id": guide, "contact": True, "name": nick, "given": nick_given,
                "at": seen_at}
    if name_bidx is None:
        return None
    return {"profile_id": pid, "guide_id": guide, "contact": False, "name": name_bidx, "given": given_bidx or None,
            "at": registered_at}


def _person_keys(reads: Reads, members: list[dict[str, Any]], blocked: set[str]) -> dict[int, str]:
    """``oneid_contacts``' person key of each member: its lowest phone that is not blocked, or itself."""
    phones: dict[int, list[str]] = {}
    for p, _, node, _ in reads.node_links(r["profile_id"] for r in members):
        if node.startswith("phone:") and node not in blocked:
            phones.setdefault(p, []).append(node)
    return {r["profile_id"]: min(phones.get(r["profile_id"], [f"profile:{r['profile_id']}"])) for r in members}


def _joined(session: Session, reads: Reads, contacts: list[int], max_fanout: int, blocked: set[str]) -> set[int]:
    """``joined_to_named`` of these contacts, their identifiers' named carriers read in one statement."""
    links = reads.node_links(contacts)
    node_of = {ident: node for _, ident, node, fan in links if node not in blocked and 2 <= fan <= max_fanout}
    carriers: dict[str, set[int]] = {}
    for ident, p in grepo.named_carriers(session, node_of) if node_of else []:
        carriers.setdefault(node_of[ident], set()).add(p)
    return joined_to_named(links, carriers, {p for ps in carriers.values() for p in ps}, max_fanout=max_fanout,
                           blocked=blocked)
