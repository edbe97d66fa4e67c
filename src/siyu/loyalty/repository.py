"""Members and the points ledger: bulk reads and writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.orm import Session

from siyu.core.bulk import chunks, insert_many, insert_statement, one_of, run, update_many
from siyu.ingest.schemas import CARD
from siyu.models import (
    Channel,
    Coupon,
    Identity,
    Member,
    Order,
    OrderClaim,
    Person,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsOperation,
    PriceUse,
    PricingIdentity,
    Profile,
    ProfileIdentity,
    ProfilePerson,
    ProgrammeVersion,
    RewardStock,
    Shop,
    TierChange,
)


def registrations(session: Session) -> list[Any]:
    """Registered profiles (a member card was opened on that channel), oldest first."""
    stmt = (select(Profile.id, ProfilePerson.person_id, Profile.external_id, Channel.code.label("channel"),
                   Profile.channel_id, Profile.registered_at, Profile.store_id, Profile.guide_id)
            .join(ProfilePerson, ProfilePerson.profile_id == Profile.id).join(Channel, Channel.id == Profile.channel_id)
            .where(Profile.registered_at.is_not(None))
            .order_by(Profile.registered_at, Profile.id))
    return list(session.execute(stmt))


def card_values(session: Session, profile_ids: Sequence[int]) -> dict[int, bytes]:
    """Encrypted member-card identifiers of these profiles."""
    found: dict[int, bytes] = {}
    for part in chunks(list(profile_ids)):
        stmt = (select(ProfileIdentity.profile_id, Identity.value_enc)
                .join(Identity, Identity.id == ProfileIdentity.identity_id)
                .where(Identity.kind == CARD, ProfileIdentity.profile_id.in_(part)))
        for pid, enc in session.execute(stmt):
            found.setdefault(pid, enc)
    return found


def members(session: Session) -> list[Any]:
    stmt = select(Member.id, Member.person_id, Member.card_no, Member.joined_at, Member.join_channel_id,
                  Member.home_store_id, Member.guide_id, Member.tier, Member.tier_since, Member.status,
                  Person.merged_into_id).join(Person, Person.id == Member.person_id).order_by(Member.id)
    return list(session.execute(stmt))




def insert_members(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_many(session, Member, rows)


def update_members(session: Session, rows: list[dict[str, Any]]) -> None:
    update_many(session, Member, rows)














# -- the ledger: accounts, lots, operations --------------------------------------------------------------

def lock_account(session: Session, member_id: int) -> Any:
    """The member's account row, locked until the transaction ends. The lock is an UPDATE, not a read:
    PostgreSQL holds the row, and SQLite takes its write lock before anything is read, so two
    redemptions from one member run one after the other on both."""
    bump = (update(PointsAccount).where(PointsAccount.member_id == member_id)
            .values(version=PointsAccount.version + 1))
    if session.execute(bump).rowcount == 0:
        stmt = insert_statement(PointsAccount, session.get_bind().dialect.name, ("member_id",))
        session.execute(stmt.values(member_id=member_id, available=0, pending=0, debt=0, version=0))
        session.execute(bump)
    return session.execute(select(PointsAccount.member_id, PointsAccount.available, PointsAccount.pending,
                                  PointsAccount.debt, PointsAccount.next_due_at, PointsAccount.version)
                           .where(PointsAccount.member_id == member_id)).one()


def account(session: Session, member_id: int) -> Any:
    return session.execute(select(PointsAccount.available, PointsAccount.pending, PointsAccount.debt,
                                  PointsAccount.next_due_at).where(PointsAccount.member_id == member_id)).one_or_none()


_LOT_COLS = (PointsLot.id, PointsLot.source_type, PointsLot.source_ref, PointsLot.points, PointsLot.remaining,
             PointsLot.pending, PointsLot.earned_at, PointsLot.releases_at, PointsLot.expires_at)


def live_lots(session: Session, member_id: int) -> list[Any]:
    """Lots with points left in them, available or pending."""
    stmt = (select(*_LOT_COLS).where(PointsLot.member_id == member_id,
                                     or_(PointsLot.remaining != 0, PointsLot.pending != 0))
            .order_by(PointsLot.id))
    return list(session.execute(stmt))


def lots_of_source(session: Session, member_id: int, source_type: str, source_ref: str) -> list[Any]:
    stmt = (select(*_LOT_COLS).where(PointsLot.member_id == member_id, PointsLot.source_type == source_type,
                                     PointsLot.source_ref == source_ref).order_by(PointsLot.id))
    return list(session.execute(stmt))


def next_lot_ids(session: Session, n: int) -> list[int]:
    """``n`` unused lot ids. PostgreSQL hands them out from the table's sequence; on SQLite the account lock
    already taken holds the write lock, so nobody else can take the ids after the largest."""
    if session.get_bind().dialect.name == "postgresql":
        seq = func.nextval(func.pg_get_serial_sequence("points_lots", "id"))
        return [int(i) for i in session.scalars(select(seq).select_from(func.generate_series(1, n)))]
    top = session.scalar(select(func.max(PointsLot.id))) or 0
    first = max(top, session.info.get("siyu.lot_ids_taken", 0)) + 1  # taken, not yet written
    session.info["siyu.lot_ids_taken"] = first + n - 1
    return list(range(first, first + n))


def lock_accounts(session: Session, member_ids: Sequence[int]) -> tuple[dict[int, Any], dict[int, list[Any]]]:
    """Lock many members' accounts (creating the missing ones) and read them with their live lots."""
    accounts: dict[int, Any] = {}
    lots: dict[int, list[Any]] = {}
    pg = session.get_bind().dialect.name == "postgresql"
    read = select(PointsAccount.member_id, PointsAccount.available, PointsAccount.pending, PointsAccount.debt,
                  PointsAccount.next_due_at)
    for part in chunks(sorted(member_ids)):
        if pg:
            # SELECT … ORDER BY … FOR UPDATE locks the rows in member order, whoever asks: two batches
            # sharing members wait for each other instead of deadlocking; the lock and the read are one
            # statement. Accounts not there yet are created, then locked the same way.
            locked = read.where(one_of(session, PointsAccount.member_id, part)).order_by(PointsAccount.member_id)
            found = {r.member_id: r for r in session.execute(locked.with_for_update())}
            new = [m for m in part if m not in found]
            if new:
                insert_many(session, PointsAccount, [{"member_id": m, "available": 0, "pending": 0, "debt": 0,
                                                      "version": 0} for m in new], skip_conflicts_on=("member_id",))
                again = read.where(one_of(session, PointsAccount.member_id, new)).order_by(PointsAccount.member_id)
                found.update({r.member_id: r for r in session.execute(again.with_for_update())})
        else:
            # SQLite: the UPDATE takes the database's write lock before anything is read
            insert_many(session, PointsAccount, [{"member_id": m, "available": 0, "pending": 0, "debt": 0,
                                                  "version": 0} for m in part], skip_conflicts_on=("member_id",))
            session.execute(update(PointsAccount).where(one_of(session, PointsAccount.member_id, part))
                            .values(version=PointsAccount.version + 1))
            found = {r.member_id: r for r in session.execute(read.where(one_of(session, PointsAccount.member_id, part)))}
        accounts.update(found)
        stmt = (select(PointsLot.member_id, *_LOT_COLS)
                .where(one_of(session, PointsLot.member_id, part), or_(PointsLot.remaining != 0, PointsLot.pending != 0))
                .order_by(PointsLot.id))
        for r in session.execute(stmt):
            lots.setdefault(r.member_id, []).append(r)
    return accounts, lots


