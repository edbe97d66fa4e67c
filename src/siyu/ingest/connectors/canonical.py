"""Siyu's own canonical CSV formats: products, SKUs, stores, guides (see docs/formats.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from siyu.ingest import normalize as nz
from siyu.ingest.connectors.base import FieldError, Probe, has_columns, opt, reject, req, width_check
from siyu.ingest.readers import csv_rows
from siyu.ingest.schemas import GuideIn, ProductIn, Record, Reject, SkuIn, StoreIn


def _bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("true", "1", "yes", "是", "y"):
        return True
    if text in ("false", "0", "no", "否", "n"):
        return False
    raise ValueError("not a yes/no value")


def _gender_code(raw: str) -> str:
    text = raw.strip().upper()
    if text not in ("F", "M", "U"):
        raise ValueError("must be F, M or U")
    return text


def _int(raw: str) -> int:
    return int(str(raw).strip())


class _CsvConnector:
    name = "canonical"
    priority = 0
    columns: tuple[str, ...] = ()

    def detect(self, probe: Probe) -> bool:
        return has_columns(probe, *self.columns)

    def parse(self, path: Path) -> Iterator[Record | Reject]:
        for line, row in csv_rows(path):
            try:
                width_check(row)
                yield self.record(row)
            except FieldError as exc:
                yield reject(path, f"line {line}", exc)

    def record(self, row: dict[str, str]) -> Record:
        raise NotImplementedError


class Products(_CsvConnector):
    name, priority = "products", 0
    columns = ("product_code", "name", "category", "list_price")

    def record(self, row: dict[str, str]) -> Record:
        return ProductIn(code=req(row, "product_code"), name=req(row, "name"), category=req(row, "category"),
                         list_price_fen=req(row, "list_price", nz.fen_from_yuan), style=opt(row, "style"),
                         material=opt(row, "material"), season=opt(row, "season"),
                         gender=opt(row, "gender", _gender_code) or "U", unisex=opt(row, "unisex", _bool) or False)


class Skus(_CsvConnector):
    name, priority = "skus", 1
    columns = ("sku_code", "product_code", "price")

    def record(self, row: dict[str, str]) -> Record:
        return SkuIn(code=req(row, "sku_code"), product_code=req(row, "product_code"),
                     price_fen=req(row, "price", nz.fen_from_yuan), colour=opt(row, "colour"), size=opt(row, "size"))


class Stores(_CsvConnector):
    name, priority = "stores", 0
    columns = ("store_code", "name", "region_code")

    def record(self, row: dict[str, str]) -> Record:
        return StoreIn(code=req(row, "store_code"), name=req(row, "name"), region_code=opt(row, "region_code"),
                       region_name=opt(row, "region_name"), province=opt(row, "province"), city=opt(row, "city"),
                       district=opt(row, "district"), city_tier=opt(row, "city_tier", _int))


class Guides(_CsvConnector):
    name, priority = "guides", 1
    columns = ("guide_code", "name", "store_code")

    def record(self, row: dict[str, str]) -> Record:
        return GuideIn(code=req(row, "guide_code"), name=req(row, "name"), store_code=opt(row, "store_code"))
