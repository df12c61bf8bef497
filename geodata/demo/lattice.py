"""The demo's street lattice (blocks between jittered streets) and its local metric frame, with
the helpers that place points in it and turn them into layers."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ..schemas import BOOLEAN, DEFAULT_TIMEZONE, ID, INTEGER, SCHEMAS, STRING
from .names import _CN, _H_STREETS, _V_STREETS
from .sizes import CENTRE_LONLAT, METRIC_CRS, OUTPUT_CRS, _Size

_TO_OUTPUT = Transformer.from_crs(METRIC_CRS, OUTPUT_CRS, always_xy=True)


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


def _local_times(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ms.astype("datetime64[ms]")).tz_localize(DEFAULT_TIMEZONE)
