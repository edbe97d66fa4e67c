"""The typed rules of a tag definition (``tags.definitions`` loads a pack of them; ``tag_compiler``
compiles them). Plain data: no SQL here, and no value from a definition ever becomes SQL text."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

DIMENSIONS = ("attribute", "product_lifecycle", "member_lifecycle", "rfm", "preference", "value", "channel")

# Per-person measures the compiler provides (columns of ``tag_compiler.person_facts_sql``).
Measure = Literal[
    "recency_days", "frequency", "monetary_fen", "first_purchase_days", "orders_30d", "orders_90d", "orders_365d",
    "spend_90d_fen", "spend_365d_fen", "avg_order_fen", "max_order_fen", "refund_rate", "categories_bought",
    "channels_bought", "days_between_orders",
    "gender", "age", "birth_month", "province", "city", "source_channel", "source", "profiles",
    "is_member", "tier", "member_days", "points", "events_30d", "events_365d",
]
TopAttribute = Literal["colour", "size", "category", "material", "style", "season", "weekday", "daypart", "channel",
                       "price_band"]


class Compare(BaseModel):
    measure: Measure
    op: Literal["<", "<=", ">", ">=", "=", "!=", "in", "is_null", "not_null"]
    value: float | str | list[str] | list[float] | None = None
    than: Literal["value", "avg", "measure"] = "value"  # avg: the brand's average; measure: ``other`` × ``times``
    other: Measure | None = None
    times: float = 1.0

    @model_validator(mode="after")
    def _operand(self) -> Compare:
        if self.op in ("is_null", "not_null"):
            return self
        if self.than in ("avg", "measure"):
            if self.op not in ("<", "<=", ">", ">="):
                raise ValueError(f"{self.measure}: comparing with {self.than} needs <, <=, > or >=")
            if self.than == "measure" and self.other is None:
                raise ValueError(f"{self.measure}: comparing with a measure needs other:")
            return self
        if self.value is None:
            raise ValueError(f"{self.measure} {self.op}: a value is required")
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(f"{self.measure} in: a list is required")
        return self


class All(BaseModel):
    all: list[Condition]


class Any_(BaseModel):
    any: list[Condition]


class Not(BaseModel):
    not_: Condition = Field(alias="not")


Condition = Annotated[Compare | All | Any_ | Not, Field(union_mode="left_to_right")]


class Band(BaseModel):
    value: str
    min: float | None = None  # inclusive
    max: float | None = None  # exclusive


class Case(BaseModel):
    value: str
    if_: Condition = Field(alias="if")


class BandsRule(BaseModel):
    kind: Literal["bands"] = "bands"
    measure: Measure
    bands: list[Band]


class ColumnRule(BaseModel):
    kind: Literal["column"] = "column"
    measure: Measure
    map: dict[str, str] = {}
    default: str | None = None  # for a value the map does not name; None: the value as it is
    format: str = "{}"  # e.g. "{}月"


class WhenRule(BaseModel):
    kind: Literal["when"] = "when"
    cases: list[Case]
    otherwise: str | None = None


class ScoreRule(BaseModel):
    kind: Literal["score"] = "score"
    measure: Measure
    buckets: int = Field(default=5, ge=2, le=10)
    descending: bool = False  # True: the smallest measure gets the highest score (recency)
    only_if: Condition | None = None  # who is scored (e.g. buyers)


class TopRule(BaseModel):
    kind: Literal["top"] = "top"
    attribute: TopAttribute
    weight: Literal["quantity", "spend"] = "quantity"
    min_share: float = Field(default=0.3, gt=0, le=1)
    window_days: int | None = None  # purchases in the last N days; None: all
    only_category: str | None = None  # among one category's purchases (鞋码 among 鞋类)
    by_season: bool = False  # one value per season bought in (春夏 / 秋冬): "红色@春夏"


# An event property's name: it becomes a JSON path ('$.name'), itself only ever a literal.
PropertyName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,31}$")]


class EventCase(BaseModel):
    value: str
    event: str = Field(min_length=1, max_length=32)  # the event type (article_read, live_subscribe …)
    property: PropertyName | None = None  # a numeric property each counted event must reach …
    min: float | None = None  # … at least this (read_seconds ≥ 60, forwards ≥ 3)
    times: int = Field(default=1, ge=1)  # how many such events
    window_days: int | None = Field(default=None, ge=1)  # within the last N calendar days; None: ever

    @model_validator(mode="after")
    def _pair(self) -> EventCase:
        if (self.property is None) != (self.min is None):
            raise ValueError(f"{self.value}: property and min go together")
        return self


class BehaviourRule(BaseModel):
    """Behaviour: each case a person meets gives its value (a person can carry several)."""

    kind: Literal["behaviour"] = "behaviour"
    cases: list[EventCase] = Field(min_length=1)


class SurveyRule(BaseModel):
    """A survey answer: the person's latest answer to the question, mapped to a value (answers the map
    does not name give no value)."""

    kind: Literal["survey"] = "survey"
    event: str = "survey_answer"
    question: str = Field(min_length=1)  # the question's text, as the event's ``question`` property
    answers: dict[str, str] = Field(min_length=1)


class KeywordRule(BaseModel):
    """Keywords in what a person wrote or a guide noted: a value for each of its keywords found in a
    text property of those events (a person can carry several)."""

    kind: Literal["keywords"] = "keywords"
    events: list[str] = Field(default=["wecom_message", "guide_note"], min_length=1)
    property: PropertyName = "text"
    keywords: dict[str, list[Annotated[str, Field(min_length=1)]]] = Field(min_length=1)
    window_days: int | None = Field(default=None, ge=1)


class ManualRule(BaseModel):
    """Set by hand by guides and operators (``tags.manual``); the values they may use are the tag's."""

    kind: Literal["manual"] = "manual"


