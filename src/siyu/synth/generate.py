"""``siyu synth``: a deterministic synthetic brand, written in each platform's own export format.

Everything is drawn as arrays from one seed (one child stream per component, so the output for a seed
never changes when an unrelated component does) and then written by one writer per platform.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import (
    MINI,
    Events,
    Lines,
    Orders,
    make_events,
    make_lines,
    make_orders,
    move_to_other_platforms,
    settle,
)
from siyu.synth.calendar import Calendar, build_calendar
from siyu.synth.identifiers import Identifiers, build_identifiers, other_phones
from siyu.synth.population import Population, build_population
from siyu.synth.world import Catalogue, Organisation, build_catalogue, build_organisation

DEFAULT_END = dt.date(2026, 11, 21)  # fixed, so a seed always gives the same brand
FORMAT_VERSION = 1


@dataclass
class Brand:
    seed: int
    out: Path
    cal: Calendar
    cat: Catalogue
    org: Organisation
    pop: Population
    ids: Identifiers
    orders: Orders
    lines: Lines
    events: Events
    has_openid: np.ndarray
    # who receives each order: the buyer, or for gifts someone else
    receiver: np.ndarray
    receiver_phone: pa.StringArray
    rng: Callable[[str], np.random.Generator]
    counts: dict[str, int] = field(default_factory=dict)
    # card sequence numbers shown at a POS till (set by the POS writer, read by the truth writer)
    pos_cards_shown: np.ndarray | None = None
    # people who joined the brand's membership in its Tmall store (set by the Tmall writer)
    tmall_members: np.ndarray | None = None


def _rng_factory(seed: int) -> Callable[[str], np.random.Generator]:
    def make(name: str) -> np.random.Generator:
        # A stream per name: writers never disturb each other's randomness.
        key = [seed] + list(name.encode())
        return np.random.default_rng(np.random.SeedSequence(key))

    return make


def build_brand(members: int, seed: int, out: Path, end: dt.date = DEFAULT_END,
                step: Callable[[str], None] = lambda _s: None) -> Brand:
    rng = _rng_factory(seed)
    cal = build_calendar(end)
    cat = build_catalogue(rng("catalogue"))
    org = build_organisation(rng("organisation"), members)
    step("people")
    pop = build_population(rng("population"), members, org, cal.n_days, cal.acquisition_cdf, cal.end_ordinal)
    ids = build_identifiers(np.random.SeedSequence([seed, 7]), pop)
    step("orders")
    orders = make_orders(rng("orders"), pop, cal, org)
    move_to_other_platforms(rng("platforms"), pop, orders)
    lines = make_lines(rng("lines"), pop, cal, cat, orders)
    settle(rng("settle"), cal, orders, lines)
    step("interactions")
    mini_buyers = np.zeros(pop.n, dtype=bool)
    mini_buyers[orders.person[orders.channel == MINI]] = True
    has_openid = (pop.join_channel == 2) | pop.also_joined_mini | mini_buyers
    events = make_events(rng("events"), pop, cal, has_openid)
    r = rng("receivers")
    m = len(orders.person)
    receiver = np.where(orders.gift, r.integers(pop.n, size=m), orders.person)
    outsider = orders.gift & (r.random(m) < 0.75)
    receiver_phone = pc.if_else(pa.array(outsider), other_phones(r, m), ids.phone.take(pa.array(receiver)))
    return Brand(seed=seed, out=out, cal=cal, cat=cat, org=org, pop=pop, ids=ids, orders=orders, lines=lines,
                 events=events, has_openid=has_openid, receiver=receiver, receiver_phone=receiver_phone, rng=rng)


def generate(members: int, seed: int, out: Path, end: dt.date = DEFAULT_END,
             progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Generate the brand into ``out``; returns row counts per file. ``progress(label, done, total)``."""
    from siyu.synth.writers import catalog, douyin, events, jd, miniprogram, pos, tmall, truth, wecom, youzan

    writers = [("catalogue & stores", catalog.write), ("Tmall", tmall.write), ("Douyin", douyin.write),
               ("JD", jd.write), ("Youzan", youzan.write),
               ("mini-program", miniprogram.write), ("POS", pos.write), ("WeCom", wecom.write),
               ("interactions", events.write), ("ground truth", truth.write)]
    total = 4 + len(writers)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        if progress:
            progress(label, done, total)
        done += 1

    out.mkdir(parents=True, exist_ok=True)
    brand = build_brand(members, seed, out, end, step)
    for label, write in writers:
        step(label)
        brand.counts.update(write(brand))
    step("manifest")
    manifest = {
        "generator": "siyu synth", "format_version": FORMAT_VERSION, "seed": seed, "members": members,
        "start": brand.cal.start.isoformat(), "end": end.isoformat(), "orders": int(len(brand.orders.person)),
        "order_lines": int(len(brand.lines.order)), "events": int(len(brand.events.person)),
        "files": brand.counts,  # no timings: the same seed must give the same bytes
    }
    (out / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    if progress:
        progress("done", total, total)
    return brand.counts
