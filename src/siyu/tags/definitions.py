"""Tag definitions: a validated, versioned YAML pack of typed rules (no SQL in it).

Every tag has a name, a dimension, its values and one rule over a person's facts — the per-person
measures ``analytics.tag_compiler`` computes from the lake (recency, frequency, spend in a window, age,
city, tier, points…). A rule is one of:

- ``bands``: a measure cut into ranges, each range a value (``{value: 高客单, min: 50000}``);
- ``column``: a measure's own value, optionally mapped (``city`` → 一线 / 新一线 …) or formatted
  (``birth_month`` → "3月");
- ``when``: the first value whose condition holds; a condition compares a measure with a number, a list
  or the brand's average (``{measure: recency_days, op: "<", than: avg}``), combined with ``all`` /
  ``any`` / ``not``;
- ``score``: a measure ranked into ``buckets`` equal groups (RFM's R, F and M scores, 1…5);
- ``top``: the attribute of what they bought most (colour, size, category, material, style, season,
  weekday, time of day, channel, price band), when it holds at least ``min_share`` of their purchases
  (``by_season``: one value per season of purchase, 春夏 / 秋冬; ``only_category``: among one category).

Values are data, never SQL: the compiler turns every name, value and number into a literal.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from siyu.analytics.tag_rules import DIMENSIONS, Pack, TagDef
from siyu.core.errors import ConfigurationError

__all__ = ["DEFAULT_PACK", "DIMENSIONS", "Pack", "TagDef", "default", "load"]

DEFAULT_PACK = Path(__file__).with_name("pack.yaml")


def load(path: Path) -> Pack:
    try:
        return Pack.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ConfigurationError(f"tag pack {path}: {exc}") from exc


@lru_cache(maxsize=1)
def default() -> Pack:
    return load(DEFAULT_PACK)
