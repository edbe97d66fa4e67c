"""Reads for the lake export: whole tables or rows changed since a watermark, as Arrow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import JSON, Boolean, Date, Integer, LargeBinary, Numeric, String, bindparam, func, select
from sqlalchemy.orm import Session

from siyu.core.db import UTCDateTime
from siyu.core.tables import to_arrow
from siyu.models import Identity, PointsEntry, Profile, ProfileIdentity, ProfilePerson

UTC_TS = pa.timestamp("us", tz="UTC")


def _arrow_type(col: Any) -> pa.DataType | None:
    t = col.type
    if isinstance(t, UTCDateTime):
        return UTC_TS
    if isinstance(t, Boolean):
        return pa.bool_()
    if isinstance(t, Integer):
        return pa.int64()
    if isinstance(t, Date):
        return pa.date32()
    if isinstance(t, Numeric):
        return pa.string()
    if isinstance(t, JSON):
        return pa.string()
    if isinstance(t, String):
        return pa.string()
    if isinstance(t, LargeBinary):
        return None  # encrypted personal data never leaves the database
    raise TypeError(f"no lake type for {col}")


def export_columns(model: Any) -> list[Any]:
    return [c for c in model.__table__.columns
            if _arrow_type(c) is not None and not c.name.endswith("_bidx") and c.name != "row_hash"]


def read_table(session: Session, model: Any, since: datetime | None = None) -> pa.Table:
    """Rows as the driver returns them, converted column-wise by Arrow: building Python datetimes row by
    row cost most of the export (SQLite keeps times as ISO text, which Arrow parses in bulk)."""
    cols = export_columns(model)
    table = model.__table__
    stmt = select(*cols).order_by(table.primary_key.columns.values()[0])
    if since is not None:
        stmt = stmt.where(table.c.updated_at > bindparam("since", since, type_=table.c.updated_at.type))
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if since is not None:
        proc = table.c.updated_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        params["since"] = proc(since) if proc else since
    if compiled.positional:
        params = tuple(params[n] for n in compiled.positiontup)
    cursor = conn.exec_driver_sql(str(compiled), params)
    batches = []
    while rows := cursor.fetchmany(100_000):
        batches.append(_batch(cols, list(zip(*rows, strict=True))))
    if not batches:
        batches.append(_batch(cols, [[] for _ in cols]))
    return pa.Table.from_batches(batches)


def profiles_with_persons(session: Session) -> pa.Table:
    """The profiles snapshot as analytics reads it: each profile with its person (null: none yet), which
    the database keeps in ``profile_persons``."""
    profiles, persons = read_table(session, Profile), read_table(session, ProfilePerson)
    at = pc.index_in(profiles["id"], value_set=persons["profile_id"].combine_chunks())
    return profiles.append_column("person_id", pc.take(persons["person_id"], at))


def _batch(cols: list[Any], columns: list[Any]) -> pa.RecordBatch:
    arrays = []
    for col, values in zip(cols, columns, strict=True):
        target = _arrow_type(col)
        if isinstance(col.type, JSON):
            values = [v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values]
            arrays.append(pa.array(values, pa.string()))
            continue
        arr = pa.array(values)
        if pa.types.is_null(arr.type):
            arrays.append(pa.nulls(len(arr), target))
        elif pa.types.is_string(arr.type) and pa.types.is_timestamp(target):
            arrays.append(pc.cast(pc.cast(arr, pa.timestamp("us")), target))  # naive UTC text → UTC
        elif pa.types.is_timestamp(arr.type) and pa.types.is_timestamp(target):
            arrays.append(pc.cast(arr if arr.type.tz else pc.assume_timezone(arr, "UTC"), target))
        else:
            arrays.append(pc.cast(arr, target))
    return pa.RecordBatch.from_arrays(arrays, names=[c.name for c in cols])


def balances(session: Session) -> pa.Table:
    stmt = (select(PointsEntry.member_id, func.sum(PointsEntry.points),
                   func.sum(PointsEntry.points).filter(PointsEntry.points > 0))
            .group_by(PointsEntry.member_id).order_by(PointsEntry.member_id))
    return to_arrow(session.execute(stmt), pa.schema([("member_id", pa.int64()), ("balance", pa.int64()),
                                                      ("earned", pa.int64())]))


def identity_kinds(session: Session) -> pa.Table:
    """(profile_id, kind) of every identifier a profile carries: what kinds of contact exist, no values."""
    stmt = (select(ProfileIdentity.profile_id, Identity.kind).join(Identity, Identity.id == ProfileIdentity.identity_id)
            .order_by(ProfileIdentity.profile_id, Identity.kind))
    return to_arrow(session.execute(stmt).yield_per(100_000),
                    pa.schema([("profile_id", pa.int64()), ("kind", pa.string())]))
