"""Importing files: parse with the platform's connector, write in batches, report every reject.

The caller (CLI, API) owns the transaction: one unit of work per file, so a file that turns out to be
unreadable half-way writes nothing, and files already imported stay imported. Every write is keyed by
the record's natural key, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from siyu.core.clock import now
from siyu.core.crypto import Vault
from siyu.core.errors import InvalidInput, UnreadableFile
from siyu.identity.profiles import Lookups, record_profiles
from siyu.ingest import repository as repo
from siyu.ingest.connectors.base import Connector
from siyu.ingest.connectors.mapped import MappedFile, Mapping, mapping_beside
from siyu.ingest.connectors.registry import connector_for, files_in
from siyu.ingest.connectors.tmall import detail_sibling
from siyu.ingest.memo import ProfileMemo
from siyu.ingest.orders import write_orders, write_refunds
from siyu.ingest.sales_bulk import can_take, import_frame
from siyu.ingest.schemas import (
    CHANNELS,
    EventIn,
    GuideIn,
    OrderIn,
    ProductIn,
    ProfileIn,
    Record,
    RefundIn,
    Reject,
    SkuIn,
    StoreIn,
)
from siyu.models import Guide, Product, Sku, Store

REPORT_COLUMNS = ("severity", "file", "location", "field", "value", "reason")


@dataclass
class FileReport:
    path: str
    connector: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    report_path: str | None = None

    def add(self, counts: dict[str, int]) -> None:
        self.inserted += counts.get("inserted", 0)
        self.updated += counts.get("updated", 0)
        self.unchanged += counts.get("unchanged", 0)


@dataclass
class PlannedFile:
    path: Path
    connector: Connector


def plan(path: Path) -> list[PlannedFile]:
    """Every file under ``path`` with its connector, in dependency order. Raises UnreadableFile for the
    first file that is missing, empty, garbled or of an unknown format — before anything is written."""
    files = files_in(path)
    planned = [PlannedFile(f, _mapped_or_detected(f)) for f in files]
    in_batch = {p.path for p in planned}
    kept = []
    for p in planned:
        if p.connector.name == "tmall_items" and any(
                detail_sibling(q) == p.path for q in in_batch if q != p.path):
            continue  # read together with its order report
        kept.append(p)
    return sorted(kept, key=lambda p: (p.connector.priority, str(p.path)))


def _mapped_or_detected(f: Path) -> Connector:
    mapping = mapping_beside(f)
    return MappedFile(Mapping(mapping)) if mapping else connector_for(f)


def plan_mapped(path: Path, mapping: Path) -> list[PlannedFile]:
    """``path`` (one file) read through a column mapping instead of by detection."""
    if not path.is_file():
        raise UnreadableFile(str(path), "a mapped import reads one file")
    return [PlannedFile(path, MappedFile(Mapping(mapping)))]


class _Report:
    """Rejects and warnings, streamed to a CSV next to the data so a million bad rows fit in no memory."""

    def __init__(self, directory: Path, source: Path) -> None:
        self.path = directory / f"{now().strftime('%Y%m%dT%H%M%S')}_{source.stem}.rejects.csv"
        self._fh: Any = None
        self._writer: Any = None
        self.warnings: dict[tuple[str, str, str], int] = {}

    def reject(self, r: Reject) -> None:
        self._row(("rejected", r.file, r.location, r.field, r.value, r.reason))

    def warn(self, field_: str, value: str, reason: str, n: int = 1) -> None:
        key = (field_, value, reason)
        self.warnings[key] = self.warnings.get(key, 0) + n

    def _row(self, row: tuple[str, ...]) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115 - open across batches, closed by close()
            self._writer = csv.writer(self._fh)
            self._writer.writerow(REPORT_COLUMNS)
        self._writer.writerow(row)

    def close(self, source: str) -> str | None:
        for (f, v, reason), n in sorted(self.warnings.items()):
            self._row(("warning", source, f"{n} records", f, v, reason))
        if self._fh is not None:
            self._fh.close()
            return str(self.path)
        return None


class MemoryReport:
    """Rejects and warnings of an API batch: answered in the response, not written to a file."""

    def __init__(self) -> None:
        self.rejects: list[Reject] = []
        self.warnings: dict[tuple[str, str, str], int] = {}

    def reject(self, r: Reject) -> None:
        self.rejects.append(r)

    def warn(self, field_: str, value: str, reason: str, n: int = 1) -> None:
        key = (field_, value, reason)
        self.warnings[key] = self.warnings.get(key, 0) + n


def after_bulk_write(session: Session) -> None:
    """What a database needs after a bulk import before its look-ups are fast (``repo.refresh_statistics``)."""
    repo.refresh_statistics(session)


class Importer:
    """Writes canonical records through one session; caches code → id maps for the import's duration."""

    def __init__(self, session: Session, vault: Vault, reject_dir: Path | None = None,
                 batch_size: int = 5000) -> None:
        self.s = session
        self.vault = vault
        self.reject_dir = reject_dir
        self.batch_size = batch_size
        self.channels = repo.ensure_channels(session, CHANNELS)
        self.shops = repo.shop_map(session)
        self._report: _Report | MemoryReport = MemoryReport()
        self._refresh_codes()

    def warnings(self) -> dict[tuple[str, str, str], int]:
        """(field, value, reason) → how many records were kept without that value."""
        return dict(self._report.warnings)

    def write(self, records: list[Record]) -> dict[str, int]:
        """Write already-validated records (an API batch, a push) in dependency order; returns the counts."""
        buffers: dict[type, list[Any]] = {}
        for rec in records:
            buffers.setdefault(type(rec), []).append(rec)
        report = FileReport("", "")
        self._flush(buffers, report)
        return {"inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged}

    def _refresh_codes(self) -> None:
        self.stores = repo.store_map(self.s)
        self.guides = repo.guide_map(self.s)
        # Catalogue maps are read when an order line first needs them: a push or an API call that
        # writes only a profile should not read every SKU (6 ms of a 9 ms member-centre call, profiled).
        self._product_map: dict[str, int] | None = None
        self._sku_map: dict[str, int] | None = None

    @property
    def products(self) -> dict[str, int]:
        if self._product_map is None:
            self._product_map = repo.product_map(self.s)
        return self._product_map

    @products.setter
    def products(self, value: dict[str, int]) -> None:
        self._product_map = value

    @property
    def skus(self) -> dict[str, int]:
        if self._sku_map is None:
            self._sku_map = repo.sku_map(self.s)
        return self._sku_map

    @skus.setter
    def skus(self, value: dict[str, int]) -> None:
        self._sku_map = value

    @property
    def lookups(self) -> Lookups:
        return Lookups(self.channels, self.stores, self.guides)

    def import_file(self, planned: PlannedFile, on_progress: Callable[[int], None] | None = None) -> FileReport:
        started = now()
        report = FileReport(str(planned.path), planned.connector.name)
        if self.reject_dir is None:
            raise ValueError("a file import needs a directory for its reject report")
        rejects = _Report(self.reject_dir, planned.path)
        self._report = rejects
        frame = self._columns(planned)
        if frame is not None:
            import_frame(self, planned.path, frame, report, on_progress)
        else:
            self._records(planned, report, rejects, on_progress)
        report.warnings = sum(rejects.warnings.values())
        report.report_path = rejects.close(str(planned.path))
        repo.add_import_run(self.s, path=str(planned.path), connector=planned.connector.name,
                            sha256=_sha256(planned.path), read=report.read, inserted=report.inserted,
                            updated=report.updated, unchanged=report.unchanged, rejected=report.rejected,
                            reject_report=report.report_path, started_at=started, finished_at=now())
        return report

    def _columns(self, planned: PlannedFile) -> Any:
        """The file as columns when its connector can read it so and this brand allows it, else None."""
        read = getattr(planned.connector, "read_columns", None)
        if read is None:
            return None
        return read(planned.path) if can_take(self) else None

    def _records(self, planned: PlannedFile, report: FileReport, rejects: _Report,
                 on_progress: Callable[[int], None] | None) -> None:
        buffers: dict[type, list[Any]] = {}
        pending = 0
        for rec in planned.connector.parse(planned.path):
            report.read += 1
            if isinstance(rec, Reject):
                report.rejected += 1
                rejects.reject(rec)
                continue
            buffers.setdefault(type(rec), []).append(rec)
            pending += 1
            if pending >= self.batch_size:
                self._flush(buffers, report)
                if on_progress:
                    on_progress(pending)
                pending = 0
        self._flush(buffers, report)
        if on_progress and pending:
            on_progress(pending)

    # -- batches, in dependency order --------------------------------------------------------------
    def _flush(self, buffers: dict[type, list[Any]], report: FileReport) -> None:
        for kind, handler in ((ProductIn, self._products), (StoreIn, self._stores), (SkuIn, self._skus),
                              (GuideIn, self._guides), (ProfileIn, self._profiles), (OrderIn, self._orders),
                              (RefundIn, self._refunds), (EventIn, self._events)):
            batch = buffers.pop(kind, None)
            if batch:
                report.add(handler(batch))

    def _products(self, batch: list[ProductIn]) -> dict[str, int]:
        rows = [{"code": p.code, "name": p.name, "category": p.category, "style": p.style,
                 "material": p.material, "season": p.season, "unisex": p.unisex, "gender": p.gender,
                 "list_price_fen": p.list_price_fen} for p in _last_by(batch, "code")]
        counts = _counts(repo.upsert_by_code(self.s, Product, rows))
        self.products = repo.product_map(self.s)
        return counts

    def _skus(self, batch: list[SkuIn]) -> dict[str, int]:
        rows, counts = [], {"inserted": 0, "updated": 0, "unchanged": 0}
        for k in _last_by(batch, "code"):
            pid = self.products.get(k.product_code)
            if pid is None:
                self._report.reject(Reject("", f"sku {k.code}", "product_code", k.product_code,
                                           "unknown product; import products.csv first"))
                continue
            rows.append({"code": k.code, "product_id": pid, "colour": k.colour, "size": k.size,
                         "price_fen": k.price_fen})
        counts = _counts(repo.upsert_by_code(self.s, Sku, rows))
        self.skus = repo.sku_map(self.s)
        return counts

    def _stores(self, batch: list[StoreIn]) -> dict[str, int]:
        regions = repo.ensure_regions(self.s, {s.region_code: s.region_name or s.region_code
                                               for s in batch if s.region_code})
        rows = [{"code": s.code, "name": s.name, "region_id": regions.get(s.region_code or ""),
                 "province": s.province, "city": s.city, "district": s.district, "city_tier": s.city_tier}
                for s in _last_by(batch, "code")]
        counts = _counts(repo.upsert_by_code(self.s, Store, rows))
        self.stores = repo.store_map(self.s)
        return counts

    def _guides(self, batch: list[GuideIn]) -> dict[str, int]:
        rows = [{"code": g.code, "name": g.name, "store_id": self._code(self.stores, "store_code", g.store_code)}
                for g in _last_by(batch, "code")]
        counts = _counts(repo.upsert_by_code(self.s, Guide, rows))
        self.guides = repo.guide_map(self.s)
        return counts

    def _code(self, table: dict[str, int], field_: str, code: str | None) -> int | None:
        if not code:
            return None
        found = table.get(code)
        if found is None:
            self._report.warn(field_, code, "unknown code; the record was kept without it")
        return found

    def _profiles(self, batch: list[ProfileIn]) -> dict[str, int]:
        for p in batch:
            self._code(self.stores, "store_code", p.store_code)
            self._code(self.guides, "guide_code", p.guide_code)
        _, counts = record_profiles(self.s, self.vault, self.lookups, batch)
        return counts

    def _shop(self, channel: str, code: str, name: str) -> int:
        key = (self.channels[channel], code)
        if key not in self.shops:
            repo.add_shop(self.s, key[0], code, name)
            self.shops = repo.shop_map(self.s)
        return self.shops[key]

    def _orders(self, batch: list[OrderIn]) -> dict[str, int]:
        return write_orders(self, batch)

    def _refunds(self, batch: list[RefundIn]) -> dict[str, int]:
        return write_refunds(self, batch)

    def _events(self, batch: list[EventIn]) -> dict[str, int]:
        return write_events(self.s, self.vault, self.lookups, batch)


def write_events(session: Session, vault: Vault, lookups: Lookups, batch: list[EventIn],
                 memo: ProfileMemo | None = None,
                 learned: list[tuple[ProfileIn, int]] | None = None) -> dict[str, int]:
    """Events are facts keyed by their sender's message id: a second delivery is ignored, also when two
    requests race (the insert skips ids that appeared since we looked).

    With a ``memo``, senders it already knows in full are not recorded again; the profiles this batch
    did record are appended to ``learned`` for the caller to remember once the transaction committed.
    """
    latest = {e.message_id: e for e in batch}
    known = repo.known_message_ids(session, list(latest))
    fresh = [e for m, e in latest.items() if m not in known]
    profile_ids: dict[tuple[str, str], int] = {}
    to_record = []
    for e in fresh:
        if e.profile is None:
            continue
        pid = memo.lookup(e.profile) if memo is not None else None
        if pid is None:
            to_record.append(e.profile)
        else:
            profile_ids[(e.profile.channel, e.profile.external_id)] = pid
    if to_record:
        recorded, _ = record_profiles(session, vault, lookups, to_record)
        profile_ids.update(recorded)
        if learned is not None:
            learned.extend((p, recorded[(p.channel, p.external_id)]) for p in to_record)
    stamp = now()
    repo.insert_events(session, [{
        "message_id": e.message_id, "type": e.type, "occurred_at": e.occurred_at, "properties": e.properties,
        "channel_id": lookups.channel_id[e.profile.channel] if e.profile else None,
        "profile_id": profile_ids[(e.profile.channel, e.profile.external_id)] if e.profile else None,
        "received_at": stamp, "updated_at": stamp} for e in fresh])
    return {"inserted": len(fresh), "unchanged": len(batch) - len(fresh)}


def add_note(session: Session, person_id: int, text: str, by: str, key: str, at: datetime | None = None) -> bool:
    """A guide's or operator's note on a person, kept as a ``guide_note`` event (keyword tags read it).
    ``key`` names the submission (the form's one-time key): sent twice, it is kept once. True if new."""
    text = text.strip()
    if not text or len(text) > 1000:
        raise InvalidInput(f"note: 1 to 1000 characters, got {len(text)}")
    if not by.strip():
        raise InvalidInput("by: say who writes the note")
    if not key or len(key) > 58:
        raise InvalidInput("key: a submission key of 1 to 58 characters is required")
    message_id = f"note-{key}"
    if repo.known_message_ids(session, [message_id]):
        return False
    stamp = now()
    repo.insert_events(session, [{"message_id": message_id, "type": "guide_note", "occurred_at": at or stamp,
                                  "properties": {"text": text, "by": by[:64]}, "channel_id": None, "profile_id": None,
                                  "person_id": person_id, "received_at": stamp, "updated_at": stamp}])
    return True


def person_activity(session: Session, person_id: int, orders: int = 50, events: int = 50) -> dict[str, list[Any]]:
    """What the member page shows of a person's activity: orders in every channel, interactions and notes,
    and their guides and stores."""
    return {"orders": repo.orders_of_person(session, person_id, orders),
            "events": repo.events_of_person(session, person_id, events),
            "guides": repo.guides_of_person(session, person_id)}


def event_lookups(session: Session, memo: ProfileMemo | None = None) -> Lookups:
    """What writing events needs: channel ids (stores and guides are not named by events). The channel
    table is fixed once created, so a memo keeps it."""
    if memo is not None and memo.channels is not None:
        return Lookups(memo.channels, {}, {})
    channels = repo.ensure_channels(session, CHANNELS)
    if memo is not None:
        memo.channels = channels
    return Lookups(channels, {}, {})


def _last_by(batch: list[Any], attr: str) -> list[Any]:
    return list({getattr(x, attr): x for x in batch}.values())


def _counts(t: tuple[int, int, int]) -> dict[str, int]:
    return {"inserted": t[0], "updated": t[1], "unchanged": t[2]}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

