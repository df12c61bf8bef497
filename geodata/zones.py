"""Patrol zones given as a table of grid ids (巡区编号, 包含网格) and no geometry: each zone's
polygon is the union of its grid cells."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.crs import WGS84
from geodata.values import split_ids

__all__ = ["zone_shapes"]


def zone_shapes(
    grid_ids: pd.Series, cells: gpd.GeoDataFrame
) -> tuple[np.ndarray, list[str | None], list[str | None]]:
    """
    Build each zone's polygon (EPSG:4326) from the grid cells its ``grid_ids`` list names.

    Parameters
    ----------
    grid_ids
        One list per zone, as typed: "G001,G002", "G001、G002"...
    cells
        The grid cells, with ``grid_id`` and a coordinate system.

    Returns
    -------
    shapes, empty, unknown
        The polygons (``None`` where a zone cannot be built), and per zone the text saying why
        not: ``empty`` when it lists no cell, ``unknown`` naming the ids not among the cells
        (``None`` where there is nothing to say).
    """
    if "grid_id" not in cells.columns or cells.crs is None:
        raise ValueError("the grid cells need a grid_id column and a coordinate system")
    lookup = dict(zip(cells["grid_id"].astype(str), cells.to_crs(WGS84).geometry, strict=True))
    shapes = np.full(len(grid_ids), None, dtype=object)
    empty: list[str | None] = [None] * len(grid_ids)
    unknown: list[str | None] = [None] * len(grid_ids)
    for k, text in enumerate(grid_ids.astype("string").fillna("")):
        ids = split_ids(text)
        missing = [i for i in ids if i not in lookup]
        if not ids:
            empty[k] = "lists no grid cells"
        elif missing:
            unknown[k] = f"{', '.join(missing[:5])} not among the {len(lookup)} grid cells"
        else:
            shapes[k] = shapely.union_all([lookup[i] for i in dict.fromkeys(ids)])
    return shapes, empty, unknown
