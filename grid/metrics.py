"""Figures for a set of patrol zones over grid cells: workload and its balance, what each zone
holds (hotspots, repeat-alarm places, people, rentals, key sites), shape and reach."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from grid.adjacency import CellGraph, cell_graph
from grid.membership import NO_ZONE, ZoneMembership, as_membership

__all__ = ["balance_figures", "plan_summary", "zone_metrics"]

ZoneInput = pd.Series | ZoneMembership | gpd.GeoDataFrame


def zone_metrics(
    cells: gpd.GeoDataFrame,
    zones: ZoneInput,
    workload: pd.Series,
    *,
    id_column: str = "grid_id",
    graph: CellGraph | None = None,
    hotspots: pd.Series | gpd.GeoDataFrame | Iterable[str] | None = None,
    repeat_places: gpd.GeoDataFrame | None = None,
    rental_properties: gpd.GeoDataFrame | None = None,
    key_sites: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """
    Figures per patrol zone.

    Parameters
    ----------
    cells
        Grid cells with an id column (and ``population``, ``floating_population`` if known).
    zones
        Zone of each cell (Series grid_id -> zone_id), a :class:`ZoneMembership`, or a
        patrol_zones layer (its ``grid_ids`` lists, else its polygons). A cell two zones claim
        counts in both.
    workload
        Workload per cell (grid_id index), e.g. from :func:`grid.workload.cell_workload`;
        cells missing from it count 0.
    graph
        The cells' :func:`~grid.adjacency.cell_graph`, if already built.
    hotspots
        Hotspot cells: a boolean Series by cell id, a hotspot_scores frame (``hotspot`` column),
        or cell ids.
    repeat_places, rental_properties, key_sites
        Point layers counted per zone through the cell they fall in (rental houses through
        their ``grid_id`` when every row has one).

    Returns
    -------
    pandas.DataFrame
        One row per zone (index ``zone_id``): ``cells``, ``workload``, ``deviation`` (share of
        the mean zone workload, +0.1 = 10% above), ``hotspot_cells``, ``repeat_places``,
        ``population``, ``floating_population``, ``rental_properties``, ``group_rentals``,
        ``key_sites``, ``area_km2``, ``perimeter_km``, ``polsby_popper`` (4πA/P², 1 for a
        disc), ``parts`` and ``contiguous``, ``centre_cell`` (the cell nearest the zone's
        workload, its 1-median), ``mean_distance_m`` (workload-weighted distance from the centre
        cell, a response proxy), ``max_distance_m`` (to the zone's farthest corner) and
        ``shared_cells`` (cells another zone also claims).
    """
    graph = graph or cell_graph(cells, id_column=id_column)
    member = as_membership(zones, cells, id_column=id_column)
    zone_ids = member.zone_ids
    k = len(zone_ids)
    cell_pos = graph.positions(member.pairs["grid_id"])
    zone_pos = zone_ids.get_indexer(member.pairs["zone_id"])
    holds = sparse.csr_matrix((np.ones(len(cell_pos)), (zone_pos, cell_pos)), shape=(k, graph.n))
    w = _aligned(workload, graph, "workload")
    table = pd.DataFrame(index=zone_ids)
    table["cells"] = np.asarray(holds.sum(axis=1)).ravel().astype(np.int64)
    table["workload"] = holds @ w
    mean = table["workload"].mean() if k else 0.0
    table["deviation"] = (table["workload"] / mean - 1) if mean > 0 else 0.0
    table["hotspot_cells"] = (holds @ _hotspot_flags(hotspots, graph, id_column)).astype(np.int64)
    table["repeat_places"] = _count(holds, repeat_places, cells, graph, id_column)
    for column in ("population", "floating_population"):
        values = (
            _aligned(cells.set_index(cells[id_column].astype("string"))[column], graph, column)
            if column in cells.columns
            else None
        )
        table[column] = (holds @ values).round().astype(np.int64) if values is not None else pd.NA
    table["rental_properties"] = _count(
        holds, rental_properties, cells, graph, id_column, use_grid_id=True
    )
    group = None
    if rental_properties is not None and "group_rental" in rental_properties.columns:
        group = rental_properties[rental_properties["group_rental"].fillna(False).astype(bool)]
    table["group_rentals"] = _count(holds, group, cells, graph, id_column, use_grid_id=True)
    table["key_sites"] = _count(holds, key_sites, cells, graph, id_column)
    area = holds @ graph.area
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    inner = holds[:, a].multiply(holds[:, b]) @ graph.shared
    perimeter = holds @ graph.perimeter - 2 * inner
    table["area_km2"] = area / 1e6
    table["perimeter_km"] = perimeter / 1e3
    with np.errstate(divide="ignore", invalid="ignore"):
        table["polsby_popper"] = np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, 0.0)
    table["parts"] = _parts(holds, graph)
    table["contiguous"] = table["parts"] == 1
    centre, mean_d, max_d = _reach(holds, graph, cells, w, id_column)
    table["centre_cell"] = pd.array(centre, dtype="string")
    table["mean_distance_m"] = mean_d
    table["max_distance_m"] = max_d
    shared = member.pairs["grid_id"].duplicated(keep=False).to_numpy()
    table["shared_cells"] = np.bincount(zone_pos[shared], minlength=k).astype(np.int64)
    table.index.name = "zone_id"
    return table


def balance_figures(workloads: pd.Series | np.ndarray, *, tolerance: float = 0.02) -> dict:
    """Balance of zone workloads: mean, largest deviation from it, coefficient of variation,
    range (max - min) over the mean, and whether every zone is within ``tolerance``."""
    x = np.asarray(workloads, dtype=float)
    mean = float(x.mean()) if len(x) else 0.0
    if mean <= 0:
        return {
            "mean_workload": mean,
            "max_deviation": 0.0,
            "cv": 0.0,
            "range": 0.0,
            "within_tolerance": True,
            "tolerance": tolerance,
        }
    dev = np.abs(x / mean - 1)
    return {
        "mean_workload": mean,
        "max_deviation": float(dev.max()),
        "cv": float(x.std() / mean),
        "range": float((x.max() - x.min()) / mean),
        "within_tolerance": bool(dev.max() <= tolerance + 1e-12),
        "tolerance": tolerance,
    }


def plan_summary(
    metrics: pd.DataFrame,
    zones: ZoneInput,
    cells: gpd.GeoDataFrame,
    *,
    id_column: str = "grid_id",
    graph: CellGraph | None = None,
    tolerance: float = 0.02,
) -> dict:
    """
    Area-wide figures of a plan, for a before/after table.

    Returns
    -------
    dict
        ``zones``, ``blind_spots`` (cells in no zone), ``double_claimed`` (cells in two zones),
        ``unknown_cells``, balance (``max_deviation``, ``cv``, ``range``,
        ``within_tolerance``), ``mean_polsby_popper``, ``min_polsby_popper``, ``cut_edges``
        (neighbouring cells in different zones), ``contiguous_zones``, ``mean_distance_m``
        (workload-weighted over zones) and ``max_distance_m``.
    """
    graph = graph or cell_graph(cells, id_column=id_column)
    member = as_membership(zones, cells, id_column=id_column)
    label = member.assignment.reindex(graph.ids).fillna(NO_ZONE).to_numpy()
    cut = int((label[graph.edges[:, 0]] != label[graph.edges[:, 1]]).sum())
    weights = metrics["workload"].to_numpy(float)
    summary = {
        "zones": int(len(metrics)),
        "cells": int(graph.n),
        "blind_spots": int(len(member.blind_spots)),
        "double_claimed": int(len(member.double_claimed)),
        "unknown_cells": int(len(member.unknown_cells)),
        **{
            key: value
            for key, value in balance_figures(weights, tolerance=tolerance).items()
            if key != "tolerance"
        },
        "mean_polsby_popper": float(metrics["polsby_popper"].mean()),
        "min_polsby_popper": float(metrics["polsby_popper"].min()),
        "cut_edges": cut,
        "contiguous_zones": int(metrics["contiguous"].sum()),
        "mean_distance_m": float(
            np.average(metrics["mean_distance_m"], weights=weights)
            if weights.sum() > 0
            else metrics["mean_distance_m"].mean()
        ),
        "max_distance_m": float(metrics["max_distance_m"].max()),
    }
    return summary


def _aligned(values: pd.Series, graph: CellGraph, name: str) -> np.ndarray:
    series = values.copy()
    series.index = series.index.astype("string")
    if series.index.has_duplicates:
        raise ValueError(f"{name} has a cell id twice; give one value per grid cell")
    out = pd.to_numeric(series, errors="coerce").reindex(graph.ids).fillna(0)
    return out.to_numpy(dtype=float)


def _hotspot_flags(hotspots: object, graph: CellGraph, id_column: str) -> np.ndarray:
    if hotspots is None:
        return np.zeros(graph.n)
    if isinstance(hotspots, pd.DataFrame):
        if "hotspot" not in hotspots.columns:
            raise ValueError(
                "the hotspots frame has no 'hotspot' column; pass hotspot_scores "
                "output or a boolean Series by cell id"
            )
        key = id_column if id_column in hotspots.columns else hotspots.columns[0]
        flags = pd.Series(hotspots["hotspot"].to_numpy(bool), index=hotspots[key].astype("string"))
    elif (
        isinstance(hotspots, pd.Series)
        and hotspots.dtype == bool
        or (isinstance(hotspots, pd.Series) and str(hotspots.dtype) == "boolean")
    ):
        flags = hotspots.fillna(False).astype(bool)
    else:
        ids = pd.Index([str(x) for x in hotspots], dtype="string")
        flags = pd.Series(True, index=ids)
    flags.index = flags.index.astype("string")
    return flags.groupby(level=0).any().reindex(graph.ids, fill_value=False).to_numpy(float)


def _count(
    holds: sparse.csr_matrix,
    points: gpd.GeoDataFrame | None,
    cells: gpd.GeoDataFrame,
    graph: CellGraph,
    id_column: str,
    *,
    use_grid_id: bool = False,
) -> np.ndarray | object:
    """How many points fall in each zone (through the cell holding each point)."""
    if points is None:
        return pd.NA
    if use_grid_id and "grid_id" in points.columns and points["grid_id"].notna().all():
        per_cell = points["grid_id"].astype("string").value_counts()
    elif len(points) == 0:
        per_cell = pd.Series(dtype="int64")
    else:
        from incidents.assign import count_per_cell

        located = points.copy()
        if not (located.geom_type == "Point").all():
            located = located.set_geometry(located.geometry.representative_point())
        per_cell = count_per_cell(located, cells, id_column=id_column)
    per_cell.index = per_cell.index.astype("string")
    counts = per_cell.groupby(level=0).sum().reindex(graph.ids, fill_value=0).to_numpy(float)
    return (holds @ counts).round().astype(np.int64)


def _parts(holds: sparse.csr_matrix, graph: CellGraph) -> np.ndarray:
    """Number of connected pieces of each zone."""
    parts = np.zeros(holds.shape[0], dtype=np.int64)
    adjacency = graph.matrix()
    for z in range(holds.shape[0]):
        members = holds[z].indices
        if len(members):
            parts[z] = connected_components(adjacency[members][:, members], directed=False)[0]
    return parts


def _reach(
    holds: sparse.csr_matrix,
    graph: CellGraph,
    cells: gpd.GeoDataFrame,
    w: np.ndarray,
    id_column: str,
) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Each zone's centre cell (workload-weighted 1-median of its cells), the workload-weighted
    mean distance from it to the zone's cells and the distance to the zone's farthest corner."""
    k = holds.shape[0]
    coords, owner = shapely.get_coordinates(
        np.asarray(cells.geometry.to_crs(graph.crs).array), return_index=True
    )
    owner = graph.positions(cells[id_column].astype("string"))[owner]
    centre: list[str | None] = []
    mean_d, max_d = np.full(k, np.nan), np.full(k, np.nan)
    for z in range(k):
        members = holds[z].indices
        if not len(members):
            centre.append(None)
            continue
        xy = graph.centroid[members]
        weight = w[members] + 1e-9 * w.mean() + 1e-12
        # candidates: the cells nearest the weighted centroid (the 1-median lies close to it)
        mid = np.average(xy, axis=0, weights=weight)
        near = np.argsort(((xy - mid) ** 2).sum(axis=1))[:200]
        dist = np.sqrt(((xy[near, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
        best = near[int(np.argmin(dist @ weight))]
        d = np.sqrt(((xy - xy[best]) ** 2).sum(axis=1))
        centre.append(str(graph.ids[members[best]]))
        mean_d[z] = float(np.average(d, weights=weight))
        corners = coords[np.isin(owner, members)]
        max_d[z] = float(np.sqrt(((corners - xy[best]) ** 2).sum(axis=1)).max())
    return centre, mean_d, max_d
