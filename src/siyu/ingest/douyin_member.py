"""Douyin member join SPI (会员入会): Douyin calls the brand when a user joins its membership in Douyin.

Like Tmall's member centre, this is where Douyin hands over a buyer's phone in clear; a Douyin shop
order names the buyer only by an open id and a masked receiver phone. Protocol (developer.open-douyin.com,
会员接入 · 会员入会 SPI, and the SPI signature rules):
- ``POST`` to the brand's SPI URL with URL parameters ``client_key`` and ``timestamp`` (milliseconds);
- header ``x-life-sign = sha256(client_secret & k=v … & http_body=<raw body>)`` over the URL parameters
  other than ``sign``, sorted by name (``core.platform_sign.douyin_spi_sign``), verified on the raw bytes;
- body ``{"open_id", "account_id", "mobile"}``: the user's open id, the brand's account, the bound phone;
- the answer ``{"data": {"error_code": 0, "description": …}}``: 0 done, 100 failed (Douyin retries),
  200 refused for good (bad data; a retry cannot help).

Assumption, stated because it decides what joins: the member open id is the id Douyin shop orders name
the buyer by (``doudian_open_id``) for the same brand, so the join is recorded on the buyer's own Douyin
profile, which gains the phone. A repeated call changes nothing (claimed in the inbox by open id and
phone).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.core.errors import BadSignature, NotConfigured
from siyu.core.platform_sign import douyin_spi_sign
from siyu.ingest import normalize as nz
from siyu.ingest import repository as repo
from siyu.ingest.push import push_body
from siyu.ingest.schemas import DOUYIN, PHONE, Ident, ProfileIn
from siyu.ingest.service import Importer

DONE, REFUSED = 0, 200  # (100 asks Douyin to retry; a database failure answers 500 instead)


def verify_douyin_spi(params: dict[str, str], body: bytes, sign: str | None, client_key: str | None,
                      client_secret: str | None) -> dict[str, Any]:
    """The parsed body of a correctly signed call from our app; BadSignature otherwise."""
    if not client_key or not client_secret:
        raise NotConfigured("Douyin member calls need SIYU_DOUYIN_CLIENT_KEY and SIYU_DOUYIN_CLIENT_SECRET")
    if params.get("client_key") != client_key:
        raise BadSignature("client_key is not this brand's Douyin app")
    if not hmac.compare_digest(douyin_spi_sign(client_secret, params, body), (sign or "").lower()):
        raise BadSignature("x-life-sign does not match sha256(client_secret & sorted parameters & http_body)")
    return push_body(body, dict)  # type: ignore[no-any-return]


def _when(params: dict[str, str]) -> datetime:
    """The call's timestamp (Unix milliseconds): when the user joined."""
    try:
        return datetime.fromtimestamp(int(params.get("timestamp") or "") / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return now()


def _answer(code: int, description: str, duplicate: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"data": {"error_code": code, "description": description}}
    if duplicate:
        out["duplicate"] = True
    return out


def receive_member_join(session: Session, vault: Vault, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    open_id = str(body.get("open_id") or "").strip()
    if not open_id or len(open_id) > 128:
        return _answer(REFUSED, "open_id: missing or longer than 128 characters")
    raw_mobile = str(body.get("mobile") or "")
    try:
        mobile = nz.phone(raw_mobile)  # Douyin may send +86 / 86-: the normaliser drops the code
    except ValueError:
        mobile = None
    if mobile is None:
        return _answer(REFUSED, f"mobile: {raw_mobile[:20]!r} is not a mainland mobile number")
    key = hashlib.sha256(f"join|{open_id}|{mobile}".encode()).hexdigest()[:58]
    if not repo.claim_message(session, "douyin_member", f"douyin:{key}", "join", now()):
        return _answer(DONE, "success", duplicate=True)
    when = _when(params)
    profile = ProfileIn(channel="douyin", external_id=open_id, idents=[Ident(DOUYIN, open_id), Ident(PHONE, mobile)],
                        seen_at=when, registered_at=when, source="douyin_member_join")
    Importer(session, vault).write([profile])
    repo.settle_message(session, "douyin_member", f"douyin:{key}", "applied", open_id[:64])
    return _answer(DONE, "success")
