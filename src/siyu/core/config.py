"""The one typed settings object. Nothing else in Siyu reads ``os.environ``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Siyu has, read from ``SIYU_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("./siyu-data"), description="Where the embedded default keeps its files.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite at $SIYU_HOME/siyu.db."
    )
    engine: Literal["duckdb", "spark"] = "duckdb"
    secret_key: str | None = Field(
        default=None,
        description=(
            "Base64 master key (32 bytes) for PII encryption, blind indexes and sessions. "
            "Without it a key is generated once into $SIYU_HOME/secret.key (fine for a demo, "
            "not for production: back it up, or the encrypted data cannot be read)."
        ),
    )
    timezone: str = "Asia/Shanghai"
    default_locale: Literal["zh", "en"] = "zh"
    host: str = "127.0.0.1"
    port: int = 8000
    # An identifier shared by more than this many profiles, or by more than ``oneid_max_per_channel``
    # profiles of one channel (three POS cards on one phone), is treated as dirty and never joins people.
    oneid_max_fanout: int = 20
    oneid_max_per_channel: int = 2
    # Always dirty, whatever their fan-out: placeholder numbers cashiers type for walk-in customers.
    oneid_blocklist: list[str] = Field(
        default_factory=lambda: ["13800000000", "13888888888", "13900000000", "13000000000"]
    )
    # Probabilistic OneID (Splink) for buyers known by a masked phone: a pair joins at or above this match
    # weight (log2 Bayes factor; 8 ≈ 256:1 for). Precision first: lower it only with an evaluation.
    oneid_probabilistic: bool = True
    oneid_match_weight: float = 8.0
    # A buyer with no phone of its own joins the receiver phone of a single order (or of most of its
    # orders), not only of two or more, and a single parcel's receiver surname counts as the buyer's for
    # the split by surname (never to a phone another account of its channel carries, nor one a carrier of
    # the other gender than the goods carries); the probabilistic step hears a buyer's only parcel too,
    # behind the gift guards of ADR 0004. On five generated brands: recall 0.62–0.63 → 0.84–0.85,
    # precision 0.998–0.9995 → 0.9958–0.9970, above the 0.995 floor (a gift to a known person, in goods
    # of their sex, joins the giver to them; docs/benchmarks.md, sessions 27–28). False: only receivers
    # of two orders or more, in both steps.
    oneid_single_order_receivers: bool = True
    # A guide's WeCom contact that nothing else joins is matched to the one member of that guide, of its
    # gender, whose real name is its nickname (analytics.oneid_contacts): on generated brands seeds 7 and
    # 11, recall 0.8442 → 0.8555 and 0.8425 → 0.8550 at precision 0.9960 → 0.9959 and 0.9958 → 0.9958.
    # With ``oneid_contact_given_names`` also the member whose given name is the nickname but for a last
    # character (静英呀): recall a further +0.7 points, but 4 of its 201 matches wrong on seed 11
    # (precision 0.9954), under the precision asked of OneID, so off unless a brand's evaluation says so.
    oneid_contact_given_names: bool = False
    # Two platform buyers without phones whose parcels go to one surname, phone ending, district and
    # street (analytics.oneid_parcels, ADR 0006) are joined when each is the only person that fits the
    # other and the strangers expected to fit are under 2^-weight: 417–458 pairs on five generated
    # brands, 1 wrong in all (docs/benchmarks.md, session 30).
    oneid_parcel_weight: float = 4.0
    # Pairs with a buyer described by its only parcel (it may be a gift to the other): "neither" (the
    # default), "one" of the two, or "both". On five generated brands "one" added 0.8–1.5 points of
    # recall but brought precision to 0.9944 on seed 42, under the floor: each wrong pair was a gift.
    oneid_parcel_one_parcel: Literal["neither", "one", "both"] = "neither"
    import_batch_size: int = 5000
    # Platform pushes (webhooks): the app credentials each platform signs its pushes with.
    youzan_client_id: str | None = None
    youzan_client_secret: str | None = None
    douyin_app_key: str | None = None
    douyin_app_secret: str | None = None
    # The same self-built app calling the shop open platform (order.getSearchIndex), for the shop it
    # was authorised by; the URL is the platform's gateway (a test or the demo points it elsewhere).
    douyin_shop_id: str | None = None
    douyin_api_url: str = "https://openapi-fxg.jinritemai.com"
    # Douyin open platform app whose SPI tells the brand of members joining in its Douyin shop.
    douyin_client_key: str | None = None
    douyin_client_secret: str | None = None
    # Tmall brand member centre (会员通) SPI: the Tmall app that signs the calls.
    tmall_app_key: str | None = None
    tmall_app_secret: str | None = None
    # WeCom callback: the Token and EncodingAESKey set on the callback page, and the corp id.
    # Without an EncodingAESKey the callback runs in plain mode (signed, not encrypted).
    wecom_token: str | None = None
    wecom_corp_id: str | None = None
    wecom_aes_key: str | None = None
    # The demo's console login; generated once and kept in $SIYU_HOME/demo-credentials.txt when unset.
    demo_password: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'siyu.db').resolve()}"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def tagstore_dir(self) -> Path:
        return self.home / "tagstore"

    @property
    def reject_dir(self) -> Path:
        return self.home / "rejects"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