Rule = Annotated[BandsRule | ColumnRule | WhenRule | ScoreRule | TopRule | BehaviourRule | SurveyRule | KeywordRule
                 | ManualRule, Field(discriminator="kind")]


class TagDef(BaseModel):
    name: str = Field(min_length=1, max_length=32)
    name_en: str
    dimension: Literal["attribute", "product_lifecycle", "member_lifecycle", "rfm", "preference", "value", "channel"]
    # The values it can take; ``open`` when they come from the data (provinces, colours, channels).
    values: list[str] = []
    open: bool = False
    rule: Rule

    @model_validator(mode="after")
    def _values(self) -> TagDef:
        if not self.open and not self.values:
            raise ValueError(f"tag {self.name}: list its values, or mark it open (values from the data)")
        named = _named_values(self.rule)
        unknown = sorted(v for v in named if v not in self.values) if not self.open else []
        if unknown:
            raise ValueError(f"tag {self.name}: rule gives values not listed: {', '.join(unknown)}")
        return self


def _named_values(rule: Rule) -> list[str]:
    if isinstance(rule, BandsRule):
        return [b.value for b in rule.bands]
    if isinstance(rule, WhenRule):
        return [c.value for c in rule.cases] + ([rule.otherwise] if rule.otherwise else [])
    if isinstance(rule, ScoreRule):
        return [str(i) for i in range(1, rule.buckets + 1)]
    if isinstance(rule, BehaviourRule):
        return [c.value for c in rule.cases]
    if isinstance(rule, SurveyRule):
        return list(rule.answers.values())
    if isinstance(rule, KeywordRule):
        return list(rule.keywords)
    return []


class Pack(BaseModel):
    version: int
    name: str
    tags: list[TagDef]

    @model_validator(mode="after")
    def _unique(self) -> Pack:
        names = [t.name for t in self.tags]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tag names must be unique: {', '.join(dupes)}")
        return self

    def tag(self, name: str) -> TagDef | None:
        return next((t for t in self.tags if t.name == name), None)


for _m in (All, Any_, Not, Case, ScoreRule):
    _m.model_rebuild()


