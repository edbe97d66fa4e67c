"""What every ingestion endpoint needs: the runtime, the caller's API key, and the request body."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from sqlalchemy.orm import Session

from siyu.bootstrap import Runtime
from siyu.core.errors import SiyuError
from siyu.identity.realtime import resolve_arrivals
from siyu.loyalty import versions
from siyu.loyalty.accrual import accrue_arrived

T = TypeVar("T")

# Segment accepts 500 KB per batch; a compressed body may not inflate past this either (a gzip bomb
# stops here instead of filling memory).
MAX_BODY = 4 * 1024 * 1024


class PayloadTooLarge(SiyuError):
    status = 413


def runtime(request: Request) -> Runtime:
    return request.app.state.rt  # type: ignore[no-any-return]


def run_resolving(rt: Runtime, work: Callable[[Session], T]) -> T:
    """``work`` in one unit of work, and the profiles it wrote resolved by OneID before the commit
    (``identity.realtime``), and the points of the orders it wrote booked for their members
    (``loyalty.accrual``): a record sent by the API or pushed by a platform belongs to its person, and
    its points to their account, as soon as it is accepted; a failure of any leaves nothing behind."""
    def both(session: Session) -> T:
        out = work(session)
        resolve_arrivals(session, rt.vault, rt.settings)
        accrue_arrived(session, versions.active(session))
        return out

    return rt.db.run(both)


def presented_key(request: Request, body: Any = None) -> str | None:
    """The API key: ``Authorization: Bearer <key>``, HTTP basic auth with the key as user name (how
    Segment clients send their write key), or Segment's ``writeKey`` in the body."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            user = base64.b64decode(value.strip(), validate=True).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"]
    return None


async def raw_body(request: Request) -> bytes:
    """The body, inflated if the client gzipped it, refused past MAX_BODY."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"request body over {MAX_BODY // 1024 // 1024} MB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = d.decompress(raw, MAX_BODY + 1)
        except zlib.error as exc:
            raise SiyuError(f"Content-Encoding says gzip but the body does not inflate ({exc})") from None
        if len(raw) > MAX_BODY:
            raise PayloadTooLarge(f"request body inflates past {MAX_BODY // 1024 // 1024} MB")
    return raw


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SiyuError(f"the body is not valid JSON ({exc})") from None
