"""An audience written out: a member list for operations (CSV, or Excel) with each person's card, tier
and masked phone, or the phones hashed for an ad platform's seed audience (SHA-256 and MD5 of the
11-digit number, lower-case hex, one phone a line: what Tencent Ads and Ocean Engine take). Phones never
leave in clear text; placeholder numbers (the blocklist) never leave at all."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from siyu.audiences.expression import parse, text
from siyu.audiences.service import index
from siyu.core.config import Settings
from siyu.core.crypto import Vault
from siyu.core.errors import InvalidInput
from siyu.identity.service import phones_of
from siyu.loyalty.service import member_cards

Format = Literal["csv", "xlsx", "hashed"]


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def hashed(phone: str) -> tuple[str, str]:
    return hashlib.sha256(phone.encode()).hexdigest(), hashlib.md5(phone.encode()).hexdigest()


def export(session: Session, vault: Vault, settings: Settings, expression: str, fmt: Format, out: Path
           ) -> dict[str, Any]:
    if fmt not in ("csv", "xlsx", "hashed"):
        raise InvalidInput(f"format: {fmt!r} is not csv, xlsx or hashed")
    node = parse(expression)
    persons = sorted(index(settings.tagstore_dir).evaluate(node))
    phones = phones_of(session, vault, settings, persons)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "hashed":
        unique = sorted({p for ps in phones.values() for p in ps})
        with out.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["phone_sha256", "phone_md5"])
            w.writerows(hashed(p) for p in unique)
        return {"audience": text(node), "persons": len(persons), "rows": len(unique), "path": str(out)}
    cards = member_cards(session, persons)
    header = ["person_id", "card_no", "tier", "phone"]
    rows = [[p, *cards.get(p, ("", "")), mask(phones[p][0]) if p in phones else ""] for p in persons]
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8-sig") as f:  # the BOM: Excel opens Chinese text right
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("人群包")
        ws.append(["人群", text(node)])
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.save(out)
    return {"audience": text(node), "persons": len(persons), "rows": len(rows), "path": str(out)}
