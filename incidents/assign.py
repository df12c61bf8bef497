"""Which grid cell and patrol zone each incident falls in, fast enough for millions of incidents.

Rule for points on boundaries: a point on a cell's edge counts as inside it (``intersects``);
when several cells hold a point (a shared edge or corner, or overlapping polygons) it goes to the
one that comes first in the cells' order. The answer is exact and deterministic.

How it is fast: a raster of small buckets (about one per point) laid over the cells knows, for
every bucket that no cell boundary touches, which cell covers it; points there are looked up by
index arithmetic. Where the cells do not overlap, a bucket crossed by a single boundary segment
also knows the cells on its two sides, and a point there is placed by the side of that line it
lies on. The rest (points near vertices, or within 1e-7 of a bucket of a line) are tested exactly
against the cells with shapely's STRtree, which is also all that small inputs use.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["assign_incidents", "assign_to_cells", "cell_positions", "count_per_cell"]

_NONE = np.iinfo(np.int64).max  # "no cell" while taking minima
_SMALL = 20_000  # below this many points the STRtree alone is as fast as the raster
_EDGE = -2  # raster label of buckets a cell boundary passes through
_NOT_EDGE = -2  # segment raster: no boundary touches the bucket
_EPS = 1e-7  # in bucket widths: marks buckets a boundary passes within this of, against rounding


def assign_to_cells(
    points: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, *, id_column: str
) -> pd.Series:
    """
    Return the id of the cell each point falls in.

    Parameters
    ----------
    points
        Incident points; missing or empty geometries get no cell. Taken to the cells' CRS if
        theirs differs.
    cells
        Polygons (grid cells, patrol zones). Cells may overlap or leave gaps.
    id_column
        Column of ``cells`` holding the ids to return.

    Returns
    -------
    pandas.Series
        Aligned to ``points.index``, string dtype: the id of the cell holding each point, ``<NA>``
        for points in no cell. A point on a shared edge goes to the cell that comes first in
        ``cells`` (see the module docstring).

    Raises
    ------
    ValueError
        If ``id_column`` is missing, a layer has no CRS, or the geometries are of the wrong type.
    """
    ids = _cell_ids(cells, id_column)
    position = cell_positions(points, cells)
    values = ids.take(position, allow_fill=True)
    return pd.Series(values, index=points.index, name=id_column)


def count_per_cell(
    points: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, *, id_column: str
) -> pd.Series:
    """
    Count the points in each cell, zeros included.

    Returns
    -------
    pandas.Series
        int64 counts indexed by ``cells[id_column]`` in the cells' order.

    Raises
    ------
    ValueError
        As :func:`assign_to_cells`, and if the ids in ``id_column`` are not unique.
    """
    ids = _cell_ids(cells, id_column)
    if not pd.Index(ids).is_unique:
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise ValueError(
            f"cells column {id_column!r} repeats the id {dup!r}; give each cell its "
            "own id (or dissolve the cells by id first)"
        )
    position = cell_positions(points, cells)
    counts = np.bincount(position[position >= 0], minlength=len(cells)).astype(np.int64)
    return pd.Series(counts, index=pd.Index(ids, name=id_column), name="incidents")


def assign_incidents(
    incidents: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame | None = None,
    *,
    cell_id: str = "grid_id",
    zone_id: str = "zone_id",
) -> gpd.GeoDataFrame:
    """
    Return a copy of the incidents with the grid cell and patrol zone each falls in.

    Parameters
    ----------
    incidents
        Incident points.
    cells
        Grid cells (``grid_cells`` layer or an analysis grid from :mod:`geodata.analysis_grid`).
    zones
        Patrol zones, if any.
    cell_id, zone_id
        Id columns of ``cells`` and ``zones``; also the names of the new columns.

    Returns
    -------
    geopandas.GeoDataFrame
        The incidents with ``cell_id`` (and ``zone_id``) columns, ``<NA>`` where unassigned.
    """
    out = incidents.copy()
    out[cell_id] = assign_to_cells(incidents, cells, id_column=cell_id)
    if zones is not None:
        out[zone_id] = assign_to_cells(incidents, zones, id_column=zone_id)
    return out


def cell_positions(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    cells: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    method: str = "auto",
) -> np.ndarray:
    """
    Return the position (row number from 0) in ``cells`` of the cell holding each point.

    -1 for points in no cell. ``method`` is ``"auto"``, ``"raster"`` or ``"tree"``; all give the
    same answer (the raster is used from 20,000 points on).
    """
    if points.crs is None or cells.crs is None:
        which = "points" if points.crs is None else "cells"
        raise ValueError(f"the {which} have no coordinate system; set one (e.g. .set_crs(4326))")
    if method not in ("auto", "raster", "tree"):
        raise ValueError(f"method must be 'auto', 'raster' or 'tree', not {method!r}")
    point_geoms = gpd.GeoSeries(points.geometry)
    if not point_geoms.crs.equals(cells.crs):
        point_geoms = point_geoms.to_crs(cells.crs)
    x, y = _point_xy(np.asarray(point_geoms.array))
    polygons = _polygons(np.asarray(gpd.GeoSeries(cells.geometry).array))
    if len(x) == 0 or not shapely.is_geometry(polygons).any():
        return np.full(len(x), -1, dtype=np.int64)
    if method == "tree" or (method == "auto" and len(x) < _SMALL):
        return _tree_positions(x, y, polygons)
    return _raster_positions(x, y, polygons, geographic=bool(cells.crs.is_geographic))


def _cell_ids(cells: gpd.GeoDataFrame, id_column: str) -> pd.api.extensions.ExtensionArray:
    if id_column not in cells.columns:
        raise ValueError(
            f"the cells have no column {id_column!r}; their columns are "
            f"{', '.join(map(str, cells.columns))}"
        )
    return cells[id_column].astype("string").array


def _point_xy(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of point geometries; NaN for missing or empty ones."""
    kind = shapely.get_type_id(geoms)
    if ((kind != shapely.GeometryType.POINT) & (kind != shapely.GeometryType.MISSING)).any():
        raise ValueError("the incidents must be points; found other geometry types")
    if (kind == shapely.GeometryType.POINT).all():
        try:  # the usual case, in one pass each; an empty point makes GEOS refuse
            return shapely.get_x(geoms), shapely.get_y(geoms)
        except shapely.errors.GEOSException:
            pass
    present = shapely.get_num_coordinates(geoms) > 0
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[present] = shapely.get_x(geoms[present])
    y[present] = shapely.get_y(geoms[present])
    return x, y


