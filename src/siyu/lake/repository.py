"""Reads for the lake export: whole tables or rows changed since a watermark, as Arrow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
from sqlalchemy import JSON, Boolean, Date, Integer, LargeBinary, Numeric, String, func, select
from sqlalchemy.orm import Session

from siyu.core.db import UTCDateTime
from siyu.core.tables import to_arrow
from siyu.models import PointsEntry

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
    cols = export_columns(model)
    stmt = select(*cols)
    if since is not None:
        stmt = stmt.where(model.__table__.c.updated_at > since)
    json_cols = [i for i, c in enumerate(cols) if isinstance(c.type, JSON)]
    rows = session.execute(stmt.order_by(model.__table__.primary_key.columns.values()[0])).yield_per(50_000)
    if json_cols:
        rows = ([orjson.dumps(v).decode() if i in json_cols and v is not None else v
                 for i, v in enumerate(r)] for r in rows)
    return to_arrow(rows, pa.schema([(c.name, _arrow_type(c)) for c in cols]))


def balances(session: Session) -> pa.Table:
    stmt = (select(PointsEntry.member_id, func.sum(PointsEntry.points),
                   func.sum(PointsEntry.points).filter(PointsEntry.points > 0))
            .group_by(PointsEntry.member_id).order_by(PointsEntry.member_id))
    return to_arrow(session.execute(stmt), pa.schema([("member_id", pa.int64()), ("balance", pa.int64()),
                                                      ("earned", pa.int64())]))
