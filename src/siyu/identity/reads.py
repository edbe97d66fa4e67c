"""A real-time resolution's reads, each key read once.

Growing the neighbourhood and then the components step ask for the same profiles' identifiers,
parcels and matches, and the same identifiers' carriers: about a third of a push's queries asked again
for what this unit of work had just read (profiled, the demo's pushes). Nothing is written between the
two, so an answer holds for the whole resolution; a new ``Reads`` is made for each.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from siyu.identity import repository as repo
from siyu.ingest.schemas import JOINING_KINDS


class Reads:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._memo: dict[str, dict[Hashable, list[Any]]] = {}

    def _rows(self, name: str, keys: Iterable[Hashable], fetch: Callable[[set[Any]], Iterable[Any]],
              keys_of: Callable[[Any], Iterable[Hashable]]) -> list[Any]:
        """The rows of ``keys``, fetching only keys not asked before; a row is listed under each of its
        keys (``keys_of``) that was asked, and returned once."""
        memo = self._memo.setdefault(name, {})
        wanted = set(keys)
        missing = wanted - memo.keys()
        if missing:
            for k in missing:
                memo[k] = []
            for row in fetch(missing):
                for k in keys_of(row):
                    if k in missing:
                        memo[k].append(row)
        seen: dict[Any, None] = {}
        for k in sorted(wanted):  # in key order, whatever the hash seed
            seen.update(dict.fromkeys(memo[k]))
        return list(seen)

    def node_links(self, profile_ids: Iterable[int]) -> list[Any]:
        """(profile_id, identity_id, node, fan-out) of the profiles' joining identifiers."""
        return self._rows("links", profile_ids, lambda m: repo.node_links(self.s, m, JOINING_KINDS),
                          lambda r: (r[0],))

    def carriers(self, identity_ids: Iterable[int]) -> list[Any]:
        """(identity_id, profile_id, node) of every profile carrying these identifiers."""
        return self._rows("carriers", identity_ids, lambda m: repo.carriers(self.s, m), lambda r: (r[0],))

    def senders(self, phone_bidxs: Iterable[str]) -> set[int]:
        """Buyers with an order sent to one of these phones."""
        return {p for _, p in self._rows("senders", phone_bidxs, lambda m: repo.buyers_sending_to(self.s, m),
                                         lambda r: (r[0],))}

    def receivers(self, profile_ids: Iterable[int]) -> list[Any]:
        """``receiver_phone_counts`` rows of these buyers."""
        return self._rows("receivers", profile_ids, lambda m: repo.receiver_rows_of(self.s, m), lambda r: (r[0],))

    def phone_carriers(self, bidxs: Iterable[str]) -> list[Any]:
        """(profile_id, node) of the profiles carrying these phones."""
        return self._rows("phones", bidxs, lambda m: repo.phone_carriers(self.s, m),
                          lambda r: (r[1].split(":", 1)[1],))

    def matches(self, profile_ids: Iterable[int]) -> list[tuple[int, int]]:
        """(profile_a, profile_b) of the stored matches touching these profiles, each pair once."""
        return sorted(self._rows("matches", profile_ids, lambda m: repo.match_rows_of(self.s, m), lambda r: r))