def _polygons(geoms: np.ndarray) -> np.ndarray:
    """The cells as an object array with None for missing or empty ones; checks their type."""
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kinds = shapely.get_type_id(geoms[present])
    polygonal = np.isin(kinds, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    if not polygonal.all():
        raise ValueError("the cells must be polygons; found other geometry types")
    out = np.full(len(geoms), None, dtype=object)
    out[present] = geoms[present]
    return out


def _tree_positions(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Exact: every polygon a point intersects, keeping the first in order."""
    result = np.full(len(x), _NONE, dtype=np.int64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return np.full(len(x), -1, dtype=np.int64)
    present = np.flatnonzero(shapely.is_geometry(polygons))
    tree = shapely.STRtree(polygons[present])
    which = np.flatnonzero(ok)
    point_i, tree_i = tree.query(shapely.points(x[which], y[which]), predicate="intersects")
    np.minimum.at(result, which[point_i], present[tree_i])
    result[result == _NONE] = -1
    return result


def _raster_positions(
    x: np.ndarray, y: np.ndarray, polygons: np.ndarray, *, geographic: bool
) -> np.ndarray:
    present = np.flatnonzero(shapely.is_geometry(polygons))
    geoms = polygons[present]
    grid = _BucketGrid.around(geoms, n_points=len(x), geographic=geographic)
    raster = grid.rasterise(geoms)
    # -1: no cell (also off the raster), -2: a boundary crosses the bucket, else the position
    # among the present polygons.
    flat = grid.locate(x, y)
    found = raster.label[flat]
    near = np.flatnonzero(found == _EDGE)
    if raster.segment is not None and len(near):
        decided, side = grid.beside_one_segment(x[near], y[near], flat[near], raster)
        found[near[decided]] = side
        near = near[~decided]
    if len(present) < len(polygons):
        found = np.where(found >= 0, present[np.maximum(found, 0)], found)
    result = found.astype(np.int64)
    result[result == _EDGE] = -1
    if len(near):
        result[near] = _tree_positions(x[near], y[near], polygons)
    return result


@dataclass
class _Raster:
    """Labels of the buckets and, for tilings, what crosses the edge buckets."""

    label: np.ndarray  # flat: polygon covering the bucket, -1 none, -2 a boundary crosses it
    centre: np.ndarray | None = None  # flat: polygon holding the bucket's centre
    segment: np.ndarray | None = None  # flat: the one segment crossing the bucket, else -1
    ends: np.ndarray | None = None  # (segments, 4): u0, v0, u1, v1 in bucket units
    owners: np.ndarray | None = None  # (segments, 2): the polygons a segment bounds, -1 none


class _BucketGrid:
    """A raster of buckets over the cells' extent, one bucket wider than it on every side."""

    def __init__(self, x0: float, y0: float, bx: float, by: float, nx: int, ny: int) -> None:
        self.x0, self.y0, self.bx, self.by, self.nx, self.ny = x0, y0, bx, by, nx, ny

    @classmethod
    def around(cls, geoms: np.ndarray, *, n_points: int, geographic: bool) -> _BucketGrid:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        # Square buckets on the ground where the CRS is in degrees.
        squash = max(np.cos(np.radians((ymin + ymax) / 2)), 0.05) if geographic else 1.0
        width, height = max(xmax - xmin, 1e-12), max(ymax - ymin, 1e-12)
        # Enough buckets that few points fall in one a boundary crosses, not so many that building
        # the raster costs more than it saves: at least 256 per cell, about one per point (measured
        # best on the city demo), at most 16M.
        target = int(np.clip(max(256 * len(geoms), n_points), 1, 16_000_000))
        by = np.sqrt(width * squash * height / target)
        bx = by / squash
        nx = int(np.ceil(width / bx)) + 2
        ny = int(np.ceil(height / by)) + 2
        return cls(xmin - bx, ymin - by, bx, by, nx, ny)

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat bucket index of each point; points off the raster (or NaN) get the last bucket,
        which lies in the margin and is never a cell's."""
        with np.errstate(invalid="ignore"):
            u = np.floor((x - self.x0) / self.bx)
            v = np.floor((y - self.y0) / self.by)
            inside = (u >= 0) & (u < self.nx) & (v >= 0) & (v < self.ny)
        last = self.nx * self.ny - 1
        return np.where(inside, v * self.nx + u, last).astype(np.int64)

    def rasterise(self, geoms: np.ndarray) -> _Raster:
        """
        Label the buckets: the first polygon (position in ``geoms``) covering the whole bucket,
        -1 for none, -2 where a boundary passes through or touches.

        Where the polygons do not overlap, also note the edge buckets that exactly one boundary
        segment crosses, with the polygons on its two sides: a point there is placed by the side
        of the line it lies on.
        """
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        u = (coords[:, 0] - self.x0) / self.bx
        v = (coords[:, 1] - self.y0) / self.by
        same = coord_ring[1:] == coord_ring[:-1]  # consecutive vertices of one ring: a segment
        u0, v0, u1, v1 = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
        owner = part_of[ring_of[coord_ring[:-1][same]]]
        label, overlapping = self._scanline_labels(u0, v0, u1, v1, owner)
        # One id per geometric segment: the two copies of a shared edge (one per polygon, in
        # opposite directions) are the same segment.
        ends = np.column_stack([u0, v0, u1, v1])
        flip = (u1 < u0) | ((u1 == u0) & (v1 < v0))
        ends[flip] = ends[flip][:, [2, 3, 0, 1]]
        unique_ends, geo = np.unique(ends, axis=0, return_inverse=True)
        geo = geo.ravel()
        segment = self._edge_buckets(u0, v0, u1, v1, geo)
        centre = label.copy() if not overlapping else None
        label[segment != _NOT_EDGE] = _EDGE
        if overlapping:
            return _Raster(label)
        pairs = np.unique(np.column_stack([geo, owner]), axis=0)
        first = np.searchsorted(pairs[:, 0], np.arange(len(unique_ends)))
        count = np.bincount(pairs[:, 0], minlength=len(unique_ends))
        owners = np.full((len(unique_ends), 2), -1, dtype=np.int64)
        owners[:, 0] = pairs[np.minimum(first, len(pairs) - 1), 1]
        two = count == 2
        owners[two, 1] = pairs[first[two] + 1, 1]
        # Three cells on one edge, or a cell with one edge twice (a slit): test those exactly.
        copies = np.bincount(geo, minlength=len(unique_ends))
        segment[np.isin(segment, np.flatnonzero((count > 2) | (copies != count)))] = -1
        segment[segment == _NOT_EDGE] = -1
        return _Raster(label, centre, segment, unique_ends, owners)

    def beside_one_segment(
        self, x: np.ndarray, y: np.ndarray, flat: np.ndarray, raster: _Raster
    ) -> tuple[np.ndarray, np.ndarray]:
        """For points in edge buckets: which can be placed by the side of the one segment
        crossing their bucket (not on or within rounding of it), and the polygon they are in."""
        seg = raster.segment[flat]
        ok = seg >= 0
        seg = np.maximum(seg, 0)
        u0, v0, u1, v1 = raster.ends[seg].T
        pu, pv = (x - self.x0) / self.bx, (y - self.y0) / self.by
        cu, cv = np.floor(pu) + 0.5, np.floor(pv) + 0.5
        du, dv = u1 - u0, v1 - v0
        side = du * (pv - v0) - dv * (pu - u0)
        centre_side = du * (cv - v0) - dv * (cu - u0)
        tolerance = 1e-7 * np.hypot(du, dv)  # within ~1e-7 bucket of the line: test exactly
        centre = raster.centre[flat]
        first, second = raster.owners[seg].T
        other = np.where(centre == first, second, np.where(centre == second, first, _EDGE))
        ok &= (np.abs(side) > tolerance) & (np.abs(centre_side) > tolerance) & (other != _EDGE)
        inside = np.where((side > 0) == (centre_side > 0), centre, other)
        return ok, inside[ok]

    def _edge_buckets(
        self, u0: np.ndarray, v0: np.ndarray, u1: np.ndarray, v1: np.ndarray, geo: np.ndarray
    ) -> np.ndarray:
        """Flat raster: the geometric segment touching each bucket, -1 where several do,
        ``_NOT_EDGE`` where none does."""
        # A segment touches exactly the buckets around its start and around every point where it
        # crosses a bucket line: each piece between two crossings lies in a bucket beside them.
        su, sv, sid = [u0], [v0], [geo]
        for a0, b0, a1, b1, swap in ((u0, v0, u1, v1, False), (v0, u0, v1, u1, True)):
            lo, hi = np.minimum(a0, a1), np.maximum(a0, a1)
            first = np.ceil(lo).astype(np.int64)
            count = np.maximum(np.floor(hi).astype(np.int64) - first + 1, 0)
            count[a0 == a1] = 0  # parallel to these lines: the other family's crossings cover it
            seg = np.repeat(np.arange(len(a0)), count)
            line = first[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count))
            t = (line - a0[seg]) / (a1[seg] - a0[seg])
            other = b0[seg] + t * (b1[seg] - b0[seg])
            su.append(other if swap else line.astype(float))
            sv.append(line.astype(float) if swap else other)
            sid.append(geo[seg])
        px, py, ids = np.concatenate(su), np.concatenate(sv), np.concatenate(sid)
        flats = []
        for du in (-_EPS, _EPS):
            for dv in (-_EPS, _EPS):
                c = np.clip(np.floor(px + du).astype(np.int64), 0, self.nx - 1)
                r = np.clip(np.floor(py + dv).astype(np.int64), 0, self.ny - 1)
                flats.append(r * self.nx + c)
        flat = np.concatenate(flats)
        ids = np.tile(ids, 4)
        segment = np.full(self.nx * self.ny, _NOT_EDGE, dtype=np.int64)
        segment[flat] = ids  # one of the segments touching each bucket...
        several = segment[flat] != ids  # ...and where another touches it too
        segment[flat[several]] = -1
        return segment

    def _scanline_labels(
        self, u0: np.ndarray, v0: np.ndarray, u1: np.ndarray, v1: np.ndarray, owner: np.ndarray
    ) -> tuple[np.ndarray, bool]:
        """Flat labels by bucket centre, and whether any polygons overlap."""
        # Even-odd fill along the line through each row's bucket centres: rows j with centre
        # j + 0.5 in [min v, max v) of a segment cross it once (half-open, so a vertex on the line
        # counts once).
        slanted = v0 != v1
        u0, v0, u1, v1, owner = u0[slanted], v0[slanted], u1[slanted], v1[slanted], owner[slanted]
        lo, hi = np.minimum(v0, v1), np.maximum(v0, v1)
        first = np.ceil(lo - 0.5).astype(np.int64)
        count = np.maximum(np.ceil(hi - 0.5).astype(np.int64) - first, 0)
        seg = np.repeat(np.arange(len(u0)), count)
        row = first[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count))
        centre = row + 0.5
        cross = u0[seg] + (centre - v0[seg]) * (u1[seg] - u0[seg]) / (v1[seg] - v0[seg])
        poly = owner[seg]
        order = np.lexsort((cross, row, poly))
        cross, row, poly = cross[order], row[order], poly[order]
        # Crossings pair up within each (polygon, row): inside between the 1st and 2nd, 3rd and 4th.
        start = np.ones(len(row), dtype=bool)
        start[1:] = (row[1:] != row[:-1]) | (poly[1:] != poly[:-1])
        rank = np.arange(len(row)) - np.maximum.accumulate(np.where(start, np.arange(len(row)), 0))
        opening = np.flatnonzero(rank % 2 == 0)
        opening = opening[opening + 1 < len(row)]
        closing = opening + 1
        c_first = np.ceil(cross[opening] - 0.5).astype(np.int64)
        c_end = np.maximum(np.ceil(cross[closing] - 0.5).astype(np.int64), c_first)
        keep = c_end > c_first
        start = row[opening][keep] * self.nx + c_first[keep]
        end = row[opening][keep] * self.nx + c_end[keep]
        owner_of = poly[opening][keep]
        order = np.argsort(start, kind="stable")
        start, end, owner_of = start[order], end[order], owner_of[order]
        if (start[1:] < end[:-1]).any():
            return self._overlapping_labels(start, end, owner_of), True
        # Cells that do not overlap: spans along a row are disjoint, so each bucket takes the
        # owner of the last span that started at or before it, unless that span has ended.
        event = np.full(self.nx * self.ny + 1, -2, dtype=np.int32)
        event[end] = -1
        event[start] = owner_of
        last = np.where(event != -2, np.arange(len(event), dtype=np.int32), 0)
        np.maximum.accumulate(last, out=last)
        label = event[last][:-1]
        label[label == -2] = -1
        return label, False

    def _overlapping_labels(
        self, start: np.ndarray, end: np.ndarray, owner: np.ndarray
    ) -> np.ndarray:
        """Labels where cells overlap: every covered bucket written, the first cell winning."""
        length = end - start
        span = np.repeat(np.arange(len(start)), length)
        flat = start[span] + (np.arange(len(span)) - np.repeat(np.cumsum(length) - length, length))
        label = np.full(self.nx * self.ny, _NONE, dtype=np.int64)
        np.minimum.at(label, flat, owner[span])
        label[label == _NONE] = -1
        return label
