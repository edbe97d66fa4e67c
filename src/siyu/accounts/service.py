"""Create users and check passwords (argon2id; hashes are upgraded when the parameters change)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.orm import Session

from siyu.accounts import repository as repo
from siyu.core.clock import now
from siyu.core.errors import Conflict, InvalidInput, Unauthorized
from siyu.models import User

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of "no such user" and
# "wrong password" the same.
_DUMMY = _hasher.hash("not a password")


@dataclass(frozen=True)
class UserRead:
    id: int
    username: str
    display_name: str | None
    role: str
    locale: str


def _read(u: User) -> UserRead:
    return UserRead(u.id, u.username, u.display_name, u.role, u.locale)


def create_user(session: Session, username: str, password: str, *, role: str = "admin",
                display_name: str | None = None) -> UserRead:
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput("username: 1 to 64 characters")
    if len(password) < 8:
        raise InvalidInput("password: at least 8 characters")
    if repo.by_username(session, username) is not None:
        raise Conflict(f"user {username} already exists")
    user = repo.add(session, User(username=username, password_hash=_hasher.hash(password), role=role,
                                  display_name=display_name, locale="zh", created_at=now()))
    return _read(user)


def authenticate(session: Session, username: str, password: str) -> UserRead:
    user = repo.by_username(session, username.strip())
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("wrong username or password") from None
    if user is None:
        raise Unauthorized("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now()
    return _read(user)


def ensure_demo_admin(session: Session, home: Path, password: str | None) -> tuple[str, str]:
    """The demo's admin: the password comes from settings, else is generated once and kept in
    ``$SIYU_HOME/demo-credentials.txt`` (mode 0600) so every ``siyu demo`` prints the same one."""
    username = "admin"
    creds = home / "demo-credentials.txt"
    if password is None and creds.exists():
        password = creds.read_text(encoding="utf-8").split("\n")[1].split(":", 1)[1].strip()
    if password is None:
        password = secrets.token_urlsafe(12)
    existing = repo.by_username(session, username)
    if existing is None:
        create_user(session, username, password, display_name="演示管理员")
    elif not _verifies(existing.password_hash, password):
        existing.password_hash = _hasher.hash(password)
    creds.write_text(f"username: {username}\npassword: {password}\n", encoding="utf-8")
    creds.chmod(0o600)
    return username, password


def _verifies(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
