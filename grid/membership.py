"""Which grid cells each patrol zone holds, read from a patrol_zones layer (its ``grid_ids`` lists
or, failing those, its polygons), with the blind spots and the cells two zones claim."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import local_metric_crs
from geodata.values import split_ids

__all__ = ["NO_ZONE", "ZoneMembership", "as_membership", "zone_membership"]

NO_ZONE = "(no zone)"  # label for blind-spot cells in tables


@dataclass(frozen=True)
class ZoneMembership:
    """Cells and the zones that hold them.

    ``pairs`` has one row per (cell, zone) claim; ``assignment`` gives each cell one zone (the
    first zone claiming it) or ``<NA>`` for a blind spot.
    """

    pairs: pd.DataFrame  # grid_id, zone_id
    assignment: pd.Series  # index grid_id, value zone_id (string, <NA> in no zone)
    zone_ids: pd.Index  # every zone, in the layer's order, even one holding no known cell
    unknown_cells: list[str]  # ids a zone lists that are not grid cells

    @property
    def blind_spots(self) -> pd.Index:
        """Cells in no zone (不留盲区: there should be none)."""
        return self.assignment.index[self.assignment.isna()]

    @property
    def double_claimed(self) -> pd.DataFrame:
        """Cells claimed by more than one zone, with the zones (comma-separated)."""
        counts = self.pairs.groupby("grid_id", sort=False)["zone_id"]
        many = counts.transform("size") > 1
        rows = self.pairs[many.to_numpy()]
        return (
            rows.groupby("grid_id", sort=False)["zone_id"]
            .agg(",".join)
            .rename("zones")
            .reset_index()
        )


def as_membership(
    zones: pd.Series | ZoneMembership | gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    id_column: str = "grid_id",
) -> ZoneMembership:
    """Zones given as an assignment Series, a membership or a patrol_zones layer, as a
    :class:`ZoneMembership` over ``cells``."""
    if isinstance(zones, ZoneMembership):
        return zones
    if isinstance(zones, gpd.GeoDataFrame):
        return zone_membership(zones, cells, id_column=id_column)
    if isinstance(zones, pd.Series):
        ids = pd.Index(cells[id_column].astype("string"), name="grid_id")
        assignment = zones.copy()
        assignment.index = assignment.index.astype("string")
        unknown = [str(x) for x in assignment.index.difference(ids)]
        assignment = assignment.reindex(ids).astype("string").rename("zone_id")
        known = assignment.dropna()
        pairs = pd.DataFrame(
            {"grid_id": known.index.to_numpy(), "zone_id": known.to_numpy()}, dtype="string"
        )
        zone_ids = pd.Index(pd.unique(zones.dropna().astype("string")), name="zone_id")
        return ZoneMembership(pairs, assignment, zone_ids, unknown)
    raise ValueError(
        "zones must be an assignment Series (grid_id -> zone_id), a "
        "ZoneMembership or a patrol_zones layer"
    )


def zone_membership(
    patrol_zones: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    zone_column: str = "zone_id",
    cells_column: str = "grid_ids",
    id_column: str = "grid_id",
    min_cover: float = 0.2,
) -> ZoneMembership:
    """
    Read which cells each patrol zone holds.

    A zone's ``grid_ids`` list (comma-separated, Chinese commas and 、 accepted) is used when
    every zone has one; otherwise zones are read from their polygons: a zone claims a cell when
    it covers at least ``min_cover`` of the cell's area, and a cell's zone is the one covering
    most of it.

    Raises
    ------
    ValueError
        If the zone id column is missing, or ids repeat.
    """
    if zone_column not in patrol_zones.columns:
        raise ValueError(
            f"the patrol zones have no column {zone_column!r}; name the zone id "
            "column with zone_column"
        )
    zone_ids = pd.Index(patrol_zones[zone_column].astype("string"), name="zone_id")
    if zone_ids.has_duplicates or zone_ids.hasnans:
        raise ValueError(f"patrol zone ids in {zone_column!r} must be present and unique")
    ids = pd.Index(cells[id_column].astype("string"), name="grid_id")
    lists = patrol_zones[cells_column] if cells_column in patrol_zones.columns else None
    if (
        lists is not None
        and lists.notna().all()
        and (lists.astype("string").str.strip() != "").all()
    ):
        rows = [
            (cell, zone)
            for zone, text in zip(zone_ids, lists.astype(str), strict=True)
            for cell in split_ids(text)
        ]
        pairs = pd.DataFrame(rows, columns=["grid_id", "zone_id"], dtype="string")
        pairs = pairs.drop_duplicates()
        unknown = sorted(set(pairs["grid_id"]) - set(ids))
        pairs = pairs[pairs["grid_id"].isin(ids)].reset_index(drop=True)
    else:
        pairs, unknown = _pairs_from_polygons(patrol_zones, zone_ids, cells, ids, min_cover), []
    first = pairs.drop_duplicates("grid_id").set_index("grid_id")["zone_id"]
    assignment = first.reindex(ids).astype("string").rename("zone_id")
    return ZoneMembership(pairs.reset_index(drop=True), assignment, zone_ids, unknown)


def _pairs_from_polygons(
    patrol_zones: gpd.GeoDataFrame,
    zone_ids: pd.Index,
    cells: gpd.GeoDataFrame,
    ids: pd.Index,
    min_cover: float,
) -> pd.DataFrame:
    if patrol_zones.crs is None or cells.crs is None:
        raise ValueError("patrol zones and grid cells need a coordinate system to be overlaid")
    crs = local_metric_crs(cells)
    cell_geom = np.asarray(cells.geometry.to_crs(crs).array)
    zone_geom = np.asarray(patrol_zones.geometry.to_crs(crs).array)
    z, c = shapely.STRtree(zone_geom).query(cell_geom, predicate="intersects")[::-1]
    cover = shapely.area(shapely.intersection(cell_geom[c], zone_geom[z]))
    share = cover / np.maximum(shapely.area(cell_geom[c]), 1e-9)
    keep = share >= min_cover
    frame = pd.DataFrame(
        {
            "grid_id": ids.to_numpy()[c[keep]],
            "zone_id": zone_ids.to_numpy()[z[keep]],
            "share": share[keep],
        }
    )
    # the zone covering most of a cell comes first
    frame = frame.sort_values(["grid_id", "share"], ascending=[True, False], kind="stable")
    return frame[["grid_id", "zone_id"]].astype("string")
