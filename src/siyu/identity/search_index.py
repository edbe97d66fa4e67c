"""Learning which phone a platform's search index stands for (Douyin's ``order.getSearchIndex``).

Douyin never sends a receiver's phone, only a search index of it, the same on every parcel to that phone
(``ingest.connectors.douyin``). Asking the platform for the index of each phone the brand already knows
turns those parcels into receiver phones, which OneID weighs as any receiver phone: a buyer's usual
one is theirs (``analytics.oneid``). The brand knows its people's own phones (identities) and the phones
its other channels' parcels went to (a mini-program buyer who never registered is known only so; their
Douyin account then meets them at that phone). Each phone is asked once; what was learned is kept, so a
rerun asks only about phones that arrived since. Nothing is decrypted on the platform's side, so no
decryption quota is spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.identity import repository as repo
from siyu.identity.arrivals import note_arrived


class IndexSource(Protocol):
    def search_index(self, phone: str) -> str | None: ...  # None: the platform refused this phone


@dataclass
class IndexReport:
    seen: int = 0  # phones read (the platform was asked about each)
    learned: int = 0  # indexes the platform gave
    orders: int = 0  # orders whose receiver became a known phone
    buyers: int = 0  # their buyers (resolved on arrival by the caller's unit of work)
    last_id: int = 0  # the last identity read: the next call goes on after it


def learn_search_indexes(session: Session, vault: Vault, source: IndexSource, platform: str, *, after: int = 0,
                         limit: int = 1000, step: Callable[[int], None] = lambda _n: None,
                         receivers: bool = False) -> IndexReport:
    """Ask ``source`` for the index of up to ``limit`` known phones (after identity ``after``; with
    ``receivers``, the phones other channels' orders went to, after order ``after``) not indexed yet, and
    point the platform's orders to those phones. The caller commits, then calls again with
    ``after=report.last_id`` until ``seen`` is 0. A refused phone is passed over (asked again on a later
    run). ``step`` counts the phones asked."""
    report = IndexReport(last_id=after)
    learned: list[tuple[str, str]] = []
    rows = (repo.receiver_phones_without_index if receivers else repo.phones_without_index)(
        session, platform, after, limit)
    context = "order.receiver_phone" if receivers else "identity.phone"
    asked: set[str] = set()
    for row_id, bidx, blob in rows:
        report.seen += 1
        report.last_id = row_id
        if bidx in asked:  # the same receiver on an earlier order of this batch
            continue
        asked.add(bidx)
        phone = vault.decrypt(blob, context)
        index = source.search_index(phone) if phone else None
        if index:
            learned.append((bidx, index))
        step(1)
    report.learned = len(learned)
    if not learned:
        return report
    repo.add_search_indexes(session, platform, learned, now())
    before = repo.orders_pointed(session, platform)
    buyers = repo.point_orders_at_phones(session, platform, [i for _, i in learned])
    report.orders = repo.orders_pointed(session, platform) - before
    report.buyers = len(buyers)
    note_arrived(session, buyers)  # their usual receiver may now be a phone: OneID looks at them again
    return report


def phones_to_index(session: Session, platform: str) -> int:
    """Known phones whose index ``platform`` has not given yet, people's own and receivers' (a progress
    bar's total)."""
    return repo.count_phones_without_index(session, platform) + repo.count_receiver_phones_without_index(
        session, platform)