def write_books(session: Session, entries: list[dict[str, Any]], new_lots: list[dict[str, Any]],
                changed_lots: list[dict[str, Any]], balances: list[dict[str, Any]]) -> None:
    insert_many(session, PointsLot, new_lots)  # before the entries that name them
    insert_many(session, PointsEntry, entries)
    update_many(session, PointsLot, changed_lots)
    update_many(session, PointsAccount, balances, key="member_id")


def record_tier_changes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Tier history: rows already recorded (member, time, tier) are skipped; nothing is ever rewritten."""
    insert_many(session, TierChange, rows, skip_conflicts_on=("member_id", "changed_at", "to_tier"))




def active_members(session: Session, ids: Sequence[int] | None) -> dict[int, Any]:
    stmt = select(Member.id, Member.person_id, Member.joined_at, Member.tier, Member.tier_since).where(
        Member.status == "active")
    if ids is None:
        return {r.id: r for r in session.execute(stmt)}
    out: dict[int, Any] = {}
    for part in chunks(list(ids)):
        out.update({r.id: r for r in session.execute(stmt.where(one_of(session, Member.id, part)))})
    return out


def folded_into(session: Session, members_: dict[int, Any]) -> dict[int, int]:
    """Members folded by a merge into one of these active members → that member. Walks the merge history
    back from the members' persons, one level per query (merges are few and shallow)."""
    survivor_of = {m.person_id: mid for mid, m in members_.items()}  # person → the member it leads to
    frontier = list(survivor_of)
    while frontier:
        absorbed = []
        for part in chunks(frontier):
            absorbed += list(session.execute(select(Person.id, Person.merged_into_id)
                                             .where(one_of(session, Person.merged_into_id, part))))
        frontier = [pid for pid, into in absorbed if pid not in survivor_of]
        for pid, into in absorbed:
            survivor_of.setdefault(pid, survivor_of[into])
    out: dict[int, int] = {}
    persons = list(survivor_of)
    for part in chunks(persons):
        for mid, pid in session.execute(select(Member.id, Member.person_id)
                                        .where(one_of(session, Member.person_id, part), Member.status == "merged")):
            out[mid] = survivor_of[pid]
    return out


