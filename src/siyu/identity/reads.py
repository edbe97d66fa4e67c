"""A real-time resolution's reads, each key read once.

Growing the neighbourhood and then the components step ask for the same profiles' identifiers,
parcels and matches, and the same identifiers' carriers: about a third of a push's queries asked again
for what this unit of work had just read (profiled, the demo's pushes). Nothing is written between the
two, so an answer holds for the whole resolution; a new ``Reads`` is made for each.

``prefetch`` asks several reads' missing keys in one statement (``repository.read_together``); the
reads called afterwards find their answers here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from siyu.core.tables import to_arrow
from siyu.identity import repository as repo
from siyu.ingest.schemas import JOINING_KINDS


def _first(row: Any) -> tuple[Hashable, ...]:
    return (row[0],)


# each read's keys in its rows (a row is listed under every key of it that was asked)
_KEYS_OF: dict[str, Callable[[Any], Iterable[Hashable]]] = {
    "links": _first, "carriers": _first, "senders": _first, "receivers": _first, "matches": lambda r: r[:2],
    "phones": lambda r: (r[1].split(":", 1)[1],), "persons": _first, "surnames": _first,
    "receiver_surnames": _first, "genders": _first, "siblings": _first}


class Reads:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._memo: dict[str, dict[Hashable, list[Any]]] = {}

    def _store(self, name: str, keys: set[Any], rows: Iterable[Any]) -> None:
        memo = self._memo.setdefault(name, {})
        for k in keys:
            memo[k] = []
        keys_of = _KEYS_OF[name]
        for row in rows:
            for k in keys_of(row):
                if k in keys:
                    memo[k].append(row)

    def _rows(self, name: str, keys: Iterable[Hashable], fetch: Callable[[set[Any]], Iterable[Any]]) -> list[Any]:
        """The rows of ``keys``, fetching only keys not asked before, each row once."""
        memo = self._memo.setdefault(name, {})
        wanted = set(keys)
        missing = wanted - memo.keys()
        if missing:
            self._store(name, missing, fetch(missing))
        seen: dict[Any, None] = {}
        for k in sorted(wanted):  # in key order, whatever the hash seed
            seen.update(dict.fromkeys(memo[k]))
        return list(seen)

    def prefetch(self, wanted: dict[str, Iterable[Any]]) -> None:
        """Read ahead, in one statement, the keys of these reads (read → keys) not asked before: each
        read's own statement was a round trip of its own on PostgreSQL. Reads too large for one
        statement are left to their own calls."""
        missing = {name: set(keys) - self._memo.get(name, {}).keys() for name, keys in wanted.items()}
        for name, rows in repo.read_together(self.s, missing, JOINING_KINDS).items():
            self._store(name, missing[name], rows)

    def node_links(self, profile_ids: Iterable[int]) -> list[Any]:
        """(profile_id, identity_id, node, fan-out) of the profiles' joining identifiers."""
        return self._rows("links", profile_ids, lambda m: repo.node_links(self.s, m, JOINING_KINDS))

    def carriers(self, identity_ids: Iterable[int]) -> list[Any]:
        """(identity_id, profile_id, node) of every profile carrying these identifiers."""
        return self._rows("carriers", identity_ids, lambda m: repo.carriers(self.s, m))

    def senders(self, phone_bidxs: Iterable[str]) -> set[int]:
        """Buyers with an order sent to one of these phones."""
        return {p for _, p in self._rows("senders", phone_bidxs, lambda m: repo.buyers_sending_to(self.s, m))}

    def receivers(self, profile_ids: Iterable[int]) -> list[Any]:
        """``receiver_phone_counts`` rows of these buyers."""
        return self._rows("receivers", profile_ids, lambda m: repo.receiver_rows_of(self.s, m))

    def phone_carriers(self, bidxs: Iterable[str]) -> list[Any]:
        """(profile_id, node) of the profiles carrying these phones."""
        return self._rows("phones", bidxs, lambda m: repo.phone_carriers(self.s, m))

    def matches(self, profile_ids: Iterable[int]) -> list[tuple[int, int, str]]:
        """(profile_a, profile_b, evidence) of the stored matches touching these profiles, each pair once."""
        return sorted(self._rows("matches", profile_ids, lambda m: repo.match_rows_of(self.s, m)))

    def profile_persons(self, profile_ids: Iterable[int]) -> pa.Table:
        """``repo.profile_persons_of`` (profile_id, person_id, channel_id, name_bidx), in profile order."""
        return to_arrow(self._persons(profile_ids), repo.PROFILE_PERSONS)

    def _persons(self, profile_ids: Iterable[int]) -> list[Any]:
        return self._rows("persons", profile_ids,
                          lambda m: zip(*repo.profile_persons_of(self.s, m).to_pydict().values(), strict=True))

    def with_person(self, profile_ids: Iterable[int]) -> set[int]:
        """Those of these profiles that have a person (from the ``persons`` read)."""
        return {r[0] for r in self._persons(profile_ids) if r[1] is not None}

    def siblings(self, profile_ids: Iterable[int]) -> set[int]:
        """Every profile of these profiles' persons."""
        return {r[1] for r in self._rows("siblings", profile_ids, lambda m: repo.siblings_of(self.s, m))}

    def genders(self, profile_ids: Iterable[int]) -> dict[int, str]:
        return dict(self._rows("genders", profile_ids, lambda m: repo.genders_of(self.s, m).items()))

    def surnames(self, profile_ids: Iterable[int]) -> dict[int, str]:
        return dict(self._rows("surnames", profile_ids, lambda m: repo.surnames_of(self.s, m).items()))

    def receiver_surnames(self, profile_ids: Iterable[int]) -> list[Any]:
        return self._rows("receiver_surnames", profile_ids, lambda m: repo.receiver_surnames_of(self.s, m))
