"""Which connector reads a file: each connector recognises its platform's header or JSON shape."""

from __future__ import annotations

from pathlib import Path

from siyu.core.errors import UnreadableFile
from siyu.ingest.connectors.base import Connector, Probe
from siyu.ingest.connectors.canonical import Guides, Products, Skus, Stores
from siyu.ingest.connectors.douyin import DouyinOrders
from siyu.ingest.connectors.jd import JdOrders
from siyu.ingest.connectors.mapped import mapping_beside
from siyu.ingest.connectors.miniprogram import Events, MiniMembers, MiniOrders, MiniRefunds
from siyu.ingest.connectors.pos import PosMembers, PosReturns, PosSales
from siyu.ingest.connectors.taobao_top import TopRefunds, TopTrades
from siyu.ingest.connectors.tmall import TmallItems, TmallOrders
from siyu.ingest.connectors.wecom import WecomContacts
from siyu.ingest.connectors.youzan import YouzanTrades
from siyu.ingest.readers import BadJson, csv_header, detect_encoding, first_json

CONNECTORS: tuple[Connector, ...] = (
    # More specific formats first: a POS member file also has guide_code, name and store_code columns.
    Products(), Skus(), Stores(), PosMembers(), PosSales(), PosReturns(), Guides(), TmallOrders(),
    TmallItems(), TopTrades(), TopRefunds(), JdOrders(), YouzanTrades(), DouyinOrders(), MiniMembers(),
    MiniOrders(), MiniRefunds(), Events(), WecomContacts(),
)
SUFFIXES = {".csv", ".jsonl", ".json", ".ndjson", ".txt"}
# read only through a mapping file beside them (no platform writes these)
MAPPED_SUFFIXES = {".xlsx", ".parquet"}


def probe(path: Path) -> Probe:
    if not path.exists():
        raise UnreadableFile(str(path), "no such file or directory")
    if not path.is_file():
        raise UnreadableFile(str(path), "not a regular file")
    encoding = detect_encoding(path)
    header = None
    obj = None
    with open(path, encoding=encoding, errors="replace") as fh:
        start = fh.read(1).lstrip()
    if start in ("{", "["):
        obj = first_json(path)
        if isinstance(obj, BadJson):
            raise UnreadableFile(str(path), f"the first line is not valid JSON ({obj})")
    else:
        header = csv_header(path, encoding)
    return Probe(path=path, encoding=encoding, header=header, first_json=obj)


def connector_for(path: Path) -> Connector:
    """The connector that recognises ``path``, or UnreadableFile saying what was expected."""
    p = probe(path)
    for connector in CONNECTORS:
        if connector.detect(p):
            return connector
    what = f"columns {', '.join(p.header[:6])}…" if p.header else "a JSON object with keys " + ", ".join(
        list(p.first_json)[:6] if isinstance(p.first_json, dict) else [])
    raise UnreadableFile(str(path), f"not a format Siyu knows ({what}); see docs/formats.md")


def files_in(path: Path) -> list[Path]:
    """Files to import under ``path`` (a file or a directory), skipping hidden and underscore folders
    such as the generator's ``_truth``."""
    if not path.exists():
        raise UnreadableFile(str(path), "no such file or directory")
    if path.is_file():
        return [path]
    found = []
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path).parts
        if any(p.startswith(("_", ".")) for p in rel) or not f.is_file():
            continue
        if f.suffix.lower() in SUFFIXES or (f.suffix.lower() in MAPPED_SUFFIXES and mapping_beside(f)):
            found.append(f)
    if not found:
        raise UnreadableFile(str(path), "the directory holds no CSV or JSON Lines files")
    return found