_ORDER_COLS = (Order.id, Order.status, Order.paid_fen, Order.refunded_fen, Order.paid_at, Order.created_at,
               Order.completed_at)


def orders_of_members(session: Session, member_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each member's orders: their person's, except those another member claimed, and those they claimed."""
    out: dict[int, list[Any]] = {}
    own = (select(Member.id.label("member_id"), *_ORDER_COLS, literal(False).label("claimed"))
           .join(Order, Order.person_id == Member.person_id)
           .join(OrderClaim, OrderClaim.order_id == Order.id, isouter=True)
           .where(one_of(session, Member.id, member_ids), or_(OrderClaim.id.is_(None), OrderClaim.member_id == Member.id)))
    claimed = (select(OrderClaim.member_id, *_ORDER_COLS, literal(True).label("claimed"))
               .join(Order, Order.id == OrderClaim.order_id).where(one_of(session, OrderClaim.member_id, member_ids)))
    seen: set[tuple[int, int]] = set()
    for stmt in (claimed, own):  # a claimed order of one's own person counts once, as claimed
        for r in session.execute(stmt):
            if (r.member_id, r.id) not in seen:
                seen.add((r.member_id, r.id))
                out.setdefault(r.member_id, []).append(r)
    return out


def members_of_orders(session: Session, order_ids: Sequence[int]) -> list[int]:
    """Active members holding these orders: their person's, or the claimant's."""
    found: set[int] = set()
    for part in chunks(list(order_ids)):
        found.update(session.scalars(select(Member.id).join(Order, Order.person_id == Member.person_id)
                                     .where(one_of(session, Order.id, part), Member.status == "active")))
        found.update(session.scalars(select(OrderClaim.member_id).where(one_of(session, OrderClaim.order_id, part))))
    return sorted(found)


_MEMBER_COLS = (Member.id, Member.person_id, Member.card_no, Member.joined_at, Member.tier, Member.tier_since,
                Member.status, Member.referrer_id, Member.referred_at)


def member_by_card(session: Session, card_no: str) -> Any:
    return session.execute(select(*_MEMBER_COLS).where(Member.card_no == card_no)).one_or_none()


def member_of_person(session: Session, person_id: int) -> Any:
    return session.execute(select(*_MEMBER_COLS).where(Member.person_id == person_id)).one_or_none()


def order_by_number(session: Session, channel: str, external_id: str) -> Any:
    """An imported order by its platform and order number, with the member (if any) its person has."""
    stmt = (select(Order.id, Order.person_id, Order.status, Member.id.label("owner"),
                   OrderClaim.member_id.label("claimed_by"))
            .join(Shop, Shop.id == Order.shop_id).join(Channel, Channel.id == Shop.channel_id)
            .join(Member, (Member.person_id == Order.person_id) & (Member.status == "active"), isouter=True)
            .join(OrderClaim, OrderClaim.order_id == Order.id, isouter=True)
            .where(Channel.code == channel, Order.external_id == external_id))
    return session.execute(stmt).first()


def add_claim(session: Session, order_id: int, member_id: int, at: datetime) -> None:
    insert_many(session, OrderClaim, [{"order_id": order_id, "member_id": member_id, "claimed_at": at}])


def lock_reward(session: Session, code: str) -> int:
    """Lock the reward's stock row (creating it) and return how many were redeemed so far."""
    insert_many(session, RewardStock, [{"code": code, "redeemed": 0}], skip_conflicts_on=("code",))
    session.execute(update(RewardStock).where(RewardStock.code == code).values(redeemed=RewardStock.redeemed))
    return int(session.scalar(select(RewardStock.redeemed).where(RewardStock.code == code)) or 0)


def add_redeemed(session: Session, code: str, quantity: int) -> None:
    session.execute(update(RewardStock).where(RewardStock.code == code)
                    .values(redeemed=RewardStock.redeemed + quantity))


def operations_with_keys(session: Session, keys: Sequence[str]) -> set[str]:
    return set(session.scalars(select(PointsOperation.key).where(PointsOperation.key.in_(list(keys)))))


def history(session: Session, member_id: int, limit: int, before_id: int | None) -> list[Any]:
    stmt = (select(PointsEntry.id, PointsEntry.kind, PointsEntry.account, PointsEntry.points, PointsEntry.reason,
                   PointsEntry.source_type, PointsEntry.source_ref, PointsEntry.occurred_at, PointsEntry.expires_at)
            .where(PointsEntry.member_id == member_id).order_by(PointsEntry.id.desc()).limit(limit))
    if before_id is not None:
        stmt = stmt.where(PointsEntry.id < before_id)
    return list(session.execute(stmt))


def birth_months(session: Session, member_ids: Sequence[int]) -> dict[int, int]:
    """The member's birthday month, from the oldest registration that gives a birthday."""
    stmt = (select(Member.id, Profile.birthday).join(ProfilePerson, ProfilePerson.person_id == Member.person_id)
            .join(Profile, Profile.id == ProfilePerson.profile_id)
            .where(one_of(session, Member.id, member_ids), Profile.birthday.is_not(None))
            .order_by(Member.id, Profile.registered_at, Profile.id))
    out: dict[int, int] = {}
    for mid, birthday in session.execute(stmt):
        out.setdefault(mid, birthday.month)
    return out


def order_bookings(session: Session, member_ids: Sequence[int], refs: Sequence[str]
                   ) -> tuple[dict[str, dict[int, int]], dict[str, int]]:
    """Points booked for orders, per order and member (earned, net of reversals), for these orders and
    every order these members hold points for; and each order's number of entries (for the next key)."""
    points = func.coalesce(func.sum(PointsEntry.points).filter(PointsEntry.kind.in_(("earn", "pending", "reverse"))), 0)
    cols = (PointsEntry.source_ref, PointsEntry.member_id, points, func.count())
    # By member: no condition on source_type in SQL, or SQLite walks the (source_type, source_ref)
    # index over every order entry instead of the member index (measured: 30 ms a call at 100k orders).
    by_member = (select(PointsEntry.source_type, *cols).where(one_of(session, PointsEntry.member_id, member_ids))
                 .group_by(PointsEntry.source_type, PointsEntry.source_ref, PointsEntry.member_id))
    rows = {(r[1], r[2]): r[1:] for r in session.execute(by_member) if r[0] == "order"}
    by_ref = (select(*cols).where(PointsEntry.source_type == "order")
              .group_by(PointsEntry.source_ref, PointsEntry.member_id))
    for part in chunks(list(refs)):
        rows.update({(r[0], r[1]): r for r in session.execute(by_ref.where(one_of(session, PointsEntry.source_ref, part)))})
    booked: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}
    for ref, mid, p, n in rows.values():
        booked.setdefault(ref, {})[mid] = int(p)
        counts[ref] = counts.get(ref, 0) + int(n)
    # an order held by a member outside both lists has entries the count must include too
    asked = set(refs)
    missing = [ref for ref in booked if ref not in asked]
    for part in chunks(missing):
        counts.update(dict(session.execute(select(PointsEntry.source_ref, func.count())
                                           .where(PointsEntry.source_type == "order", PointsEntry.source_ref.in_(part))
                                           .group_by(PointsEntry.source_ref)).all()))
    return booked, counts


