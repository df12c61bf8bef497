"""Writing a zone proposal for QGIS and spreadsheets: proposed zones, check-in points and
coverage gaps as GeoPackage layers or GeoJSON files, the change table as CSV."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import local_metric_crs
from geodata.store import export_layer, write_layers

__all__ = ["LAYER_NAMES", "export_proposal", "proposed_zones_layer"]

LAYER_NAMES = {
    "zones": "proposed_zones",
    "checkpoints": "checkin_points",
    "gaps": "coverage_gaps",
    "changes": "zone_changes",
}
_FIGURES = (
    "cells",
    "workload",
    "deviation",
    "hotspot_cells",
    "population",
    "area_km2",
    "perimeter_km",
    "polsby_popper",
    "mean_distance_m",
    "max_distance_m",
    "centre_cell",
)


def proposed_zones_layer(
    cells: gpd.GeoDataFrame,
    assignment: pd.Series,
    metrics: pd.DataFrame | None = None,
    *,
    id_column: str = "grid_id",
    today: gpd.GeoDataFrame | None = None,
    windows: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """
    Proposed zones as a patrol_zones layer: one polygon per zone (its cells dissolved), the
    patrol_zones columns (zone_id, name, team, shift_hours, grid_ids), then its figures.

    Names and teams are kept from ``today``'s layer for zones with the same id; shift hours
    are the zone's ``best`` patrol window from ``windows`` where given, else today's.
    """
    zone_of = assignment.copy()
    zone_of.index = zone_of.index.astype("string")
    frame = cells[[id_column, cells.geometry.name]].copy()
    frame["zone_id"] = zone_of.reindex(frame[id_column].astype("string")).to_numpy()
    frame = frame[frame["zone_id"].notna()]
    grouped = frame.groupby("zone_id", sort=False)[id_column]
    grid_ids = grouped.agg(lambda s: ",".join(sorted(s.astype(str))))
    order = pd.Index(pd.unique(zone_of.dropna()), name="zone_id")
    if metrics is not None:
        order = pd.Index(metrics.index.astype("string"), name="zone_id")
    out = gpd.GeoDataFrame(
        {"zone_id": pd.array(order, dtype="string")},
        geometry=_dissolve(frame, order),
        crs=local_metric_crs(cells),
    )
    known = today.set_index(today["zone_id"].astype("string")) if today is not None else None

    def from_today(column: str, default: list[str]) -> list[str]:
        if known is None or column not in known.columns:
            return default
        values = known[column].reindex(out["zone_id"]).astype("string")
        return [v if not pd.isna(v) else d for v, d in zip(values, default, strict=True)]

    out["name"] = pd.array(
        from_today("name", [f"巡区 {z}" for z in out["zone_id"]]), dtype="string"
    )
    out["team"] = pd.array(from_today("team", [""] * len(out)), dtype="string")
    shifts = from_today("shift_hours", [""] * len(out))
    if windows is not None and len(windows):
        best = windows[windows["kind"] == "best"].set_index("zone_id")["window"]
        shifts = [best.get(z, s) for z, s in zip(out["zone_id"], shifts, strict=True)]
    out["shift_hours"] = pd.array(shifts, dtype="string")
    out["grid_ids"] = pd.array(grid_ids.reindex(out["zone_id"]).to_numpy(), dtype="string")
    if metrics is not None:
        for column in _FIGURES:
            if column in metrics.columns:
                out[column] = metrics[column].reindex(out["zone_id"]).to_numpy()
    return out.to_crs("EPSG:4326")


def _dissolve(frame: gpd.GeoDataFrame, zones: pd.Index) -> list[shapely.Geometry | None]:
    """Each zone's cells merged into one shape, in metres. Real grids have slivers and
    nearly-shared edges that make GEOS fail; those unions are redone on a 1 cm grid."""
    metric = frame.to_crs(local_metric_crs(frame))
    geoms = shapely.make_valid(np.asarray(metric.geometry.array))
    labels = metric["zone_id"].to_numpy()
    shapes = []
    for zone in zones:
        mine = geoms[labels == zone]
        if not len(mine):
            shapes.append(None)
            continue
        try:
            shapes.append(shapely.union_all(mine))
        except shapely.errors.GEOSException:
            shapes.append(shapely.union_all(mine, grid_size=0.01))
    return shapes


def export_proposal(
    path: str | Path,
    zones: gpd.GeoDataFrame,
    *,
    checkpoints: gpd.GeoDataFrame | None = None,
    coverage_gaps: gpd.GeoDataFrame | None = None,
    changes: pd.DataFrame | None = None,
    changes_csv: str | Path | None = None,
) -> list[Path]:
    """
    Write a proposal: to a GeoPackage as layers ``proposed_zones``, ``checkin_points``,
    ``coverage_gaps`` and ``zone_changes`` (a table); or, for a ``.geojson`` path, the zones
    there and the points beside it (``<name>_checkin_points.geojson``...). The change table is
    also written as CSV (UTF-8 with a byte-order mark, which Excel needs for Chinese) to
    ``changes_csv`` or ``<name>_changes.csv``.

    Returns
    -------
    list[pathlib.Path]
        The files written.

    Raises
    ------
    ValueError
        If the path is neither .gpkg nor .geojson.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".json"):
        raise ValueError(f"{path}: write the proposal to a .gpkg or .geojson file")
    points = {LAYER_NAMES["checkpoints"]: checkpoints, LAYER_NAMES["gaps"]: coverage_gaps}
    points = {name: _for_export(layer) for name, layer in points.items() if layer is not None}
    written = [path]
    if suffix == ".gpkg":
        layers: dict[str, pd.DataFrame] = {LAYER_NAMES["zones"]: _for_export(zones), **points}
        if changes is not None:
            layers[LAYER_NAMES["changes"]] = _plain_table(changes)
        write_layers(path, layers)
    else:
        export_layer(_for_export(zones), path, LAYER_NAMES["zones"])
        for name, layer in points.items():
            side = path.with_name(f"{path.stem}_{name}.geojson")
            export_layer(layer, side, name)
            written.append(side)
    if changes is not None:
        csv = Path(changes_csv) if changes_csv else path.with_name(f"{path.stem}_changes.csv")
        _plain_table(changes).to_csv(csv, index=False, encoding="utf-8-sig")
        written.append(csv)
    return written


def _for_export(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = layer.to_crs("EPSG:4326") if layer.crs is not None else layer.copy()
    for column in out.columns:
        if column != out.geometry.name and out[column].dtype == object:
            out[column] = out[column].astype("string")
        if out[column].dtype == bool:
            out[column] = out[column].astype(np.int64)
    return out


def _plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame).copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].astype(np.int64)
        elif out[column].dtype == object:
            out[column] = out[column].astype("string")
    return out
