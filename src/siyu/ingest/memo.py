"""What the event API remembers between requests, so a busy tracking stream does not re-record the same
visitor a hundred times a second.

A profile is remembered only after the transaction that wrote it committed (the caller hands over what
a request learned once its unit of work is done), so a rolled-back request can never leave an id here
that the database does not have. Profiles are never deleted, and their identifiers only grow, so a
remembered entry stays true; an event that brings anything new (a trait, a new identifier, an earlier
first sighting) misses the memo and takes the full path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from siyu.ingest.schemas import ProfileIn

_ATTRIBUTES = ("name", "gender", "birthday", "province", "city", "district", "address", "registered_at",
               "store_code", "guide_code", "source")


@dataclass(frozen=True)
class Known:
    profile_id: int
    idents: frozenset[tuple[str, str]]
    first_seen: datetime | None


class ProfileMemo:
    """(channel, external_id) → what is stored for that profile; least recently used entries go first."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], Known] = OrderedDict()
        self._lock = threading.Lock()
        self.channels: dict[str, int] | None = None

    def lookup(self, p: ProfileIn) -> int | None:
        """The stored profile's id if ``p`` adds nothing to it, else None."""
        with self._lock:
            known = self._entries.get((p.channel, p.external_id))
            if known is not None:
                self._entries.move_to_end((p.channel, p.external_id))
        if known is None:
            return None
        for a in _ATTRIBUTES:
            if getattr(p, a) is not None:
                return None
        if p.seen_at is not None and (known.first_seen is None or p.seen_at < known.first_seen):
            return None
        idents = known.idents
        for i in p.idents:
            if (i.kind, i.value) not in idents:
                return None
        return known.profile_id

    def remember(self, learned: list[tuple[ProfileIn, int]]) -> None:
        """Call after the transaction that wrote these profiles committed."""
        with self._lock:
            for p, pid in learned:
                key = (p.channel, p.external_id)
                old = self._entries.get(key)
                idents = frozenset((i.kind, i.value) for i in p.idents)
                first = p.seen_at
                if old is not None and old.profile_id == pid:
                    idents |= old.idents
                    if old.first_seen is not None and (first is None or old.first_seen < first):
                        first = old.first_seen
                self._entries[key] = Known(pid, idents, first)
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
