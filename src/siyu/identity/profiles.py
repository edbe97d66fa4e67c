"""Recording profiles and their identifiers as they arrive (the write half of OneID).

Two strengths of evidence: a *registration* (a member sign-up, a POS card, a WeCom contact) states who
someone is and overwrites what we knew; an *order* or *event* only fills gaps — a receiver name on one
order must not rename a member.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.identity import repository as repo
from siyu.identity.arrivals import note_arrived
from siyu.ingest.schemas import MASKED_PHONE, PHONE, ProfileIn

STRONG_CHANNELS = frozenset({"wecom"})


@dataclass
class Lookups:
    """Codes → ids the caller already resolved (channels, stores, guides)."""

    channel_id: dict[str, int]
    store_id: dict[str, int]
    guide_id: dict[str, int]


def is_strong(p: ProfileIn) -> bool:
    return p.registered_at is not None or p.channel in STRONG_CHANNELS


def display(kind: str, value: str) -> str:
    if kind == PHONE and len(value) == 11:
        return f"{value[:3]}****{value[-4:]}"
    if kind == MASKED_PHONE:
        return value
    return value[:6] + "…" if len(value) > 8 else value


def _merge(into: ProfileIn, new: ProfileIn) -> None:
    """Merge two records of one profile from the same batch: a registration beats an order."""
    strong_new = is_strong(new)
    for f in ("name", "gender", "birthday", "province", "city", "district", "address", "registered_at",
              "store_code", "guide_code", "source"):
        v = getattr(new, f)
        if v is not None and (strong_new or getattr(into, f) is None):
            setattr(into, f, v)
    if new.seen_at and (into.seen_at is None or new.seen_at < into.seen_at):
        into.seen_at = new.seen_at
    have = {(i.kind, i.value) for i in into.idents}
    into.idents.extend(i for i in new.idents if (i.kind, i.value) not in have)


def _strong_hash(p: ProfileIn) -> str:
    parts = (p.name, p.gender, p.birthday, p.province, p.city, p.district, p.address, p.registered_at,
             p.store_code, p.guide_code, p.source)
    return hashlib.md5(repr(parts).encode(), usedforsecurity=False).hexdigest()


def record_profiles(session: Session, vault: Vault, lookups: Lookups,
                    profiles: list[ProfileIn]) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Insert or update ``profiles`` and link their identifiers.

    Returns ``(channel, external_id) → profile id`` and counts of inserted / updated / unchanged.
    """
    merged: dict[tuple[str, str], ProfileIn] = {}
    strong_keys: set[tuple[str, str]] = set()
    for p in profiles:
        key = (p.channel, p.external_id)
        if is_strong(p):
            strong_keys.add(key)
        if key in merged:
            _merge(merged[key], p)
        else:
            merged[key] = ProfileIn(p.channel, p.external_id, list(p.idents), p.name, p.gender, p.birthday,
                                    p.province, p.city, p.district, p.address, p.registered_at, p.store_code,
                                    p.guide_code, p.seen_at, p.source)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    ids: dict[tuple[str, str], int] = {}
    by_channel: dict[str, list[ProfileIn]] = {}
    for p in merged.values():
        by_channel.setdefault(p.channel, []).append(p)
    stamp = now()
    for channel, group in by_channel.items():
        cid = lookups.channel_id[channel]
        existing = repo.profiles_by_key(session, cid, [p.external_id for p in group])
        new_rows, updates = [], []
        for p in group:
            old = existing.get(p.external_id)
            strong = (p.channel, p.external_id) in strong_keys
            if old is None:
                new_rows.append(_new_row(vault, lookups, cid, p, strong, stamp))
                continue
            change = _changes(vault, lookups, old, p, strong)
            if change:
                change["id"] = old.id
                change["updated_at"] = stamp
                updates.append(change)
            else:
                counts["unchanged"] += 1
        repo.insert_profiles(session, new_rows)
        repo.update_profiles(session, updates)
        counts["inserted"] += len(new_rows)
        counts["updated"] += len(updates)
        if new_rows:
            existing.update(repo.profiles_by_key(session, cid, [r["external_id"] for r in new_rows]))
            note_arrived(session, (existing[r["external_id"]].id for r in new_rows))
        note_arrived(session, (u["id"] for u in updates if "name_bidx" in u))
        for p in group:
            ids[(channel, p.external_id)] = existing[p.external_id].id
    _link_identities(session, vault, merged, ids, stamp)
    return ids, counts


