"""The Segment tracking API's messages (identify, track, page, screen, group, alias) as Siyu events.

Follows Segment's HTTP Tracking API spec: every message has ``type``, ``userId`` and/or ``anonymousId``
(alias: ``userId`` and ``previousId``), an optional ``messageId`` (Segment's de-duplication key) and
``timestamp``; without a timestamp the time is corrected for the client's clock skew from
``originalTimestamp`` and the batch's ``sentAt``, as Segment does.

Who sent it becomes an ``api`` profile: ``u:<userId>`` or, for an anonymous visitor, ``a:<anonymousId>``.
Both ids are identifiers, so OneID joins a visitor's anonymous events to the account they later log in
with. Personal traits (phone, email, name, birthday, address) go to the profile, encrypted, and are not
kept in the event's properties.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError
from siyu.ingest.schemas import (
    ANONYMOUS,
    BRAND_USER,
    EMAIL,
    OPENID_MP,
    PHONE,
    UNIONID,
    EventIn,
    Ident,
    ProfileIn,
)

TYPES = ("identify", "track", "page", "screen", "group", "alias")
PERSONAL_TRAITS = frozenset({"phone", "mobile", "email", "name", "firstName", "lastName", "first_name",
                             "last_name", "birthday", "address", "unionid", "openid", "gender", "createdAt"})
MAX_ID = 120


def _id(msg: dict[str, Any], name: str) -> str | None:
    raw = msg.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise FieldError(name, repr(raw)[:80], "expected a string")
    text = str(raw).strip()
    if not text or len(text) > MAX_ID:
        raise FieldError(name, text[:80], f"must be 1 to {MAX_ID} characters")
    return text


def _time(raw: Any, name: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise FieldError(name, repr(raw)[:80], "expected an ISO-8601 date-time")
    try:
        return nz.beijing_text(raw, allow_blank=False)
    except ValueError as exc:
        raise FieldError(name, raw[:80], str(exc)) from None


def _object(msg: dict[str, Any], name: str) -> dict[str, Any]:
    value = msg.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(name, repr(value)[:80], "expected an object")
    return value


def occurred_at(msg: dict[str, Any], sent_at: datetime | None, received_at: datetime) -> datetime:
    stamp = _time(msg.get("timestamp"), "timestamp")
    if stamp:
        return stamp
    original = _time(msg.get("originalTimestamp"), "originalTimestamp")
    if original and sent_at:
        return received_at - (sent_at - original)
    return original or received_at


def message_id(msg: dict[str, Any]) -> str:
    raw = msg.get("messageId")
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        return text if len(text) <= 64 else "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:57]
    if raw is not None and not isinstance(raw, str):
        raise FieldError("messageId", repr(raw)[:80], "expected a string")
    # No id: the same content sent twice (a client retry) is still one event.
    body = orjson.dumps(msg, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(body).hexdigest()[:57]


def _traits_profile(profile: ProfileIn, traits: dict[str, Any]) -> None:
    def field(name: str, fn: Any) -> Any:
        raw = traits.get(name)
        if raw is None or raw == "":
            return None
        try:
            return fn(raw)
        except (ValueError, TypeError) as exc:
            raise FieldError(f"traits.{name}", str(raw)[:80], str(exc) or "invalid") from None

    phone = field("phone", nz.phone) or field("mobile", nz.phone)
    if phone:
        profile.idents.append(Ident(PHONE, phone))
    email = field("email", _email)
    if email:
        profile.idents.append(Ident(EMAIL, email))
    for name, kind in (("unionid", UNIONID), ("openid", OPENID_MP)):
        value = field(name, _token)
        if value:
            profile.idents.append(Ident(kind, value))
    first, last = field("firstName", nz.text), field("lastName", nz.text)
    profile.name = field("name", nz.text) or ((last or "") + (first or "") or None)
    profile.gender = field("gender", nz.gender)
    profile.birthday = field("birthday", lambda v: nz.birthday(str(v)[:10]))
    profile.registered_at = field("createdAt", lambda v: _time(v, "traits.createdAt"))
    address = traits.get("address")
    if isinstance(address, dict):
        profile.province = field_of(address, "state")
        profile.city = field_of(address, "city")
        profile.address = nz.text(address.get("street")) if address.get("street") else None


def field_of(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    return nz.text(value, max_len=32) if isinstance(value, str) and value.strip() else None


def _email(raw: Any) -> str:
    text = str(raw).strip().lower()
    if len(text) > 254 or "@" not in text or text.startswith("@") or text.endswith("@") or " " in text:
        raise ValueError("not an email address")
    return text


def _token(raw: Any) -> str:
    text = str(raw).strip()
    if not 8 <= len(text) <= 64:
        raise ValueError("not a WeChat id")
    return text


def segment_event(msg: Any, sent_at: datetime | None, received_at: datetime) -> EventIn:
    """One Segment message → an event with its sender's profile. Raises FieldError naming the field."""
    if not isinstance(msg, dict):
        raise FieldError("(message)", repr(msg)[:80], "expected a JSON object")
    kind = msg.get("type")
    if kind not in TYPES:
        raise FieldError("type", str(kind)[:80], f"must be one of {', '.join(TYPES)}")
    user_id, anonymous_id = _id(msg, "userId"), _id(msg, "anonymousId")
    properties: dict[str, Any]
    if kind == "alias":
        previous = _id(msg, "previousId")
        if not user_id or not previous:
            raise FieldError("previousId" if user_id else "userId", "", "alias needs userId and previousId")
        properties = {"previousId": previous}
    elif not user_id and not anonymous_id:
        raise FieldError("userId", "", "a message needs userId or anonymousId")
    profile = ProfileIn(channel="api", external_id=f"u:{user_id}" if user_id else f"a:{anonymous_id}")
    if user_id:
        profile.idents.append(Ident(BRAND_USER, user_id))
    if anonymous_id:
        profile.idents.append(Ident(ANONYMOUS, anonymous_id))
    if kind == "track":
        event = msg.get("event")
        if not isinstance(event, str) or not event.strip() or len(event.strip()) > 64:
            raise FieldError("event", str(event)[:80], "track needs an event name of 1 to 64 characters")
        event_type, properties = event.strip(), _object(msg, "properties")
    elif kind in ("page", "screen"):
        event_type = kind
        properties = dict(_object(msg, "properties"))
        for extra in ("name", "category"):
            if isinstance(msg.get(extra), str):
                properties[extra] = msg[extra]
    elif kind == "identify":
        event_type = kind
        traits = _object(msg, "traits")
        _traits_profile(profile, traits)
        properties = {k: v for k, v in traits.items() if k not in PERSONAL_TRAITS}
    elif kind == "group":
        event_type = kind
        properties = {"groupId": _id(msg, "groupId"), **{k: v for k, v in _object(msg, "traits").items()
                                                         if k not in PERSONAL_TRAITS}}
    else:  # alias: the earlier id, whatever kind it was, now names this user too
        event_type = kind
        profile.idents.append(Ident(BRAND_USER, properties["previousId"]))
        profile.idents.append(Ident(ANONYMOUS, properties["previousId"]))
    when = occurred_at(msg, sent_at, received_at)
    profile.seen_at = when
    if len(orjson.dumps(properties)) > 32_000:
        raise FieldError("properties", "", "larger than 32 KB (Segment's limit per message)")
    return EventIn(message_id=message_id(msg), type=event_type, occurred_at=when, profile=profile,
                   properties=properties or None)


def batch_messages(body: Any) -> tuple[list[Any], datetime | None]:
    """The messages of a ``/v1/batch`` body and its ``sentAt``; raises FieldError for a bad envelope."""
    if not isinstance(body, dict):
        raise FieldError("(body)", "", "expected a JSON object")
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise FieldError("batch", repr(batch)[:80], "expected an array of messages")
    return batch, _time(body.get("sentAt"), "sentAt")