def operation(session: Session, key: str) -> Any:
    return session.execute(select(PointsOperation.member_id, PointsOperation.kind, PointsOperation.fingerprint,
                                  PointsOperation.outcome).where(PointsOperation.key == key)).one_or_none()


def add_operation(session: Session, row: dict[str, Any]) -> None:
    insert_many(session, PointsOperation, [row])




def due_members(session: Session, at: datetime) -> list[int]:
    """Members with a release or an expiry due at or before ``at``."""
    stmt = (select(PointsAccount.member_id).where(PointsAccount.next_due_at <= at)
            .order_by(PointsAccount.member_id))
    return list(session.scalars(stmt))


def ledger_disagreements(session: Session) -> dict[str, list[Any]]:
    """Caches that differ from the sums of the ledger (every list empty when the books agree)."""
    sums = (select(PointsEntry.member_id,
                   func.coalesce(func.sum(PointsEntry.points).filter(PointsEntry.account == "available"), 0).label("a"),
                   func.coalesce(func.sum(PointsEntry.points).filter(PointsEntry.account == "pending"), 0).label("p"),
                   func.coalesce(func.sum(PointsEntry.points).filter(PointsEntry.account == "debt"), 0).label("d"))
            .group_by(PointsEntry.member_id).subquery())
    accounts = (select(PointsAccount.member_id, PointsAccount.available, PointsAccount.pending, PointsAccount.debt,
                       sums.c.a, sums.c.p, sums.c.d)
                .join(sums, sums.c.member_id == PointsAccount.member_id, isouter=True)
                .where(or_(PointsAccount.available != func.coalesce(sums.c.a, 0),
                           PointsAccount.pending != func.coalesce(sums.c.p, 0),
                           PointsAccount.debt != func.coalesce(sums.c.d, 0))))
    missing = (select(sums.c.member_id).join(PointsAccount, PointsAccount.member_id == sums.c.member_id, isouter=True)
               .where(PointsAccount.member_id.is_(None), or_(sums.c.a != 0, sums.c.p != 0, sums.c.d != 0)))
    lot_sums = (select(PointsEntry.lot_id,
                       func.sum(PointsEntry.points).filter(PointsEntry.account == "available").label("a"),
                       func.sum(PointsEntry.points).filter(PointsEntry.account == "pending").label("p"))
                .where(PointsEntry.lot_id.is_not(None)).group_by(PointsEntry.lot_id).subquery())
    lots = (select(PointsLot.id, PointsLot.remaining, PointsLot.pending, lot_sums.c.a, lot_sums.c.p)
            .join(lot_sums, lot_sums.c.lot_id == PointsLot.id, isouter=True)
            .where(or_(PointsLot.remaining != func.coalesce(lot_sums.c.a, 0),
                       PointsLot.pending != func.coalesce(lot_sums.c.p, 0),
                       PointsLot.remaining < 0, PointsLot.pending < 0)))
    negative_debt = select(PointsAccount.member_id).where(or_(PointsAccount.debt > 0, PointsAccount.pending < 0))
    return {"accounts": list(session.execute(accounts)), "accounts missing": list(session.execute(missing)),
            "lots": list(session.execute(lots)), "debt or pending out of range": list(session.execute(negative_debt))}


