"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from siyu.models.audiences import Audience, AudienceSnapshot
from siyu.models.base import Base
from siyu.models.catalog import Product, Sku
from siyu.models.events import Event
from siyu.models.identity import (
    GuideRecord,
    Identity,
    IdentityDecision,
    IdentityMatch,
    MatchModel,
    MatchRecord,
    ParcelRecord,
    Person,
    PersonMerge,
    PhoneSearchIndex,
    Profile,
    ProfileIdentity,
    ProfilePerson,
)
from siyu.models.loyalty import (
    Coupon,
    OrderClaim,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsOperation,
    PriceUse,
    PricingIdentity,
    ProgrammeVersion,
    RewardStock,
    TierChange,
)
from siyu.models.membership import Member
from siyu.models.ops import ApiKey, ImportRun, InboxMessage, User, Watermark
from siyu.models.orders import Order, OrderItem, Refund
from siyu.models.org import Channel, Guide, Region, Shop, Store
from siyu.models.tags import ManualTag

__all__ = [
    "ApiKey", "Audience", "AudienceSnapshot", "Base", "Channel", "Coupon", "Event", "Guide", "GuideRecord", "Identity", "IdentityDecision", "IdentityMatch", "ImportRun", "InboxMessage", "ManualTag", "MatchModel", "MatchRecord", "Member", "Order", "OrderClaim", "OrderItem",
    "ParcelRecord", "Person", "PersonMerge", "PhoneSearchIndex", "PointsAccount", "PointsEntry", "PointsLot", "PointsOperation", "PriceUse", "PricingIdentity", "Product", "ProgrammeVersion", "Profile", "ProfileIdentity", "ProfilePerson", "Refund", "RewardStock", "TierChange",
    "Region", "Shop", "Sku", "Store", "User", "Watermark",
]
