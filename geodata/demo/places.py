"""Grid cells, buildings, rental properties and key sites of the demo community."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from .lattice import _frame, _ids, _in_disk, _in_quads, _Lattice, _split_total, _street_address
from .names import _COMPOUNDS, _SITE_NAMES, _SITE_PREFIXES, _names
from .sizes import (
    _FLOATING,
    _M2_PER_BUILDING,
    _POPULATION,
    _RESIDENTS_PER_RENTAL,
    _SITES,
    DEMO_NOW,
    _Size,
)


@dataclass
class _Cells:
    frame: gpd.GeoDataFrame
    ids: np.ndarray
    population: np.ndarray
    block_pop: np.ndarray  # residents per block, for spreading incidents
    block_floating: np.ndarray
    compound: np.ndarray  # residential compound name of each cell
    workers: np.ndarray


def _grid_cells(lat: _Lattice, spec: _Size, scale: float, rng: np.random.Generator) -> _Cells:
    n = len(lat.cell_polygons)
    block_w = lat.block_area * rng.lognormal(0, 0.35, len(lat.block_area))
    cell_w = np.bincount(lat.block_cell, block_w, minlength=n)
    population = _split_total(round(_POPULATION * scale), cell_w)
    floating_share = np.minimum(rng.lognormal(0, 0.4, n) * _FLOATING / _POPULATION, 0.6)
    floating = np.minimum(
        _split_total(round(_FLOATING * scale), population * floating_share), population
    )
    share = block_w / cell_w[lat.block_cell]
    ids = _ids("G", n)
    names = np.array([f"{spec.place}第{k}网格" for k in range(1, n + 1)], dtype=object)
    if spec.place == "万户新村":
        compound = np.full(n, "万户新村", dtype=object)
    else:
        compound = np.array(
            [
                _COMPOUNDS[k % len(_COMPOUNDS)]
                + ("" if k < len(_COMPOUNDS) else f"{k // len(_COMPOUNDS) + 1}区")
                for k in rng.permutation(n)
            ],
            dtype=object,
        )
    # One grid worker per grid, 6 full-time to 5 part-time as in Wanhu Xincun.
    workers = _names(rng, n)
    full_time = rng.permutation(n) < round(n * 6 / 11)
    label = workers + np.where(full_time, "（专职）", "（兼职）")
    frame = _frame(
        lat,
        "grid_cells",
        {
            "grid_id": ids,
            "name": names,
            "grid_workers": label,
            "population": population,
            "floating_population": floating,
        },
        lat.cell_polygons,
    )
    return _Cells(
        frame,
        ids,
        population,
        population[lat.block_cell] * share,
        floating[lat.block_cell] * share,
        compound,
        workers,
    )


@dataclass
class _Buildings:
    u: np.ndarray
    v: np.ndarray
    block: np.ndarray
    label: np.ndarray  # "万户新村12幢"
    units: np.ndarray
    floors: np.ndarray
    block_first: np.ndarray  # buildings are sorted by block: first index and count per block
    block_count: np.ndarray


def _buildings(lat: _Lattice, cells: _Cells, rng: np.random.Generator) -> _Buildings:
    count = np.maximum(2, np.round(lat.block_area / _M2_PER_BUILDING)).astype(np.int64)
    block = np.repeat(np.arange(len(count)), count)
    # Set back from the streets (shrink), so that people at a building are inside its grid cell.
    u, v = _in_quads(lat.quads, block, rng, shrink=0.78)
    # Buildings are numbered within their compound, in grid order.
    compound = cells.compound[lat.block_cell[block]]
    _, compound_id = np.unique(compound, return_inverse=True)
    order = np.lexsort((lat.block_cell[block], compound_id))
    number = np.empty(len(block), dtype=np.int64)
    sorted_ids = compound_id[order]
    starts = np.searchsorted(sorted_ids, sorted_ids, side="left")
    number[order] = np.arange(len(block)) - starts + 1
    label = compound + np.array([f"{k}幢" for k in range(number.max() + 1)], dtype=object)[number]
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    return _Buildings(
        u,
        v,
        block,
        label,
        rng.integers(2, 6, len(block)),
        rng.integers(5, 8, len(block)),
        first,
        count,
    )


def _rooms(rng: np.random.Generator, bld: _Buildings, b: np.ndarray) -> tuple[np.ndarray, ...]:
    unit = 1 + (rng.random(len(b)) * bld.units[b]).astype(np.int64)
    floor = 1 + (rng.random(len(b)) * bld.floors[b]).astype(np.int64)
    return unit, floor, rng.integers(1, 3, len(b))


def _room_address(
    bld: _Buildings, b: np.ndarray, unit: np.ndarray, floor: np.ndarray, room: np.ndarray
) -> np.ndarray:
    units = np.array([f"{k}单元" for k in range(10)], dtype=object)
    rooms = np.array([f"{k // 10}0{k % 10}室" for k in range(100)], dtype=object)
    return bld.label[b] + units[unit] + rooms[floor * 10 + room]


def _pick_building(rng: np.random.Generator, bld: _Buildings, block: np.ndarray) -> np.ndarray:
    return bld.block_first[block] + (rng.random(len(block)) * bld.block_count[block]).astype(int)


@dataclass
class _Rentals:
    frame: gpd.GeoDataFrame
    u: np.ndarray
    v: np.ndarray
    address: np.ndarray


def _rentals(
    lat: _Lattice, cells: _Cells, bld: _Buildings, scale: float, rng: np.random.Generator
) -> _Rentals:
    n = round(_POPULATION * scale / _RESIDENTS_PER_RENTAL)
    # Rentals house the floating population.
    per_block = _split_total(n, cells.block_floating + 0.05 * cells.block_pop)
    block = np.repeat(np.arange(len(per_block)), per_block)
    b = _pick_building(rng, bld, block)
    unit, floor, room = _rooms(rng, bld, b)
    for _ in range(100):  # one rental per flat: redraw flats let twice
        key = ((b * 10 + unit) * 10 + floor) * 10 + room
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        b[dup] = _pick_building(rng, bld, block[dup])
        unit[dup], floor[dup], room[dup] = _rooms(rng, bld, b[dup])
    address = _room_address(bld, b, unit, floor, room)
    # A rental sits at its building, at its unit's entrance.
    heading = rng.uniform(0, np.pi, len(bld.u))[b]
    offset = (unit - (bld.units[b] + 1) / 2) * 3.0
    jitter = _in_disk(rng, n, 1.0)
    u = bld.u[b] + offset * np.cos(heading) + jitter[:, 0]
    v = bld.v[b] + offset * np.sin(heading) + jitter[:, 1]
    group = rng.random(n) < 0.09  # 群租房
    tenants = np.where(group, rng.integers(6, 16, n), np.minimum(1 + rng.poisson(1.3, n), 5))
    interval = np.where(group, 30, 90)
    # Days since the last visit: about a quarter of the rentals are overdue.
    days = np.minimum(1 + (rng.random(n) * interval * 1.35).astype(np.int64), 364)
    today = DEMO_NOW.tz_localize(None).normalize().as_unit("ms").to_datetime64()
    frame = _frame(
        lat,
        "rental_properties",
        {
            "property_id": _ids("CZ", n, 5),
            "address": address,
            "tenants": tenants,
            "group_rental": group,
            "last_inspection": today - days.astype("timedelta64[D]"),
            "inspection_interval_days": interval,
            "grid_id": cells.ids[lat.block_cell[block]],
        },
        (u, v),
    )
    return _Rentals(frame, u, v, address)


@dataclass
class _Sites:
    frame: gpd.GeoDataFrame
    u: np.ndarray
    v: np.ndarray
    category: np.ndarray
    name: np.ndarray
    address: np.ndarray
    block: np.ndarray


def _key_sites(lat: _Lattice, scale: float, rng: np.random.Generator) -> _Sites:
    counts = {cat: max(1, round(k * scale)) for cat, k in _SITES.items()}
    category = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    n = len(category)
    # Sites face a street: a point on a block's edge, moved 12% of the way to its centre.
    block = rng.choice(len(lat.block_area), n, p=lat.block_area / lat.block_area.sum())
    edge = rng.integers(4, size=n)
    q = lat.quads[block]
    a, b = q[np.arange(n), edge], q[np.arange(n), (edge + 1) % 4]
    front = a + rng.uniform(0.15, 0.85, (n, 1)) * (b - a)
    xy = front + 0.12 * (q.mean(axis=1) - front)
    names = np.array(
        [rng.choice(_SITE_NAMES[c]).format(rng.choice(_SITE_PREFIXES)) for c in category],
        dtype=object,
    )
    address = _street_address(lat, front[:, 0], front[:, 1])
    frame = _frame(
        lat,
        "key_sites",
        {
            "site_id": _ids("DW", n, 4),
            "name": names,
            "category": category,
            "address": address,
        },
        (xy[:, 0], xy[:, 1]),
    )
    return _Sites(frame, xy[:, 0], xy[:, 1], category, names, address, block)
