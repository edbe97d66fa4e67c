"""``siyu oneid dedupe``: cluster any list of people (a CSV from another system) with OneID's rules.

The config names the file's columns, whatever they are called::

    columns: {name: 姓名, phone: 手机, email: 邮箱, birthday: 生日, address: 地址}
    ids: [会员卡号, unionid]          # exact identifiers, each column its own kind

Rows are joined exactly as profiles are: by a shared full phone, email or id, except a value shared by
more rows than the fan-out limit or on the blocklist, and except a phone or email whose rows disagree on
the name (each name then clusters on its own). Rows with the same full name and birthday are joined too
(what CRMs match members on when lists carry no phone), except on a system's placeholder birthday. Rows with a masked phone are matched probabilistically on
masked phone, name and city / district (Splink), as OneID does, when the list is large enough for the
model. Nothing is stored: the file goes in, a copy with ``cluster_id`` and ``cluster_size`` comes out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from siyu.analytics.engine import connect
from siyu.analytics.oneid import connected_components, match_links
from siyu.analytics.oneid_match import probabilistic_matches
from siyu.core.config import Settings
from siyu.core.errors import InvalidInput, UnreadableFile
from siyu.identity.profiles import normalise_name, surname_of
from siyu.ingest import normalize as nz
from siyu.ingest.readers import csv_rows, detect_encoding

FIELDS = ("name", "phone", "email", "birthday", "address")


@dataclass
class DedupeReport:
    rows: int
    clusters: int
    duplicated_rows: int  # rows in a cluster of two or more
    skipped_values: int  # shared values not used to join (fan-out or blocklist)
    probabilistic: int
    out: Path
    # values that could not be read, each as "line N: column 'value' (why)"; their rows are clustered
    # on what else they carry
    unusable: list[str]


# birthdays systems fill in when they have none: the same name and one of these says nothing
PLACEHOLDER_BIRTHDAYS = frozenset({"1900-01-01", "1970-01-01"})


def read_config(path: Path) -> tuple[dict[str, str], list[str]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UnreadableFile(str(path), f"not a readable YAML file ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("columns", {}), dict):
        raise InvalidInput(f"{path}: expected 'columns: {{name: …, phone: …}}' and optionally 'ids: [...]'")
    unknown = set(raw) - {"columns", "ids"} | set(raw.get("columns", {})) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"{path}: unknown key {sorted(unknown)[0]!r}; columns may be {', '.join(FIELDS)}")
    ids = raw.get("ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput(f"{path}: 'ids' must be a list of column names")
    columns = {k: str(v) for k, v in raw.get("columns", {}).items()}
    if not columns and not ids:
        raise InvalidInput(f"{path}: map at least one column")
    return columns, ids


def dedupe(path: Path, config: Path, out: Path, settings: Settings) -> DedupeReport:
    columns, ids = read_config(config)
    encoding = detect_encoding(path)
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    for n, (line, row) in enumerate(csv_rows(path, encoding)):
        if n == 0:
            missing = [c for c in [*columns.values(), *ids] if c not in row]
            if missing:
                raise UnreadableFile(str(path), f"no column {missing[0]!r} (named in {config.name})")
        row.pop("__width__", None)
        rows.append(row)
        lines.append(line)
    profile, node, names, masks, unusable = [], [], [], [], []

    def read(row: dict[str, str], line: int, field: str, parse: Any) -> Any:
        """The row's value of a mapped field, parsed; None, and noted, when it cannot be read."""
        raw = row.get(columns[field]) if field in columns else None
        try:
            return parse(raw)
        except ValueError as exc:
            unusable.append(f"line {line}: {columns[field]} {(raw or '')[:40]!r} ({exc})")
            return None

    for i, (row, line) in enumerate(zip(rows, lines, strict=True), 1):
        name = normalise_name(row.get(columns.get("name", "")))
        surname = surname_of(row.get(columns.get("name", "")))
        names.append(name)
        full, masked = read(row, line, "phone", nz.phone_or_masked) or (None, None)
        if full:
            profile.append(i)
            node.append(f"phone:{full}")
        email = read(row, line, "email", _email)
        if email:
            profile.append(i)
            node.append(f"email:{email}")
        born = read(row, line, "birthday", nz.birthday)
        if name and born and born.isoformat() not in PLACEHOLDER_BIRTHDAYS:
            profile.append(i)
            node.append(f"born:{name}|{born.isoformat()}")
        for col in ids:
            value = (row.get(col) or "").strip()
            if value:
                profile.append(i)
                node.append(f"id:{col}:{value}")
        mask = nz.mask_phone(full) if full else masked
        city = district = None
        if "address" in columns:
            _, city, district, _ = nz.split_address(row.get(columns["address"]))
        masks.append({"unique_id": i, "mask7": mask, "name": name, "surname": surname, "city": city,
                      "district": district, "has_full": full is not None})
    n = len(rows)
    profiles = pa.table({"profile_id": pa.array(range(1, n + 1), pa.int64()),
                         "channel_id": pa.array([1] * n, pa.int64()), "name_bidx": pa.array(names, pa.string())})
    links = pa.table({"profile_id": pa.array(profile, pa.int64()), "node": pa.array(node, pa.string())})
    with connect() as con:
        records = pa.Table.from_pylist([m for m in masks if m["mask7"] and (m["has_full"] or m["surname"])],
                                       schema=pa.schema([("unique_id", pa.int64()), ("mask7", pa.string()),
                                                         ("name", pa.string()), ("surname", pa.string()),
                                                         ("city", pa.string()), ("district", pa.string()),
                                                         ("has_full", pa.bool_())]))
        matches = probabilistic_matches(con, records, min_weight=settings.oneid_match_weight)
        links = pa.concat_tables([links, match_links(matches["profile_a"], matches["profile_b"])])
        empty = pa.table({"profile_id": pa.array([], pa.int64()), "node": pa.array([], pa.string()),
                          "orders": pa.array([], pa.int64()), "total_orders": pa.array([], pa.int64())})
        # one source: the per-channel limit (meant for "three POS cards on one phone") is the fan-out limit
        comps = connected_components(con, profiles, links, empty, max_fanout=settings.oneid_max_fanout,
                                     max_per_channel=settings.oneid_max_fanout,
                                     blocked=[f"phone:{p}" for p in settings.oneid_blocklist])
    cluster = dict(zip(comps.labels["profile_id"].to_pylist(), comps.labels["component"].to_pylist(), strict=True))
    size: dict[int, int] = {}
    for c in cluster.values():
        size[c] = size.get(c, 0) + 1
    _write(out, rows, cluster, size)
    return DedupeReport(rows=n, clusters=len(size), duplicated_rows=sum(s for s in size.values() if s > 1),
                        skipped_values=comps.super_nodes.num_rows, probabilistic=matches.num_rows, out=out,
                        unusable=unusable)


def _email(raw: str | None) -> str | None:
    text = (raw or "").strip().lower()
    if not text:
        return None
    if "@" not in text.strip("@"):
        raise ValueError("not an email address")
    return text


def _write(out: Path, rows: list[dict[str, str]], cluster: dict[int, int], size: dict[int, int]) -> None:
    header: list[Any] = list(rows[0]) if rows else []
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:  # with a BOM: Excel opens it as UTF-8
        w = csv.writer(fh)
        w.writerow([*header, "cluster_id", "cluster_size"])
        for i, row in enumerate(rows, 1):
            c = cluster[i]
            w.writerow([*(row.get(h, "") for h in header), c, size[c]])
