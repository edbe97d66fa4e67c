"""WeCom (企业微信) callbacks: the ``change_external_contact`` event, encrypted or plain.

The encrypted protocol is WeCom's "加解密方案" (WXBizMsgCrypt):
- ``msg_signature = sha1(sorted(token, timestamp, nonce, encrypt) joined)``;
- ``encrypt`` is base64 of AES-256-CBC(key = base64(EncodingAESKey + "="), iv = key[:16]) over
  ``16 random bytes · 4-byte big-endian length · message · receiveid`` with PKCS#7 padding to 32 bytes;
  the receiveid is the corp id and must be ours.
- URL verification is a ``GET`` with ``echostr`` encrypted the same way; the answer is its plain text.
- A message is a ``POST`` of ``<xml><ToUserName/><Encrypt/><AgentID/></xml>``; the answer is ``success``.
In plain mode (no EncodingAESKey configured) the body is the message XML itself and the query carries
``signature = sha1(sorted(token, timestamp, nonce) joined)``.

A contact added or edited becomes (or refreshes) a WeCom profile served by the guide ``UserID`` from the
live code ``State``; every change is also an event (``wecom_add_external_contact``, ``wecom_del_follow_user``
…) so the timeline shows when a friendship began and ended.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.core.errors import BadSignature, NotConfigured, SiyuError
from siyu.core.wxcrypt import WecomCallbackConfig, WecomCrypto
from siyu.ingest import repository as repo
from siyu.ingest.schemas import WECOM, EventIn, Ident, ProfileIn
from siyu.ingest.service import Importer

CHANGES = ("add_external_contact", "edit_external_contact", "add_half_external_contact",
           "del_external_contact", "del_follow_user", "transfer_fail")

__all__ = ["WecomCallbackConfig", "WecomCrypto", "open_message", "receive_contact_change", "verify_url"]


def _xml(text: str) -> dict[str, str]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise SiyuError("XML with a DTD is refused")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise SiyuError(f"the callback body is not XML ({exc})") from None
    return {child.tag: (child.text or "").strip() for child in root}


def verify_url(crypto: WecomCrypto, query: dict[str, str]) -> str:
    """The answer to WeCom's URL verification: the decrypted ``echostr`` (plain mode: ``echostr``)."""
    echostr = query.get("echostr", "")
    if crypto.config.aes_key is None:
        crypto.check(query.get("signature"), query.get("timestamp", ""), query.get("nonce", ""))
        return echostr
    crypto.check(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""), echostr)
    return crypto.decrypt(echostr)


def open_message(crypto: WecomCrypto, query: dict[str, str], body: bytes) -> dict[str, str]:
    """The callback's message fields, after its signature (and encryption) checked out."""
    outer = _xml(body.decode("utf-8", errors="replace"))
    if "Encrypt" in outer:
        if crypto.config.aes_key is None:
            raise NotConfigured("an encrypted callback arrived; set SIYU_WECOM_AES_KEY (the EncodingAESKey)")
        crypto.check(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""), outer["Encrypt"])
        return _xml(crypto.decrypt(outer["Encrypt"]))
    if crypto.config.aes_key is not None:
        raise BadSignature("a plain callback arrived but this corp is configured for encrypted callbacks")
    crypto.check(query.get("signature"), query.get("timestamp", ""), query.get("nonce", ""))
    return outer


def receive_contact_change(session: Session, vault: Vault, msg: dict[str, str]) -> str:
    """Apply one ``change_external_contact`` message; returns the outcome (applied, duplicate, ignored)."""
    if msg.get("Event") != "change_external_contact" or msg.get("ChangeType") not in CHANGES:
        return "ignored"
    ext, guide, change = msg.get("ExternalUserID", ""), msg.get("UserID", ""), msg["ChangeType"]
    if not (8 <= len(ext) <= 64) or not guide:
        raise SiyuError(f"change_external_contact: ExternalUserID {ext[:80]!r} / UserID {guide[:80]!r} missing or malformed")
    try:
        created = datetime.fromtimestamp(int(msg.get("CreateTime", "")), tz=UTC)
    except ValueError:
        raise SiyuError(f"change_external_contact: CreateTime {msg.get('CreateTime', '')[:40]!r} is not Unix seconds") from None
    # WeCom retries a callback it got no answer to: the same fields name the same change.
    key = hashlib.sha256("|".join((msg.get("ToUserName", ""), ext, guide, change, msg.get("CreateTime", ""))).encode())
    message_id = "wecom:" + key.hexdigest()[:58]
    if not repo.claim_message(session, "wecom", message_id, change, now()):
        return "duplicate"
    profile = ProfileIn(channel="wecom", external_id=ext, idents=[Ident(WECOM, ext)], seen_at=created)
    if change in ("add_external_contact", "edit_external_contact", "add_half_external_contact"):
        profile.guide_code = guide
        profile.source = msg.get("State") or None
    props: dict[str, Any] = {"guide": guide}
    if msg.get("State"):
        props["state"] = msg["State"]
    Importer(session, vault).write([EventIn(message_id=message_id, type=f"wecom_{change}", occurred_at=created,
                                            profile=profile, properties=props)])
    repo.settle_message(session, "wecom", message_id, "applied", ext)
    return "applied"
