"""The generator's calendar: the window's days and how busy each is.

Purchases are drawn in "effective time", where a busy day is longer than a quiet one, and then mapped
back to calendar days: that is how 618, Double 11 and the Spring Festival lull appear without any
per-order loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Calendar:
    start: dt.date
    n_days: int
    unix_start: int  # 00:00 Beijing time of the first day, as Unix seconds
    month: np.ndarray
    day_of_month: np.ndarray
    weekday: np.ndarray
    intensity: np.ndarray
    effective_end: np.ndarray  # cumulative effective time at the end of each day
    acquisition_cdf: np.ndarray

    @property
    def end_ordinal(self) -> int:
        return self.start.toordinal() + self.n_days

    def is_cold(self, day: np.ndarray) -> np.ndarray:
        m = self.month[day]
        return (m >= 10) | (m <= 3)

    def is_peak(self, day: np.ndarray) -> np.ndarray:
        m, d = self.month[day], self.day_of_month[day]
        return ((m == 6) & (d >= 1) & (d <= 18)) | ((m == 11) & (d <= 11)) | ((m == 12) & (d == 12))


def build_calendar(end: dt.date, years: int = 3) -> Calendar:
    start = end.replace(year=end.year - years)
    n = (end - start).days
    dates = [start + dt.timedelta(days=i) for i in range(n)]
    month = np.array([d.month for d in dates])
    dom = np.array([d.day for d in dates])
    wd = np.array([d.weekday() for d in dates])
    boost = np.ones(n)
    boost[wd >= 5] *= 1.15
    boost[(month == 6) & (dom <= 15)] *= 1.6  # 618 warm-up
    boost[(month == 6) & (dom >= 16) & (dom <= 18)] *= 3.5
    boost[(month == 10) & (dom >= 24)] *= 1.4  # Double 11 pre-sale
    boost[(month == 11) & (dom <= 3)] *= 2.5  # first wave
    boost[(month == 11) & (dom >= 4) & (dom <= 10)] *= 1.5
    boost[(month == 11) & (dom == 11)] *= 8.0
    boost[(month == 12) & (dom == 12)] *= 2.0
    boost[(month == 3) & (dom == 8)] *= 1.6
    boost[((month == 1) & (dom >= 25)) | ((month == 2) & (dom <= 15))] *= 0.6  # Spring Festival lull
    eff = np.cumsum(boost / boost.mean())
    growth = 0.55 + 0.9 * np.arange(n) / n  # the brand acquires more people every year
    acq = np.cumsum(boost * growth)
    unix_start = int(dt.datetime.combine(start, dt.time(), BEIJING).timestamp())
    return Calendar(start, n, unix_start, month, dom, wd, boost, eff, acq)


# Share of orders by hour of day, online and in store.
ONLINE_HOURS = np.array([3, 1.5, .8, .4, .3, .3, .5, 1.2, 2, 2.6, 3.2, 3.6, 4.2, 3.8, 3.4, 3.5, 3.6, 3.8,
                         4.2, 5, 6.4, 7.6, 7.2, 5.2])
STORE_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, .3, 2, 3.5, 4.5, 4.8, 5.5, 6.2, 6.6, 6.5, 6.4, 7.5, 7.8,
                        6, 2.5, 0])


def seconds_of_day(rng: np.random.Generator, in_store: np.ndarray) -> np.ndarray:
    n = len(in_store)
    hours = np.empty(n, dtype=np.int64)
    for mask, profile in ((~in_store, ONLINE_HOURS), (in_store, STORE_HOURS)):
        cdf = np.cumsum(profile) / profile.sum()
        k = int(mask.sum())
        hours[mask] = np.searchsorted(cdf, rng.random(k), side="right")
    return hours * 3600 + rng.integers(0, 3600, size=n)
