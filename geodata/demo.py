"""Deterministic demo community for gridwatch, modelled on Wanhu Xincun (万户新村, Yancheng).

It feeds the dashboard out of the box and gives tests a known truth: the repeat-alarm places and
hotspots planted in the incidents, and the key sites that draw everyday calls around them (bars,
markets, schools and hospitals), are listed in ``demo_truth``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .schemas import BOOLEAN, DEFAULT_TIMEZONE, ID, INTEGER, SCHEMAS, STRING

__all__ = ["DEMO_NOW", "SIZES", "TRUTH_COLUMNS", "make_demo"]

# The demo's "now": incidents cover the year before it. Fixed so that output never depends on
# the real clock.
DEMO_NOW = pd.Timestamp("2026-11-01 08:00", tz=DEFAULT_TIMEZONE)
CENTRE_LONLAT = (120.163, 33.357)  # Wanhu Xincun, Tinghu district, Yancheng
METRIC_CRS = "EPSG:32651"  # UTM zone 51N, where everything is built
OUTPUT_CRS = "EPSG:4326"
_TO_OUTPUT = Transformer.from_crs(METRIC_CRS, OUTPUT_CRS, always_xy=True)
TRUTH_COLUMNS = (
    "truth_id",
    "kind",
    "pattern",
    "radius_m",
    "incidents",
    "address",
    "first_at",
    "last_at",
    "incident_ids",
)


@dataclass(frozen=True)
class _Size:
    nx: int  # blocks west-east
    ny: int  # blocks south-north
    merges: int  # pairs of adjacent blocks merged into one grid cell
    area_km2: float
    incidents: int  # incidents in the year, planted ones included
    zones: int
    place: str  # prefix of grid and zone names
    area_code: str  # administrative code leading each incident id


SIZES: dict[str, _Size] = {
    # 0.15 recorded incidents per resident a year, as Xuzhou's 110 (1.3M valid calls in 2017 for
    # ~8.8M people) and Hefei's (1.0M calls attended by officers in 2018 for ~8.1M people, 0.12).
    "community": _Size(4, 3, 1, 0.72, 2_250, 4, "万户新村", "320902"),
    "district": _Size(21, 20, 20, 20.0, 200_000, 14, "亭湖区", "320902"),
    "city": _Size(105, 80, 400, 400.0, 2_000_000, 40, "盐城市", "320900"),
}  # district and city are benchmark sizes, busier per resident than the community
_BASE_AREA_KM2 = 0.72  # counts below are for the community and scale with area
_POPULATION, _FLOATING = 15_000, 2_805
_RESIDENTS_PER_RENTAL = 25
_M2_PER_BUILDING = 4_800  # old six-storey blocks, ~100 residents each
_SITES = {
    "hospital": 1,
    "school": 2,
    "kindergarten": 3,
    "mall": 2,
    "nightlife": 3,
    "market": 2,
    "hotel": 4,
    "enterprise": 6,
    "bank": 3,
    "internet_cafe": 2,
}
_DEVICES = {"camera": 60, "alarm_post": 8, "loudspeaker": 6}  # checkpoints: by boundary length
_RESPONDERS = {"police": 6, "auxiliary": 14, "volunteer": 30}
_REPEAT_PLACES, _HOTSPOTS = 8, 4
_PATTERNS = ("new", "intensifying", "diminishing", "persistent")

_DAY_MS, _HOUR_MS = 86_400_000, 3_600_000
_CN = "零一二三四五六七八九十"
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_H_STREETS = "建军 人民 青年 大庆 新都 毓龙 文港 戴庄 双元 盐马 黄海 范公".split()
_V_STREETS = "开放 解放 迎宾 通榆 世纪 希望 新洋 宝龙 亭湖 五星 先锋 文峰".split()
_COMPOUNDS = (
    "万户新村 先锋新村 文峰小区 五星小区 建军新村 大庆新村 青年新村 盐中新村 英才小区 "
    "双元新村 松竹园 银都小区 毓龙新村 园丁新村 怡园小区 新都小区 红星小区 金港花园 "
    "民主新村 东进新村 迎宾花园 锦绣家园 聚龙湖小区 钱江方洲"
).split()
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程魏苏吕"
)  # most common first
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩凯鹏辉婷雪梅琳晨阳"
    "燕飞海波峰亮兵俊鑫"
)
_SITE_PREFIXES = "万户 亭湖 新洋 文峰 先锋 五星 大庆 毓龙 青墩 黄海 建军 聚龙 东进 盐渎".split()
_SITE_NAMES = {
    "hospital": ("{}社区卫生服务中心", "{}医院", "{}中医诊所"),
    "school": ("{}小学", "{}初级中学", "{}实验学校"),
    "kindergarten": ("{}幼儿园", "{}实验幼儿园", "{}双语幼儿园"),
    "mall": ("{}购物中心", "{}商业广场", "{}超市"),
    "nightlife": ("{}KTV", "{}酒吧", "{}足浴会所", "{}烧烤城"),
    "market": ("{}农贸市场", "{}菜市场"),
    "hotel": ("{}快捷酒店", "{}宾馆", "{}大酒店"),
    "enterprise": ("盐城{}物业服务有限公司", "盐城{}科技有限公司", "{}物流有限公司"),
    "bank": ("工商银行{}支行", "农商银行{}支行", "建设银行{}分理处", "邮储银行{}营业所"),
    "internet_cafe": ("{}网咖", "{}网吧"),
}
_DEVICE_LABELS = {
    "camera": "高清摄像机",
    "checkpoint": "治安卡口",
    "alarm_post": "一键报警柱",
    "loudspeaker": "广播喇叭",
}

# Incident categories and their shares among everyday calls, and those of calls around sites.
_CATEGORIES = {
    "纠纷": 0.17,
    "求助": 0.16,
    "交通事故": 0.11,
    "噪音扰民": 0.08,
    "盗窃": 0.08,
    "电动车被盗": 0.08,
    "可疑情况": 0.07,
    "诈骗": 0.04,
    "打架斗殴": 0.04,
    "走失": 0.03,
    "醉酒滋事": 0.03,
    "火警": 0.02,
    "其他": 0.09,
}
_NIGHT_CATEGORIES = {"打架斗殴": 0.3, "醉酒滋事": 0.3, "纠纷": 0.25, "噪音扰民": 0.15}
_MARKET_CATEGORIES = {"盗窃": 0.4, "纠纷": 0.35, "交通事故": 0.25}
_HOTSPOT_THEMES = ("电动车被盗", "盗窃", "纠纷", "诈骗")
_REPEAT_THEMES = ("纠纷", "噪音扰民", "求助", "可疑情况")

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

_STREAMS = (
    "lattice",
    "cells",
    "buildings",
    "rentals",
    "sites",
    "devices",
    "responders",
    "zones",
    "plan",
    "background",
    "planted",
    "incidents",
)


def make_demo(
    size: str = "community", seed: int = 0, *, planted: bool = True
) -> dict[str, gpd.GeoDataFrame]:
    """
    Generate the demo community: the seven layers and the truth about what was planted.

    Parameters
    ----------
    size
        ``"community"`` (0.72 km², 11 grid cells, 2,250 incidents a year), ``"district"``
        (~20 km², ~400 cells, ~200,000 incidents) or ``"city"`` (~400 km², ~8,000 cells,
        ~2,000,000 incidents, for benchmarks).
    seed
        Seed of ``numpy.random.default_rng``; the same arguments always give the same layers.
    planted
        Plant repeat-alarm places and hotspots in the incidents. Without them the incidents are
        background only (the same background as with them) and ``demo_truth`` lists only the
        busy key sites.

    Returns
    -------
    dict[str, geopandas.GeoDataFrame]
        The layers ``grid_cells``, ``rental_properties``, ``key_sites``, ``incidents``,
        ``patrol_zones``, ``devices`` and ``responders`` with the columns of
        :data:`geodata.schemas.SCHEMAS`, plus ``demo_truth``, all in EPSG:4326: one point per
        planted hotspot (kind ``hotspot``, ids ``HS…``) and repeat-alarm place (``repeat_place``,
        ``RP…``), then one per key site around which the background gathers calls (bars at
        night, markets on market days, fraud near schools and hospitals: ``busy_site``,
        ``BS…``), each with ``incident_ids`` naming its incidents and ``radius_m`` holding 90%
        of a cluster's calls (a repeat place's: its planted jitter).
    """
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; use one of: {', '.join(SIZES)}")
    spec = SIZES[size]
    scale = spec.area_km2 / _BASE_AREA_KM2
    # One child generator per layer, so that changing one layer's code leaves the others alone.
    rng = dict(zip(_STREAMS, np.random.default_rng(seed).spawn(len(_STREAMS)), strict=True))

    lat = _lattice(spec, rng["lattice"])
    cells = _grid_cells(lat, spec, scale, rng["cells"])
    bld = _buildings(lat, cells, rng["buildings"])
    rentals = _rentals(lat, cells, bld, scale, rng["rentals"])
    sites = _key_sites(lat, scale, rng["sites"])
    zone_of_cell = _zone_plan(lat, cells, spec.zones, rng["zones"])
    plan = _plan(lat, cells, bld, rentals, sites, scale, rng["plan"])
    n_background = spec.incidents - int(plan.counts.sum())
    clock = _clock()
    events = _background(lat, cells, bld, sites, clock, n_background, rng["background"])
    if planted:
        events = _concat(events, _planted(lat, plan, clock, rng["planted"]))
    # Truth rows: the planted places, then the key sites that drew everyday calls.
    n_planted = len(plan.kind) if planted else 0
    truth_of = np.where(
        events.source >= 0, events.source, np.where(events.site >= 0, n_planted + events.site, -1)
    )
    incidents, ids_by_truth = _incidents(
        lat, events, truth_of, n_planted + len(sites.u), spec.area_code, rng["incidents"]
    )
    layers = {
        "grid_cells": cells.frame,
        "rental_properties": rentals.frame,
        "key_sites": sites.frame,
        "incidents": incidents,
        "patrol_zones": _patrol_zones(lat, cells, sites, zone_of_cell, spec),
        "devices": _devices(lat, sites, scale, rng["devices"]),
        "responders": _responders(lat, cells, bld, sites, zone_of_cell, scale, rng["responders"]),
        "demo_truth": _truth(lat, plan, sites, events, truth_of, ids_by_truth, n_planted),
    }
    return layers


# --- lattice: blocks between jittered streets, and the local metric frame -----------------------


@dataclass
class _Lattice:
    nx: int
    ny: int
    width: float
    height: float
    nodes: np.ndarray  # (ny + 1, nx + 1, 2) street crossings in the local frame, metres
    x_lines: np.ndarray  # unjittered positions of the south-north streets
    y_lines: np.ndarray  # unjittered positions of the west-east streets
    quads: np.ndarray  # (blocks, 4, 2), counter-clockwise
    block_area: np.ndarray
    block_cell: np.ndarray  # grid cell index of each block
    cell_polygons: np.ndarray  # shapely polygons in the local frame, in grid order
    h_streets: np.ndarray  # names of the west-east streets (one per row of nodes)
    v_streets: np.ndarray
    origin: tuple[float, float]  # UTM coordinates of the local frame's (0, 0)
    angle: float  # rotation of the local frame against UTM north

    def inside(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Whether local points lie in the area (the outer boundary is exactly a rectangle)."""
        return (u > 0) & (u < self.width) & (v > 0) & (v < self.height)

    def to_utm(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local frame to EPSG:32651."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.origin[0] + u * c - v * s, self.origin[1] + u * s + v * c

    def to_output(self, geometry: np.ndarray | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Local polygons, or points given as (u, v), as shapely geometries in EPSG:4326."""

        def lonlat(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _TO_OUTPUT.transform(*self.to_utm(u, v))

        if isinstance(geometry, tuple):  # points: transform the arrays, make the points once
            return shapely.points(
                *lonlat(np.asarray(geometry[0], float), np.asarray(geometry[1], float))
            )
        return shapely.transform(geometry, lambda xy: np.column_stack(lonlat(xy[:, 0], xy[:, 1])))


def _lattice(spec: _Size, rng: np.random.Generator) -> _Lattice:
    nx, ny = spec.nx, spec.ny
    block = np.sqrt(spec.area_km2 * 1e6 / (nx * ny))  # mean block side
    width, height = nx * block, ny * block

    def lines(n: int, total: float) -> np.ndarray:
        sizes = rng.uniform(0.8, 1.2, n)
        return np.concatenate([[0.0], np.cumsum(sizes / sizes.sum() * total)])

    x_lines, y_lines = lines(nx, width), lines(ny, height)
    nodes = np.stack(np.meshgrid(x_lines, y_lines), axis=-1)
    # Streets are not straight: move crossings, but boundary ones only along the boundary so the
    # area stays an exact rectangle (and the cells tile it).
    jitter = rng.uniform(-0.12, 0.12, nodes.shape) * block
    jitter[:, [0, -1], 0] = 0.0
    jitter[[0, -1], :, 1] = 0.0
    nodes = nodes + jitter
    j, i = np.divmod(np.arange(nx * ny), nx)
    quads = np.stack([nodes[j, i], nodes[j, i + 1], nodes[j + 1, i + 1], nodes[j + 1, i]], axis=1)
    block_area = shapely.area(shapely.polygons(quads))

    # Merge disjoint pairs of neighbouring blocks: real grids are not all one block.
    pair_of = np.full(nx * ny, -1)
    rings: dict[int, np.ndarray] = {}
    while len(rings) < spec.merges:
        b = int(rng.integers(nx * ny))
        bi, bj = b % nx, b // nx
        east = rng.random() < 0.5
        if (east and bi + 1 >= nx) or (not east and bj + 1 >= ny):
            continue
        other = b + 1 if east else b + nx
        if pair_of[b] >= 0 or pair_of[other] >= 0:
            continue
        pair_of[b], pair_of[other] = other, b
        if east:
            ring = [
                (bj, bi),
                (bj, bi + 1),
                (bj, bi + 2),
                (bj + 1, bi + 2),
                (bj + 1, bi + 1),
                (bj + 1, bi),
            ]
        else:
            ring = [
                (bj, bi),
                (bj, bi + 1),
                (bj + 1, bi + 1),
                (bj + 2, bi + 1),
                (bj + 2, bi),
                (bj + 1, bi),
            ]
        rings[b] = np.array([nodes[r, c] for r, c in ring])

    # Grid cells numbered in reading order, from the north-west corner.
    first = [b for b in range(nx * ny) if pair_of[b] < 0 or b in rings]
    first.sort(key=lambda b: (-(b // nx), b % nx))
    block_cell = np.empty(nx * ny, dtype=np.int64)
    polygons = np.empty(len(first), dtype=object)
    for c, b in enumerate(first):
        block_cell[b] = c
        if b in rings:
            block_cell[pair_of[b]] = c
            polygons[c] = shapely.polygons(rings[b])
        else:
            polygons[c] = shapely.polygons(quads[b])

    def names(pool: list[str], n: int) -> np.ndarray:
        # 建军路, 人民路, ... then 建军二路, 人民二路, ... on big lattices
        return np.array(
            [
                pool[k % len(pool)] + ("" if k < len(pool) else _CN[k // len(pool) + 1]) + "路"
                for k in range(n)
            ],
            dtype=object,
        )

    to_utm = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    cx, cy = to_utm.transform(*CENTRE_LONLAT)
    angle = float(rng.uniform(-0.2, 0.2))  # the street pattern is not aligned with north
    c, s = np.cos(angle), np.sin(angle)
    origin = (cx - (width / 2 * c - height / 2 * s), cy - (width / 2 * s + height / 2 * c))
    return _Lattice(
        nx,
        ny,
        width,
        height,
        nodes,
        x_lines,
        y_lines,
        quads,
        block_area,
        block_cell,
        polygons,
        names(_H_STREETS, ny + 1),
        names(_V_STREETS, nx + 1),
        origin,
        angle,
    )


def _cross(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]


def _in_quads(
    quads: np.ndarray, which: np.ndarray, rng: np.random.Generator, shrink: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points in the given quads, shrunk towards their centre by ``shrink``."""
    q = quads[which]
    centre = q.mean(axis=1, keepdims=True)
    q = centre + (q - centre) * shrink
    a, b, c, d = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    # Split each quad into two triangles, pick one by area, then a point in it.
    area1, area2 = np.abs(_cross(b - a, c - a)), np.abs(_cross(c - a, d - a))
    second = rng.random(len(q)) * (area1 + area2) > area1
    p1 = np.where(second[:, None], c, b)
    p2 = np.where(second[:, None], d, c)
    r = rng.random((len(q), 2))
    flip = r.sum(axis=1) > 1
    r[flip] = 1 - r[flip]
    xy = a + r[:, :1] * (p1 - a) + r[:, 1:] * (p2 - a)
    return xy[:, 0], xy[:, 1]


def _in_disk(rng: np.random.Generator, n: int, radius: float | np.ndarray) -> np.ndarray:
    """Uniform offsets (n, 2) in a disk: a spot's jitter."""
    r = radius * np.sqrt(rng.random(n))
    t = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


def _around(
    lat: _Lattice,
    rng: np.random.Generator,
    cu: np.ndarray,
    cv: np.ndarray,
    sigma: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter around centres, redrawn where it falls outside the area."""
    sigma = np.broadcast_to(sigma, cu.shape)
    u, v = cu + rng.normal(0, 1, cu.shape) * sigma, cv + rng.normal(0, 1, cv.shape) * sigma
    out = ~lat.inside(u, v)
    while out.any():
        u[out] = cu[out] + rng.normal(0, 1, out.sum()) * sigma[out]
        v[out] = cv[out] + rng.normal(0, 1, out.sum()) * sigma[out]
        out = ~lat.inside(u, v)
    return u, v


def _street_address(lat: _Lattice, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Street and house number of the street nearest each local point (odd and even sides)."""

    def nearest(lines: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.clip(np.searchsorted(lines, x), 1, len(lines) - 1)
        k = np.where(np.abs(x - lines[k - 1]) < np.abs(x - lines[k]), k - 1, k)
        return k, x - lines[k]

    j, dy = nearest(lat.y_lines, v)
    i, dx = nearest(lat.x_lines, u)
    on_h = np.abs(dy) <= np.abs(dx)
    street = np.where(on_h, lat.h_streets[j], lat.v_streets[i])
    along = np.where(on_h, u, v)
    side = np.where(on_h, dy, dx) > 0
    number = 2 * (along // 12).astype(np.int64) + np.where(side, 1, 2)
    numbers = np.array([f"{k}号" for k in range(int(number.max()) + 1)], dtype=object)
    return street + numbers[number]


def _split_total(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (largest remainder)."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - counts.sum()
    counts[np.argsort(counts - exact, kind="stable")[:short]] += 1
    return counts


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chinese personal names: common surnames more often, one or two given characters."""
    w = 1 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
    surnames = np.array(list(_SURNAMES), dtype=object)[rng.choice(len(_SURNAMES), n, p=w / w.sum())]
    given = np.array(list(_GIVEN), dtype=object)
    second = np.where(rng.random(n) < 0.65, given[rng.integers(len(given), size=n)], "")
    return surnames + given[rng.integers(len(given), size=n)] + second


def _ids(prefix: str, n: int, width: int = 3) -> np.ndarray:
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{k:0{width}d}" for k in range(1, n + 1)], dtype=object)


def _frame(
    lat: _Lattice,
    kind: str,
    columns: dict[str, object],
    geometry: np.ndarray | tuple[np.ndarray, np.ndarray],
) -> gpd.GeoDataFrame:
    """A layer in EPSG:4326 with the schema's columns, in its order and with its types."""
    schema = SCHEMAS[kind]
    assert list(columns) == schema.columns, (kind, list(columns))
    dtypes = {ID: "str", STRING: "str", INTEGER: "int64", BOOLEAN: "bool"}
    data = {
        f.name: pd.array(columns[f.name], dtype=dtypes[f.type])
        if f.type in dtypes
        else columns[f.name]
        for f in schema.fields
    }
    return gpd.GeoDataFrame(data, geometry=lat.to_output(geometry), crs=OUTPUT_CRS)


# --- grid cells, buildings, rental properties, key sites -----------------------------------------


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


# --- patrol zones, devices, responders -----------------------------------------------------------


def _zone_plan(lat: _Lattice, cells: _Cells, n_zones: int, rng: np.random.Generator) -> np.ndarray:
    """Zone of each grid cell: contiguous zones grown from spread-out seeds, to uneven targets."""
    n = len(cells.ids)
    centre = shapely.get_coordinates(shapely.centroid(lat.cell_polygons))
    neighbours: list[set[int]] = [set() for _ in range(n)]
    grid = lat.block_cell.reshape(lat.ny, lat.nx)
    for a, b in [(grid[:, :-1], grid[:, 1:]), (grid[:-1, :], grid[1:, :])]:
        for x, y in zip(a.ravel(), b.ravel(), strict=True):
            if x != y:
                neighbours[x].add(int(y))
                neighbours[y].add(int(x))
    seeds = [int(rng.integers(n))]
    dist = np.hypot(*(centre - centre[seeds[0]]).T)
    for _ in range(n_zones - 1):
        seeds.append(int(dist.argmax()))
        dist = np.minimum(dist, np.hypot(*(centre - centre[seeds[-1]]).T))
    # Today's zones were drawn by hand: some carry much more than others.
    target = rng.uniform(0.6, 1.5, n_zones)
    zone = np.full(n, -1)
    load = np.zeros(n_zones)
    frontier: list[list[tuple[float, int]]] = [[] for _ in range(n_zones)]

    def assign(c: int, z: int) -> None:
        zone[c] = z
        load[z] += cells.population[c]
        for nb in neighbours[c]:
            if zone[nb] < 0:
                d = float(np.hypot(*(centre[nb] - centre[seeds[z]])))
                heapq.heappush(frontier[z], (d, nb))

    for z, c in enumerate(seeds):
        assign(c, z)
    while (zone < 0).any():
        for z in np.argsort(load / target):
            while frontier[z] and zone[frontier[z][0][1]] >= 0:
                heapq.heappop(frontier[z])
            if frontier[z]:
                assign(heapq.heappop(frontier[z])[1], int(z))
                break
    return zone


def _patrol_zones(
    lat: _Lattice, cells: _Cells, sites: _Sites, zone_of_cell: np.ndarray, spec: _Size
) -> gpd.GeoDataFrame:
    n = int(zone_of_cell.max()) + 1
    polygons = np.array(
        [shapely.union_all(lat.cell_polygons[zone_of_cell == z]) for z in range(n)], dtype=object
    )
    grid_ids = [",".join(cells.ids[zone_of_cell == z]) for z in range(n)]
    # Zones holding bars and KTVs get the 22:00-03:00 night patrol.
    night = np.bincount(
        zone_of_cell[lat.block_cell[sites.block[sites.category == "nightlife"]]], minlength=n
    )
    busiest = night >= max(1, np.sort(night)[-max(1, n // 4)])
    return _frame(
        lat,
        "patrol_zones",
        {
            "zone_id": _ids("XQ", n, 2),
            "name": [f"{spec.place}第{k}巡区" for k in range(1, n + 1)],
            "team": [f"巡逻{k}组" for k in range(1, n + 1)],
            "shift_hours": np.where(busiest, "22:00-03:00", "08:00-20:00"),
            "grid_ids": grid_ids,
        },
        polygons,
    )


def _devices(
    lat: _Lattice, sites: _Sites, scale: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    nodes = lat.nodes.reshape(-1, 2)
    node_j, node_i = np.divmod(np.arange(len(nodes)), lat.nx + 1)
    node_name = lat.h_streets[node_j] + "与" + lat.v_streets[node_i] + "交叉口"
    shopfront = np.flatnonzero(
        np.isin(sites.category, ["mall", "market", "nightlife", "bank", "internet_cafe", "hotel"])
    )
    school_gate = np.flatnonzero(np.isin(sites.category, ["school", "kindergarten"]))
    kinds, us, vs, names = [], [], [], []

    def place(kind: str, n: int, where: dict[str, float]) -> None:
        source = rng.choice(list(where), n, p=list(where.values()))
        at_node = source == "crossroads"
        k = rng.integers(len(nodes), size=n)
        s = np.where(
            source == "school_gate",
            school_gate[rng.integers(len(school_gate), size=n)],
            shopfront[rng.integers(len(shopfront), size=n)],
        )
        off = _in_disk(rng, n, 8.0)  # several cameras on one pole or gate
        u = np.where(at_node, nodes[k, 0], sites.u[s]) + off[:, 0]
        v = np.where(at_node, nodes[k, 1], sites.v[s]) + off[:, 1]
        u, v = np.clip(u, 1.0, lat.width - 1.0), np.clip(v, 1.0, lat.height - 1.0)
        kinds.append(np.full(n, kind, dtype=object))
        us.append(u)
        vs.append(v)
        label = _DEVICE_LABELS[kind]
        names.append(np.where(at_node, node_name[k], sites.name[s] + "门口") + label)

    place("camera", round(_DEVICES["camera"] * scale), {"crossroads": 0.8, "shopfront": 0.2})
    place(
        "alarm_post",
        round(_DEVICES["alarm_post"] * scale),
        {"shopfront": 0.5, "school_gate": 0.3, "crossroads": 0.2},
    )
    place(
        "loudspeaker",
        round(_DEVICES["loudspeaker"] * scale),
        {"school_gate": 0.4, "shopfront": 0.3, "crossroads": 0.3},
    )
    # Checkpoints where streets cross the boundary, set 5 m inside it.
    on_side = (node_i == 0) | (node_i == lat.nx)
    boundary = np.flatnonzero(on_side ^ ((node_j == 0) | (node_j == lat.ny)))  # no corners
    k = np.sort(rng.choice(boundary, round(0.4 * len(boundary)), replace=False))
    u = np.clip(nodes[k, 0], 5.0, lat.width - 5.0)
    v = np.clip(nodes[k, 1], 5.0, lat.height - 5.0)
    kinds.append(np.full(len(k), "checkpoint", dtype=object))
    us.append(u)
    vs.append(v)
    names.append(node_name[k] + _DEVICE_LABELS["checkpoint"])
    kind = np.concatenate(kinds)
    return _frame(
        lat,
        "devices",
        {
            "device_id": _ids("SB", len(kind), 4),
            "kind": kind,
            "name": np.concatenate(names),
        },
        (np.concatenate(us), np.concatenate(vs)),
    )


def _responders(
    lat: _Lattice,
    cells: _Cells,
    bld: _Buildings,
    sites: _Sites,
    zone_of_cell: np.ndarray,
    scale: float,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    counts = {kind: round(k * scale) for kind, k in _RESPONDERS.items()}
    n_police, n_aux, n_vol = counts.values()
    # Police and auxiliaries are out on the streets: somewhere along a block's edge.
    n_street = n_police + n_aux
    block = rng.integers(len(lat.block_area), size=n_street)
    edge = rng.integers(4, size=n_street)
    q = lat.quads[block]
    a, b = q[np.arange(n_street), edge], q[np.arange(n_street), (edge + 1) % 4]
    street = a + rng.random((n_street, 1)) * (b - a)
    # 万家卫士: every grid worker in their grid, guards at key sites, elderly residents at home.
    n_cells = len(cells.ids)
    n_workers = min(n_cells, n_vol)
    n_guards = min(len(sites.u), (n_vol - n_workers) // 2)
    n_elderly = n_vol - n_workers - n_guards
    worker_cell = rng.permutation(n_cells)[:n_workers]
    worker_block = np.unique(lat.block_cell, return_index=True)[1][worker_cell]
    guard_site = rng.permutation(len(sites.u))[:n_guards]
    pop = cells.block_pop / cells.block_pop.sum()
    home_block = rng.choice(len(pop), n_elderly, p=pop)
    at_building = _pick_building(rng, bld, np.concatenate([worker_block, home_block]))
    u = np.concatenate(
        [
            street[:, 0],
            bld.u[at_building[:n_workers]],
            sites.u[guard_site],
            bld.u[at_building[n_workers:]],
        ]
    )
    v = np.concatenate(
        [
            street[:, 1],
            bld.v[at_building[:n_workers]],
            sites.v[guard_site],
            bld.v[at_building[n_workers:]],
        ]
    )
    in_block = np.concatenate(
        [
            block,
            bld.block[at_building[:n_workers]],
            sites.block[guard_site],
            bld.block[at_building[n_workers:]],
        ]
    )
    kind = np.repeat(
        np.array(["police", "auxiliary", "volunteer"], dtype=object), [n_police, n_aux, n_vol]
    )
    names = _names(rng, len(kind))
    names[n_street : n_street + n_workers] = cells.workers[worker_cell]
    # Police talk on the command channel, auxiliaries on theirs, volunteers on their zone's.
    zone = zone_of_cell[lat.block_cell[in_block]]
    radio = np.where(kind == "police", "CH01", np.where(kind == "auxiliary", "CH02", ""))
    radio = np.where(radio == "", np.array([f"CH{z + 3:02d}" for z in zone], dtype=object), radio)
    on_duty = rng.random(len(kind)) < np.where(kind == "volunteer", 0.75, 0.88)
    now_ms = DEMO_NOW.tz_localize(None).value // 1_000_000
    last_seen = now_ms - rng.integers(0, _HOUR_MS, len(kind))
    return _frame(
        lat,
        "responders",
        {
            "responder_id": _ids("R", len(kind), 4),
            "kind": kind,
            "name": names,
            "radio": radio,
            "on_duty": on_duty,
            "last_seen": _local_times(last_seen),
        },
        (u, v),
    )


# --- incidents -----------------------------------------------------------------------------------


@dataclass
class _Clock:
    slot_ms: np.ndarray  # start of each hour of the demo year, Beijing wall-clock ms since epoch
    hour: np.ndarray
    weekday: np.ndarray
    mday: np.ndarray
    yearfrac: np.ndarray  # 0 at the start of the year, 1 at DEMO_NOW


def _clock() -> _Clock:
    end = DEMO_NOW.tz_localize(None).value // 1_000_000
    slot_ms = end - 365 * _DAY_MS + np.arange(365 * 24, dtype=np.int64) * _HOUR_MS
    idx = pd.DatetimeIndex(slot_ms.astype("datetime64[ms]"))
    return _Clock(
        slot_ms,
        idx.hour.to_numpy(),
        idx.day_of_week.to_numpy(),
        idx.day.to_numpy(),
        (slot_ms - slot_ms[0]) / (365 * _DAY_MS),
    )


def _local_times(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ms.astype("datetime64[ms]")).tz_localize(DEFAULT_TIMEZONE)


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


@dataclass
class _Plan:
    kind: np.ndarray  # "hotspot" or "repeat_place"
    pattern: np.ndarray
    u: np.ndarray
    v: np.ndarray
    counts: np.ndarray
    sigma: np.ndarray  # hotspot spread; for repeat places the jitter radius
    address: np.ndarray
    theme: np.ndarray  # main category of its calls
    night: np.ndarray  # calls at 22:00-03:00 only


def _spread(
    cand_u: np.ndarray,
    cand_v: np.ndarray,
    n: int,
    min_dist: float,
    taken: list[tuple[float, float, float]],
) -> list[int]:
    """
    Greedily pick up to ``n`` candidates, in order, that keep their distance from the others.

    ``taken`` holds points (u, v, distance to keep) already placed. Points are hashed into square
    buckets as wide as the largest distance, so only the 9 buckets around a candidate are checked.
    """
    size = max([min_dist] + [t[2] for t in taken])
    buckets: dict[tuple[int, int], list[tuple[float, float, float]]] = {}

    def add(u: float, v: float, dist: float) -> None:
        buckets.setdefault((int(u // size), int(v // size)), []).append((u, v, dist))

    for t in taken:
        add(*t)
    chosen: list[int] = []
    for c, (u, v) in enumerate(zip(cand_u.tolist(), cand_v.tolist(), strict=True)):
        if len(chosen) == n:
            break
        i, j = int(u // size), int(v // size)
        near = [
            p for di in (-1, 0, 1) for dj in (-1, 0, 1) for p in buckets.get((i + di, j + dj), ())
        ]
        if all((u - pu) ** 2 + (v - pv) ** 2 >= d * d for pu, pv, d in near):
            chosen.append(c)
            add(u, v, min_dist)
    return chosen


def _plan(
    lat: _Lattice,
    cells: _Cells,
    bld: _Buildings,
    rentals: _Rentals,
    sites: _Sites,
    scale: float,
    rng: np.random.Generator,
) -> _Plan:
    """Where the hotspots and repeat-alarm places go, and how many calls each gets."""
    n_hot, n_rep = round(_HOTSPOTS * scale), round(_REPEAT_PLACES * scale)
    # Hotspots 250 m apart: the first quarter at bars and KTVs (night), the others anywhere people
    # live, cycling through the temporal patterns.
    bars = rng.permutation(np.flatnonzero(sites.category == "nightlife"))
    night = _spread(sites.u[bars], sites.v[bars], max(1, round(n_hot / 4)), 250.0, [])
    taken = [(sites.u[bars[k]], sites.v[bars[k]], 250.0) for k in night]
    pop = cells.block_pop / cells.block_pop.sum()
    b = _pick_building(rng, bld, rng.choice(len(pop), 20 * n_hot, p=pop))
    others = _spread(bld.u[b], bld.v[b], n_hot - len(night), 250.0, taken)
    hot_u = np.concatenate([sites.u[bars[night]], bld.u[b[others]]])
    hot_v = np.concatenate([sites.v[bars[night]], bld.v[b[others]]])
    n_hot = len(hot_u)
    pattern = np.array(
        ["persistent"] * len(night) + [_PATTERNS[k % 4] for k in range(len(others))], dtype=object
    )
    # Repeat places 200 m apart and 150 m from hotspot centres: mostly rental flats (70%), some
    # shops. A weighted random order (exponential keys) gives each kind its share of the picks.
    cand_u, cand_v = np.concatenate([rentals.u, sites.u]), np.concatenate([rentals.v, sites.v])
    cand_address = np.concatenate([rentals.address, sites.address])
    weight = np.concatenate(
        [np.full(len(rentals.u), 0.7 / len(rentals.u)), np.full(len(sites.u), 0.3 / len(sites.u))]
    )
    order = np.argsort(rng.exponential(1.0, len(weight)) / weight)
    hot_taken = [(x, y, 150.0) for x, y in zip(hot_u, hot_v, strict=True)]
    places = order[_spread(cand_u[order], cand_v[order], n_rep, 200.0, hot_taken)]
    n_rep = len(places)
    hot_theme = np.array(_HOTSPOT_THEMES, dtype=object)[rng.integers(4, size=n_hot)]
    rep_theme = np.array(_REPEAT_THEMES, dtype=object)[rng.integers(4, size=n_rep)]
    return _Plan(
        kind=np.array(["hotspot"] * n_hot + ["repeat_place"] * n_rep, dtype=object),
        pattern=np.concatenate([pattern, np.full(n_rep, "", dtype=object)]),
        u=np.concatenate([hot_u, cand_u[places]]),
        v=np.concatenate([hot_v, cand_v[places]]),
        counts=np.concatenate(
            [rng.integers(110, 170, n_hot), 3 + np.minimum(rng.poisson(2.5, n_rep), 9)]
        ),
        # Hotspots a count map can show: ~half their calls within 60 m, at least 1.5 times the
        # community's density within 100 m of the centre, even in a quiet street.
        sigma=np.concatenate([rng.uniform(30, 60, n_hot), np.full(n_rep, 15.0)]),
        address=np.concatenate([np.full(n_hot, "", dtype=object), cand_address[places]]),
        theme=np.concatenate([hot_theme, rep_theme]),
        night=np.arange(n_hot + n_rep) < len(night),
    )


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
    now_ms = DEMO_NOW.tz_localize(None).value // 1_000_000
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
    return gpd.GeoDataFrame(data, geometry=geometry, crs=OUTPUT_CRS)
