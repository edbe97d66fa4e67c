"""Export facts incrementally and dimensions whole to the lake (Parquet under ``$SIYU_HOME/lake``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from siyu.analytics.lake import write_part, write_snapshot
from siyu.lake import repository as repo
from siyu.models import (
    Channel,
    Event,
    Guide,
    Member,
    Order,
    OrderItem,
    Person,
    Product,
    Profile,
    Refund,
    Region,
    Shop,
    Sku,
    Store,
)
from siyu.ops.service import advance_watermark, watermark
from siyu.tags import manual as manual_tags

FACT_MODELS = {"orders": Order, "order_items": OrderItem, "refunds": Refund, "events": Event}
SNAPSHOT_MODELS = {"profiles": Profile, "persons": Person, "members": Member, "channels": Channel, "shops": Shop,
                   "stores": Store, "regions": Region, "guides": Guide, "products": Product, "skus": Sku}


@dataclass
class ExportReport:
    facts: dict[str, int] = field(default_factory=dict)
    snapshots: dict[str, int] = field(default_factory=dict)


def export_lake(session: Session, lake: Path) -> ExportReport:
    """Facts changed since the last export become a new part; the watermark is the newest ``updated_at``
    written, so a crash before the watermark is saved only re-exports rows (readers keep one version)."""
    report = ExportReport()
    for name, model in FACT_MODELS.items():
        mark = watermark(session, f"lake.{name}")
        since = datetime.fromisoformat(mark) if mark else None
        table = repo.read_table(session, model, since)
        report.facts[name] = table.num_rows
        if table.num_rows:
            write_part(lake, name, table)
            newest = pc.max(table.column("updated_at")).as_py()
            advance_watermark(session, f"lake.{name}", newest.isoformat())
    for name, model in SNAPSHOT_MODELS.items():
        table = repo.profiles_with_persons(session) if model is Profile else repo.read_table(session, model)
        write_snapshot(lake, name, table)
        report.snapshots[name] = table.num_rows
    points = repo.balances(session)
    write_snapshot(lake, "points", points)
    report.snapshots["points"] = points.num_rows
    manual = manual_tags.in_force(session)
    write_snapshot(lake, "manual_tags", pa.table({"person_id": pa.array([m[0] for m in manual], pa.int64()),
                                                  "tag": pa.array([m[1] for m in manual], pa.string()),
                                                  "value": pa.array([m[2] for m in manual], pa.string())}))
    report.snapshots["manual_tags"] = len(manual)
    kinds = repo.identity_kinds(session)
    write_snapshot(lake, "identity_links", kinds)
    report.snapshots["identity_links"] = kinds.num_rows
    return report
