"""Which programme the brand runs: each version recorded with who recorded it, when, and why. The
latest recorded version is the one in force; until one is recorded, the default shipped with Siyu.

A version is recorded only if it validates, and only with a higher ``version`` number than the one in
force (a rollback is the old text recorded again under a new number): the history of the rules never
runs backwards. Recording the text already in force again changes nothing.

Every recorded version must keep loading as Siyu evolves: new programme fields come with defaults, and
stricter rules for new versions are checked when one is recorded (``record``), not when one is read.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from typing import Any

import yaml
from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.errors import Conflict, InvalidInput
from siyu.loyalty import programme as prog
from siyu.loyalty import repository as repo


def parse(text: str, where: str = "programme") -> prog.Programme:
    try:
        return prog.Programme.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValueError) as exc:
        raise InvalidInput(f"{where}: {exc}") from exc


@lru_cache(maxsize=8)
def _parsed(sha: str, text: str) -> prog.Programme:  # sha: the cache key, one parse per version
    return parse(text)


def active(session: Session) -> prog.Programme:
    """The programme in force: the latest recorded version, else the default."""
    row = repo.latest_programme(session)
    return prog.default() if row is None else _parsed(row.sha256, row.content)


def record(session: Session, text: str, *, actor: str, note: str | None = None, at: datetime | None = None
           ) -> tuple[prog.Programme, bool]:
    """Record ``text`` as the programme in force. Returns it and whether a new version was recorded."""
    if not actor.strip():
        raise InvalidInput("who records the programme: a name is required (--by)")
    new = parse(text)
    problems = [why for r in new.rewards if (why := r.incomplete())]
    if problems:
        raise InvalidInput("programme: " + "; ".join(problems))
    sha = hashlib.sha256(text.encode()).hexdigest()
    latest = repo.latest_programme(session)
    if latest is not None and latest.sha256 == sha:
        return new, False
    current = active(session) if latest is not None else None
    if current is not None and new.version <= current.version:
        raise Conflict(f"programme version {new.version}: the one in force is version {current.version}; "
                       "record a higher version number")
    repo.add_programme_version(session, {"version": new.version, "name": new.name[:64], "sha256": sha,
                                         "content": text, "actor": actor.strip()[:64],
                                         "note": (note or "")[:255] or None, "recorded_at": at or now()})
    return new, True


def ensure_recorded(session: Session, actor: str = "siyu") -> None:
    """The default recorded as the first version when none is (so the history starts somewhere)."""
    if repo.latest_programme(session) is None:
        record(session, prog.DEFAULT.read_text(encoding="utf-8"), actor=actor, note="默认会员计划")


def history(session: Session) -> list[Any]:
    return repo.programme_versions(session)
