"""Members and the points ledger: bulk reads and writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.bulk import chunks, insert_many, update_many
from siyu.ingest.schemas import CARD
from siyu.models import Channel, Identity, Member, Order, Person, PointsEntry, Profile, ProfileIdentity


def registrations(session: Session) -> list[Any]:
    """Registered profiles (a member card was opened on that channel), oldest first."""
    stmt = (select(Profile.id, Profile.person_id, Profile.external_id, Channel.code.label("channel"),
                   Profile.channel_id, Profile.registered_at, Profile.store_id, Profile.guide_id)
            .join(Channel, Channel.id == Profile.channel_id)
            .where(Profile.registered_at.is_not(None), Profile.person_id.is_not(None))
            .order_by(Profile.registered_at, Profile.id))
    return list(session.execute(stmt))


def card_values(session: Session, profile_ids: Sequence[int]) -> dict[int, bytes]:
    """Encrypted member-card identifiers of these profiles."""
    found: dict[int, bytes] = {}
    for part in chunks(list(profile_ids)):
        stmt = (select(ProfileIdentity.profile_id, Identity.value_enc)
                .join(Identity, Identity.id == ProfileIdentity.identity_id)
                .where(Identity.kind == CARD, ProfileIdentity.profile_id.in_(part)))
        for pid, enc in session.execute(stmt):
            found.setdefault(pid, enc)
    return found


def members(session: Session) -> list[Any]:
    stmt = select(Member.id, Member.person_id, Member.card_no, Member.joined_at, Member.join_channel_id,
                  Member.home_store_id, Member.guide_id, Member.tier, Member.tier_since, Member.status,
                  Person.merged_into_id).join(Person, Person.id == Member.person_id).order_by(Member.id)
    return list(session.execute(stmt))


def person_redirects(session: Session) -> dict[int, int]:
    """Absorbed person → the person it was merged into."""
    return dict(session.execute(select(Person.id, Person.merged_into_id).where(Person.merged_into_id.is_not(None))).all())


def insert_members(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_many(session, Member, rows)


def update_members(session: Session, rows: list[dict[str, Any]]) -> None:
    update_many(session, Member, rows)


def awardable_orders(session: Session) -> list[Any]:
    """Orders of persons who are members: the candidates for order points."""
    stmt = (select(Order.id, Order.person_id, Order.status, Order.paid_fen, Order.refunded_fen,
                   Order.paid_at, Order.created_at, Order.completed_at)
            .join(Member, Member.person_id == Order.person_id).where(Member.status == "active"))
    return list(session.execute(stmt))


def order_entries(session: Session) -> list[Any]:
    """Per (order, member): points booked so far and how many entries booked them."""
    stmt = (select(PointsEntry.source_ref, PointsEntry.member_id, func.sum(PointsEntry.points), func.count())
            .where(PointsEntry.source_type == "order").group_by(PointsEntry.source_ref, PointsEntry.member_id))
    return list(session.execute(stmt))


def balances(session: Session, member_ids: Sequence[int] | None = None) -> dict[int, int]:
    stmt = select(PointsEntry.member_id, func.sum(PointsEntry.points)).group_by(PointsEntry.member_id)
    if member_ids is not None:
        found: dict[int, int] = {}
        for part in chunks(list(member_ids)):
            found.update(dict(session.execute(stmt.where(PointsEntry.member_id.in_(part))).all()))
        return found
    return dict(session.execute(stmt).all())


def add_entries(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_many(session, PointsEntry, rows)


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(list(keys)):
        found.update(session.scalars(select(PointsEntry.idempotency_key)
                                     .where(PointsEntry.idempotency_key.in_(part))))
    return found


def stamp_entries(rows: list[dict[str, Any]], stamp: datetime) -> list[dict[str, Any]]:
    for r in rows:
        r.setdefault("created_at", stamp)
    return rows
