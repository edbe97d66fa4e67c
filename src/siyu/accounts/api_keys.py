"""API keys for the ingestion API: created with scopes, shown once, checked on every request, revocable.

A key looks like ``sy_<40 url-safe characters>``. Only its SHA-256 is stored; the first 11 characters
are kept in clear so an operator can tell keys apart in a list.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.accounts import repository as repo
from siyu.core.clock import now
from siyu.core.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from siyu.models import ApiKey

# A valid key is remembered for a few seconds, so a client sending hundreds of batches a second costs
# one lookup per interval. Revoking in this process forgets it at once; a revocation made by another
# process (``siyu apikey revoke``) takes effect within RECHECK_SECONDS.
RECHECK_SECONDS = 10.0
_recent: dict[str, tuple[ApiKeyRead, float]] = {}

SCOPES = ("members:write", "orders:write", "refunds:write", "events:write", "loyalty:read", "loyalty:write")
PREFIX = "sy_"


@dataclass(frozen=True)
class ApiKeyRead:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def _read(k: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(k.id, k.name, k.prefix, tuple(k.scopes.split()), k.created_at, k.revoked_at)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, scopes: list[str]) -> tuple[ApiKeyRead, str]:
    """A new key with ``scopes``; returns the key itself, which is never shown again."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("name: 1 to 64 characters")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"scopes: {', '.join(unknown) or 'none given'}; choose from {', '.join(SCOPES)}")
    key = PREFIX + secrets.token_urlsafe(30)
    row = repo.add_api_key(session, ApiKey(name=name, prefix=key[:11], key_hash=_digest(key),
                                           scopes=" ".join(sorted(set(scopes))), created_at=now()))
    return _read(row), key


def list_api_keys(session: Session) -> list[ApiKeyRead]:
    return [_read(k) for k in repo.api_keys(session)]


def revoke_api_key(session: Session, key_id: int) -> ApiKeyRead:
    row = repo.api_key(session, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = now()
    _recent.pop(row.key_hash, None)
    return _read(row)


def check_api_key(session: Session, key: str | None, scope: str) -> ApiKeyRead:
    """The key's record if ``key`` is valid, not revoked and holds ``scope``; Unauthorized (401) or
    Forbidden (403) otherwise."""
    if not key:
        raise Unauthorized("an API key is required (Authorization: Bearer <key>, or HTTP basic auth with the "
                           "key as user name)")
    digest = _digest(key.strip())
    cached = _recent.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        found = cached[0]
    else:
        row = repo.api_key_by_hash(session, digest)
        if row is None or row.revoked_at is not None:
            _recent.pop(digest, None)
            raise Unauthorized("unknown or revoked API key")
        found = _read(row)
        _recent[digest] = (found, time.monotonic() + RECHECK_SECONDS)
    if scope not in found.scopes:
        raise Forbidden(f"API key {found.prefix}… lacks the scope {scope}; it has {', '.join(found.scopes)}")
    return found
