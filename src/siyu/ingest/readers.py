"""Opening files the way platforms write them: GBK or UTF-8 (with or without BOM), CSV or JSON Lines."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import orjson

from siyu.core.errors import UnreadableFile

ENCODINGS = ("utf-8-sig", "gb18030")
SAMPLE = 1 << 20


def detect_encoding(path: Path) -> str:
    """UTF-8 (BOM or not) if the first megabyte decodes as UTF-8, else GB18030 (a superset of GBK)."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE)
    if not head.strip():
        raise UnreadableFile(str(path), "the file is empty")
    if b"\x00" in head[:4096]:
        raise UnreadableFile(str(path), "this is a binary file, not text (CSV or JSON Lines expected)")
    # A multi-byte character may be cut at the end of the sample: an incremental decoder keeps an
    # incomplete trailing sequence pending instead of failing on it.
    final = len(head) < SAMPLE
    for enc in ENCODINGS:
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=final)
            return enc
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(str(path), "cannot be decoded as UTF-8, GBK or GB18030")


def read_head(path: Path, encoding: str, lines: int = 2) -> list[str]:
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        return [fh.readline() for _ in range(lines)]


def csv_rows(path: Path, encoding: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; a decoding error names the line it happened on."""
    encoding = encoding or detect_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        line = 1
        try:
            header = next(reader)
        except StopIteration:
            raise UnreadableFile(str(path), "the file is empty") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UnreadableFile(str(path), f"the header cannot be read ({exc})") from exc
        header = [h.strip().lstrip("\ufeff") for h in header]
        if len(set(header)) != len(header):
            raise UnreadableFile(str(path), "the header repeats a column name")
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                record = dict(zip(header, row, strict=False))
                if len(row) != len(header):
                    record["__width__"] = f"{len(row)} fields, header has {len(header)}"
                yield line, record
        except UnicodeDecodeError as exc:
            raise UnreadableFile(str(path), f"line {line + 1} is not valid {encoding} text") from exc
        except csv.Error as exc:
            raise UnreadableFile(str(path), f"line {line + 1}: {exc}") from exc


def csv_header(path: Path, encoding: str) -> list[str]:
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        row = next(csv.reader(io.StringIO(fh.readline())), [])
    return [h.strip().lstrip("\ufeff") for h in row]


class BadJson(ValueError):
    pass


def json_lines(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, parsed value or a BadJson for that line): one bad line never stops the file.

    A ``.json`` file holding one document (a saved API response, pretty-printed or not) is read whole;
    a top-level array yields its elements, numbered from 1.
    """
    encoding = detect_encoding(path)
    if path.suffix.lower() == ".json":
        try:
            doc = orjson.loads(path.read_bytes().decode(encoding))
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            doc = None
        if doc is not None:
            if isinstance(doc, list):
                yield from enumerate(doc, start=1)
            else:
                yield 1, doc
            return
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                yield number, BadJson(f"not valid {encoding} text")
                continue
            try:
                yield number, orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                yield number, BadJson(f"invalid JSON ({exc.msg})")


def first_json(path: Path) -> object:
    for _, value in json_lines(path):
        return value
    raise UnreadableFile(str(path), "the file is empty")
