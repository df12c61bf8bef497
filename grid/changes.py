"""What a zone change does: which cells move from which zone to which and why, and a before/after
table of every zone figure."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from grid.adjacency import CellGraph, cell_graph
from grid.membership import NO_ZONE, ZoneMembership, as_membership
from grid.metrics import plan_summary, zone_metrics

__all__ = ["ChangeReport", "change_report"]

# Per-zone figures shown before and after.
ZONE_FIGURES = (
    "cells",
    "workload",
    "deviation",
    "hotspot_cells",
    "repeat_places",
    "population",
    "rental_properties",
    "key_sites",
    "area_km2",
    "polsby_popper",
    "contiguous",
    "mean_distance_m",
    "max_distance_m",
    "shared_cells",
)


@dataclass
class ChangeReport:
    """Cells that move, per-zone figures before and after, and area-wide figures.

    ``moves``: grid_id, from_zone, to_zone, workload, reason. ``zones``: one row per zone with
    ``<figure>_before`` and ``<figure>_after`` columns plus cells_in and cells_out. ``summary``:
    metric, before, after, change.
    """

    moves: pd.DataFrame
    zones: pd.DataFrame
    summary: pd.DataFrame
    imbalance_cut: dict

    def to_dict(self) -> dict:
        """Plain data for JSON."""

        def records(frame: pd.DataFrame) -> list[dict]:
            return [
                {k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
            ]

        return {
            "cells_moved": int(len(self.moves)),
            "imbalance_cut": self.imbalance_cut,
            "moves": records(self.moves),
            "zones": records(self.zones.reset_index()),
            "summary": records(self.summary),
        }


def change_report(
    cells: gpd.GeoDataFrame,
    before: pd.Series | ZoneMembership | gpd.GeoDataFrame,
    after: pd.Series | ZoneMembership | gpd.GeoDataFrame,
    workload: pd.Series,
    *,
    id_column: str = "grid_id",
    graph: CellGraph | None = None,
    tolerance: float = 0.02,
    before_metrics: pd.DataFrame | None = None,
    after_metrics: pd.DataFrame | None = None,
    mode: str = "fresh",
    **layers: object,
) -> ChangeReport:
    """
    Compare two zone plans over the same cells.

    Parameters
    ----------
    before, after
        Today's and the proposed zones (assignment Series, membership or patrol_zones layer).
    workload
        Workload per cell, as used for balancing.
    before_metrics, after_metrics
        :func:`~grid.metrics.zone_metrics` tables already computed (computed if not given).
    mode
        ``"minimal"`` or ``"fresh"``: how the proposal was made, for the reasons given.
    layers
        ``hotspots``, ``repeat_places``, ``rental_properties``, ``key_sites`` passed on to
        :func:`~grid.metrics.zone_metrics`.

    Returns
    -------
    ChangeReport
    """
    graph = graph or cell_graph(cells, id_column=id_column)
    old = as_membership(before, cells, id_column=id_column)
    new = as_membership(after, cells, id_column=id_column)
    if before_metrics is None:
        before_metrics = zone_metrics(
            cells, old, workload, id_column=id_column, graph=graph, **layers
        )
    if after_metrics is None:
        after_metrics = zone_metrics(
            cells, new, workload, id_column=id_column, graph=graph, **layers
        )
    w = pd.to_numeric(workload, errors="coerce")
    w.index = w.index.astype("string")
    w = w.reindex(graph.ids).fillna(0.0)

    moves = _moves(old, new, w, before_metrics, after_metrics, graph, mode)
    zones = _zone_table(before_metrics, after_metrics, moves)
    s_before = plan_summary(
        before_metrics, old, cells, id_column=id_column, graph=graph, tolerance=tolerance
    )
    s_after = plan_summary(
        after_metrics, new, cells, id_column=id_column, graph=graph, tolerance=tolerance
    )
    summary = pd.DataFrame(
        {
            "metric": list(s_before),
            "before": list(s_before.values()),
            "after": [s_after[key] for key in s_before],
        }
    )
    summary["change"] = [
        _difference(b, a) for b, a in zip(summary["before"], summary["after"], strict=True)
    ]
    imbalance = {}
    if s_before["cv"] > 0:
        imbalance = {
            "cv_before": s_before["cv"],
            "cv_after": s_after["cv"],
            "cv_cut": 1 - s_after["cv"] / s_before["cv"],
            "max_deviation_before": s_before["max_deviation"],
            "max_deviation_after": s_after["max_deviation"],
            "max_deviation_cut": 1
            - s_after["max_deviation"] / max(s_before["max_deviation"], 1e-12),
        }
    return ChangeReport(moves=moves, zones=zones, summary=summary, imbalance_cut=imbalance)


def _moves(
    old: ZoneMembership,
    new: ZoneMembership,
    w: pd.Series,
    before: pd.DataFrame,
    after: pd.DataFrame,
    graph: CellGraph,
    mode: str,
) -> pd.DataFrame:
    was = old.assignment.reindex(graph.ids).fillna(NO_ZONE)
    now = new.assignment.reindex(graph.ids).fillna(NO_ZONE)
    claimed = old.pairs.groupby("grid_id")["zone_id"].agg(",".join).reindex(graph.ids)
    many = old.pairs["grid_id"].value_counts()
    double = set(many.index[many > 1])
    moved = (was != now) | pd.Series(graph.ids.isin(list(double)), index=graph.ids)
    ids = graph.ids[moved.to_numpy()]
    rows = []
    for cell in ids:
        source, target = str(was[cell]), str(now[cell])
        if cell in double:
            source = str(claimed[cell])
            reason = f"claimed by zones {source}; kept in {target} only"
        elif source == NO_ZONE:
            reason = f"blind spot: the cell was in no zone; {target} takes it"
        else:
            reason = _balance_reason(source, target, before, after, mode)
        rows.append((str(cell), source, target, float(w[cell]), reason))
    frame = pd.DataFrame(rows, columns=["grid_id", "from_zone", "to_zone", "workload", "reason"])
    for column in ("grid_id", "from_zone", "to_zone", "reason"):
        frame[column] = frame[column].astype("string")
    return frame


def _balance_reason(
    source: str, target: str, before: pd.DataFrame, after: pd.DataFrame, mode: str
) -> str:
    def dev(table: pd.DataFrame, zone: str) -> str:
        if zone not in table.index or pd.isna(table.at[zone, "deviation"]):
            return "new"
        return f"{table.at[zone, 'deviation']:+.1%}"

    lead = "evens out workload" if mode == "minimal" else "redesign"
    return (
        f"{lead}: {source} {dev(before, source)} → {dev(after, source)}, "
        f"{target} {dev(before, target)} → {dev(after, target)} of the mean workload"
    )


def _zone_table(before: pd.DataFrame, after: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    figures = [f for f in ZONE_FIGURES if f in before.columns and f in after.columns]
    index = before.index.union(after.index, sort=False)
    table = pd.DataFrame(index=index)
    for figure in figures:
        table[f"{figure}_before"] = before[figure].reindex(index)
        table[f"{figure}_after"] = after[figure].reindex(index)
    out_counts = moves["from_zone"].value_counts()
    in_counts = moves["to_zone"].value_counts()
    table["cells_out"] = out_counts.reindex(index).fillna(0).astype(np.int64).to_numpy()
    table["cells_in"] = in_counts.reindex(index).fillna(0).astype(np.int64).to_numpy()
    table.index.name = "zone_id"
    return table


def _difference(before: object, after: object) -> object:
    if isinstance(before, bool) or isinstance(after, bool):
        return None
    if isinstance(before, (int, float, np.integer, np.floating)) and isinstance(
        after, (int, float, np.integer, np.floating)
    ):
        return float(after) - float(before)
    return None


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, (str, bytes, list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    return value
