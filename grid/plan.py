"""A patrol plan per zone: patrol windows from its hour-of-day profile, check-in points (打卡点) at
repeat-alarm places and hotspot centres, and hotspots no camera covers."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from grid.adjacency import CellGraph, cell_graph
from grid.membership import ZoneMembership, as_membership
from incidents.assign import assign_to_cells
from incidents.profiles import hour_weekday_profile, window_sums

__all__ = [
    "PatrolPlan",
    "checkin_points",
    "coverage_gaps",
    "focus_windows",
    "hotspot_centres",
    "patrol_plan",
    "patrol_windows",
    "zone_hour_profiles",
]

CANDIDATE_COLUMNS = ["point_id", "kind", "source", "label", "weight", "zone_id"]


@dataclass
class PatrolPlan:
    """Patrol windows (one row per window per zone), check-in points and coverage gaps."""

    windows: pd.DataFrame
    checkpoints: gpd.GeoDataFrame
    coverage_gaps: gpd.GeoDataFrame
    focus: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        """Plain data for JSON (points as lon/lat)."""

        def records(frame: pd.DataFrame) -> list[dict]:
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            if isinstance(frame, gpd.GeoDataFrame) and len(frame):
                ll = frame.geometry.to_crs("EPSG:4326")
                table["lon"], table["lat"] = ll.x.round(6), ll.y.round(6)
            return [
                {
                    k: (
                        None
                        if not isinstance(v, (str, list)) and pd.isna(v)
                        else v.item()
                        if isinstance(v, np.generic)
                        else v
                    )
                    for k, v in row.items()
                }
                for row in table.to_dict(orient="records")
            ]

        out = {
            "windows": records(self.windows),
            "checkpoints": records(self.checkpoints),
            "coverage_gaps": records(self.coverage_gaps),
        }
        if self.focus is not None:
            out["focus"] = records(self.focus)
        return out


def zone_hour_profiles(incidents: pd.DataFrame, zone_of_incident: pd.Series) -> pd.DataFrame:
    """
    Incidents per hour of day in each zone (zones × hours 0-23), from
    :func:`incidents.profiles.hour_weekday_profile` summed over weekdays.

    ``zone_of_incident`` is aligned to the incidents (``<NA>`` outside every zone); give each
    incident's cell instead for a profile per cell.
    """
    if not zone_of_incident.index.equals(incidents.index):
        raise ValueError("zone_of_incident must be aligned to the incidents (same index)")
    frame = pd.DataFrame(
        {"reported_at": incidents["reported_at"], "zone_id": zone_of_incident.astype("string")}
    )
    profile = hour_weekday_profile(frame, by="zone_id")
    table = profile.sum(axis=1).unstack("hour").reindex(columns=range(24), fill_value=0)
    table.index = table.index.astype("string")
    table.index.name = "zone_id"
    return table.astype(float)


def patrol_windows(
    hour_counts: pd.DataFrame,
    *,
    window_hours: int = 5,
    peak_ratio: float = 1.25,
    min_hours: int = 2,
    distinct_ratio: float = 1.15,
) -> pd.DataFrame:
    """
    Recommended patrol windows per zone from its hour-of-day profile.

    Three kinds of window per zone: ``best`` — the ``window_hours`` consecutive hours (wrapping
    past midnight) holding the most incidents, one shift's patrol; ``distinct`` — the
    ``window_hours`` hours in which the zone is busiest compared with the whole area (a
    nightlife zone's 22:00-03:00 while everywhere else peaks in the evening), given when its
    share of the zone's incidents is at least ``distinct_ratio`` times the area's share; and
    ``peak`` — each run of hours whose incidents reach ``peak_ratio`` times the zone's hourly
    mean (gaps of one quiet hour bridged, runs shorter than ``min_hours`` dropped).

    Parameters
    ----------
    hour_counts
        Zones × 24 hours (columns 0-23), e.g. from :func:`zone_hour_profiles`.

    Returns
    -------
    pandas.DataFrame
        zone_id, kind, window (``"22:00-03:00"``), start_hour, end_hour, hours, incidents,
        share (of the zone's incidents), lift (share over the share of hours it spans: 2.0
        means twice as busy as an average hour) and vs_area (share over the area's share in
        the same hours).
    """
    if not 1 <= window_hours <= 24:
        raise ValueError("window_hours must be between 1 and 24")
    counts = np.asarray(hour_counts.reindex(columns=range(24)).fillna(0), dtype=float)
    area = counts.sum(axis=0)
    area_share = window_sums(area, window_hours) / max(area.sum(), 1e-12)
    rows = []
    for zone, h in zip(hour_counts.index.astype(str), counts, strict=True):
        total = h.sum()
        if total <= 0:
            continue
        sums = window_sums(h, window_hours)
        vs_area = sums / total / np.maximum(area_share, 1e-12)
        start = int(np.argmax(sums))
        rows.append(_window(zone, "best", start, window_hours, sums[start], total, vs_area[start]))
        odd = int(np.argmax(sums - total * area_share))
        if vs_area[odd] >= distinct_ratio and odd != start:
            rows.append(
                _window(zone, "distinct", odd, window_hours, sums[odd], total, vs_area[odd])
            )
        busy = h >= peak_ratio * total / 24
        for run_start, length in _runs(busy):
            if length >= min_hours:
                held = sum(h[(run_start + t) % 24] for t in range(length))
                share_area = sum(area[(run_start + t) % 24] for t in range(length)) / area.sum()
                rows.append(
                    _window(
                        zone,
                        "peak",
                        run_start,
                        length,
                        held,
                        total,
                        held / total / max(share_area, 1e-12),
                    )
                )
    columns = [
        "zone_id",
        "kind",
        "window",
        "start_hour",
        "end_hour",
        "hours",
        "incidents",
        "share",
        "lift",
        "vs_area",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["zone_id"] = out["zone_id"].astype("string")
    return out


def focus_windows(
    cell_hours: pd.DataFrame,
    zone_of_cell: pd.Series,
    *,
    window_hours: int = 5,
    min_ratio: float = 1.8,
    min_incidents: float = 30,
) -> pd.DataFrame:
    """
    Places inside zones that need their own patrol hours: cells whose incidents crowd into
    ``window_hours`` hours far more than the area's do (a bar street's 22:00-03:00), grouped
    per zone and window — where a night team should go.

    Parameters
    ----------
    cell_hours
        Cells × 24 hours (e.g. :func:`zone_hour_profiles` with each incident's cell).
    zone_of_cell
        Zone of each cell (grid_id -> zone_id).
    min_ratio
        A cell qualifies when its share of incidents in the window is at least this many
        times the area's share in the same hours ...
    min_incidents
        ... and it holds at least this many incidents in the window.

    Returns
    -------
    pandas.DataFrame
        zone_id, window, start_hour, end_hour, cells (comma-separated), incidents (in the
        window), vs_area (the cells' share in the window over the area's).
    """
    counts = np.asarray(cell_hours.reindex(columns=range(24)).fillna(0), dtype=float)
    area = counts.sum(axis=0)
    area_share = window_sums(area, window_hours) / max(area.sum(), 1e-12)
    zones = zone_of_cell.copy()
    zones.index = zones.index.astype("string")
    picks: dict[tuple[str, int], list[tuple[str, np.ndarray]]] = {}
    for cell, h in zip(cell_hours.index.astype("string"), counts, strict=True):
        total = h.sum()
        zone = zones.get(cell)
        if total <= 0 or zone is None or pd.isna(zone):
            continue
        sums = window_sums(h, window_hours)
        ratio = sums / total / np.maximum(area_share, 1e-12)
        # the window with the most incidents beyond what the area's rhythm would give (the
        # highest ratio alone would favour quiet hours with a handful of calls)
        start = int(np.argmax(sums - total * area_share))
        if ratio[start] >= min_ratio and sums[start] >= min_incidents:
            picks.setdefault((str(zone), start), []).append((str(cell), h))
    rows = []
    for (zone, start), members in sorted(picks.items()):
        h = np.sum([m[1] for m in members], axis=0)
        held = window_sums(h, window_hours)[start]
        end = (start + window_hours) % 24
        rows.append(
            (
                zone,
                f"{start:02d}:00-{end:02d}:00",
                start,
                end,
                ",".join(sorted(m[0] for m in members)),
                float(held),
                float(held / h.sum() / max(area_share[start], 1e-12)),
            )
        )
    out = pd.DataFrame(
        rows,
        columns=["zone_id", "window", "start_hour", "end_hour", "cells", "incidents", "vs_area"],
    )
    for column in ("zone_id", "window", "cells"):
        out[column] = out[column].astype("string")
    return out.sort_values("incidents", ascending=False, kind="stable").reset_index(drop=True)


def _window(
    zone: str, kind: str, start: int, hours: int, held: float, total: float, vs_area: float
) -> tuple:
    end = (start + hours) % 24
    share = held / total
    return (
        zone,
        kind,
        f"{start:02d}:00-{end:02d}:00",
        start,
        end,
        hours,
        float(held),
        share,
        share / (hours / 24),
        float(vs_area),
    )


def _runs(busy: np.ndarray) -> list[tuple[int, int]]:
    """Runs of busy hours around the clock, one quiet hour between two runs bridged."""
    hours = busy.copy()
    for t in range(24):  # bridge single quiet hours
        if not busy[t] and busy[(t - 1) % 24] and busy[(t + 1) % 24]:
            hours[t] = True
    if hours.all():
        return [(0, 24)]
    first_quiet = int(np.argmin(hours))
    runs, start = [], None
    for step in range(1, 25):
        t = (first_quiet + step) % 24
        if hours[t] and start is None:
            start = t
        if not hours[t] and start is not None:
            runs.append((start, (t - start) % 24))
            start = None
    if start is not None:
        runs.append((start, (first_quiet - start) % 24))
    return runs


def hotspot_centres(
    cells: gpd.GeoDataFrame,
    hotspot_cells: pd.Series | list[str],
    workload: pd.Series,
    *,
    id_column: str = "grid_id",
    graph: CellGraph | None = None,
) -> gpd.GeoDataFrame:
    """
    One point per cluster of touching hotspot cells: the workload-weighted centre of its cells
    (the heaviest cell's centre where that falls outside the cluster).

    Returns
    -------
    geopandas.GeoDataFrame
        hotspot_id, cells (comma-separated ids), workload, geometry (in the cells' metric CRS).
    """
    graph = graph or cell_graph(cells, id_column=id_column)
    if isinstance(hotspot_cells, pd.Series) and hotspot_cells.dtype in (bool, "boolean"):
        hot_ids = hotspot_cells.index[hotspot_cells.fillna(False).astype(bool)]
    else:
        hot_ids = pd.Index(list(hotspot_cells))
    hot = np.zeros(graph.n, dtype=bool)
    hot[graph.positions(pd.Index(hot_ids).astype("string"))] = True
    w = workload.copy()
    w.index = w.index.astype("string")
    w = w.reindex(graph.ids).fillna(0).to_numpy(float)
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    both = hot[a] & hot[b] & (graph.shared[:] > 0)
    mat = sparse.coo_matrix((np.ones(both.sum()), (a[both], b[both])), shape=(graph.n, graph.n))
    _, label = connected_components(mat, directed=False)
    metric = np.asarray(cells.geometry.to_crs(graph.crs).array)
    metric = metric[np.argsort(graph.positions(cells[id_column].astype("string")))]
    rows = []
    for lab in pd.unique(label[hot]):
        members = np.flatnonzero(hot & (label == lab))
        weight = w[members] + 1e-9
        centre = shapely.Point(np.average(graph.centroid[members], axis=0, weights=weight))
        if not shapely.union_all(metric[members]).contains(centre):
            centre = shapely.Point(graph.centroid[members[np.argmax(weight)]])
        rows.append((",".join(graph.ids[members]), float(w[members].sum()), centre))
    rows.sort(key=lambda r: -r[1])
    return gpd.GeoDataFrame(
        {
            "hotspot_id": pd.array([f"HS{i + 1:03d}" for i in range(len(rows))], dtype="string"),
            "cells": pd.array([r[0] for r in rows], dtype="string"),
            "workload": [r[1] for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs=graph.crs,
    )


def checkin_points(
    candidates: gpd.GeoDataFrame, *, min_spacing_m: float = 200.0, max_per_zone: int | None = None
) -> gpd.GeoDataFrame:
    """
    Choose check-in points (打卡点) from candidate places, busiest first, each at least
    ``min_spacing_m`` from every point already chosen.

    Parameters
    ----------
    candidates
        Points with ``weight`` (e.g. incidents at a repeat place, workload of a hotspot) and
        optionally ``zone_id``, ``kind``, ``source`` and ``label`` (see :func:`patrol_plan`).
    max_per_zone
        At most this many points per zone.

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen rows, in order of choice, with ``point_id`` (DK001...) and ``rank``.
    """
    if min_spacing_m < 0:
        raise ValueError("min_spacing_m must not be negative")
    if len(candidates) == 0:
        out = candidates.iloc[:0].copy()
        out["rank"] = pd.Series(dtype="int64")
        return out
    from geodata import local_metric_crs

    crs = (
        candidates.crs
        if candidates.crs and candidates.crs.is_projected
        else local_metric_crs(candidates)
    )
    xy = shapely.get_coordinates(candidates.geometry.to_crs(crs).array)
    order = np.argsort(-candidates["weight"].to_numpy(float), kind="stable")
    zones = (
        candidates["zone_id"].astype("string").fillna("")
        if "zone_id" in candidates
        else pd.Series("", index=candidates.index)
    )
    chosen: list[int] = []
    per_zone: dict[str, int] = {}
    for i in order:
        zone = zones.iloc[i]
        if max_per_zone is not None and per_zone.get(zone, 0) >= max_per_zone:
            continue
        if chosen and np.hypot(*(xy[chosen] - xy[i]).T).min() < min_spacing_m:
            continue
        chosen.append(int(i))
        per_zone[zone] = per_zone.get(zone, 0) + 1
    out = candidates.iloc[chosen].copy()
    out["point_id"] = pd.array([f"DK{r + 1:03d}" for r in range(len(out))], dtype="string")
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out.reset_index(drop=True)


def coverage_gaps(
    places: gpd.GeoDataFrame,
    devices: gpd.GeoDataFrame,
    *,
    radius_m: float = 100.0,
    kinds: tuple[str, ...] = ("camera",),
) -> gpd.GeoDataFrame:
    """
    Places (hotspot centres, repeat-alarm places) farther than ``radius_m`` from every device
    of the given kinds: where a camera is missing.

    Returns
    -------
    geopandas.GeoDataFrame
        The places with ``nearest_device`` and ``distance_m`` to it, farthest first.
    """
    from geodata import local_metric_crs

    if len(places) == 0:
        out = places.copy()
        out["nearest_device"], out["distance_m"] = pd.Series(dtype="string"), pd.Series(dtype=float)
        return out
    crs = local_metric_crs(places)
    cams = devices
    if "kind" in devices.columns and kinds:
        cams = devices[devices["kind"].astype("string").isin(list(kinds)).fillna(False)]
    here = np.asarray(places.geometry.to_crs(crs).array)
    out = places.copy()
    if len(cams) == 0:
        out["nearest_device"] = pd.array([None] * len(out), dtype="string")
        out["distance_m"] = np.inf
        return out
    there = np.asarray(cams.geometry.to_crs(crs).array)
    (src, dst), dist = shapely.STRtree(there).query_nearest(
        here, return_distance=True, all_matches=False
    )
    nearest = np.full(len(here), -1)
    far = np.full(len(here), np.inf)
    nearest[src], far[src] = dst, dist
    id_col = "device_id" if "device_id" in cams.columns else cams.columns[0]
    out["nearest_device"] = pd.array(
        cams[id_col].astype("string").to_numpy()[nearest], dtype="string"
    )
    out["distance_m"] = far
    out = out[out["distance_m"] > radius_m].sort_values("distance_m", ascending=False)
    return out.reset_index(drop=True)


def patrol_plan(
    cells: gpd.GeoDataFrame,
    zones: pd.Series | ZoneMembership | gpd.GeoDataFrame,
    workload: pd.Series,
    *,
    incidents: pd.DataFrame | None = None,
    zone_of_incident: pd.Series | None = None,
    cell_of_incident: pd.Series | None = None,
    hotspot_cells: pd.Series | list[str] | None = None,
    repeat_places: gpd.GeoDataFrame | None = None,
    devices: gpd.GeoDataFrame | None = None,
    id_column: str = "grid_id",
    graph: CellGraph | None = None,
    window_hours: int = 5,
    min_spacing_m: float = 200.0,
    camera_radius_m: float = 100.0,
    max_per_zone: int | None = None,
    gap_kinds: tuple[str, ...] = ("hotspot",),
) -> PatrolPlan:
    """
    Patrol plan for every zone: windows, check-in points and camera coverage gaps.

    Parameters
    ----------
    zones
        Zone of each cell (assignment Series, membership or patrol_zones layer).
    workload
        Workload per cell (weights hotspot centres).
    incidents, zone_of_incident, cell_of_incident
        Incidents and the zone and cell each falls in, for the zones' patrol windows and the
        places needing their own hours (:func:`focus_windows`); left out without them.
    hotspot_cells
        Hotspot cells (boolean Series by cell id, or ids).
    repeat_places
        Repeat-alarm places (:func:`incidents.repeats.repeat_places`), with ``incidents``.
    devices
        Devices layer; coverage gaps are hotspot centres (and repeat places, with
        ``gap_kinds=("hotspot", "repeat_place")``) farther than ``camera_radius_m`` from every
        camera.

    Returns
    -------
    PatrolPlan
    """
    graph = graph or cell_graph(cells, id_column=id_column)
    member = as_membership(zones, cells, id_column=id_column)
    windows = patrol_windows(pd.DataFrame(columns=range(24)))
    focus = None
    if incidents is not None and zone_of_incident is not None:
        windows = patrol_windows(
            zone_hour_profiles(incidents, zone_of_incident), window_hours=window_hours
        )
    if incidents is not None and cell_of_incident is not None:
        focus = focus_windows(
            zone_hour_profiles(incidents, cell_of_incident),
            member.assignment,
            window_hours=window_hours,
        )
    places = _candidates(cells, member, workload, hotspot_cells, repeat_places, graph, id_column)
    checkpoints = checkin_points(places, min_spacing_m=min_spacing_m, max_per_zone=max_per_zone)
    gaps = places.iloc[:0].copy()
    if devices is not None:
        watched = places[places["kind"].isin(list(gap_kinds)).fillna(False).to_numpy()]
        gaps = coverage_gaps(watched, devices, radius_m=camera_radius_m)
    return PatrolPlan(
        windows=windows,
        checkpoints=checkpoints.to_crs("EPSG:4326"),
        coverage_gaps=gaps.to_crs("EPSG:4326"),
        focus=focus,
    )


def _candidates(
    cells: gpd.GeoDataFrame,
    member: ZoneMembership,
    workload: pd.Series,
    hotspot_cells: object,
    repeat_places: gpd.GeoDataFrame | None,
    graph: CellGraph,
    id_column: str,
) -> gpd.GeoDataFrame:
    """Hotspot centres and repeat places as one table of candidate places, with their zone."""
    parts = []
    if hotspot_cells is not None:
        centres = hotspot_centres(cells, hotspot_cells, workload, id_column=id_column, graph=graph)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "kind": "hotspot",
                    "source": centres["hotspot_id"],
                    "label": centres["cells"],
                    "weight": centres["workload"],
                },
                geometry=centres.geometry.to_crs("EPSG:4326"),
            )
        )
    if repeat_places is not None and len(repeat_places):
        label = repeat_places["address"] if "address" in repeat_places else ""
        parts.append(
            gpd.GeoDataFrame(
                {
                    "kind": "repeat_place",
                    "source": repeat_places["place_id"].astype("string"),
                    "label": label,
                    "weight": repeat_places["incidents"].astype(float),
                },
                geometry=repeat_places.geometry.to_crs("EPSG:4326"),
            )
        )
    if not parts:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype="string") for c in CANDIDATE_COLUMNS[:-1]}
            | {"zone_id": pd.Series(dtype="string")},
            geometry=gpd.GeoSeries([], crs="EPSG:4326"),
        )
    places = pd.concat(parts, ignore_index=True)
    places = gpd.GeoDataFrame(places, geometry="geometry", crs="EPSG:4326")
    for column in ("kind", "source", "label"):
        places[column] = places[column].astype("string")
    cell = assign_to_cells(places, cells, id_column=id_column)
    places["grid_id"] = cell.astype("string")
    places["zone_id"] = member.assignment.reindex(cell.fillna("")).to_numpy()
    places["zone_id"] = places["zone_id"].astype("string")
    return places
