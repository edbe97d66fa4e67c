"""Canonical records: what every connector turns a platform's data into.

Dataclasses with slots rather than Pydantic models: a large import creates tens of millions of these,
and the connectors have already validated every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Identifier kinds. Joining kinds link profiles into one person; partial kinds never join on their own.
PHONE = "phone"
EMAIL = "email"
UNIONID = "wechat_unionid"
OPENID_MP = "wechat_openid_mp"
WECOM = "wecom_external_userid"
TAOBAO_NICK = "taobao_nick"
TAOBAO_OUID = "taobao_open_uid"
OAID = "taobao_oaid"
JD_PIN = "jd_pin"
DOUYIN = "douyin_open_id"
YOUZAN = "youzan_open_id"
CARD = "member_card"
POS_CUSTOMER = "pos_customer_id"
MASKED_PHONE = "masked_phone"
# The brand's own account id (Segment ``userId``) and a device / browser id (Segment ``anonymousId``).
BRAND_USER = "brand_user_id"
ANONYMOUS = "anonymous_id"

PII_KINDS = frozenset({PHONE, EMAIL, MASKED_PHONE})
JOINING_KINDS = frozenset({PHONE, EMAIL, UNIONID, OPENID_MP, WECOM, TAOBAO_NICK, TAOBAO_OUID, OAID, JD_PIN,
                           DOUYIN, YOUZAN, CARD, POS_CUSTOMER, BRAND_USER, ANONYMOUS})
# A platform's account ids. Several profiles of one channel carrying one of them are one account seen
# through several doors (a Tmall buyer's CSV export keyed by nick, the TOP trades keyed by open uid, the
# member centre's ``member:nick``), not strangers behind a placeholder, so OneID's per-channel fan-out
# guard, which catches three POS cards on a walk-in phone, does not apply to them (the total one does).
ACCOUNT_KINDS = frozenset({TAOBAO_NICK, TAOBAO_OUID, JD_PIN, DOUYIN, YOUZAN, OPENID_MP, WECOM})
ACCOUNT_KIND_LIST = tuple(sorted(ACCOUNT_KINDS))  # in a fixed order, as the engines take them

# code, Chinese name, English name, kind
CHANNELS = (
    ("tmall", "天猫", "Tmall", "platform"),
    ("jd", "京东", "JD", "platform"),
    ("douyin", "抖音", "Douyin", "platform"),
    ("youzan", "有赞", "Youzan", "platform"),
    ("miniprogram", "小程序", "Mini-program", "own"),
    ("pos", "门店", "Stores", "offline"),
    ("wecom", "企业微信", "WeCom", "social"),
    ("api", "API", "API", "own"),
)


@dataclass(slots=True)
class Ident:
    kind: str
    value: str


@dataclass(slots=True)
class ProfileIn:
    channel: str
    external_id: str
    idents: list[Ident] = field(default_factory=list)
    name: str | None = None
    gender: str | None = None
    birthday: date | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    registered_at: datetime | None = None
    store_code: str | None = None
    guide_code: str | None = None
    seen_at: datetime | None = None
    # Where they came from: the live code (WeCom ``state``) or the registration source.
    source: str | None = None


@dataclass(slots=True)
class ItemIn:
    line_no: int
    quantity: int
    unit_price_fen: int
    paid_fen: int
    external_id: str | None = None
    sku_code: str | None = None
    product_code: str | None = None
    title: str | None = None
    colour: str | None = None
    size: str | None = None


@dataclass(slots=True)
class RefundIn:
    channel: str
    shop_code: str
    external_id: str
    order_external_id: str
    amount_fen: int
    status: str  # requested | success | closed
    line_no: int | None = None
    item_external_id: str | None = None
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    reason: str | None = None


@dataclass(slots=True)
class OrderIn:
    channel: str
    shop_code: str
    shop_name: str
    external_id: str
    status: str
    created_at: datetime
    platform_status: str | None = None
    profile: ProfileIn | None = None
    paid_at: datetime | None = None
    completed_at: datetime | None = None
    total_fen: int = 0
    discount_fen: int = 0
    shipping_fen: int = 0
    paid_fen: int = 0
    receiver_name: str | None = None
    receiver_phone: str | None = None
    # A platform's search index of the receiver's phone, where the platform gives one instead of the
    # phone (Douyin): the same for every parcel to that phone; OneID learns which phone it is.
    receiver_phone_index: str | None = None
    # The receiver's phone as the platform masked it (138****1234, 1********35), where it sends no full
    # one: kept per order so that OneID can tell a buyer's usual receiver from a gift's.
    receiver_phone_masked: str | None = None
    address: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    store_code: str | None = None
    guide_code: str | None = None
    # None: the lines come from another file (Tmall's item report); [] would mean "no lines".
    items: list[ItemIn] | None = None
    # Refunds the platform reports inside the order itself (Tmall, Douyin).
    refunds: list[RefundIn] = field(default_factory=list)


@dataclass(slots=True)
class ItemsIn:
    """Lines for an order that arrives in another file (Tmall's order-item report)."""

    channel: str
    shop_code: str
    order_external_id: str
    items: list[ItemIn]
    refunds: list[RefundIn] = field(default_factory=list)


@dataclass(slots=True)
class EventIn:
    message_id: str
    type: str
    occurred_at: datetime
    profile: ProfileIn | None
    properties: dict | None = None  # type: ignore[type-arg]


@dataclass(slots=True)
class ProductIn:
    code: str
    name: str
    category: str
    list_price_fen: int
    style: str | None = None
    material: str | None = None
    season: str | None = None
    gender: str = "U"
    unisex: bool = False


@dataclass(slots=True)
class SkuIn:
    code: str
    product_code: str
    price_fen: int
    colour: str | None = None
    size: str | None = None


@dataclass(slots=True)
class StoreIn:
    code: str
    name: str
    region_code: str | None = None
    region_name: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    city_tier: int | None = None


@dataclass(slots=True)
class GuideIn:
    code: str
    name: str
    store_code: str | None = None


@dataclass(slots=True)
class Reject:
    """One record we refused: where it is, which field, what value, why."""

    file: str
    location: str  # "line 12" or "record 3"
    field: str
    value: str
    reason: str


Record = ProfileIn | OrderIn | ItemsIn | RefundIn | EventIn | ProductIn | SkuIn | StoreIn | GuideIn
