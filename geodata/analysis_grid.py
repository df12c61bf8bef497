"""Analysis grids where none is given: square or hexagonal cells of a chosen size (150 m is the
size of PredPol's boxes) over an area, built in the area's UTM zone and stored in EPSG:4326."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geodata.crs import WGS84, local_metric_crs

__all__ = ["hex_cells", "square_cells"]

AreaLike = gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry

# Beyond this a grid no longer fits comfortably in memory or on a map; a size that would exceed it
# is almost always a mistake (metres taken for kilometres).
MAX_CELLS = 5_000_000


def square_cells(area: AreaLike, size_m: float, *, clip: bool = True) -> gpd.GeoDataFrame:
    """
    Cover an area with square cells of ``size_m`` metres.

    Cells are laid out in the area's UTM zone (:func:`geodata.local_metric_crs`) on a lattice
    anchored at multiples of ``size_m`` from the zone's origin, so two grids of the same size over
    overlapping areas share their cells. Neighbouring cells share their corner coordinates exactly,
    so every point falls in exactly one cell or on an edge between cells.

    Parameters
    ----------
    area
        Polygons of the area (a bare shapely geometry is taken to be EPSG:4326). Points or lines,
        such as an incidents layer, are covered by the grid of their bounding box.
    size_m
        Side of a cell in metres.
    clip
        Keep only cells that overlap the area (cells are kept whole, not cut at its boundary); for
        points or lines, only cells that hold at least one of them. ``False`` keeps every cell of
        the bounding box.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id`` (``"S0003_0012"``: row then column), ``row`` (0 at the north), ``col`` (0 at
        the west) and the cell polygons, in EPSG:4326, in reading order.
    """
    shape, metric = _area_in_metric(area)
    size = _check_size(size_m)
    xmin, ymin, xmax, ymax = shapely.bounds(shape)
    first_col = int(np.floor(xmin / size))
    top_row = int(np.ceil(ymax / size))  # lattice row index of the grid's northern edge
    n_cols = max(1, int(np.ceil(xmax / size)) - first_col)
    n_rows = max(1, top_row - int(np.floor(ymin / size)))
    _check_count(n_rows * n_cols, size_m)
    row, col = np.divmod(np.arange(n_rows * n_cols, dtype=np.int64), n_cols)
    # Integer multiples of the size: shared edges are bit-identical.
    west, east = (first_col + col) * size, (first_col + col + 1) * size
    north, south = (top_row - row) * size, (top_row - row - 1) * size
    polygons = shapely.box(west, south, east, north)
    keep = _overlapping(polygons, shape) if clip else np.ones(len(polygons), dtype=bool)
    return _frame("S", row[keep], col[keep], polygons[keep], metric)


def hex_cells(area: AreaLike, size_m: float, *, clip: bool = True) -> gpd.GeoDataFrame:
    """
    Cover an area with hexagonal cells whose centres are ``size_m`` metres apart.

    The hexagons are pointy-topped, in rows running west-east; every other row is shifted half a
    cell east. ``size_m`` is the distance between neighbouring centres (also the width of a cell
    across its flat sides); a side is ``size_m / √3`` and a cell covers ``√3 / 2 · size_m²``
    (19,486 m² for 150 m, against 22,500 m² for a 150 m square). As with :func:`square_cells` the
    lattice is anchored in the UTM zone and neighbours share their vertices exactly.

    Parameters
    ----------
    area
        As for :func:`square_cells`.
    size_m
        Distance between the centres of neighbouring cells, metres.
    clip
        Keep only cells that overlap the area (or hold one of its points); ``False`` keeps every
        cell overlapping its bounding box.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id`` (``"H0003_0012"``), ``row`` (0 at the north), ``col`` (0 at the west) and the
        cell polygons, in EPSG:4326, in reading order.
    """
    shape, metric = _area_in_metric(area)
    size = _check_size(size_m)
    half_w = size / 2  # half the width across flat sides
    half_r = size / np.sqrt(3) / 2  # half a side; rows are 3 of these apart
    xmin, ymin, xmax, ymax = shapely.bounds(shape)
    # Lattice rows r have centres at y = 3r·half_r, x = (2c + (r mod 2))·half_w.
    r_lo = int(np.floor((ymin - 2 * half_r) / (3 * half_r)))
    r_hi = int(np.ceil((ymax + 2 * half_r) / (3 * half_r)))
    c_lo = int(np.floor((xmin - 2 * half_w) / size))
    c_hi = int(np.ceil((xmax + 2 * half_w) / size))
    n_rows, n_cols = r_hi - r_lo + 1, c_hi - c_lo + 1
    _check_count(n_rows * n_cols, size_m)
    k_row, k_col = np.divmod(np.arange(n_rows * n_cols, dtype=np.int64), n_cols)
    lat_row = r_hi - k_row  # north first
    lat_col = c_lo + k_col
    # Vertices as integer multiples of half_w and half_r, so neighbours share them bit for bit.
    cx2 = 2 * lat_col + (lat_row % 2)  # centre x in half-widths
    cy3 = 3 * lat_row  # centre y in half-sides
    dx = np.array([1, 0, -1, -1, 0, 1, 1])  # counter-clockwise from the east-north-east vertex
    dy = np.array([1, 2, 1, -1, -2, -1, 1])
    ring = np.stack([(cx2[:, None] + dx) * half_w, (cy3[:, None] + dy) * half_r], axis=-1)
    polygons = shapely.polygons(ring)
    box = shapely.box(xmin, ymin, xmax, ymax)
    keep = _overlapping(polygons, shape if clip else box)
    row, col = k_row[keep], k_col[keep]
    if keep.any():  # number rows and columns from the first kept ones
        row, col = row - row.min(), col - col.min()
    return _frame("H", row, col, polygons[keep], metric)


def _area_in_metric(area: AreaLike) -> tuple[shapely.Geometry, pyproj.CRS]:
    """The area as one geometry in its UTM zone, and that zone."""
    if isinstance(area, shapely.Geometry):
        series = gpd.GeoSeries([area], crs=WGS84)
    elif isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise ValueError("the area has no coordinate system; set one (e.g. .set_crs(4326))")
        series = gpd.GeoSeries(area.geometry)
    else:
        raise ValueError(
            f"area must be a GeoDataFrame, GeoSeries or shapely geometry, not {type(area).__name__}"
        )
    series = series[~(series.isna() | series.is_empty)]
    if series.empty:
        raise ValueError("the area holds no geometry to lay a grid over")
    metric = local_metric_crs(series)
    geoms = np.asarray(series.to_crs(metric).array)
    return shapely.make_valid(shapely.union_all(geoms)), metric


def _check_size(size_m: float) -> float:
    size = float(size_m)
    if not np.isfinite(size) or size <= 0:
        raise ValueError(f"size_m must be a positive number of metres, not {size_m!r}")
    return size


def _check_count(n: int, size_m: float) -> None:
    if n > MAX_CELLS:
        raise ValueError(
            f"size_m={size_m} would make {n:,} cells over this area (at most "
            f"{MAX_CELLS:,}); use a larger size (it is in metres)"
        )


def _overlapping(polygons: np.ndarray, shape: shapely.Geometry) -> np.ndarray:
    """Which cells share some area with a polygonal shape, or hold a point or line of another."""
    shapely.prepare(shape)
    hits = shapely.intersects(polygons, shape)
    if shapely.area(shape) > 0:
        hits &= ~shapely.touches(polygons, shape)  # a shared edge alone is no overlap
    return hits


def _frame(
    prefix: str, row: np.ndarray, col: np.ndarray, polygons: np.ndarray, metric: pyproj.CRS
) -> gpd.GeoDataFrame:
    width = max(4, len(str(int(max(row.max(initial=0), col.max(initial=0))))))
    row_text = pd.Series(row).astype("string").str.zfill(width)
    col_text = pd.Series(col).astype("string").str.zfill(width)
    frame = gpd.GeoDataFrame(
        {
            "cell_id": (prefix + row_text + "_" + col_text).astype("string").array,
            "row": row.astype(np.int64),
            "col": col.astype(np.int64),
        },
        geometry=gpd.GeoSeries(polygons, crs=metric).to_crs(WGS84).array,
        crs=WGS84,
    )
    return frame
