"""Saved audiences and their snapshot versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.bulk import insert_many
from siyu.models import Audience, AudienceSnapshot, Product, Sku


def by_name(session: Session, name: str) -> Any:
    return session.execute(select(Audience.id, Audience.name, Audience.expression, Audience.tree, Audience.kind,
                                  Audience.created_by, Audience.created_at).where(Audience.name == name)).one_or_none()


def all_(session: Session) -> list[Any]:
    latest = (select(AudienceSnapshot.audience_id, func.max(AudienceSnapshot.version).label("version"))
              .group_by(AudienceSnapshot.audience_id).subquery())
    return list(session.execute(select(Audience.name, Audience.expression, Audience.kind, Audience.created_by,
                                       Audience.created_at, latest.c.version)
                                .join(latest, latest.c.audience_id == Audience.id, isouter=True).order_by(Audience.id)))


def add(session: Session, row: dict[str, Any]) -> int:
    insert_many(session, Audience, [row])
    return int(session.scalar(select(Audience.id).where(Audience.name == row["name"])))  # type: ignore[arg-type]


def snapshot(session: Session, audience_id: int, version: int | None) -> Any:
    stmt = select(AudienceSnapshot.version, AudienceSnapshot.members, AudienceSnapshot.bitmap,
                  AudienceSnapshot.taken_by, AudienceSnapshot.taken_at).where(AudienceSnapshot.audience_id == audience_id)
    stmt = stmt.where(AudienceSnapshot.version == version) if version is not None else \
        stmt.order_by(AudienceSnapshot.version.desc()).limit(1)
    return session.execute(stmt).one_or_none()


def add_snapshot(session: Session, row: dict[str, Any]) -> None:
    insert_many(session, AudienceSnapshot, [row])


def product(session: Session, code: str) -> Any:
    return session.execute(select(Product.id, Product.code, Product.name, Product.category, Product.gender,
                                  Product.unisex).where(Product.code == code)).one_or_none()


def skus_of(session: Session, product_id: int) -> dict[str, tuple[str | None, str | None]]:
    """SKU code → (colour, size) for one product."""
    return {r.code: (r.colour, r.size) for r in session.execute(
        select(Sku.code, Sku.colour, Sku.size).where(Sku.product_id == product_id))}
