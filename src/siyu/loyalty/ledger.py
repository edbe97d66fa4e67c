"""The points ledger's operations. Each one locks the member's account, catches up what fell due
before it (releases, expiries, debt paid from released points), applies its own entries and writes
entries, lots and balances in the caller's transaction. Nothing here commits.

Requests from outside (a redemption, an adjustment by an operator, an activity award) carry a key: the
same key again returns the first answer and changes nothing; the same key with another request is
refused. Order points are keyed by the order itself (see ``accrual``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.errors import Conflict, InvalidInput
from siyu.loyalty import repository as repo
from siyu.loyalty.book import Book, InsufficientPoints, Lot
from siyu.loyalty.programme import Programme

__all__ = ["Balance", "Books", "InsufficientPoints", "OpenBook", "adjust", "award", "balance", "catch_up_all", "check",
           "open_book", "peek", "redeem", "reverse", "shown", "transfer"]


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int
    debt: int
    shown: int  # what the member sees: below zero under the ``negative`` shortfall policy


def lot_from_row(row: Any) -> Lot:
    return Lot(row.id, row.source_type, row.source_ref, int(row.points), int(row.remaining), int(row.pending),
               row.earned_at, row.releases_at, row.expires_at)


def _caught_up(member_id: int, acct: Any, rows: list[Any], at: datetime) -> Book:
    """The member's book from their account row and live lots, with what fell due by ``at`` applied."""
    book = Book(member_id, int(acct.available), int(acct.pending), int(acct.debt), [lot_from_row(r) for r in rows])
    if acct.next_due_at is not None and acct.next_due_at <= at:
        book.catch_up(at)
    return book


class Bookkeeper(Protocol):
    """A member's book open for booking: the live one (``OpenBook``, locked in the database) or a replay's
    (``replay.MemoryBook``, in memory only)."""

    book: Book
    at: datetime

    def new_lot(self, source: tuple[str, str], points: int, earned_at: datetime, expires_at: datetime | None,
                releases_at: datetime | None, pending: bool) -> Lot: ...

    def lots_of(self, source: tuple[str, str]) -> list[Lot]: ...


class LotIds:
    """Ids for new lots, taken before the lots are written so entries can name them and every lot of a
    batch goes in one statement (a sequence on PostgreSQL; on SQLite the write lock is already held)."""

    def __init__(self, session: Session, block: int = 1) -> None:
        self.session, self.block, self.free = session, block, []  # type: list[int]

    def take(self) -> int:
        if not self.free:
            self.free = repo.next_lot_ids(self.session, self.block)[::-1]
        return self.free.pop()


class OpenBook:
    """A locked member's book; ``close`` writes what was booked. ``state`` is the account row and live lots
    when the caller has already locked and read them for many members at once (``Books``)."""

    def __init__(self, session: Session, member_id: int, at: datetime, *, state: tuple[Any, list[Any]] | None = None,
                 ids: LotIds | None = None) -> None:
        self.session, self.at, self.ids = session, at, ids or LotIds(session)
        if state is None:
            acct = repo.lock_account(session, member_id)
            busy = acct.available or acct.pending or acct.debt or acct.next_due_at
            rows = repo.live_lots(session, member_id) if busy else []
        else:
            acct, rows = state
        self.book = _caught_up(member_id, acct, rows, at)

    def new_lot(self, source: tuple[str, str], points: int, earned_at: datetime, expires_at: datetime | None,
                releases_at: datetime | None, pending: bool) -> Lot:
        return Lot(self.ids.take(), source[0], source[1], points, 0, 0, earned_at, releases_at if pending else None,
                   expires_at)

    def lots_of(self, source: tuple[str, str]) -> list[Lot]:
        """The source's lots in this book, including spent ones (a refund takes back from its own lot
        first): the live ones are here already, the rest are read."""
        live = {lt.id for lt in self.book.lots}
        self.book.lots += [lot_from_row(r) for r in repo.lots_of_source(self.session, self.book.member_id, *source)
                           if r.id not in live]
        return [lt for lt in self.book.lots if (lt.source_type, lt.source_ref) == source]

    def collect(self, stamp: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]],
                                                  dict[str, Any]]:
        """(entries, new lots, changed lots, balances) booked since the last collect."""
        b = self.book
        fresh = {lt.id for lt in b.new_lots}
        new = [{"id": lt.id, "member_id": b.member_id, "source_type": lt.source_type, "source_ref": lt.source_ref,
                "points": lt.points, "remaining": lt.remaining, "pending": lt.pending, "earned_at": lt.earned_at,
                "releases_at": lt.releases_at, "expires_at": lt.expires_at, "created_at": stamp} for lt in b.new_lots]
        changed = [{"id": lt.id, "remaining": lt.remaining, "pending": lt.pending, "releases_at": lt.releases_at}
                   for lt in b.lots if lt.changed and lt.id not in fresh]
        for lt in b.lots:
            lt.changed = False
        for e in b.entries:
            e["created_at"] = stamp
        entries = b.entries
        b.entries, b.new_lots = [], []
        return entries, new, changed, {"member_id": b.member_id, "available": b.available, "pending": b.pending,
                                       "debt": b.debt, "next_due_at": b.next_due()}

    def close(self) -> None:
        entries, new, changed, balances = self.collect(now())
        repo.write_books(self.session, entries, new, changed, [balances])


