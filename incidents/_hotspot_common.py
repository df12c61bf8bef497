"""Checks and small steps shared by the hotspot methods and their accuracy: cells, times, counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata import local_metric_crs

TIME_COLUMN = "reported_at"


def check_cells(cells: gpd.GeoDataFrame, id_column: str) -> None:
    """Raise a ValueError unless ``cells`` are polygons with a unique id column and a CRS."""
    if not isinstance(cells, gpd.GeoDataFrame):
        raise ValueError("cells must be a GeoDataFrame of polygons (see geodata.analysis_grid)")
    if id_column not in cells.columns:
        raise ValueError(f"cells have no column {id_column!r}; pass id_column= naming the cell ids")
    if cells.crs is None:
        raise ValueError("cells have no coordinate system; set one (EPSG:4326) first")
    if len(cells) == 0:
        raise ValueError("cells: no cells given")
    if cells[id_column].isna().any() or cells[id_column].duplicated().any():
        raise ValueError(f"cells: column {id_column!r} must hold a unique id for every cell")
    if not cells.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise ValueError("cells must all be polygons")


def check_incidents(incidents: gpd.GeoDataFrame, *, need_time: bool) -> None:
    """Raise a ValueError unless ``incidents`` are points with a CRS (and times when needed)."""
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise ValueError("incidents must be a GeoDataFrame of points (as geodata.read_layer gives)")
    if incidents.crs is None:
        raise ValueError("incidents have no coordinate system; set one (EPSG:4326) first")
    if need_time:
        if TIME_COLUMN not in incidents.columns:
            raise ValueError(
                f"incidents have no {TIME_COLUMN!r} column; this method needs the "
                "time of each incident"
            )
        if not isinstance(incidents[TIME_COLUMN].dtype, pd.DatetimeTZDtype):
            raise ValueError(
                f"incidents: {TIME_COLUMN!r} must hold time-zone-aware times; "
                "load the file with geodata.read_layer"
            )
        if incidents[TIME_COLUMN].isna().any():
            raise ValueError(f"incidents: {TIME_COLUMN!r} has missing times; drop those rows")


def to_timestamp(value: object, like: pd.Series, name: str) -> pd.Timestamp:
    """A user's date or time in the time zone of ``like`` (a time without an offset is local)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name}: cannot read {value!r} as a date or time") from error
    zone = like.dt.tz
    return stamp.tz_localize(zone) if stamp.tzinfo is None else stamp.tz_convert(zone)


def between(
    incidents: gpd.GeoDataFrame, since: object = None, until: object = None
) -> gpd.GeoDataFrame:
    """Incidents reported at or after ``since`` and before ``until`` (either may be None)."""
    if since is None and until is None:
        return incidents
    check_incidents(incidents, need_time=True)
    times = incidents[TIME_COLUMN]
    keep = np.ones(len(incidents), dtype=bool)
    if since is not None:
        keep &= (times >= to_timestamp(since, times, "since")).to_numpy()
    if until is not None:
        keep &= (times < to_timestamp(until, times, "until")).to_numpy()
    return incidents[keep]


def cell_counts(incidents: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, id_column: str) -> np.ndarray:
    """Incidents per cell, in the cells' row order (incidents outside every cell not counted)."""
    from incidents.assign import count_per_cell

    counts = count_per_cell(incidents, cells, id_column=id_column)
    return counts.reindex(cells[id_column].to_numpy(), fill_value=0).to_numpy(dtype=float)


def cell_rows_of(
    incidents: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, id_column: str
) -> np.ndarray:
    """Row position of each incident's cell in ``cells``, -1 for incidents outside every cell."""
    from incidents.assign import assign_to_cells

    ids = assign_to_cells(incidents, cells, id_column=id_column)
    lookup = pd.Index(cells[id_column].to_numpy())
    position = lookup.get_indexer(ids.to_numpy(dtype=object, na_value=None))
    return np.asarray(position, dtype=np.int64)


def cell_areas_m2(cells: gpd.GeoDataFrame) -> np.ndarray:
    """Each cell's area in square metres, measured in the local UTM zone."""
    return cells.geometry.to_crs(local_metric_crs(cells)).area.to_numpy()


def top_share_flags(score: np.ndarray, area: np.ndarray, share: float) -> np.ndarray:
    """
    Flag the highest-scoring cells until they cover ``share`` of the area.

    The last cell flagged may take the total over the share (so a grid of a few large cells still
    has its hottest cell flagged). Cells tied at the cut are flagged together when they fit within
    the share and left out together otherwise, rather than one of them picked arbitrarily. Only
    positive scores are flagged.
    """
    if not 0 < share <= 1:
        raise ValueError(f"area_share must be above 0 and at most 1, got {share}")
    score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
    area = np.asarray(area, dtype=float)
    target = share * area.sum()
    slack = target * 1e-9  # against rounding in the sums of areas
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[starts, len(ranked)])
    group_area = np.add.reduceat(area[order], starts) if len(starts) else np.array([])
    before = np.cumsum(group_area) - group_area
    taken = (before < target - slack) & ((before + group_area <= target + slack) | (sizes == 1))
    flags = np.zeros(len(score), dtype=bool)
    flags[order] = np.repeat(taken, sizes) & (ranked > 0)
    return flags
