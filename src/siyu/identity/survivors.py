"""A person as they are now: an absorbed person's id stays valid and leads to the person who absorbed
them (merges can chain)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.errors import NotFound
from siyu.identity import repository as repo


def survivor(session: Session, person_id: int) -> int:
    row = repo.person_row(session, person_id)
    if row is None:
        raise NotFound(f"person {person_id}: no such person")
    seen = {person_id}
    while row.merged_into_id is not None and row.merged_into_id not in seen:
        seen.add(row.merged_into_id)
        row = repo.person_row(session, row.merged_into_id)
    return int(row.id)


def survivors(session: Session) -> dict[int, int]:
    """Every absorbed person → the person they lead to now."""
    into = repo.merged_persons(session)
    out = {}
    for absorbed in into:
        person, seen = absorbed, {absorbed}
        while person in into and into[person] not in seen:
            person = into[person]
            seen.add(person)
        out[absorbed] = person
    return out
