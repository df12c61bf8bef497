"""The demo's calls in the year before ``DEMO_NOW`` (everyday ones and those at the planted
places) and the incidents and truth layers made of them."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .lattice import (
    _around,
    _frame,
    _ids,
    _in_disk,
    _in_quads,
    _Lattice,
    _local_times,
    _street_address,
)
from .names import _CATEGORIES, _FULLWIDTH, _MARKET_CATEGORIES, _NIGHT_CATEGORIES
from .places import _Buildings, _Cells, _pick_building, _room_address, _rooms, _Sites
from .plan import _Plan
from .sizes import _DAY_MS, _HOUR_MS, _NOW_MS, OUTPUT_CRS, TRUTH_COLUMNS

# Rhythms: relative call rates by hour of day (quiet 03-06, evening peak) and weekday (Mon=0).
_HOUR_W = np.array(
    [
        0.9,
        0.6,
        0.45,
        0.25,
        0.2,
        0.25,
        0.45,
        0.8,
        1.0,
        1.1,
        1.2,
        1.2,
        1.1,
        1.0,
        1.1,
        1.2,
        1.3,
        1.45,
        1.6,
        1.75,
        1.8,
        1.65,
        1.4,
        1.15,
    ]
)
_WEEKDAY_W = np.array([0.95, 0.93, 0.94, 0.97, 1.08, 1.15, 1.05])
# Bars and KTVs: only the 22:00-03:00 window the night patrols cover.
_NIGHT_W = np.bincount([22, 23, 0, 1, 2], weights=[0.8, 1.0, 1.0, 0.8, 0.55], minlength=24)
_MARKET_W = np.where((np.arange(24) >= 6) & (np.arange(24) <= 11), 1.0, 0.05)
_DAYTIME_W = np.where((np.arange(24) >= 9) & (np.arange(24) <= 17), 1.0, 0.08)


@dataclass
class _Clock:
    slot_ms: np.ndarray  # start of each hour of the demo year, Beijing wall-clock ms since epoch
    hour: np.ndarray
    weekday: np.ndarray
    mday: np.ndarray
    yearfrac: np.ndarray  # 0 at the start of the year, 1 at DEMO_NOW


def _clock() -> _Clock:
    end = _NOW_MS
    slot_ms = end - 365 * _DAY_MS + np.arange(365 * 24, dtype=np.int64) * _HOUR_MS
    idx = pd.DatetimeIndex(slot_ms.astype("datetime64[ms]"))
    return _Clock(
        slot_ms,
        idx.hour.to_numpy(),
        idx.day_of_week.to_numpy(),
        idx.day.to_numpy(),
        (slot_ms - slot_ms[0]) / (365 * _DAY_MS),
    )


def _times(rng: np.random.Generator, clock: _Clock, n: int, weight: np.ndarray) -> np.ndarray:
    """Wall-clock ms of ``n`` calls drawn from hourly slots with relative rates ``weight``."""
    slot = rng.choice(len(weight), n, p=weight / weight.sum())
    return clock.slot_ms[slot] + rng.integers(1, _HOUR_MS, n)


def _everyday(clock: _Clock) -> np.ndarray:
    season = 1 + 0.1 * np.cos(2 * np.pi * (clock.yearfrac - 0.7))  # busier in summer
    return _HOUR_W[clock.hour] * _WEEKDAY_W[clock.weekday] * season


def _categories(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(shares.values()))
    return np.array(list(shares), dtype=object)[rng.choice(len(p), n, p=p / p.sum())]


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mobile numbers 1[3-9]xxxxxxxxx as integers."""
    return 10**10 + rng.integers(3, 10, n) * 10**9 + rng.integers(0, 10**9, n)


@dataclass
class _Events:
    u: np.ndarray
    v: np.ndarray
    ms: np.ndarray
    category: np.ndarray
    address: np.ndarray
    phone: np.ndarray
    source: np.ndarray  # index of the planted place or hotspot, -1 for background
    site: np.ndarray  # index of the key site that drew a background call, -1 for none