class Books:
    """Many members' books opened together: one lock statement, one read, one write per table."""

    def __init__(self, session: Session, member_ids: list[int], at: datetime) -> None:
        self.session, self.at, self.ids = session, at, LotIds(session, block=max(16, len(member_ids)))
        accounts, lots = repo.lock_accounts(session, member_ids)
        self.open = {m: OpenBook(session, m, at, state=(accounts[m], lots.get(m, [])), ids=self.ids)
                     for m in member_ids}

    def close(self) -> None:
        stamp = now()
        out: tuple[list[Any], ...] = ([], [], [], [])
        for ob in self.open.values():
            if not ob.book.entries and not any(lt.changed for lt in ob.book.lots):
                continue
            for acc, part in zip(out, ob.collect(stamp), strict=True):
                acc.extend(part if isinstance(part, list) else [part])
        repo.write_books(self.session, *out)


def open_book(session: Session, member_id: int, at: datetime) -> OpenBook:
    return OpenBook(session, member_id, at)


def _fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _once(session: Session, key: str, member_id: int, kind: str, points: int, at: datetime,
          request: dict[str, Any], work: Callable[[OpenBook], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` under the member's lock unless this key already ran; record its outcome."""
    if not key or len(key) > 100:
        raise InvalidInput("an idempotency key of 1 to 100 characters is required")
    fp = _fingerprint({"member": member_id, "kind": kind, "points": points, **request})
    ob = OpenBook(session, member_id, at)  # the lock first: a concurrent retry waits here, then replays
    done = repo.operation(session, key)
    if done is not None:
        if done.fingerprint != fp:
            raise Conflict(f"idempotency key {key!r} was already used for another request")
        ob.close()  # what fell due is still booked
        return {**done.outcome, "replayed": True}
    outcome = work(ob)
    ob.close()
    repo.add_operation(session, {"key": key, "member_id": member_id, "kind": kind, "points": points,
                                 "fingerprint": fp, "outcome": outcome, "request": request, "occurred_at": at,
                                 "created_at": now()})
    return {**outcome, "replayed": False}


def apply(ob: Bookkeeper, programme: Programme | None, kind: str, points: int, key: str, request: dict[str, Any],
          at: datetime) -> dict[str, Any]:
    """One request's entries in an open book: ``earn`` (an activity's points, a new lot available at once),
    ``burn`` (a redemption: spent earliest-expiring first, all or nothing), ``adjust`` (an operator's
    correction: positive a new lot, negative spent like a redemption). The live path and the replay of
    history (``replay``) both book through here."""
    reason = request["reason"]
    source = tuple(request["source"]) if "source" in request else ("adjust", request["actor"][:64])
    if kind == "burn" or (kind == "adjust" and points < 0):
        taken = ob.book.debit(abs(points), kind=kind, reason=reason, key=key, when=at, source=source)
        if kind == "adjust":
            return {"points": points, "available": ob.book.available}
        return {"points": points, "lots": [[lot, x] for lot, x in taken], "available": ob.book.available}
    assert programme is not None, "a credit needs the programme's expiry rule"
    lot = ob.new_lot(source, points, at, programme.points.expiry.expires_at(at), None, pending=False)
    ob.book.credit(lot, points, pending=False, reason=reason, key=f"{key}:{kind}", when=at,
                   kind="adjust" if kind == "adjust" else None)
    if kind == "adjust":
        return {"points": points, "available": ob.book.available}
    return {"lot": lot.id, "points": points}


def award(session: Session, programme: Programme, member_id: int, points: int, *, key: str, reason: str,
          source: tuple[str, str], at: datetime | None = None) -> dict[str, Any]:
    """Points for an activity (registration, check-in, an article read…): a new lot, available at once."""
    if points <= 0:
        raise InvalidInput(f"award to member {member_id}: points must be positive, not {points}")
    at = at or now()
    request = {"reason": reason, "source": list(source)}
    return _once(session, key, member_id, "earn", points, at, request,
                 lambda ob: apply(ob, programme, "earn", points, key, request, at))


def redeem(session: Session, member_id: int, points: int, *, key: str, reason: str, source: tuple[str, str],
           at: datetime | None = None, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Spend points, earliest-expiring first. Refused whole (nothing written) if the balance is short.
    ``keep``: more of the answer to keep with it (a draw's prizes), returned again by a replay."""
    if points <= 0:
        raise InvalidInput(f"redemption by member {member_id}: points must be positive, not {points}")
    at = at or now()
    request = {"reason": reason, "source": list(source)}
    return _once(session, key, member_id, "burn", points, at, request,
                 lambda ob: {**apply(ob, None, "burn", points, key, request, at), **(keep or {})})


def adjust(session: Session, programme: Programme, member_id: int, points: int, *, key: str, reason: str,
           actor: str, at: datetime | None = None) -> dict[str, Any]:
    """An operator's correction: a positive one is a new lot, a negative one spends like a redemption."""
    if points == 0:
        raise InvalidInput(f"adjustment of member {member_id}: points must not be 0")
    at = at or now()
    request = {"reason": reason, "actor": actor}
    return _once(session, key, member_id, "adjust", points, at, request,
                 lambda ob: apply(ob, programme, "adjust", points, key, request, at))


def balance(session: Session, programme: Programme, member_id: int, at: datetime | None = None) -> Balance:
    """The balances at ``at``, after what fell due (a read that books the releases and expiries it finds)."""
    ob = OpenBook(session, member_id, at or now())
    ob.close()
    return shown(programme, ob.book)


def reverse(ob: Bookkeeper, source: tuple[str, str], points: int, *, key: str, reason: str) -> None:
    """Take back ``points`` a source earned (a refund): its own lots first, then the balance, then debt."""
    ob.book.claw_back(ob.lots_of(source), points, reason=reason, key=key, when=ob.at, source=source)


def transfer(session: Session, from_member: int, to_member: int, at: datetime | None = None) -> int:
    """A merge of two members: the absorbed one's lots move to the survivor with their own dates (earned,
    release, expiry), pending ones still pending; its debt moves too. Returns the points moved; a second
    call finds nothing left to move."""
    at = at or now()
    key = f"merge:{from_member}>{to_member}"
    # one lock order for every pair, lower id first: two merges of the same pair cannot deadlock
    books = {m: OpenBook(session, m, at) for m in sorted((from_member, to_member))}
    src, dst = books[from_member], books[to_member]
    moved, debt = src.book.move_out(key, at)
    pairs = [(lt, dst.new_lot((lt.source_type, lt.source_ref), n, lt.earned_at, lt.expires_at, lt.releases_at,
                              pending), n, pending) for lt, n, pending in moved]
    dst.book.move_in(pairs, debt, key, at)
    src.close()
    dst.close()
    return sum(n for _, n, _ in moved)


def peek(session: Session, member_id: int, at: datetime | None = None) -> Book:
    """The member's book as of ``at``, releases and expiries due by then applied in memory only: exact,
    and it writes nothing (for pages and GET requests; the next operation books them for real)."""
    acct = repo.account(session, member_id)
    if acct is None:
        return Book(member_id, 0, 0, 0, [])
    return _caught_up(member_id, acct, repo.live_lots(session, member_id), at or now())


def shown(programme: Programme, book: Book) -> Balance:
    return Balance(book.available, book.pending, book.debt, book.shown_balance(programme.points.refund_shortfall))


def catch_up_all(session: Session, at: datetime | None = None) -> int:
    """Book every release and expiry due by ``at`` (the nightly job). Returns the members touched."""
    at = at or now()
    members = repo.due_members(session, at)
    for i in range(0, len(members), 1000):
        Books(session, members[i:i + 1000], at).close()
    return len(members)


def check(session: Session) -> dict[str, list[Any]]:
    """Where the cached balances and lots differ from the ledger; all lists empty when they agree."""
    return repo.ledger_disagreements(session)
