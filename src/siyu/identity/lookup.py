"""Find a person from what an operator types: a person id, a phone number, or a record's own id."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.crypto import Vault
from siyu.identity import repository as repo
from siyu.ingest import normalize as nz
from siyu.ingest.schemas import PHONE


def find_person(session: Session, vault: Vault, query: str) -> int | None:
    text = query.strip()
    if not text:
        return None
    try:
        phone = nz.phone(text)
    except ValueError:
        phone = None
    if phone:
        return repo.person_by_identity(session, PHONE, vault.blind_index(PHONE, phone))
    if text.isdigit() and repo.person_row(session, int(text)) is not None:
        return int(text)
    return repo.person_by_external_id(session, text[:128])


def phone_sample(session: Session, vault: Vault, n: int) -> list[tuple[str, int]]:
    """``n`` random phones of the brand with the person holding each (for benchmarks)."""
    return [(vault.decrypt(enc, f"identity.{PHONE}"), person) for enc, person in repo.phone_persons_sample(session, n)]