def _concat(*parts: _Events) -> _Events:
    return _Events(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in _Events.__dataclass_fields__)
    )


def _background(
    lat: _Lattice,
    cells: _Cells,
    bld: _Buildings,
    sites: _Sites,
    clock: _Clock,
    n: int,
    rng: np.random.Generator,
) -> _Events:
    """Everyday calls: spread by population, with the daily, weekly and site rhythms."""
    n_night, n_market, n_fraud = round(0.06 * n), round(0.05 * n), round(0.04 * n)
    n_home = round(0.55 * (n - n_night - n_market - n_fraud))
    n_public = n - n_night - n_market - n_fraud - n_home
    pop = cells.block_pop / cells.block_pop.sum()
    # At home: a flat's address, in its building's yard.
    b = _pick_building(rng, bld, rng.choice(len(pop), n_home, p=pop))
    yard = _in_disk(rng, n_home, 10.0)
    home_u, home_v = bld.u[b] + yard[:, 0], bld.v[b] + yard[:, 1]
    home_address = _room_address(bld, b, *_rooms(rng, bld, b))
    # In the street: anywhere in a block, with the nearest street's address.
    pub_u, pub_v = _in_quads(lat.quads, rng.choice(len(pop), n_public, p=pop), rng)
    # Around sites: bars at night, markets on market days (逢二逢七), fraud near schools and
    # hospitals during the day.
    site_parts, drawn_by = [], [np.full(n_home + n_public, -1)]
    for cats, count, sigma in [
        (("nightlife",), n_night, 50.0),
        (("market",), n_market, 40.0),
        (("school", "hospital"), n_fraud, 100.0),
    ]:
        s = rng.choice(np.flatnonzero(np.isin(sites.category, cats)), count)
        site_parts.append(_around(lat, rng, sites.u[s], sites.v[s], sigma))
        drawn_by.append(s)
    u = np.concatenate([home_u, pub_u] + [p[0] for p in site_parts])
    v = np.concatenate([home_v, pub_v] + [p[1] for p in site_parts])
    address = np.concatenate([home_address, _street_address(lat, u[n_home:], v[n_home:])])

    everyday = _everyday(clock)
    market_day = np.isin(clock.mday % 10, [2, 7])
    ms = np.concatenate(
        [
            _times(rng, clock, n_home + n_public, everyday),
            _times(
                rng, clock, n_night, _NIGHT_W[clock.hour] * np.where(clock.weekday >= 4, 1.6, 1.0)
            ),
            _times(rng, clock, n_market, _MARKET_W[clock.hour] * np.where(market_day, 1.0, 0.1)),
            _times(
                rng, clock, n_fraud, _DAYTIME_W[clock.hour] * np.where(clock.weekday < 5, 1.2, 0.6)
            ),
        ]
    )
    category = np.concatenate(
        [
            _categories(rng, _CATEGORIES, n_home + n_public),
            _categories(rng, _NIGHT_CATEGORIES, n_night),
            _categories(rng, _MARKET_CATEGORIES, n_market),
            np.full(n_fraud, "诈骗", dtype=object),
        ]
    )
    # Most callers call once; a pool of frequent callers (Zipf-like) calls again and again.
    phone = _phones(rng, n)
    frequent = rng.random(n) < 0.12
    pool = _phones(rng, max(5, n // 12))
    w = 1 / np.arange(1, len(pool) + 1) ** 0.7
    phone[frequent] = pool[rng.choice(len(pool), frequent.sum(), p=w / w.sum())]
    return _Events(u, v, ms, category, address, phone, np.full(n, -1), np.concatenate(drawn_by))


def _address_variant(address: str, rng: np.random.Generator) -> str:
    """The same place written differently, as different call takers do."""
    if rng.random() < 0.35:
        address = address.replace("幢", "栋")
    if rng.random() < 0.3:
        address = address.translate(_FULLWIDTH)
    if rng.random() < 0.3:
        cut = next((k for k, ch in enumerate(address) if ch.isdigit()), len(address))
        address = address[:cut] + " " + address[cut:]
    return address


def _planted(lat: _Lattice, plan: _Plan, clock: _Clock, rng: np.random.Generator) -> _Events:
    """The calls at the planted hotspots and repeat-alarm places."""
    # Hotspots: Gaussian clusters, each with its trend over the year.
    src = np.repeat(np.flatnonzero(plan.kind == "hotspot"), plan.counts[plan.kind == "hotspot"])
    n = len(src)
    u, v = _around(lat, rng, plan.u[src], plan.v[src], plan.sigma[src])
    x = clock.yearfrac
    trends = {
        "persistent": np.ones_like(x),
        "new": (x >= 1 - 90 / 365).astype(float),
        "intensifying": 0.1 + x,
        "diminishing": (1 - x) ** 2,
    }
    ms = np.zeros(n, dtype=np.int64)
    for pattern, trend in trends.items():
        for night, hours in [(False, _everyday(clock)), (True, _NIGHT_W[clock.hour])]:
            mine = (plan.pattern[src] == pattern) & (plan.night[src] == night)
            ms[mine] = _times(rng, clock, int(mine.sum()), hours * trend)
    other = np.where(
        plan.night[src], _categories(rng, _NIGHT_CATEGORIES, n), _categories(rng, _CATEGORIES, n)
    )
    parts = [
        _Events(
            u,
            v,
            ms,
            np.where(rng.random(n) < 0.6, plan.theme[src], other),
            _street_address(lat, u, v),
            _phones(rng, n),
            src,
            np.full(n, -1),
        )
    ]
    # Repeat places: 3-12 calls at one spot within 30 days (days 0-27 after the first call, any
    # hour), the address written in several ways, mostly by the same caller.
    for k in np.flatnonzero(plan.kind == "repeat_place"):
        n = int(plan.counts[k])
        xy = _in_disk(rng, n, plan.sigma[k])
        u = np.clip(plan.u[k] + xy[:, 0], 0.5, lat.width - 0.5)
        v = np.clip(plan.v[k] + xy[:, 1], 0.5, lat.height - 0.5)
        span = int(rng.integers(n, 28))
        first_day = int(rng.integers(1, 364 - span))
        day = np.sort(np.concatenate([[0, span], rng.integers(0, span + 1, n - 2)]))
        hour = rng.choice(24, n, p=_HOUR_W / _HOUR_W.sum())
        ms = (
            (clock.slot_ms[0] // _DAY_MS + first_day + day) * _DAY_MS
            + hour * _HOUR_MS
            + rng.integers(0, _HOUR_MS, n)
        )
        category = np.where(rng.random(n) < 0.8, plan.theme[k], _categories(rng, _CATEGORIES, n))
        address = np.array(
            [plan.address[k]] + [_address_variant(plan.address[k], rng) for _ in range(n - 1)],
            dtype=object,
        )
        phone = np.where(rng.random(n) < 0.7, _phones(rng, 1)[0], _phones(rng, n))
        parts.append(_Events(u, v, ms, category, address, phone, np.full(n, k), np.full(n, -1)))
    return _concat(*parts)


def _groups(source: np.ndarray, n: int) -> list[np.ndarray]:
    """Positions of the events of each truth row ``0 .. n-1`` (``source``: row of each event)."""
    pos = np.flatnonzero(source >= 0)
    pos = pos[np.argsort(source[pos], kind="stable")]
    return np.split(pos, np.searchsorted(source[pos], np.arange(1, n))) if n else []


def _incidents(
    lat: _Lattice,
    events: _Events,
    truth_of: np.ndarray,
    n_truth: int,
    area_code: str,
    rng: np.random.Generator,
) -> tuple[gpd.GeoDataFrame, list[np.ndarray]]:
    """The incidents layer in time order, with ids made of area code, date and daily sequence,
    and the ids of each truth row's incidents."""
    order = np.argsort(events.ms, kind="stable")
    ms = events.ms[order]
    day = ms // _DAY_MS
    seq = np.arange(len(ms)) - np.searchsorted(day, day, side="left") + 1
    days = np.unique(day)
    dates = pd.DatetimeIndex((days * _DAY_MS).astype("datetime64[ms]"))
    ymd = (dates.year * 10_000 + dates.month * 100 + dates.day).to_numpy(np.int64)
    width = max(4, len(str(int(seq.max(initial=1)))))
    number = (int(area_code) * 10**8 + ymd[np.searchsorted(days, day)]) * 10**width + seq
    ids = pd.Series(number).astype("str").to_numpy()
    # Recent cases may still be open; older ones are nearly all closed.
    now_ms = _NOW_MS
    age_days = (now_ms - ms) / _DAY_MS
    is_open = rng.random(len(ms)) < 0.02 + 0.55 * np.exp(-age_days / 4)
    ids_by_truth = [ids[g] for g in _groups(truth_of[order], n_truth)]
    frame = _frame(
        lat,
        "incidents",
        {
            "incident_id": ids,
            "reported_at": _local_times(ms),
            "category": events.category[order],
            "address": events.address[order],
            "caller_phone": events.phone[order].astype(str),
            "status": np.where(is_open, "open", "closed"),
        },
        (events.u[order], events.v[order]),
    )
    return frame, ids_by_truth


_SITE_RHYTHM = {
    "nightlife": "night",
    "market": "market_day",
    "school": "daytime",
    "hospital": "daytime",
}


def _truth(
    lat: _Lattice,
    plan: _Plan,
    sites: _Sites,
    events: _Events,
    truth_of: np.ndarray,
    ids_by_truth: list[np.ndarray],
    n_planted: int,
) -> gpd.GeoDataFrame:
    """One row per planted hotspot or repeat place, then per key site that drew everyday calls
    (kind ``busy_site``, pattern the rhythm of its calls), each with the ids of its incidents."""
    groups = _groups(truth_of, n_planted + len(sites.u))
    busy = np.array([k for k in range(len(sites.u)) if len(groups[n_planted + k])], dtype=int)
    rows = np.concatenate([np.arange(n_planted), n_planted + busy]).astype(int)
    centre_u = np.concatenate([plan.u[:n_planted], sites.u[busy]])
    centre_v = np.concatenate([plan.v[:n_planted], sites.v[busy]])
    kind = np.concatenate([plan.kind[:n_planted], np.full(len(busy), "busy_site", dtype=object)])
    rhythm = [_SITE_RHYTHM[c] for c in sites.category[busy]]
    radius = np.concatenate([plan.sigma[:n_planted], np.zeros(len(busy))]).astype(float)
    first, last = np.zeros(len(rows), dtype=np.int64), np.zeros(len(rows), dtype=np.int64)
    for k, row in enumerate(rows):
        mine = groups[row]
        first[k], last[k] = events.ms[mine].min(), events.ms[mine].max()
        if kind[k] != "repeat_place":  # a cluster: the radius holding 90% of its calls
            dist = np.hypot(events.u[mine] - centre_u[k], events.v[mine] - centre_v[k])
            radius[k] = float(np.quantile(dist, 0.9))
    n_hot = int((kind == "hotspot").sum())
    truth_id = np.concatenate(
        [_ids("HS", n_hot), _ids("RP", n_planted - n_hot), _ids("BS", len(busy))]
    )
    data = {
        "truth_id": pd.array(truth_id, dtype="str"),
        "kind": pd.array(kind, dtype="str"),
        "pattern": pd.array(np.concatenate([plan.pattern[:n_planted], rhythm]), dtype="str"),
        "radius_m": radius,
        "incidents": np.array([len(groups[row]) for row in rows], dtype=np.int64),
        "address": pd.array(
            np.concatenate([plan.address[:n_planted], sites.address[busy]]), dtype="str"
        ),
        "first_at": _local_times(first),
        "last_at": _local_times(last),
        "incident_ids": pd.array([",".join(ids_by_truth[row]) for row in rows], dtype="str"),
    }
    geometry = lat.to_output((centre_u, centre_v))
    columns = {name: data[name] for name in TRUTH_COLUMNS}  # the documented order
    return gpd.GeoDataFrame(columns, geometry=geometry, crs=OUTPUT_CRS)
