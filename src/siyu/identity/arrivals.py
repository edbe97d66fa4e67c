"""Which profiles a unit of work wrote, so OneID can resolve them on arrival before it commits.

Writers note the profiles whose identity evidence changed (a new profile, a changed name or
identifier, an order with a receiver phone) on the session; an entry point that resolves on arrival
takes them once its writes are done. Kept on the session, so two requests never see each other's.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

_KEY = "siyu.identity.arrived"


def note_arrived(session: Session, profile_ids: Iterable[int | None]) -> None:
    session.info.setdefault(_KEY, set()).update(p for p in profile_ids if p is not None)


def take_arrived(session: Session) -> set[int]:
    return session.info.pop(_KEY, set())  # type: ignore[no-any-return]


_ORDERS = "siyu.orders.arrived"


def note_orders(session: Session, order_ids: Iterable[int | None]) -> None:
    """Orders this unit of work wrote or changed (status, refunds): their points are booked on arrival."""
    session.info.setdefault(_ORDERS, set()).update(o for o in order_ids if o is not None)


def take_orders(session: Session) -> set[int]:
    return session.info.pop(_ORDERS, set())  # type: ignore[no-any-return]


def orders_noted(session: Session) -> set[int]:
    return set(session.info.get(_ORDERS, ()))
