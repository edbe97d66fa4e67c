"""OneID: persons, the profiles channels know them by, and the typed identifiers that link profiles.

A *profile* is one person as one channel sees them (a Tmall buyer, a mini-program registration, a POS
member card, a WeCom contact). An *identity* is a typed identifier (phone, unionid, Taobao nick, ...)
stored encrypted with a blind index. Persons are the connected components of profiles linked by
identities that are trustworthy enough to join on.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import UTCDateTime
from siyu.models.base import Base, created_col, updated_col


class Person(Base):
    """A brand's first OneID run creates millions at once (3.25M at 10M records), so the table keeps only
    the indexes something reads: merged persons through a partial index (the few absorbed ones), no index
    on ``updated_at`` (persons are exported whole). With both full indexes PostgreSQL wrote the 3.25M
    rows in 7.5 s, with neither in 3.7 s (measured, docs/benchmarks.md)."""

    __tablename__ = "persons"
    __table_args__ = (Index("ix_persons_merged_into_id", "merged_into_id",
                            postgresql_where=text("merged_into_id IS NOT NULL"),
                            sqlite_where=text("merged_into_id IS NOT NULL")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Set when this person was absorbed into another by a merge; the id stays valid as a redirect.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col(index=False)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    # The channel's own key for this customer: Taobao nick, openid, POS card number, external_userid ...
    external_id: Mapped[str] = mapped_column(String(128))
    # The person is not here but in ``ProfilePerson``: see there why.
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Blind index of the real name (normalised), so OneID can tell two people sharing a phone apart
    # without decrypting anything; null where the channel's "name" is a nickname (WeCom, WeChat).
    name_bidx: Mapped[str | None] = mapped_column(String(32))
    # Blind index of the name's first character, which a platform's mask keeps (张** is 张): all there is
    # to compare a JD or Tmall buyer on beside a masked phone (``analytics.oneid_match``).
    surname_bidx: Mapped[str | None] = mapped_column(String(32))
    # Blind index of the given name (the name without its first character) when it has two or more
    # characters, "" when shorter (so the next OneID run does not decrypt it again): a guide's WeCom
    # contact is often its given name and a flourish (静英呀), ``analytics.oneid_contacts``.
    given_bidx: Mapped[str | None] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(1))
    birthday: Mapped[date | None] = mapped_column(Date)
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # When this profile joined the brand's membership programme through this channel; None = not joined.
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("guides.id"))
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The live code or registration source they came through (a channel tag's raw material).
    source: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_col()
    updated_at: Mapped[datetime] = updated_col()


class ProfilePerson(Base):
    """Which person a profile belongs to; a profile without a row has none yet. Kept apart from the wide
    ``profiles`` row because a batch run may move millions of profiles at once: PostgreSQL rewrote a
    profile row (four indexes, a foreign key) at 8–12 µs, 183 s of a 10M-record run, and this two-column
    table rebuilt bare and then indexed at under 1 µs a row (docs/benchmarks.md, sessions 29–31)."""

    __tablename__ = "profile_persons"
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), primary_key=True, autoincrement=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("bidx", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    bidx: Mapped[str] = mapped_column(String(32))
    value_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What a guide may see: a phone as 138****1234, an opaque id shortened. Never the full value.
    display: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_col()


class ProfileIdentity(Base):
    __tablename__ = "profile_identities"
    __table_args__ = (Index("ix_profile_identities_identity", "identity_id"),)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), primary_key=True)
    created_at: Mapped[datetime] = created_col()


class PersonMerge(Base):
    """History: which person was absorbed into which, when and why."""

    __tablename__ = "person_merges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    into_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_col()


class IdentityMatch(Base):
    """A probabilistic join of two profiles found by the last OneID run, with its Splink match weight
    (log2 of the Bayes factor). Replaced as a whole by every run; explain reads it."""

    __tablename__ = "identity_matches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_a: Mapped[int] = mapped_column(Integer, index=True)
    profile_b: Mapped[int] = mapped_column(Integer, index=True)
    match_weight: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = created_col()


class MatchModel(Base):
    """The masked-phone model the last OneID batch run fitted (``analytics.oneid_score.MatchModel`` as
    JSON, with the term-frequency counts it scored with): real time scores arrivals with it."""

    __tablename__ = "identity_match_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), unique=True)
    model: Mapped[dict] = mapped_column(JSON)  # type: ignore[type-arg]
    created_at: Mapped[datetime] = created_col()


class MatchRecord(Base):
    """A profile as the masked-phone model compares it (``analytics.oneid_match.match_features``), as of
    the last batch run or its latest arrival: real time reads a mask's block from here."""

    __tablename__ = "identity_match_records"
    profile_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    mask7: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    surname: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    has_full: Mapped[bool] = mapped_column(Boolean)
    channel_id: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(8))
    one_parcel: Mapped[bool] = mapped_column(Boolean)


class ParcelRecord(Base):
    """A buyer as the parcel rule compares it (``analytics.oneid_parcels.parcel_records``), as of the last
    batch run or its latest arrival; ``block`` is its surname, ending and place, which every fit shares."""

    __tablename__ = "identity_parcel_records"
    profile_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    block: Mapped[str] = mapped_column(String(256), index=True)
    surname: Mapped[str] = mapped_column(String(64))
    ending: Mapped[str] = mapped_column(String(2))
    place: Mapped[str] = mapped_column(String(160))
    street: Mapped[str | None] = mapped_column(String(64))
    mask7: Mapped[str | None] = mapped_column(String(16))
    one_parcel: Mapped[bool] = mapped_column(Boolean)
    channel_id: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(8))


class GuideRecord(Base):
    """A guide's WeCom contact (``contact``: its nickname's indexes, as a real name's and as a given name
    and a flourish) or a named member a guide serves (its name's indexes), as the contact rule
    (``analytics.oneid_contacts``) compares them, as of the last batch run or its latest arrival: real
    time finds a contact's namesakes at its guide, and a member's contacts, here. ``at``: when the
    contact was added, when the member registered."""

    __tablename__ = "identity_guide_records"
    __table_args__ = (Index("ix_identity_guide_records_name", "name"),
                      Index("ix_identity_guide_records_given", "given"))
    profile_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    guide_id: Mapped[int] = mapped_column(Integer)
    contact: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(32))
    given: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdentityDecision(Base):
    """An operator's decision that the next automatic run must keep: ``split`` (these profiles are
    someone else: they join no one outside themselves through shared identifiers or matches) or
    ``merge`` (these two profiles are one person)."""

    __tablename__ = "identity_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(8))
    profile_ids: Mapped[list[int]] = mapped_column(JSON)
    person_id: Mapped[int | None] = mapped_column(Integer)  # the person acted on, for the record
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_col()


class PhoneSearchIndex(Base):
    """A platform's search index of a phone the brand knows (Douyin's ``order.getSearchIndex``): orders
    carrying that index went to that phone. Learned once per phone; the platform's key never changes
    an index, so a row is never rewritten."""

    __tablename__ = "phone_search_indexes"
    __table_args__ = (UniqueConstraint("platform", "search_index"),
                      Index("ix_phone_search_indexes_phone", "platform", "phone_bidx"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    search_index: Mapped[str] = mapped_column(String(64))
    phone_bidx: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_col()
