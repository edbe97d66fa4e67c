"""Console users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import User


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def add(session: Session, user: User) -> User:
    session.add(user)
    session.flush()
    return user