def liability_totals(session: Session, at: datetime) -> dict[str, int]:
    """Outstanding points across members, what expires within 30 and 90 days, and points by entry kind."""
    bal = session.execute(select(func.coalesce(func.sum(PointsAccount.available), 0),
                                 func.coalesce(func.sum(PointsAccount.pending), 0),
                                 func.coalesce(func.sum(PointsAccount.debt), 0),
                                 func.count().filter(PointsAccount.available > 0))).one()
    soon = {}
    for days in (30, 90):
        soon[days] = int(session.scalar(select(func.coalesce(func.sum(PointsLot.remaining), 0))
                                        .where(PointsLot.remaining > 0, PointsLot.expires_at > at,
                                               PointsLot.expires_at <= at + timedelta(days=days))) or 0)
    kinds = dict(session.execute(select(PointsEntry.kind, func.sum(PointsEntry.points))
                                 .where(PointsEntry.account == "available").group_by(PointsEntry.kind)).all())
    return {"available": int(bal[0]), "pending": int(bal[1]), "owed": -int(bal[2]), "members_with_points": int(bal[3]),
            "expiring_30": soon[30], "expiring_90": soon[90], **{f"kind_{k}": int(v or 0) for k, v in kinds.items()}}


# -- coupons -----------------------------------------------------------------------------------------------

