"""Column-wise string building for the generator (pyarrow compute; no per-row Python).

The generator writes tens of millions of values; every helper here works on whole arrays.
Values we build never contain quotes, backslashes or control characters, so JSON built by
concatenation is valid without escaping (``tests/synth`` parses every file back to prove it).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
URLSAFE = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def random_tokens(rng: np.random.Generator, n: int, length: int, prefix: str = "",
                  alphabet: np.ndarray = URLSAFE) -> pa.StringArray:
    """``n`` random strings of ``length`` characters after ``prefix`` (collisions: ~64^-length)."""
    codes = alphabet[rng.integers(0, len(alphabet), size=(n, length), dtype=np.int32)]
    raw = codes.view(f"S{length}").ravel()
    arr = pa.array(raw, type=pa.binary()).cast(pa.string())
    return concat(prefix, arr) if prefix else arr


def digits(values: np.ndarray, width: int) -> pa.StringArray:
    """Non-negative integers as zero-padded decimal strings."""
    strs = pa.array(values.astype(np.int64)).cast(pa.string())
    return pc.utf8_lpad(strs, width=width, padding="0")


def concat(*parts: pa.Array | str) -> pa.StringArray:
    """Element-wise concatenation; plain ``str`` parts are broadcast. A null part makes a null result."""
    arrays = [p for p in parts if not isinstance(p, str)]
    if not arrays:
        raise ValueError("concat needs at least one array")
    if any(a.type == pa.large_string() for a in arrays):
        parts = tuple(pa.scalar(p, pa.large_string()) if isinstance(p, str) else p.cast(pa.large_string())
                      for p in parts)
        return pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string()))
    return pc.binary_join_element_wise(*parts, "")


def take(values: Sequence[str] | pa.Array, index: np.ndarray) -> pa.StringArray:
    """values[index] for a small vocabulary and a large index array."""
    vocab = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    return vocab.take(pa.array(index.astype(np.int64)))


def beijing_time(unix_seconds: np.ndarray, fmt: str = "%Y-%m-%d %H:%M:%S") -> pa.StringArray:
    """Unix seconds → Beijing wall-clock text. China has had no DST since 1991: UTC+8 is exact.

    A window holds ~1,100 distinct days and 86,400 distinct seconds, so each is formatted once and
    looked up: an order of magnitude faster than formatting every value.
    """
    local = unix_seconds.astype(np.int64) + 8 * 3600
    day = local // 86_400
    if len(day) == 0:
        return pa.array([], type=pa.string())
    d0 = int(day.min())
    split = fmt.find("%H")
    date_fmt, time_fmt = (fmt, "") if split < 0 else (fmt[:split], fmt[split:])
    epoch = _dt.date(1970, 1, 1)
    days = pa.array([(epoch + _dt.timedelta(days=d)).strftime(date_fmt) for d in range(d0, int(day.max()) + 1)])
    date_part = days.take(pa.array(day - d0))
    if not time_fmt:
        return date_part
    return concat(date_part, _seconds_of_day(time_fmt).take(pa.array(local % 86_400)))


@lru_cache(maxsize=4)
def _seconds_of_day(fmt: str) -> pa.StringArray:
    base = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)  # only the clock time is formatted
    return pa.array([(base + _dt.timedelta(seconds=s)).strftime(fmt) for s in range(86_400)])


def iso_beijing(unix_seconds: np.ndarray) -> pa.StringArray:
    return concat(beijing_time(unix_seconds, "%Y-%m-%dT%H:%M:%S"), "+08:00")


def yuan(fen: np.ndarray) -> pa.StringArray:
    """Integer fen → '123.45' exactly (integer arithmetic, never float)."""
    fen = fen.astype(np.int64)
    sign = np.where(fen < 0, "-", "")
    absf = np.abs(fen)
    whole = pa.array(absf // 100).cast(pa.string())
    cents = digits(absf % 100, 2)
    return concat(pa.array(sign), whole, ".", cents)


def mask_middle(phone: pa.StringArray, keep_head: int, keep_tail: int, stars: int) -> pa.StringArray:
    head = pc.utf8_slice_codeunits(phone, 0, keep_head)
    tail = pc.utf8_slice_codeunits(phone, 11 - keep_tail, 11)
    return concat(head, "*" * stars, tail)


def mask_name(name: pa.StringArray) -> pa.StringArray:
    """张三丰 → 张**: the surname and a star per remaining character."""
    first = pc.utf8_slice_codeunits(name, 0, 1)
    rest = pc.utf8_length(name).to_numpy() - 1
    stars = take(["*" * i for i in range(0, 6)], np.clip(rest, 0, 5))
    return concat(first, stars)


class Json:
    """Builds one JSON object per row from columns: ``Json().s("name", arr).n("amount", arr).raw(...)``."""

    def __init__(self) -> None:
        self._parts: list[pa.Array | str] = []

    def _key(self, key: str) -> None:
        self._parts.append(("," if self._parts else "{") + f'"{key}":')

    def s(self, key: str, values: pa.Array) -> Json:
        """A string field; nulls become JSON null."""
        self._key(key)
        quoted = concat('"', values, '"')
        self._parts.append(pc.fill_null(quoted, "null"))
        return self

    def n(self, key: str, values: pa.Array | np.ndarray) -> Json:
        """A number field from integers (or preformatted numeric text); nulls become null."""
        self._key(key)
        arr = pa.array(values) if isinstance(values, np.ndarray) else values
        self._parts.append(pc.fill_null(arr.cast(pa.string()), "null"))
        return self

    def const(self, key: str, literal: str) -> Json:
        """A constant JSON literal, e.g. ``const("code", "10000")`` or ``const("msg", '"success"')``."""
        self._key(key)
        self._parts.append(literal)
        return self

    def raw(self, key: str, values: pa.Array) -> Json:
        """Pre-built JSON text (an object or array) per row."""
        self._key(key)
        self._parts.append(pc.fill_null(values, "null"))
        return self

    def build(self) -> pa.StringArray:
        self._parts.append("}")
        return _join_parts(self._parts)


def _join_parts(parts: list[pa.Array | str]) -> pa.StringArray:
    # Merge adjacent literals first: fewer, larger kernel calls.
    merged: list[pa.Array | str] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + p
        else:
            merged.append(p)
    return concat(*merged)


def json_array(items: pa.StringArray, offsets: np.ndarray) -> pa.StringArray:
    """Group consecutive JSON texts into JSON arrays; ``offsets`` has len(groups)+1 entries."""
    if isinstance(items, pa.ChunkedArray) or items.nbytes > 2**30:
        # Past 2 GB a string array needs 64-bit offsets.
        items = items.cast(pa.large_string()) if items.nbytes > 2**30 else items
        if isinstance(items, pa.ChunkedArray):
            items = items.combine_chunks()
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), items)
    sep = pa.scalar(",", items.type)
    return concat("[", pc.binary_join(lists, sep), "]")


def group_offsets(group_ids: np.ndarray, n_groups: int) -> np.ndarray:
    """Offsets for rows sorted by ``group_ids`` (0..n_groups-1, each present or not)."""
    counts = np.bincount(group_ids, minlength=n_groups)
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def scramble(values: np.ndarray, salt: int, ndigits: int = 18) -> np.ndarray:
    """A bijection on 0..10^ndigits-1 (ndigits even) that looks random: a 4-round Feistel network on
    two halves of ndigits/2 digits.

    Platform ids must be unique (an importer would read a collision as an update) and should not look
    sequential; a hash could collide, a Feistel permutation cannot.
    """
    if ndigits % 2 or not 2 <= ndigits <= 18:
        raise ValueError("ndigits must be even, 2..18")
    half = np.uint64(10 ** (ndigits // 2))
    v = values.astype(np.uint64)
    hi, lo = v // half, v % half
    for r in range(4):
        key = np.uint64((salt * 0x9E3779B1 + r * 0x85EBCA6B) % 2**32)
        f = ((lo * np.uint64(2_654_435_761)) ^ (lo >> np.uint64(7)) ^ key) % half
        hi, lo = lo, (hi + f) % half
    return (hi * half + lo).astype(np.int64)
