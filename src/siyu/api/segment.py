"""A Segment-compatible tracking API, so any Segment library or CDP pipe can send events to Siyu.

``/v1/identify``, ``/v1/track``, ``/v1/page``, ``/v1/screen``, ``/v1/group``, ``/v1/alias`` take one
message; ``/v1/batch`` (and ``/v1/import``) take ``{"batch": [...], "sentAt": …}``. The write key is an
API key with the scope ``events:write``, sent as HTTP basic auth user name (as Segment clients do).
Bodies may be gzipped. A message whose ``messageId`` was seen before is accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from siyu.accounts.api_keys import check_api_key
from siyu.api.deps import parse_json, presented_key, raw_body, run_resolving, runtime
from siyu.core.clock import now
from siyu.core.errors import SiyuError
from siyu.ingest.intake import accept_segment
from siyu.ingest.memo import ProfileMemo
from siyu.ingest.schemas import ProfileIn

router = APIRouter(prefix="/v1", tags=["segment"])


async def _receive(request: Request, single: str | None) -> JSONResponse:
    rt = runtime(request)
    received = now()
    body = parse_json(await raw_body(request))
    if single is not None:
        if not isinstance(body, dict):
            raise SiyuError("the body must be a JSON object (one message)")
        body = {"batch": [{**body, "type": body.get("type") or single}], "sentAt": body.get("sentAt")}

    memo: ProfileMemo = request.app.state.profile_memo
    learned: list[tuple[ProfileIn, int]] = []

    def attempt(s: Session) -> dict[str, Any]:
        learned.clear()
        check_api_key(s, presented_key(request, body), "events:write")
        return accept_segment(s, rt.vault, body, received, memo, learned)

    def work() -> dict[str, Any]:
        out = run_resolving(rt, attempt)
        memo.remember(learned)  # only now: the profiles are committed
        return out

    result = await run_in_threadpool(work)
    return JSONResponse({"success": True, **result})


@router.post("/batch", summary="Segment batch")
async def batch(request: Request) -> JSONResponse:
    return await _receive(request, None)


@router.post("/import", summary="Segment import (same as batch)")
async def import_(request: Request) -> JSONResponse:
    return await _receive(request, None)


def _single(kind: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> JSONResponse:
        return await _receive(request, kind)

    endpoint.__name__ = f"segment_{kind}"
    return endpoint


for _kind in ("identify", "track", "page", "screen", "group", "alias"):
    router.add_api_route(f"/{_kind}", _single(_kind), methods=["POST"], summary=f"Segment {_kind}")
