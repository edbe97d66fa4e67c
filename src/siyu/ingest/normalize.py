"""Normalising what platforms send: phones, amounts, timestamps, addresses, genders.

Every function raises ``ValueError`` with a short reason; the connector turns that into a reject that
names the record and the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from siyu.core.clock import SHANGHAI
from siyu.core.money import MoneyError, yuan_to_fen

_PHONE = re.compile(r"^1[3-9]\d{9}$")
# 138****1234 (Taobao, JD), 1********35 (Douyin e-commerce), *******1035 (Douyin instant retail)
_MASKED = re.compile(r"^(?:1\d{2}\*{4}\d{4}|1\*{8}\d{2}|\*{7}\d{4})$")


def clean_phone_text(raw: str | None) -> str:
    if raw is None:
        return ""
    text = str(raw).strip().lstrip("'").replace(" ", "").replace("-", "")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    return text


def phone(raw: str | None) -> str | None:
    """A full mainland mobile number in its 11-digit form, or None when empty."""
    text = clean_phone_text(raw)
    if not text:
        return None
    if not _PHONE.match(text):
        raise ValueError("not a mainland mobile number")
    return text


def phone_or_masked(raw: str | None) -> tuple[str | None, str | None]:
    """(full phone, masked phone): a masked number is kept as a partial identifier, never as a phone."""
    text = clean_phone_text(raw)
    if not text:
        return None, None
    if _MASKED.match(text):
        return None, text
    if _PHONE.match(text):
        return text, None
    raise ValueError("neither a mobile number nor a masked one")


def mask_phone(full: str) -> str:
    return f"{full[:3]}****{full[-4:]}"


def receiver_mask(full: str | None, masked: str | None = None) -> str | None:
    """A receiver phone's mask for ``orders.receiver_phone_mask``: '' for a number of another form (so
    that it is not looked at again); without a full phone, the platform's mask when it has a mask's
    form (138****1234, 1********35), else None."""
    if full is None:
        text = clean_phone_text(masked) if masked else None
        return text if text and _MASKED.match(text) else None
    return mask_phone(full) if _PHONE.match(full) else ""


_PLAIN_YUAN = re.compile(r"(\d{1,12})(?:\.(\d{1,2}))?")


def fen_from_yuan(raw: str | int | None, *, allow_blank: bool = False) -> int:
    # Fast path for the overwhelmingly common '123.45' (exact integer arithmetic, like the slow path).
    if isinstance(raw, str):
        m = _PLAIN_YUAN.fullmatch(raw)
        if m:
            cents = m.group(2) or "0"
            return int(m.group(1)) * 100 + int(cents.ljust(2, "0"))
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if allow_blank:
            return 0
        raise ValueError("missing amount")
    try:
        fen = yuan_to_fen(raw)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc
    if fen < 0:
        raise ValueError("negative amount")
    return fen


def fen_from_fen(raw: object) -> int:
    """Platforms that count in fen (Douyin) send integers; anything else is an error, never a guess."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw.strip())
        raise ValueError("amount in fen must be an integer")
    if raw < 0:
        raise ValueError("negative amount")
    return raw


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
                 "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def beijing_text(raw: str | None, *, allow_blank: bool = True) -> datetime | None:
    """'2024-06-18 10:23:45' (Beijing time, also '/'-separated or ISO with an offset) → UTC."""
    if raw is not None and not isinstance(raw, str):
        raise ValueError("expected a date-time text")
    text = (raw or "").strip()
    if not text:
        if allow_blank:
            return None
        raise ValueError("missing time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
        for fmt in _TIME_FORMATS:
            try:
                value = datetime.strptime(text, fmt)  # noqa: DTZ007 - naive Beijing time, localised below
                break
            except ValueError:
                continue
        if value is None:
            raise ValueError("not a date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    if not 2000 <= value.year <= 2100:
        raise ValueError("date-time out of range")
    return value.astimezone(UTC)


def unix_time(raw: object, *, allow_zero: bool = True) -> datetime | None:
    """Unix seconds or milliseconds (told apart by size) → UTC; 0 means 'not yet' on most platforms."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        else:
            raise ValueError("not a Unix timestamp")
    if raw == 0:
        if allow_zero:
            return None
        raise ValueError("missing time")
    seconds = raw / 1000 if raw > 10**11 else raw
    value = datetime.fromtimestamp(seconds, tz=UTC)
    if not 2000 <= value.year <= 2100:
        raise ValueError("timestamp out of range")
    return value


def birthday(raw: str | None) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text.replace("/", "-"))
    except ValueError as exc:
        raise ValueError("not a date") from exc
    if not 1900 <= value.year <= 2030:
        raise ValueError("birthday out of range")
    return value


def gender(raw: object) -> str | None:
    """F / M / None from the many spellings platforms use (WeCom: 1 male, 2 female, 0 unknown)."""
    text = str(raw).strip().lower() if raw is not None else ""
    if text in ("f", "female", "女", "2"):
        return "F"
    if text in ("m", "male", "男", "1"):
        return "M"
    if text in ("", "0", "u", "unknown", "未知", "none"):
        return None
    raise ValueError("unknown gender")


_ADDR = re.compile(r"^\s*(?P<p>\S+?(?:省|市|自治区|特别行政区))\s*(?P<c>\S+?(?:市|自治州|地区|盟))?\s*"
                   r"(?P<d>\S+?(?:区|县|市|旗|街道|镇))?\s*(?P<rest>.*?)\s*(?:\((?P<zip>\d{6})\))?\s*$")


def split_address(raw: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """'浙江省 杭州市 西湖区 文三路100号(310000)' → (province, city, district, street)."""
    text = (raw or "").strip()
    if not text:
        return None, None, None, None
    m = _ADDR.match(text)
    if not m:
        return None, None, None, text
    province, city, district, rest = m.group("p"), m.group("c"), m.group("d"), m.group("rest")
    if city is None and province.endswith("市"):
        city = province  # 北京市 北京市 …, or the municipality written once
    return province, city, district, rest or None


def text(raw: object, *, max_len: int = 255, field: str = "text") -> str | None:
    if raw is None:
        return None
    if isinstance(raw, dict | list | bool):  # a structure where text belongs is a mistake, not text
        raise ValueError(f"expected text, got {type(raw).__name__ if not isinstance(raw, bool) else 'true/false'}")
    value = str(raw).strip()
    if not value:
        return None
    if len(value) > max_len:
        raise ValueError(f"longer than {max_len} characters")
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value
