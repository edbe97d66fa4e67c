"""Dashboard figures for a date range, read from the lake."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from siyu.analytics.engine import connect
from siyu.analytics.kpis import Dashboard, dashboard
from siyu.core.errors import InvalidInput
from siyu.loyalty import programme


def dashboard_for(lake: Path, start: date, end: date) -> Dashboard:
    if end < start:
        raise InvalidInput(f"the range ends ({end}) before it starts ({start})")
    with connect(lake) as con:
        return dashboard(con, start, end, [t.name for t in programme.default().tiers])
