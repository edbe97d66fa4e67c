"""The brand's fixed world: its catalogue (products, SKUs) and its organisation (regions, stores, guides).

The brand is 澜途 LANTU, a fictional sportswear label shaped like the seeds' Kappa case: shoes, apparel,
accessories and a school-uniform / kids line, sold on Tmall, Douyin, its mini-program and in stores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.synth.geography import CITIES, REGIONS
from siyu.synth.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES

BRAND = "澜途"
BRAND_EN = "LANTU"

COLOURS = ("黑色", "白色", "灰色", "藏青", "红色", "黄色", "蓝色", "绿色", "粉色", "紫色", "卡其", "米白")
COLOUR_CODES = ("BK", "WH", "GY", "NV", "RD", "YL", "BL", "GN", "PK", "PU", "KH", "CR")
WARM_COLOURS = (1, 4, 5, 6, 7, 8, 11)  # preferred in spring/summer by people who lean light
COLD_COLOURS = (0, 2, 3, 9, 10)

APPAREL_SIZES = ("S", "M", "L", "XL", "XXL")
SHOE_SIZES = tuple(str(s) for s in range(35, 46))
KIDS_SIZES = ("110", "120", "130", "140", "150", "160")
ONE_SIZE = ("均码",)
SIZES = APPAREL_SIZES + SHOE_SIZES + KIDS_SIZES + ONE_SIZE
SIZE_SYSTEMS = {
    "apparel": (0, len(APPAREL_SIZES)),
    "shoe": (len(APPAREL_SIZES), len(SHOE_SIZES)),
    "kids": (len(APPAREL_SIZES) + len(SHOE_SIZES), len(KIDS_SIZES)),
    "one": (len(SIZES) - 1, 1),
}


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    sizes: str
    weight: float
    styles: tuple[str, ...]
    materials: tuple[str, ...]
    seasons: tuple[str, ...]
    price_range: tuple[int, int]
    # multiplier on how often the category is bought in cold months (Oct–Mar) vs warm ones
    cold_bias: float = 1.0


CATEGORIES = (
    Category("SH", "鞋类", "shoe", 0.30, ("跑步鞋", "板鞋", "休闲鞋", "篮球鞋", "老爹鞋"),
             ("网布", "皮革", "织物"), ("四季", "春", "秋"), (299, 899)),
    Category("TP", "上装", "apparel", 0.26, ("T恤", "卫衣", "POLO衫", "连帽衫", "运动背心"),
             ("棉", "涤纶", "锦纶"), ("春", "夏", "秋"), (129, 499), 0.8),
    Category("OW", "外套", "apparel", 0.12, ("羽绒服", "风衣", "棉服", "夹克", "马甲"),
             ("羽绒", "尼龙", "涤纶"), ("秋", "冬"), (399, 1299), 3.0),
    Category("BT", "下装", "apparel", 0.16, ("运动裤", "短裤", "卫裤", "紧身裤", "休闲裤"),
             ("棉", "涤纶", "氨纶"), ("四季", "夏"), (129, 399)),
    Category("AC", "配件", "one", 0.10, ("双肩包", "棒球帽", "运动袜", "腰包", "护腕"),
             ("尼龙", "棉", "涤纶"), ("四季",), (39, 299)),
    Category("KD", "童装", "kids", 0.06, ("校服套装", "童鞋", "儿童卫衣", "儿童运动裤"),
             ("棉", "涤纶"), ("四季", "秋"), (99, 399)),
)

SERIES = ("风行", "星穹", "云迹", "疾速", "经典", "城市", "极光", "山野", "锋芒", "轻羽", "启程", "逐浪")
MALLS = ("万达广场", "银泰城", "大悦城", "万象城", "龙湖天街", "吾悦广场", "印象城", "来福士", "凯德广场", "百联")


@dataclass
class Catalogue:
    """Arrays indexed by product / SKU number."""

    product_code: list[str]
    product_name: list[str]
    product_category: np.ndarray  # index into CATEGORIES
    product_gender: np.ndarray  # 0 F, 1 M, 2 unisex
    product_style: list[str]
    product_material: list[str]
    product_season: list[str]
    product_price_fen: np.ndarray
    palette: np.ndarray  # [products, colours] bool
    palette_list: np.ndarray  # [products, 5] colour indexes, padded by repetition
    palette_len: np.ndarray
    sku_lookup: np.ndarray  # [products, colours, sizes] → sku index or -1
    sku_code: list[str]
    sku_product: np.ndarray
    sku_colour: np.ndarray
    sku_size: np.ndarray
    sku_price_fen: np.ndarray
    # products eligible for (category, person gender): offsets into eligible_products
    eligible_products: np.ndarray
    eligible_offsets: np.ndarray  # [categories, 2 genders, 2] start, count


def build_catalogue(rng: np.random.Generator, n_products: int = 240) -> Catalogue:
    weights = np.array([c.weight for c in CATEGORIES])
    counts = np.maximum(8, np.round(weights / weights.sum() * n_products).astype(int))
    p_code, p_name, p_cat, p_gender, p_style, p_mat, p_season, p_price = [], [], [], [], [], [], [], []
    palettes = []
    for ci, cat in enumerate(CATEGORIES):
        for k in range(counts[ci]):
            gender = int(rng.choice(3, p=[0.35, 0.30, 0.35]))
            if cat.code in ("AC", "KD"):
                gender = 2
            style = cat.styles[int(rng.integers(len(cat.styles)))]
            series = SERIES[int(rng.integers(len(SERIES)))]
            gword = ("女子", "男子", "中性")[gender] if cat.code not in ("AC", "KD") else ""
            lo, hi = cat.price_range
            price = int(rng.integers(lo // 10, hi // 10 + 1)) * 10 - 1  # 299, 349 … prices end in 9
            p_code.append(f"LT{cat.code}{24 + k % 3}{k:04d}")
            p_name.append(f"{BRAND}{series}{gword}{style}")
            p_cat.append(ci)
            p_gender.append(gender)
            p_style.append(style)
            p_mat.append(cat.materials[int(rng.integers(len(cat.materials)))])
            p_season.append(cat.seasons[int(rng.integers(len(cat.seasons)))])
            p_price.append(price * 100)
            n_col = int(rng.integers(3, 6))
            palettes.append(rng.choice(len(COLOURS), size=n_col, replace=False))
    n = len(p_code)
    palette = np.zeros((n, len(COLOURS)), dtype=bool)
    palette_list = np.zeros((n, 5), dtype=np.int64)
    palette_len = np.zeros(n, dtype=np.int64)
    for i, pal in enumerate(palettes):
        palette[i, pal] = True
        palette_len[i] = len(pal)
        palette_list[i] = np.resize(pal, 5)
    sku_lookup = -np.ones((n, len(COLOURS), len(SIZES)), dtype=np.int64)
    s_code, s_prod, s_col, s_size, s_price = [], [], [], [], []
    for i in range(n):
        start, count = SIZE_SYSTEMS[CATEGORIES[p_cat[i]].sizes]
        for c in palettes[i]:
            for s in range(start, start + count):
                sku_lookup[i, c, s] = len(s_code)
                s_code.append(f"{p_code[i]}-{COLOUR_CODES[c]}-{SIZES[s]}".replace("均码", "F"))
                s_prod.append(i)
                s_col.append(int(c))
                s_size.append(s)
                s_price.append(p_price[i])
    cat_arr, gen_arr = np.array(p_cat), np.array(p_gender)
    eligible, offsets = [], np.zeros((len(CATEGORIES), 2, 2), dtype=np.int64)
    for ci in range(len(CATEGORIES)):
        for g in (0, 1):
            idx = np.flatnonzero((cat_arr == ci) & ((gen_arr == g) | (gen_arr == 2)))
            offsets[ci, g] = (len(eligible), len(idx))
            eligible.extend(idx.tolist())
    return Catalogue(
        product_code=p_code, product_name=p_name, product_category=cat_arr, product_gender=gen_arr,
        product_style=p_style, product_material=p_mat, product_season=p_season,
        product_price_fen=np.array(p_price, dtype=np.int64), palette=palette, palette_list=palette_list,
        palette_len=palette_len, sku_lookup=sku_lookup, sku_code=s_code, sku_product=np.array(s_prod),
        sku_colour=np.array(s_col), sku_size=np.array(s_size), sku_price_fen=np.array(s_price, dtype=np.int64),
        eligible_products=np.array(eligible, dtype=np.int64), eligible_offsets=offsets,
    )


@dataclass
class Organisation:
    region_codes: list[str]
    store_code: list[str]
    store_name: list[str]
    store_city: np.ndarray  # index into CITIES
    store_district: list[str]
    store_walkin_phone: np.ndarray  # the number cashiers type for customers who won't give theirs
    guide_code: list[str]
    guide_name: list[str]
    guide_store: np.ndarray
    stores_by_city: dict[int, np.ndarray]
    guides_by_store_offsets: np.ndarray  # [stores+1]


def person_name(rng: np.random.Generator, female: bool) -> str:
    sn = [s for s, _ in SURNAMES]
    sw = np.array([w for _, w in SURNAMES])
    given = GIVEN_FEMALE if female else GIVEN_MALE
    k = 1 + int(rng.random() < 0.6)
    return sn[int(rng.choice(len(sn), p=sw / sw.sum()))] + "".join(
        given[int(i)] for i in rng.integers(len(given), size=k)
    )


def build_organisation(rng: np.random.Generator, n_persons: int) -> Organisation:
    n_stores = int(np.clip(round(n_persons / 1000), 8, 1500))
    w = np.array([c[4] for c in CITIES])
    # Every city of tier ≤ 3 gets a store first; the rest are spread by weight.
    first = [i for i, c in enumerate(CITIES) if c[2] <= 3][:n_stores]
    rest = rng.choice(len(CITIES), size=n_stores - len(first), p=w / w.sum()) if n_stores > len(first) else []
    cities = np.array(sorted(list(first) + list(rest)), dtype=np.int64)
    codes, names, districts = [], [], []
    for k, ci in enumerate(cities):
        prov, city, _tier, _region, _w, dists, _pc = CITIES[ci]
        mall = MALLS[int(rng.integers(len(MALLS)))]
        codes.append(f"S{k + 1:04d}")
        names.append(f"{BRAND}{city.removesuffix('市')}{mall}店")
        districts.append(dists[int(rng.integers(len(dists)))])
    walkin = 13_000_000_000 + rng.choice(999_999_999, size=n_stores, replace=False).astype(np.int64)
    g_code, g_name, g_store = [], [], []
    offsets = [0]
    for s in range(n_stores):
        for j in range(int(rng.integers(3, 7))):
            g_code.append(f"G{s + 1:04d}{j + 1:02d}")
            g_name.append(person_name(rng, female=rng.random() < 0.8))
            g_store.append(s)
        offsets.append(len(g_code))
    return Organisation(
        region_codes=list(REGIONS), store_code=codes, store_name=names, store_city=cities,
        store_district=districts, store_walkin_phone=walkin, guide_code=g_code, guide_name=g_name,
        guide_store=np.array(g_store, dtype=np.int64),
        stores_by_city={int(c): np.flatnonzero(cities == c) for c in np.unique(cities)},
        guides_by_store_offsets=np.array(offsets, dtype=np.int64),
    )
