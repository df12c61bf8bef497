"""The Plan page's calls into the analysis rooms, cached per store version and parameters:
hotspot methods and their accuracy (incidents), proposed zones and patrol plans (grid), and the
files a planner downloads. Only calls and caching here; every figure comes from the rooms."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard import data

REPEAT_DAYS = 30
COMPACT_SECONDS = 3.0  # the zone search's time for compactness; the page waits for it


class NotAvailable(Exception):
    """An analysis module the step needs is not written yet (its name is the message)."""


def _need(module: str) -> object:
    found = data.analysis(module)
    if found is None:
        raise NotAvailable(module)
    return found


def _layers(path: str, *kinds: str) -> list[gpd.GeoDataFrame | None]:
    return [data.layer(kind, Path(path)) for kind in kinds]


def analysis_cells(cells: gpd.GeoDataFrame, size_m: float) -> gpd.GeoDataFrame:
    """Square analysis cells of ``size_m`` metres over the grid cells."""
    return _need("geodata.analysis_grid").square_cells(cells, size_m)


@st.cache_data(show_spinner=False, max_entries=16)
def evaluate(
    path: str, version: int, size_m: float, test_days: int, area_share: float, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Every hotspot method trained before the last ``test_days`` and scored on them (PAI)."""
    accuracy = data.analysis("incidents.accuracy") or _need("incidents.hotspots")
    if not hasattr(accuracy, "evaluate_methods"):
        raise NotAvailable("incidents.accuracy")
    cells, incidents = _layers(path, "grid_cells", "incidents")
    squares = analysis_cells(cells, size_m)
    table = accuracy.evaluate_methods(
        incidents,
        squares,
        train_until=as_of - pd.Timedelta(days=test_days),
        test_until=as_of,
        area_share=area_share,
        id_column="cell_id",
    )
    return table.sort_values("pai", ascending=False).reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=16)
def hotspot_map(
    path: str, version: int, size_m: float, method: str, area_share: float, as_of: pd.Timestamp
) -> gpd.GeoDataFrame:
    """The chosen method's scores on the analysis cells, from the incidents up to ``as_of``."""
    hotspots = _need("incidents.hotspots")
    cells, incidents = _layers(path, "grid_cells", "incidents")
    squares = analysis_cells(cells, size_m)
    options = {"area_share": area_share} if method in ("counts", "rate", "kde", "naive") else {}
    return hotspots.hotspot_scores(
        incidents[incidents["reported_at"] < as_of],
        squares,
        method=method,
        id_column="cell_id",
        **options,
    )


@dataclass
class ZonePlan:
    """A proposal with what the page shows and downloads."""

    proposal: object  # grid.Proposal
    plan: object  # grid.plan.PatrolPlan
    zones: gpd.GeoDataFrame  # proposed zones as a patrol_zones layer
    hotspot_cells: list[str]
    notes: list[str] = field(default_factory=list)


@st.cache_data(show_spinner=False, max_entries=16)
def zone_plan(
    path: str,
    version: int,
    *,
    method: str,
    k: int | None,
    max_moves: int | None,
    night_weight: float,
    hotspot_weight: float,
    as_of: pd.Timestamp,
) -> ZonePlan:
    """Proposed zones over the grid cells, balanced on weighted workload, with a patrol plan.

    The same steps as ``gridwatch zones``: incidents to cells, hotspot cells by ``method``,
    workload per cell, repeat-alarm places, the proposal against today's zones, the plan.
    """
    grid = _need("grid")
    assign = _need("incidents.assign")
    hotspots = _need("incidents.hotspots")
    plan_module = _need("grid.plan")
    export = _need("grid.export")
    cells, incidents, today, devices, rentals, sites = _layers(
        path, "grid_cells", "incidents", "patrol_zones", "devices", "rental_properties", "key_sites"
    )
    incidents = incidents[incidents["reported_at"] < as_of]
    notes = []
    cell_of = assign.assign_to_cells(incidents, cells, id_column="grid_id")
    scores = hotspots.hotspot_scores(incidents, cells, method=method, id_column="grid_id")
    flags = pd.Series(scores["hotspot"].to_numpy(bool), index=scores["grid_id"].astype("string"))
    hot_ids = list(flags.index[flags])
    workload = grid.cell_workload(
        incidents,
        cell_of,
        cells=cells["grid_id"],
        night_weight=night_weight,
        hotspot_cells=hot_ids,
        hotspot_weight=hotspot_weight,
    )
    repeat_places = None
    repeats = data.analysis("incidents.repeats")
    if repeats is not None:
        recent = data.between(incidents, as_of - pd.Timedelta(days=REPEAT_DAYS), as_of)
        repeat_places = repeats.repeat_places(recent, days=REPEAT_DAYS)
    else:
        notes.append("incidents.repeats")
    figures = {
        "hotspots": flags,
        "repeat_places": repeat_places,
        "rental_properties": rentals,
        "key_sites": sites,
    }
    proposal = grid.propose_zones(
        cells,
        workload,
        k=k,
        current=today,
        max_moves=max_moves,
        seed=0,
        seconds=COMPACT_SECONDS,
        layers={n: v for n, v in figures.items() if v is not None},
    )
    zone_of_incident = pd.Series(
        proposal.assignment.reindex(cell_of.fillna("")).to_numpy(),
        index=incidents.index,
        dtype="string",
    )
    # Patrol windows come from hour profiles, which need incidents.profiles.
    profiles = data.analysis("incidents.profiles")
    if profiles is None:
        notes.append("incidents.profiles")
    plan = plan_module.patrol_plan(
        cells,
        proposal.assignment,
        workload,
        incidents=incidents if profiles is not None else None,
        zone_of_incident=zone_of_incident,
        hotspot_cells=hot_ids,
        repeat_places=repeat_places,
        devices=devices,
    )
    zones = export.proposed_zones_layer(
        cells, proposal.assignment, proposal.metrics, today=today, windows=plan.windows
    )
    return ZonePlan(proposal=proposal, plan=plan, zones=zones, hotspot_cells=hot_ids, notes=notes)


def proposal_files(zone_plan_: ZonePlan) -> dict[str, bytes]:
    """The proposal as GeoPackage (zones, check-in points, coverage gaps, changes), GeoJSON
    (zones) and CSV (zone metrics), as bytes for download buttons."""
    export = _need("grid.export")
    from geodata.store import export_layer

    proposal, plan = zone_plan_.proposal, zone_plan_.plan
    changes = proposal.changes.moves if proposal.changes is not None else None
    with tempfile.TemporaryDirectory(prefix="gridwatch-plan-") as folder:
        gpkg = Path(folder) / "proposal.gpkg"
        export.export_proposal(
            gpkg,
            zone_plan_.zones,
            checkpoints=plan.checkpoints,
            coverage_gaps=plan.coverage_gaps,
            changes=changes,
            changes_csv=Path(folder) / "changes.csv",
        )
        geojson = Path(folder) / "proposed_zones.geojson"
        export_layer(zone_plan_.zones, geojson, "proposed_zones")
        return {
            "gpkg": gpkg.read_bytes(),
            "geojson": geojson.read_bytes(),
            "csv": proposal.metrics.reset_index().to_csv(index=False).encode("utf-8-sig"),
        }
