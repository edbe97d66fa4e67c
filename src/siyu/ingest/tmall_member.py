"""Tmall brand member centre (品牌会员中心, "会员通") SPI: Tmall calls the brand when a buyer joins.

With 会员通, a Tmall buyer who joins the brand's membership in the Tmall store is registered (or bound,
when the brand already knows their phone) by Alibaba calling the brand's SPI URL. This is the one place
a platform hands over a buyer's phone in clear, so it is what joins Tmall buyers to the brand's own
members. Protocol (open.taobao.com, 品牌会员基础包 SPI):
- ``POST`` with TOP-style query parameters ``method``, ``app_key``, ``timestamp``, ``v``, ``sign_method``
  and ``sign``; the body is JSON.
- ``sign = upper(md5(secret + k1v1k2v2… + body + secret))`` over the query parameters other than
  ``sign``, sorted by name.
- Methods:
  - ``tmall.mei.crm.member.register``: a new member;
  - ``tmall.mei.crm.bind``: a buyer binds to the member the brand has under that mobile;
  - ``tmall.mei.crm.member.bind.query``: whether a buyer is bound.
- Bodies carry ``seller_name``, ``nick``, ``mobile`` (clear), and where opened to the brand ``open_id``.
- The answer is JSON with a result code: ``SUC``; ``E01`` no such member; ``E02`` not bound; ``E04``
  failed, retry.

Siyu records each join as a Tmall profile ``member:<nick>`` carrying the nick, the open id and the
phone, so OneID joins it to the buyer's orders (by nick / open id) and to the brand's own member (by
phone). A repeated call changes nothing: it is claimed in the inbox by method, nick and mobile.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.core.errors import BadSignature, NotConfigured, SiyuError
from siyu.core.platform_sign import top_spi_sign
from siyu.ingest import normalize as nz
from siyu.ingest import repository as repo
from siyu.ingest.push import push_body
from siyu.ingest.schemas import PHONE, TAOBAO_NICK, TAOBAO_OUID, Ident, ProfileIn
from siyu.ingest.service import Importer

REGISTER, BIND, QUERY = "tmall.mei.crm.member.register", "tmall.mei.crm.bind", "tmall.mei.crm.member.bind.query"
CODE_FIELD = {REGISTER: "register_code", BIND: "bind_code", QUERY: "query_code"}


spi_sign = top_spi_sign


def verify_spi(params: dict[str, str], body: bytes, app_key: str | None, secret: str | None) -> dict[str, Any]:
    """The parsed body of a correctly signed call from our app; BadSignature otherwise."""
    if not app_key or not secret:
        raise NotConfigured("Tmall member centre calls need SIYU_TMALL_APP_KEY and SIYU_TMALL_APP_SECRET")
    if params.get("app_key") != app_key:
        raise BadSignature("app_key is not this brand's Tmall app")
    if not hmac.compare_digest(spi_sign(secret, params, body), (params.get("sign") or "").upper()):
        raise BadSignature("sign does not match md5(secret + sorted parameters + body + secret)")
    return push_body(body, dict)  # type: ignore[no-any-return]


def _when(params: dict[str, str]) -> datetime:
    """The call's TOP timestamp (Beijing time): when the buyer joined."""
    try:
        return nz.beijing_text(params.get("timestamp") or "", allow_blank=False) or now()
    except ValueError:
        return now()


def receive_member_call(session: Session, vault: Vault, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The answer to one SPI call (a dict with the method's result code)."""
    method = params.get("method", "")
    if method not in CODE_FIELD:
        raise SiyuError(f"unknown SPI method {method[:80]!r}; expected one of {', '.join(CODE_FIELD)}")
    field = CODE_FIELD[method]
    nick = str(body.get("nick") or "").strip()
    if not nick or len(nick) > 64:
        return {field: "E05", "message": "nick: missing or longer than 64 characters"}
    if method == QUERY:
        # Membership state (points, level) lives in loyalty, which answers this once the loyalty issue
        # lands; until then Tmall is told to retry rather than given a made-up balance.
        return {field: "E04", "message": "bind query is not answered yet"}
    try:
        mobile = nz.phone(str(body.get("mobile") or ""))
    except ValueError:
        mobile = None
    if mobile is None:
        return {field: "E05", "message": f"mobile: {str(body.get('mobile'))[:20]!r} is not a mainland mobile number"}
    key = hashlib.sha256(f"{method}|{nick}|{mobile}".encode()).hexdigest()[:58]
    member: dict[str, Any] = {"nick": nick, "mobile": mobile, "extend": ""}
    if method == REGISTER:  # a new member starts at level 1 with no points; a bound one's state is loyalty's
        member.update(point=0, level=1)
    if not repo.claim_message(session, "tmall_member", f"tmall:{key}", method, now()):
        return {field: "SUC", "member": member, "duplicate": True}
    idents = [Ident(TAOBAO_NICK, nick), Ident(PHONE, mobile)]
    open_id = str(body.get("open_id") or "").strip()
    if open_id and len(open_id) <= 64:
        idents.append(Ident(TAOBAO_OUID, open_id))
    profile = ProfileIn(channel="tmall", external_id=f"member:{nick}", idents=idents, seen_at=_when(params),
                        registered_at=_when(params), source="tmall_member_centre")
    Importer(session, vault).write([profile])
    repo.settle_message(session, "tmall_member", f"tmall:{key}", "applied", nick)
    return {field: "SUC", "member": member}
