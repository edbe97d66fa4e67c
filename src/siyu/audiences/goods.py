"""货找人 (goods find people): the members a product's in-stock SKUs suit — their preferred colour and
their size (shoe, apparel or kids' size, by the product's category) among the SKUs with stock, and
their gender unless the product is unisex. The result is an audience expression, so it can be counted,
saved and exported like any other."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from siyu.audiences import repository as repo
from siyu.audiences.expression import And, Node, Or, TagIn, text
from siyu.audiences.service import index
from siyu.core.errors import InvalidInput, NotFound

SIZE_TAG = {"鞋类": "鞋码", "上装": "服装尺码", "外套": "服装尺码", "下装": "服装尺码", "童装": "童装尺码"}
GENDER = {"F": "女", "M": "男"}


def read_inventory(path: Path) -> dict[str, int]:
    """SKU code → stock from a CSV with columns ``sku`` and ``stock`` (colour and size columns, if any, are
    taken from the catalogue, not the file); a bad row is named by line and field."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"sku", "stock"} - set(reader.fieldnames or [])
            if missing:
                raise InvalidInput(f"{path.name}: missing column(s) {', '.join(sorted(missing))} (need sku, stock)")
            out: dict[str, int] = {}
            for line, row in enumerate(reader, start=2):
                sku = (row["sku"] or "").strip()
                if not sku:
                    raise InvalidInput(f"{path.name} line {line}: sku is empty")
                try:
                    stock = int((row["stock"] or "").strip())
                except ValueError:
                    raise InvalidInput(f"{path.name} line {line} ({sku}): stock {row['stock']!r} is not a whole number") from None
                if stock < 0:
                    raise InvalidInput(f"{path.name} line {line} ({sku}): stock {stock} is below zero")
                out[sku] = out.get(sku, 0) + stock
            return out
    except OSError as exc:
        raise InvalidInput(f"inventory {path}: {exc}") from exc


def audience(session: Session, product_code: str, stock: dict[str, int]) -> tuple[Node | None, dict[str, Any]]:
    """The expression selecting who the product's in-stock SKUs suit (None when nothing is in stock)."""
    p = repo.product(session, product_code)
    if p is None:
        raise NotFound(f"product {product_code!r}: not in the catalogue")
    skus = repo.skus_of(session, p.id)
    unknown = sorted(code for code in stock if code.startswith(p.code) and code not in skus)
    if unknown:
        raise InvalidInput(f"inventory: SKU {unknown[0]} is not a SKU of product {p.code}")
    pairs = sorted({skus[code] for code, n in stock.items() if n > 0 and code in skus})
    facts = {"product": p.code, "name": p.name, "category": p.category, "in_stock_skus": len(pairs),
             "unisex": bool(p.unisex)}
    if not pairs:
        return None, facts
    size_tag = SIZE_TAG.get(p.category)
    if size_tag is None:  # one size: the colour is enough
        node: Node = TagIn(tag="偏好颜色", values=sorted({c for c, _ in pairs if c}))
    else:
        by_colour: dict[str, list[str]] = {}
        for colour, size in pairs:
            if colour and size:
                by_colour.setdefault(colour, []).append(size)
        terms: list[Node] = [And(and_=[TagIn(tag="偏好颜色", values=[c]), TagIn(tag=size_tag, values=sorted(s))])
                             for c, s in sorted(by_colour.items())]
        node = terms[0] if len(terms) == 1 else Or(or_=terms)
    if not p.unisex and p.gender in GENDER:
        node = And(and_=[node, TagIn(tag="性别", values=[GENDER[p.gender]])])
    return node, facts


def find_people(session: Session, tagstore: Path, product_code: str, inventory: Path) -> dict[str, Any]:
    node, facts = audience(session, product_code, read_inventory(inventory))
    if node is None:
        return {**facts, "count": 0, "text": ""}
    return {**facts, "count": len(index(tagstore).evaluate(node)), "text": text(node)}
