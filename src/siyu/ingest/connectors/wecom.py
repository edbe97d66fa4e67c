"""WeCom customer contacts: ``externalcontact/batch/get_by_user`` responses (one per line) and single
``externalcontact/get`` responses.

A contact becomes a WeCom profile with its ``external_userid``, its WeChat ``unionid`` when the corp can
see it, and any phone the guide typed into ``remark_mobiles``; ``follow_info.userid`` is the serving guide
and ``state`` the live code the person added through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError, Probe, opt, reject, req
from siyu.ingest.readers import BadJson, json_lines
from siyu.ingest.schemas import PHONE, UNIONID, WECOM, Ident, ProfileIn, Record, Reject


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected text")
    return raw.strip()


def contact_profile(contact: dict[str, Any], follow: dict[str, Any] | None) -> ProfileIn:
    ext = req(contact, "external_userid", _text)
    if not (8 <= len(ext) <= 64):
        raise FieldError("external_userid", ext, "not a WeCom external_userid")
    profile = ProfileIn(channel="wecom", external_id=ext, idents=[Ident(WECOM, ext)],
                        name=opt(contact, "name", nz.text), gender=opt(contact, "gender", nz.gender))
    unionid = opt(contact, "unionid", _text)
    if unionid:
        profile.idents.append(Ident(UNIONID, unionid))
    if follow:
        profile.guide_code = opt(follow, "userid", _text)
        profile.seen_at = opt(follow, "createtime", nz.unix_time)
        profile.source = opt(follow, "state", nz.text)
        mobiles = follow.get("remark_mobiles") or []
        if not isinstance(mobiles, list):
            raise FieldError("follow_info.remark_mobiles", repr(mobiles)[:80], "expected a list")
        for m in mobiles:
            try:
                phone = nz.phone(m)
            except ValueError as exc:
                raise FieldError("follow_info.remark_mobiles", str(m), str(exc)) from None
            if phone:
                profile.idents.append(Ident(PHONE, phone))
    return profile


class WecomContacts:
    name, priority = "wecom_contacts", 15

    def detect(self, probe: Probe) -> bool:
        obj = probe.first_json
        return isinstance(obj, dict) and ("external_contact_list" in obj or "external_contact" in obj)

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        for number, value in json_lines(path):
            where = f"line {number}"
            if isinstance(value, BadJson) or not isinstance(value, dict):
                yield Reject(str(path), where, "(line)", "", str(value) if isinstance(value, BadJson)
                             else "expected an API response object")
                continue
            if value.get("errcode") not in (0, None):
                yield Reject(str(path), where, "errcode", str(value.get("errcode")),
                             f"API error response: {value.get('errmsg') or 'no message'}")
                continue
            if "external_contact" in value:  # externalcontact/get: one contact, its guides in follow_user
                entries = [{"external_contact": value["external_contact"], "follow_info": f}
                           for f in (value.get("follow_user") or [None])]
            else:
                entries = value.get("external_contact_list")
            if not isinstance(entries, list):
                yield Reject(str(path), where, "external_contact_list", "", "missing contact list")
                continue
            for k, entry in enumerate(entries):
                try:
                    if not isinstance(entry, dict) or not isinstance(entry.get("external_contact"), dict):
                        raise FieldError("external_contact", repr(entry)[:80], "expected a contact object")
                    follow = entry.get("follow_info")
                    yield contact_profile(entry["external_contact"], follow if isinstance(follow, dict) else None)
                except FieldError as exc:
                    yield reject(path, f"{where} contact {k}", exc)
