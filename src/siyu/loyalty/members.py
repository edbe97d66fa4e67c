"""Membership follows OneID: every person with a registration on any channel has exactly one member
account (一会多端). A merge of two members keeps the older account and moves the other's points to it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.loyalty import coupons, ledger
from siyu.loyalty import repository as repo
from siyu.loyalty.programme import Programme


@dataclass
class MemberReport:
    members: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0


def _card_for(person: int, regs: list[Any], cards: dict[int, bytes], vault: Vault, taken: set[str]) -> str:
    """The card the member already holds (POS card, mini-program member number), else a new one."""
    for r in regs:
        if r.channel == "pos" and r.external_id not in taken:
            return r.external_id
        enc = cards.get(r.id)
        if enc is not None:
            card = vault.decrypt(enc, "identity.member_card")
            if card not in taken:
                return card
    return f"SY{person:010d}"


def sync_members(session: Session, vault: Vault, programme: Programme | None = None) -> MemberReport:
    """Create, update and merge member accounts from registrations. Idempotent."""
    stamp = now()
    report = MemberReport()
    by_person: dict[int, list[Any]] = defaultdict(list)
    for r in repo.registrations(session):
        by_person[r.person_id].append(r)
    existing = repo.members(session)
    member_of = {m.person_id: m for m in existing}
    taken = {m.card_no for m in existing}

    # Persons absorbed by a merge: their account moves to the surviving person, or folds into its account.
    moves, folds = [], []
    for m in existing:
        if m.merged_into_id is None or m.status != "active":
            continue
        survivor = member_of.get(m.merged_into_id)
        if survivor is None:
            moves.append({"id": m.id, "person_id": m.merged_into_id, "updated_at": stamp})
            member_of[m.merged_into_id] = m
        else:
            folds.append((m, survivor))
    repo.update_members(session, moves)
    _fold(session, folds, stamp)
    report.merged = len(moves) + len(folds)

    cards = repo.card_values(session, [r.id for regs in by_person.values() for r in regs])
    inserts, updates = [], []
    for person, regs in by_person.items():
        first = regs[0]
        wanted = {"joined_at": first.registered_at, "join_channel_id": first.channel_id,
                  "home_store_id": next((r.store_id for r in regs if r.store_id), None),
                  "guide_id": next((r.guide_id for r in regs if r.guide_id), None)}
        m = member_of.get(person)
        if m is None:
            card = _card_for(person, regs, cards, vault, taken)
            taken.add(card)
            inserts.append({"person_id": person, "card_no": card, "tier": "普通会员", "tier_since": first.registered_at,
                            "status": "active", "created_at": stamp, "updated_at": stamp, **wanted})
        else:
            change = {k: v for k, v in wanted.items() if getattr(m, k) != v}
            if change:
                updates.append({"id": m.id, "updated_at": stamp, **change})
    repo.insert_members(session, inserts)
    if programme is not None and inserts:
        # 新人券包: issued when the account opens, valid from the day the member joined
        ids = repo.member_ids_of_persons(session, [r["person_id"] for r in inserts])
        coupons.issue_many(session, [row for r in inserts if r["person_id"] in ids
                                     for row in coupons.pack_rows(programme, ids[r["person_id"]], "new_member",
                                                                  "new_member", r["joined_at"])])
    repo.update_members(session, updates)
    report.created, report.updated = len(inserts), len(updates)
    report.members = sum(1 for m in existing if m.status == "active") - len(folds) + len(inserts)
    return report


def _fold(session: Session, folds: list[tuple[Any, Any]], stamp) -> None:  # type: ignore[no-untyped-def]
    """Close the absorbed account; its lots (with their dates) and any debt move to the survivor."""
    for absorbed, survivor in folds:
        ledger.transfer(session, absorbed.id, survivor.id, stamp)
    repo.update_members(session, [{"id": a.id, "status": "merged", "updated_at": stamp} for a, _ in folds])
