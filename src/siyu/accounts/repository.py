"""Console users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import ApiKey, User


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def add(session: Session, user: User) -> User:
    session.add(user)
    session.flush()
    return user


def add_api_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def api_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def api_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