# Channels whose profile "name" is a chosen nickname, not a real name: it may not tell people apart.
NICKNAME_CHANNELS = frozenset({"wecom"})


def name_index(vault: Vault, channel: str, name: str | None) -> str | None:
    """Blind index of a real name: NFKC, no spaces, lower case (``张 伟`` = ``张伟``, ``Li Na`` = ``lina``).
    None for a nickname channel's name and for a masked one."""
    if channel in NICKNAME_CHANNELS:
        return None
    norm = normalise_name(name)
    return vault.blind_index("name", norm) if norm else None


def surname_index(vault: Vault, channel: str, name: str | None) -> str | None:
    """Blind index of a name's first character, masked or not: ``张三丰``, ``张**`` and ``张*`` give one
    index. JD and Tmall's order APIs show a receiver only so; the length is left out, as platforms do not
    all keep a star per character. None for a nickname channel's name and a mask that hides the start."""
    if channel in NICKNAME_CHANNELS:
        return None
    first = surname_of(name)
    return vault.blind_index("surname", first) if first else None


def surname_of(name: str | None) -> str | None:
    """A name's first character, folded as ``normalise_name`` folds (``张**`` → ``张``)."""
    norm = _folded(name)
    return norm[0] if norm and norm[0] != "*" else None


def normalise_name(name: str | None) -> str | None:
    """NFKC, no spaces, lower case; None for no name or a masked one (张** is a mask, not a name)."""
    norm = _folded(name)
    return norm if norm and "*" not in norm else None


def _folded(name: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).lower()


def name_indexes(vault: Vault, channel: str, name: str | None, prefix: str = "") -> dict[str, str | None]:
    """``{prefix}name_bidx`` and ``{prefix}surname_bidx`` of a name, the columns written beside it."""
    return {f"{prefix}name_bidx": name_index(vault, channel, name),
            f"{prefix}surname_bidx": surname_index(vault, channel, name)}


def given_index(vault: Vault, channel: str, name: str | None) -> str | None:
    """Blind index of a real name's given name (``吴静英`` → ``静英``) when it has two or more characters,
    "" when shorter (one character says little), None for no real name (a nickname, a mask)."""
    norm = None if channel in NICKNAME_CHANNELS else normalise_name(name)
    if not norm:
        return None
    return vault.blind_index("given", norm[1:]) if len(norm) >= 3 else ""


def nickname_indexes(vault: Vault, nickname: str | None, given: bool) -> tuple[str | None, str | None]:
    """A WeCom contact's nickname indexed as a real name would be and, with ``given``, its start as a
    given name and one more character (静英呀, 静英✨): ``analytics.oneid_contacts`` compares them with
    members' names. Kept apart from the name's own columns: a nickname is not a name."""
    norm = normalise_name(nickname)
    if not norm:
        return None, None
    return vault.blind_index("name", norm), vault.blind_index("given", norm[:-1]) if given and len(norm) >= 3 else None


STREET_CHARS = 3  # Douyin's mask_post_addr.detail (长江路***) and TOP's receiver_address (长江路**号) keep three


def street_start(address: str | None, *regions: str | None) -> str | None:
    """The first ``STREET_CHARS`` characters of an address's street line: NFKC, no spaces, the region
    names it repeats taken off its start (JD's ``广西壮族自治区南宁市青秀区******``); None when they are
    masked or the line is shorter."""
    text = "".join(unicodedata.normalize("NFKC", address or "").split())
    for region in regions:
        region = "".join(unicodedata.normalize("NFKC", region or "").split())
        if region and text.startswith(region):
            text = text[len(region):]
    start = text[:STREET_CHARS]
    return start if len(start) == STREET_CHARS and "*" not in start else None


