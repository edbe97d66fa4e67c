"""The loyalty programme as validated configuration (the default ships next to this module)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from siyu.core.errors import ConfigurationError
from siyu.core.money import yuan_to_fen

DEFAULT = Path(__file__).with_name("programme.yaml")


class Tier(BaseModel):
    code: str
    name: str
    name_en: str
    min_spend: Decimal = Field(ge=0)

    @property
    def min_spend_fen(self) -> int:
        return yuan_to_fen(self.min_spend)


class PointsRule(BaseModel):
    per_yuan: int = Field(ge=0)


class Programme(BaseModel):
    version: int
    name: str
    currency: str = "CNY"
    points: PointsRule
    tiers: list[Tier]

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[Tier]) -> list[Tier]:
        if not tiers or tiers[0].min_spend != 0:
            raise ValueError("the first tier must start at 0")
        spends = [t.min_spend for t in tiers]
        if spends != sorted(set(spends)):
            raise ValueError("tier thresholds must strictly increase")
        return tiers

    @model_validator(mode="after")
    def _unique(self) -> Programme:
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier names must be unique")
        return self

    def tier_for(self, spend_fen: int) -> Tier:
        chosen = self.tiers[0]
        for t in self.tiers:
            if spend_fen >= t.min_spend_fen:
                chosen = t
        return chosen

    def points_for(self, net_fen: int) -> int:
        """Whole yuan only (¥99.99 earns 99): exact integer arithmetic on fen."""
        return max(net_fen, 0) // 100 * self.points.per_yuan


def load(path: Path) -> Programme:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Programme.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ConfigurationError(f"loyalty programme {path}: {exc}") from exc


@lru_cache(maxsize=1)
def default() -> Programme:
    return load(DEFAULT)
