"""人找货 (people find goods): occasions in the brand's year — back to school, the change of season, the
running season, a birthday month — each an audience and the lines to put before it. ``in_season`` says
which apply on a day; ``plan`` counts each one's audience over the last tag run and lists the best sellers
of its lines."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, field_validator

from siyu.analytics.engine import connect
from siyu.analytics.goods import best_sellers
from siyu.audiences.expression import parse
from siyu.audiences.service import count
from siyu.core.clock import SHANGHAI

HERE = Path(__file__).parent


class Window(BaseModel):
    from_: str = Field(alias="from")
    to: str

    @field_validator("from_", "to")
    @classmethod
    def _month_day(cls, v: str) -> str:
        if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", v):
            raise ValueError(f"{v!r} is not MM-DD")
        return v

    def holds(self, day: date) -> bool:
        md = day.strftime("%m-%d")
        # a window may run over the new year (12-15 to 01-10)
        return self.from_ <= md <= self.to if self.from_ <= self.to else md >= self.from_ or md <= self.to


class Goods(BaseModel):
    categories: list[str] = []
    styles: list[str] = []
    seasons: list[str] = []


class Occasion(BaseModel):
    name: str
    name_en: str
    windows: list[Window] = []
    audience: str
    goods: Goods

    def in_season(self, day: date) -> bool:
        return not self.windows or any(w.holds(day) for w in self.windows)

    def expression(self, day: date) -> str:
        return self.audience.replace("{month}", str(day.month))


class Occasions(BaseModel):
    occasions: list[Occasion]

    @field_validator("occasions")
    @classmethod
    def _parse(cls, v: list[Occasion]) -> list[Occasion]:
        for o in v:  # every audience must parse (with a month in place)
            parse(o.expression(date(2000, 1, 1)))
        return v


@cache
def default() -> Occasions:
    return Occasions.model_validate(yaml.safe_load((HERE / "occasions.yaml").read_text(encoding="utf-8")))


_plans: dict[tuple[Path, Path], tuple[tuple[Any, ...], list[dict[str, Any]]]] = {}


def plan(tagstore: Path, lake: Path, at: datetime, everything: bool = False, sample: int = 0) -> list[dict[str, Any]]:
    """Each occasion in season at ``at`` (Beijing day; all of them with ``everything``): its audience counted,
    and the five best sellers of its lines over the last year. Kept for the day and the tag run (the
    builder page shows it on every load; the lake only changes with a run that rewrites the tags)."""
    day = at.astimezone(SHANGHAI).date()
    tags = tagstore / "person_tags.parquet"
    key = (day, everything, sample, tags.stat().st_mtime_ns if tags.exists() else None)
    kept = _plans.get((tagstore, lake))
    if kept is not None and kept[0] == key:
        return kept[1]
    out = []
    with connect(lake) as con:
        for o in default().occasions:
            if not (everything or o.in_season(day)):
                continue
            got = count(tagstore, o.expression(day), sample)
            out.append({"name": o.name, "name_en": o.name_en, "in_season": o.in_season(day), "text": got["text"],
                        "count": got["count"], "sample": got["sample"],
                        "goods": best_sellers(con, o.goods.categories, o.goods.styles, o.goods.seasons, at)})
    _plans[(tagstore, lake)] = (key, out)
    return out