def member_ids_of_persons(session: Session, person_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in chunks(list(person_ids)):
        out.update(dict(session.execute(select(Member.person_id, Member.id).where(Member.person_id.in_(part))).all()))
    return out


def add_coupons(session: Session, rows: list[dict[str, Any]]) -> None:
    """Coupons whose issue key is already taken are skipped: issuing again issues nothing."""
    insert_many(session, Coupon, rows, skip_conflicts_on=("issue_key",))


_COUPON_COLS = (Coupon.id, Coupon.template, Coupon.issue_key, Coupon.issued_at, Coupon.valid_until, Coupon.used_at,
                Coupon.used_order, Coupon.off_fen)


def coupons_of(session: Session, member_id: int) -> list[Any]:
    return list(session.execute(select(*_COUPON_COLS).where(Coupon.member_id == member_id)
                                .order_by(Coupon.valid_until, Coupon.id)))


def lock_coupon(session: Session, coupon_id: int, member_id: int) -> Any:
    """The member's coupon, locked (an UPDATE first, as for accounts): one use at a time."""
    session.execute(update(Coupon).where(Coupon.id == coupon_id, Coupon.member_id == member_id)
                    .values(used_order=Coupon.used_order))
    return session.execute(select(*_COUPON_COLS).where(Coupon.id == coupon_id, Coupon.member_id == member_id)
                           ).one_or_none()


def use_coupon(session: Session, coupon_id: int, at: datetime, order_ref: str, off_fen: int) -> None:
    session.execute(update(Coupon).where(Coupon.id == coupon_id)
                    .values(used_at=at, used_order=order_ref, off_fen=off_fen))


def programme_versions(session: Session) -> list[Any]:
    return list(session.execute(select(ProgrammeVersion.id, ProgrammeVersion.version, ProgrammeVersion.name,
                                       ProgrammeVersion.sha256, ProgrammeVersion.actor, ProgrammeVersion.note,
                                       ProgrammeVersion.recorded_at).order_by(ProgrammeVersion.id)))


def latest_programme(session: Session) -> Any:
    return run(session, _LATEST_PROGRAMME).one_or_none()


# built once: every push that makes a member reads the programme in force (profiled, demo pushes)
_LATEST_PROGRAMME = (select(ProgrammeVersion.id, ProgrammeVersion.version, ProgrammeVersion.sha256,
                            ProgrammeVersion.content).order_by(ProgrammeVersion.id.desc()).limit(1))


def add_programme_version(session: Session, row: dict[str, Any]) -> None:
    insert_many(session, ProgrammeVersion, [row])


def pricing_identities(session: Session, member_id: int) -> list[Any]:
    return list(session.execute(select(PricingIdentity.id, PricingIdentity.identity, PricingIdentity.granted_by,
                                       PricingIdentity.granted_at, PricingIdentity.valid_until,
                                       PricingIdentity.revoked_at)
                                .where(PricingIdentity.member_id == member_id).order_by(PricingIdentity.id)))


def add_pricing_identity(session: Session, row: dict[str, Any]) -> None:
    insert_many(session, PricingIdentity, [row])


def revoke_pricing_identity(session: Session, member_id: int, identity: str, at: datetime) -> int:
    result = session.execute(update(PricingIdentity).where(
        PricingIdentity.member_id == member_id, PricingIdentity.identity == identity,
        PricingIdentity.revoked_at.is_(None)).values(revoked_at=at))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def referees(session: Session, member_ids: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
    """referrer → [(member they referred, when)], active referees only."""
    out: dict[int, list[tuple[int, datetime]]] = {}
    for part in chunks(list(member_ids)):
        for r in session.execute(select(Member.referrer_id, Member.id, Member.referred_at)
                                 .where(one_of(session, Member.referrer_id, part), Member.status == "active")):
            out.setdefault(r.referrer_id, []).append((r.id, r.referred_at))
    return out


def referrers_of(session: Session, member_ids: Sequence[int]) -> list[int]:
    found: set[int] = set()
    for part in chunks(list(member_ids)):
        found.update(session.scalars(select(Member.referrer_id).where(one_of(session, Member.id, part),
                                                                      Member.referrer_id.is_not(None))))
    return sorted(found)


def set_referrer(session: Session, member_id: int, referrer_id: int, at: datetime) -> None:
    session.execute(update(Member).where(Member.id == member_id, Member.referrer_id.is_(None))
                    .values(referrer_id=referrer_id, referred_at=at, updated_at=at))


def referral_chain(session: Session, member_id: int, limit: int = 100) -> list[int]:
    """The member's referrer, theirs, and so on (to refuse a referral that would make a loop)."""
    chain: list[int] = []
    current: int | None = member_id
    while current is not None and len(chain) < limit:
        current = session.scalar(select(Member.referrer_id).where(Member.id == current))
        if current is not None:
            chain.append(current)
    return chain


def member_cards(session: Session, person_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """person → (card number, tier) of their active member account."""
    out: dict[int, tuple[str, str]] = {}
    for part in chunks(list(person_ids)):
        for r in session.execute(select(Member.person_id, Member.card_no, Member.tier)
                                 .where(one_of(session, Member.person_id, part), Member.status == "active")):
            out[r.person_id] = (r.card_no, r.tier)
    return out


def price_use(session: Session, member_id: int, order_ref: str) -> Any:
    return session.execute(select(PriceUse.basis, PriceUse.label, PriceUse.percent, PriceUse.list_fen, PriceUse.pays_fen,
                                  PriceUse.used_at, PriceUse.cancelled_at)
                           .where(PriceUse.member_id == member_id, PriceUse.order_ref == order_ref)).one_or_none()


def price_used(session: Session, member_id: int, basis: str, since: datetime, until: datetime) -> tuple[int, int]:
    """(orders, list fen) the member bought at ``basis`` in [since, until), cancelled uses left out."""
    orders, fen = session.execute(select(func.count(), func.coalesce(func.sum(PriceUse.list_fen), 0)).where(
        PriceUse.member_id == member_id, PriceUse.basis == basis, PriceUse.used_at >= since,
        PriceUse.used_at < until, PriceUse.cancelled_at.is_(None))).one()
    return int(orders), int(fen)


def add_price_use(session: Session, row: dict[str, Any]) -> None:
    insert_many(session, PriceUse, [row])


def cancel_price_use(session: Session, member_id: int, order_ref: str, at: datetime) -> int:
    result = session.execute(update(PriceUse).where(PriceUse.member_id == member_id, PriceUse.order_ref == order_ref,
                                                    PriceUse.cancelled_at.is_(None)).values(cancelled_at=at))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
