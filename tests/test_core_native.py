"""``core.native``: statements built once, run on PostgreSQL through psycopg's raw cursor, must answer
exactly as SQLAlchemy's own execution does (parameters converted by their types, the statement's own
constants bound, a literal ``%`` kept), and on SQLite run as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, literal, literal_column, select, update

from siyu.core import native
from siyu.core.bulk import KeysIn, run
from siyu.models import Person

T0 = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)

# built once, as the callers' are: a constant bound in the statement, a typed parameter, keys as an array
_SINCE = (select(Person.id, Person.created_at, literal("kept").label("word"), literal_column("7 % 4").label("rest"))
          .where(Person.created_at >= bindparam("since", type_=Person.created_at.type), KeysIn(Person.id))
          .order_by(Person.id))
_TOUCH = update(Person).where(KeysIn(Person.id)).values(updated_at=bindparam("stamp", type_=Person.updated_at.type))
_STAMPS = select(Person.id, Person.updated_at).where(KeysIn(Person.id)).order_by(Person.id)
_IN_LIST = select(Person.id).where(Person.id.in_([1, 2]))


def test_native_rows_equal_sqlalchemys_on_both_databases(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.db.unit_of_work() as s:
        s.add_all([Person(created_at=T0 + timedelta(hours=h), updated_at=T0) for h in range(5)])
        s.flush()
        ids = sorted(s.scalars(select(Person.id)))
        params = {"since": T0 + timedelta(hours=2), "ids": ids[1:]}
        alone = [tuple(r) for r in run(s, _SINCE, params)]
        got = native.fetch(s, _SINCE, params)
        assert [(i, w, r) for i, _, w, r in got] == [(i, "kept", 3) for i in ids[2:]]
        assert [(i, t.astimezone(UTC)) for i, t, _, _ in got] == [(i, t.astimezone(UTC)) for i, t, _, _ in alone]
        # a write through the raw cursor is in the session's transaction, seen by the next read
        later = T0 + timedelta(days=3)
        native.execute(s, _TOUCH, {"ids": ids[:2], "stamp": later})
        stamps = {i: t.astimezone(UTC) for i, t in native.fetch(s, _STAMPS, {"ids": ids})}
        assert stamps == {i: later if i in ids[:2] else T0 for i in ids}
        # pending ORM objects are flushed first, as SQLAlchemy's execution does
        s.add(Person(created_at=later, updated_at=later))
        assert len(native.fetch(s, _STAMPS, {"ids": list(range(1, max(ids) + 2))})) == 6


def test_an_expanding_in_list_is_refused_on_postgresql(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.db.unit_of_work() as s:
        if rt.db.dialect == "postgresql":
            with pytest.raises(ValueError, match="expanding IN list"):
                native.fetch(s, _IN_LIST)
        else:
            assert native.fetch(s, _IN_LIST) == []
