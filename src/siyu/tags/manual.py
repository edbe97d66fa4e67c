"""Manual tags: guides and operators set or remove a value of a pack's manual tag on a person.

Setting a value the person already carries changes nothing (a retried request is harmless); removing one
keeps its row with who removed it. A person merged into another is tagged on the survivor. The tags reach
the tag store, and so audiences, at the next tag run; the member page shows them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.analytics.tag_rules import ManualRule, Pack, TagDef
from siyu.core.clock import now
from siyu.core.errors import InvalidInput
from siyu.identity.survivors import survivor, survivors
from siyu.tags import repository as repo


@dataclass(frozen=True)
class Change:
    person_id: int
    tag: str
    value: str
    changed: bool  # False: it was already so


def manual_tag(pack: Pack, name: str) -> TagDef:
    tag = pack.tag(name)
    if tag is None or not isinstance(tag.rule, ManualRule):
        manual = ", ".join(t.name for t in pack.tags if isinstance(t.rule, ManualRule)) or "none"
        raise InvalidInput(f"tag: {name!r} is not a manual tag (manual tags: {manual})")
    return tag


def resolve_person(session: Session, person_id: int) -> int:
    """The person as they are now: a merged person's survivor."""
    return survivor(session, person_id)


def _checked(pack: Pack, name: str, value: str, by: str) -> TagDef:
    tag = manual_tag(pack, name)
    if not by.strip():
        raise InvalidInput("by: say who sets the tag")
    if not value.strip() or len(value) > 64:
        raise InvalidInput(f"value: 1 to 64 characters, got {len(value)}")
    if not tag.open and value not in tag.values:
        raise InvalidInput(f"value: {value!r} is not a value of {name} ({', '.join(tag.values)})")
    return tag


def set_tag(session: Session, pack: Pack, person_id: int, name: str, value: str, by: str,
            reason: str | None = None, at: datetime | None = None) -> Change:
    _checked(pack, name, value, by)
    person = resolve_person(session, person_id)
    if any(r.value == value for r in repo.active_of(session, person, name)):
        return Change(person, name, value, changed=False)
    repo.add(session, {"person_id": person, "tag": name, "value": value, "reason": (reason or None) and reason[:255],
                       "set_by": by[:64], "set_at": at or now()})
    return Change(person, name, value, changed=True)


def remove_tag(session: Session, pack: Pack, person_id: int, name: str, value: str, by: str,
               at: datetime | None = None) -> Change:
    _checked(pack, name, value, by)
    person = resolve_person(session, person_id)
    ids = [r.id for r in repo.active_of(session, person, name) if r.value == value]
    if ids:
        repo.remove(session, ids, by[:64], at or now())
    return Change(person, name, value, changed=bool(ids))


def in_force(session: Session) -> list[tuple[int, str, str]]:
    """Every manual tag in force, on the person each tagged person is now (for the lake)."""
    now_is = survivors(session)
    return sorted({(now_is.get(person, person), tag, value) for person, tag, value in repo.all_active(session)})