def street_index(vault: Vault, address: str | None, *regions: str | None) -> str:
    """Blind index of ``street_start``, '' when there is none (so a backfill can tell it looked)."""
    start = street_start(address, *regions)
    return vault.blind_index("street", start) if start else ""


def profile_name_indexes(vault: Vault, channel: str, name: str | None) -> dict[str, str | None]:
    """``name_indexes`` and the given-name index, the columns written beside a profile's name."""
    return {**name_indexes(vault, channel, name), "given_bidx": given_index(vault, channel, name)}


def _new_row(vault: Vault, lk: Lookups, cid: int, p: ProfileIn, strong: bool, stamp: datetime) -> dict[str, Any]:
    return {
        "channel_id": cid, "external_id": p.external_id, "name_enc": vault.encrypt(p.name, "profile.name"),
        **profile_name_indexes(vault, p.channel, p.name),
        "gender": p.gender, "birthday": p.birthday, "province": p.province, "city": p.city,
        "district": p.district, "address_enc": vault.encrypt(p.address, "profile.address"),
        "registered_at": p.registered_at, "store_id": lk.store_id.get(p.store_code or ""),
        "guide_id": lk.guide_id.get(p.guide_code or ""), "first_seen_at": p.seen_at or p.registered_at,
        "source": p.source, "row_hash": _strong_hash(p) if strong else None,
        "created_at": stamp, "updated_at": stamp,
    }


def _changes(vault: Vault, lk: Lookups, old: Any, p: ProfileIn, strong: bool) -> dict[str, Any]:
    change: dict[str, Any] = {}
    seen = p.seen_at or p.registered_at
    if seen and (old.first_seen_at is None or seen < old.first_seen_at):
        change["first_seen_at"] = seen
    plain = {"gender": p.gender, "birthday": p.birthday, "province": p.province, "city": p.city,
             "district": p.district, "registered_at": p.registered_at, "source": p.source,
             "store_id": lk.store_id.get(p.store_code or ""), "guide_id": lk.guide_id.get(p.guide_code or "")}
    if strong:
        h = _strong_hash(p)
        if h != old.row_hash:
            change["row_hash"] = h
            change.update({k: v for k, v in plain.items() if v is not None})
            if p.name:
                change["name_enc"] = vault.encrypt(p.name, "profile.name")
                change.update(profile_name_indexes(vault, p.channel, p.name))
            if p.address:
                change["address_enc"] = vault.encrypt(p.address, "profile.address")
        return change
    for k, v in plain.items():
        if v is not None and getattr(old, k) is None:
            change[k] = v
    if p.name and old.no_name:
        change["name_enc"] = vault.encrypt(p.name, "profile.name")
        change.update(profile_name_indexes(vault, p.channel, p.name))
    if p.address and old.no_address:
        change["address_enc"] = vault.encrypt(p.address, "profile.address")
    return change


def _link_identities(session: Session, vault: Vault, merged: dict[tuple[str, str], ProfileIn],
                     ids: dict[tuple[str, str], int], stamp: datetime) -> None:
    wanted: dict[tuple[str, str], str] = {}  # (kind, bidx) → value
    pairs: set[tuple[int, tuple[str, str]]] = set()
    for key, p in merged.items():
        for ident in p.idents:
            k = (ident.kind, vault.blind_index(ident.kind, ident.value))
            wanted[k] = ident.value
            pairs.add((ids[key], k))
    if not pairs:
        return
    known = repo.identities_by_bidx(session, list(wanted))
    missing = [k for k in wanted if k not in known]
    repo.insert_identities(session, [
        {"kind": kind, "bidx": bidx, "value_enc": vault.encrypt(wanted[(kind, bidx)], f"identity.{kind}"),
         "display": display(kind, wanted[(kind, bidx)]), "created_at": stamp} for kind, bidx in missing])
    if missing:
        known.update(repo.identities_by_bidx(session, missing))
    have = repo.links_of(session, sorted({pid for pid, _ in pairs}))
    rows = [{"profile_id": pid, "identity_id": known[k], "created_at": stamp}
            for pid, k in pairs if (pid, known[k]) not in have]
    repo.insert_links(session, rows)
    note_arrived(session, (r["profile_id"] for r in rows))
