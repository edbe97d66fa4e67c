"""The guides' contact rule on arrival (``identity.realtime_contacts``): a guide's WeCom contact and the
member of its guide whose name is its nickname, matched as the batch matches them."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, or_, select, update

from siyu.cli.importer import run_import
from siyu.identity.realtime_matches import rematch
from siyu.identity.service import blocked_nodes, resolve_identities
from siyu.models import GuideRecord, IdentityMatch, Profile

NICKNAME = "nickname"  # how the rule's evidence begins (``oneid_contacts.EVIDENCE``)


def _contacts(rt) -> dict[tuple[int, int], float]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        rows = s.execute(select(IdentityMatch.profile_a, IdentityMatch.profile_b, IdentityMatch.match_weight)
                         .where(IdentityMatch.evidence.startswith(NICKNAME)))
        return {(a, b): w for a, b, w in rows}


def _records(rt) -> dict[int, tuple]:  # type: ignore[no-untyped-def]
    with rt.db.read_only() as s:
        return {r[0]: tuple(r) for r in s.execute(select(GuideRecord.__table__))}


def _forget(rt, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    with rt.db.unit_of_work() as s:
        s.execute(delete(GuideRecord).where(GuideRecord.profile_id.in_(ids)))
        s.execute(delete(IdentityMatch).where(IdentityMatch.evidence.startswith(NICKNAME),
                                              or_(IdentityMatch.profile_a.in_(ids), IdentityMatch.profile_b.in_(ids))))


def _rematch(rt, ids: list[int]) -> set[int]:  # type: ignore[no-untyped-def]
    with rt.db.unit_of_work() as s:
        return rematch(s, rt.vault, rt.settings, ids, set(blocked_nodes(rt.vault, rt.settings)))


def test_contacts_and_members_compared_again_give_the_batchs_matches(rt, brand3k: Path) -> None:  # type: ignore[no-untyped-def]
    """Forget what the batch kept of some contacts, then of some members, as if they had just arrived:
    comparing them again gives back the batch's contact matches and weights, from either side."""
    run_import(rt, brand3k)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    matches, records = _contacts(rt), _records(rt)
    contacts = {p for p, r in records.items() if r[2]}
    assert len(matches) > 25 and len(contacts) > 300 and len(records) - len(contacts) > 500
    pairs = sorted(matches)
    for side in ("contact", "member"):
        # every other match's contact (or member), and contacts and members no match names
        chosen = [a if (a in contacts) == (side == "contact") else b for a, b in pairs[::2]]
        chosen += [p for p in list(records)[::25] if (p in contacts) == (side == "contact")]
        _forget(rt, chosen)
        forgotten = [pair for pair in pairs if set(pair) & set(chosen)]
        assert len(_contacts(rt)) == len(matches) - len(forgotten) and len(forgotten) >= len(pairs[::2])
        moved = _rematch(rt, chosen)
        assert moved == {p for pair in forgotten for p in pair}, side
        assert _records(rt) == records
        again = _contacts(rt)
        assert again.keys() == matches.keys(), side
        assert all(abs(again[k] - w) < 1e-3 for k, w in matches.items())
        assert _rematch(rt, chosen) == set()  # nothing changed since


def test_a_namesake_at_the_guide_ends_a_match_on_arrival_as_the_batch_would(rt, brand3k: Path) -> None:  # type: ignore[no-untyped-def]
    """A second member of the contact's name at its guide (another person, registered before the contact
    was added) arrives: the nickname no longer names one person, real time ends the match, and the next
    batch run agrees."""
    run_import(rt, brand3k)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    matches, records = _contacts(rt), _records(rt)
    (a, b) = next(iter(sorted(matches)))
    contact, member = (a, b) if records[a][2] else (b, a)
    guide = records[contact][1]
    with rt.db.read_only() as s:
        named, gender = s.execute(select(Profile.name_bidx, Profile.gender).where(Profile.id == member)).one()
        other = s.scalar(select(Profile.id).where(Profile.guide_id == guide, Profile.name_bidx.is_not(None),
                                                  Profile.name_bidx != named, Profile.gender == gender,
                                                  Profile.registered_at.is_not(None),
                                                  Profile.id.not_in([p for pair in matches for p in pair]))
                         .order_by(Profile.id).limit(1))
    assert other is not None
    with rt.db.unit_of_work() as s:  # what an update of that member through the API writes
        s.execute(update(Profile).where(Profile.id == other).values(name_bidx=named, given_bidx=""))
    assert _rematch(rt, [other]) == {contact, member}
    assert (a, b) not in _contacts(rt) and len(_contacts(rt)) == len(matches) - 1
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    assert _contacts(rt).keys() == matches.keys() - {(a, b)}


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_contacts_and_members_arriving_in_any_order_are_matched_as_the_batch_matches_them(sqlite_rt, brand3k: Path,  # type: ignore[no-untyped-def]
                                                                                          seed: int) -> None:
    """Everything the batch kept of the guides' contacts and members forgotten, then each arriving again,
    a few at a time in a random order: a contact before its member or after, a namesake before or after
    the match it ends. The matches made on arrival are the batch's."""
    rt = sqlite_rt
    with rt.db.read_only() as s:
        imported = s.scalar(select(func.count()).select_from(GuideRecord))
    if not imported:  # the brand once per database (hypothesis calls this test several times)
        run_import(rt, brand3k)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    matches, records = _contacts(rt), _records(rt)
    ids = sorted(records)
    _forget(rt, ids)
    assert _contacts(rt) == {}
    random.Random(seed).shuffle(ids)
    at = 0
    while at < len(ids):
        step = random.Random(seed + at).randint(1, 5)
        _rematch(rt, ids[at: at + step])
        at += step
    assert _records(rt) == records
    assert _contacts(rt).keys() == matches.keys()
