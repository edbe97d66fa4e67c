"""A person's channels, read from the lake: where they buy and where the brand can reach them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from siyu.analytics.channels import purchase_channels, reach
from siyu.analytics.engine import connect, has_table


@dataclass
class PersonChannels:
    purchases: list[dict]  # type: ignore[type-arg]
    wecom: bool
    sms: bool
    miniprogram: bool


def person_channels(lake: Path, person_id: int) -> PersonChannels:
    with connect(lake) as con:
        bought = (purchase_channels(con, person_id) if all(has_table(con, t) for t in ("orders", "shops", "channels"))
                  else pa.table({}))
        can = reach(con, person_id).to_pylist() if has_table(con, "identity_links") else []
    flags = can[0] if can else {"wecom": False, "sms": False, "miniprogram": False}
    return PersonChannels(purchases=bought.to_pylist(), wecom=bool(flags["wecom"]), sms=bool(flags["sms"]),
                          miniprogram=bool(flags["miniprogram"]))
