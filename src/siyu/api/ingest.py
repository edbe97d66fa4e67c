"""REST batches of canonical records: ``POST /api/v1/{members|orders|refunds|events}/batch``.

The body is ``{"records": [...]}`` (or a bare array) of the same objects as the canonical JSON Lines
files; the answer says, for every index, whether the record was accepted or why it was rejected.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from siyu.accounts.api_keys import check_api_key
from siyu.api.deps import parse_json, presented_key, raw_body, run_resolving, runtime
from siyu.ingest.intake import accept_batch, json_schema, scope_for

router = APIRouter(prefix="/api/v1", tags=["ingestion"])


@router.post("/{kind}/batch", summary="Send a batch of members, orders, refunds or events")
async def post_batch(kind: str, request: Request) -> dict[str, Any]:
    """Up to 5,000 canonical records (docs/formats.md). Idempotent: a record already stored with the same
    content is ``unchanged``. Needs an API key with the scope ``<kind>:write``."""
    rt = runtime(request)
    scope = scope_for(kind)
    body = parse_json(await raw_body(request))
    records = body.get("records") if isinstance(body, dict) else body

    def work(s: Session) -> dict[str, Any]:
        check_api_key(s, presented_key(request), scope)
        return asdict(accept_batch(s, rt.vault, kind, records))

    return await run_in_threadpool(run_resolving, rt, work)


@router.get("/schemas/{kind}.json", summary="The JSON Schema of a canonical record kind")
def get_schema(kind: str) -> dict[str, Any]:
    return json_schema(kind)
