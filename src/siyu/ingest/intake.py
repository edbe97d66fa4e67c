"""Records sent over HTTP: a batch of canonical records (REST) answered record by record.

The REST batch endpoints take exactly the canonical JSON objects of the files (docs/formats.md and the
JSON Schemas in ``siyu/ingest/schemas/``), so a brand's mini-program can send a line by the API or in a
nightly file and get the same result. Every record is keyed (openid, order_no, refund_no, message_id):
sending a batch again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from siyu.core.crypto import Vault
from siyu.core.errors import InvalidInput
from siyu.ingest.connectors.base import FieldError
from siyu.ingest.connectors.miniprogram import Events, MiniMembers, MiniOrders, MiniRefunds
from siyu.ingest.memo import ProfileMemo
from siyu.ingest.schemas import ProfileIn, Record
from siyu.ingest.segment import batch_messages, segment_event
from siyu.ingest.service import Importer, event_lookups, write_events

# kind → (connector that validates one object, the field that names a record, the scope it needs)
KINDS: dict[str, tuple[Any, str, str]] = {
    "members": (MiniMembers(), "openid", "members:write"),
    "orders": (MiniOrders(), "order_no", "orders:write"),
    "refunds": (MiniRefunds(), "refund_no", "refunds:write"),
    "events": (Events(), "message_id", "events:write"),
}
MAX_BATCH = 5000


@dataclass
class RecordResult:
    index: int
    status: str  # accepted | rejected
    id: str | None = None
    field: str | None = None
    value: str | None = None
    reason: str | None = None


@dataclass
class BatchResult:
    kind: str
    accepted: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    results: list[RecordResult] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def scope_for(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown record kind {kind!r}; one of {', '.join(KINDS)}", status=404)
    return KINDS[kind][2]


def accept_batch(session: Session, vault: Vault, kind: str, objects: Any) -> BatchResult:
    """Validate each object, write the valid ones, and say for every index what happened to it."""
    scope_for(kind)
    if not isinstance(objects, list):
        raise InvalidInput("records: expected a JSON array of objects")
    if len(objects) > MAX_BATCH:
        raise InvalidInput(f"records: {len(objects):,} in one batch; send at most {MAX_BATCH:,}", status=413)
    connector, key_field, _ = KINDS[kind]
    out = BatchResult(kind)
    good: list[Record] = []
    for i, obj in enumerate(objects):
        key = str(obj.get(key_field))[:128] if isinstance(obj, dict) and obj.get(key_field) is not None else None
        try:
            if not isinstance(obj, dict):
                raise FieldError("(record)", repr(obj)[:80], "expected a JSON object")
            good.append(connector.record(obj))
        except FieldError as exc:
            value = exc.value if isinstance(exc.value, str) else repr(exc.value)
            out.results.append(RecordResult(i, "rejected", key, exc.field, value[:200], exc.reason))
            out.rejected += 1
            continue
        out.results.append(RecordResult(i, "accepted", key))
        out.accepted += 1
    if good:
        imp = Importer(session, vault)
        counts = imp.write(good)
        out.inserted, out.updated, out.unchanged = counts["inserted"], counts["updated"], counts["unchanged"]
        out.warnings = [{"field": f, "value": v, "reason": r, "records": n}
                        for (f, v, r), n in sorted(imp.warnings().items())]
    return out


def accept_segment(session: Session, vault: Vault, body: Any, received_at: datetime,
                   memo: ProfileMemo | None = None,
                   learned: list[tuple[ProfileIn, int]] | None = None) -> dict[str, Any]:
    """A Segment batch: every valid message stored once; the invalid ones listed with their field.
    ``memo`` / ``learned``: see ``write_events``."""
    try:
        messages, sent_at = batch_messages(body)
    except FieldError as exc:
        raise InvalidInput(f"{exc.field}: {exc.reason}", status=400) from None
    if len(messages) > MAX_BATCH:
        raise InvalidInput(f"batch: {len(messages):,} messages; send at most {MAX_BATCH:,}", status=413)
    events, errors = [], []
    for i, msg in enumerate(messages):
        try:
            events.append(segment_event(msg, sent_at, received_at))
        except FieldError as exc:
            value = exc.value if isinstance(exc.value, str) else repr(exc.value)
            errors.append({"index": i, "messageId": msg.get("messageId") if isinstance(msg, dict) else None,
                           "field": exc.field, "value": value[:200], "reason": exc.reason})
    counts = write_events(session, vault, event_lookups(session, memo), events, memo, learned) if events else {}
    return {"accepted": len(events), "rejected": len(errors), "inserted": counts.get("inserted", 0),
            "duplicates": counts.get("unchanged", 0), "errors": errors}


SCHEMA_DIR = Path(__file__).parent / "jsonschema"
SCHEMA_FILES = {"members": "member", "orders": "order", "refunds": "refund", "events": "event"}


def json_schema(kind: str) -> dict[str, Any]:
    """The published JSON Schema of a canonical record kind (what files, REST batches and mapped imports
    must produce)."""
    if kind not in SCHEMA_FILES:
        raise InvalidInput(f"unknown record kind {kind!r}; one of {', '.join(SCHEMA_FILES)}", status=404)
    return orjson.loads((SCHEMA_DIR / f"{SCHEMA_FILES[kind]}.schema.json").read_bytes())  # type: ignore[no-any-return]
