"""Reading saved platform API responses: one response per line (JSON Lines), or one document per file.

Every open platform wraps its payload differently and reports errors in its own envelope; a connector
gives ``responses`` a function that unwraps one response into its list of records, raising ApiError for
an error envelope. A bad line or an error response becomes one Reject naming the line; one bad record
inside a good response becomes one Reject naming the line and the record's index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError, reject
from siyu.ingest.readers import BadJson, json_lines
from siyu.ingest.schemas import Record, Reject


class ApiError(Exception):
    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(reason)
        self.field, self.value, self.reason = field, str(value), reason


def dig(obj: Any, *path: str) -> Any:
    """obj[a][b]… or None when any step is missing or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def records(path: Path, unwrap: Callable[[dict[str, Any]], list[Any]],
            convert: Callable[[dict[str, Any]], Record | list[Record]],
            label: Callable[[Any], str | None]) -> Iterator[Record | Reject]:
    """Records of every response in ``path``: ``unwrap`` finds the list, ``convert`` turns one element
    into canonical records (raising FieldError), ``label`` names an element in a reject (its id)."""
    for number, value in json_lines(path):
        where = f"line {number}"
        if isinstance(value, BadJson):
            yield Reject(str(path), where, "(line)", "", str(value))
            continue
        if not isinstance(value, dict):
            yield Reject(str(path), where, "(line)", "", "expected an API response object")
            continue
        try:
            items = unwrap(value)
        except (ApiError, FieldError) as exc:
            yield Reject(str(path), where, exc.field, str(exc.value)[:200], exc.reason)
            continue
        for k, obj in enumerate(items):
            try:
                if not isinstance(obj, dict):
                    raise FieldError("(record)", repr(obj)[:80], "expected an object")
                out = convert(obj)
            except FieldError as exc:
                name = label(obj) if isinstance(obj, dict) else None
                yield reject(path, f"{where} record {k}" + (f" ({name})" if name else ""), exc)
                continue
            if isinstance(out, list):
                yield from out
            else:
                yield out


def as_list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        # FieldError: inside a record it rejects that record; for the envelope's list, the whole line
        raise FieldError(field, repr(value)[:80], "expected a list")
    return value


def text(raw: Any) -> str:
    """An id or code sent as a string or a number (TOP and JOS send both)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError("expected text or a number")
    value = str(raw).strip()
    if not value:
        raise ValueError("empty")
    if len(value) > 64:
        raise ValueError("longer than 64 characters")
    return value


def yuan(raw: Any) -> int:
    """A yuan amount sent as a string (``"200.07"``) or, by some platforms, as a JSON number."""
    return nz.fen_from_yuan(raw if isinstance(raw, str) else str(raw))


def quantity(raw: Any) -> int:
    """A positive count sent as a number or a numeric string (JOS sends ``"itemTotal": "1"``)."""
    value = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else 0
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value
