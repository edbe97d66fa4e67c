"""Siyu's canonical master data: products, SKUs, stores and guides (UTF-8 CSV)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from siyu.synth.geography import CITIES, REGIONS
from siyu.synth.text import take, yuan
from siyu.synth.world import CATEGORIES, COLOURS, SIZES
from siyu.synth.writers.common import write_csv


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    cat, org, out = brand.cat, brand.org, brand.out
    counts = {}
    counts["catalog/products.csv"] = write_csv({
        "product_code": pa.array(cat.product_code),
        "name": pa.array(cat.product_name),
        "category": take([c.name for c in CATEGORIES], cat.product_category),
        "style": pa.array(cat.product_style),
        "material": pa.array(cat.product_material),
        "season": pa.array(cat.product_season),
        "gender": take(["F", "M", "U"], cat.product_gender),
        "unisex": take(["false", "false", "true"], cat.product_gender),
        "list_price": yuan(cat.product_price_fen),
    }, out / "catalog/products.csv")
    counts["catalog/skus.csv"] = write_csv({
        "sku_code": pa.array(cat.sku_code),
        "product_code": take(cat.product_code, cat.sku_product),
        "colour": take(COLOURS, cat.sku_colour),
        "size": take(SIZES, cat.sku_size),
        "price": yuan(cat.sku_price_fen),
    }, out / "catalog/skus.csv")
    sc = org.store_city
    counts["org/stores.csv"] = write_csv({
        "store_code": pa.array(org.store_code),
        "name": pa.array(org.store_name),
        "region_code": take([c[3] for c in CITIES], sc),
        "region_name": take([REGIONS[c[3]] for c in CITIES], sc),
        "province": take([c[0] for c in CITIES], sc),
        "city": take([c[1] for c in CITIES], sc),
        "district": pa.array(org.store_district),
        "city_tier": pa.array(np.array([c[2] for c in CITIES])[sc]),
    }, out / "org/stores.csv")
    counts["org/guides.csv"] = write_csv({
        "guide_code": pa.array(org.guide_code),
        "name": pa.array(org.guide_name),
        "store_code": take(org.store_code, org.guide_store),
    }, out / "org/guides.csv")
    return counts
