"""Workload per grid cell: incidents counted with weights for their category and for night hours
(and optionally for hotspot cells), the quantity patrol zones are balanced on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_NIGHT_HOURS", "cell_workload", "incident_weights"]

# The night patrol window of the seeds (22:00-03:00): start hour, end hour (exclusive).
DEFAULT_NIGHT_HOURS = (22, 3)


def incident_weights(
    incidents: pd.DataFrame,
    *,
    category_weights: Mapping[str, float] | None = None,
    default_weight: float = 1.0,
    night_weight: float = 1.5,
    night_hours: tuple[int, int] = DEFAULT_NIGHT_HOURS,
    category_column: str = "category",
    time_column: str = "reported_at",
) -> pd.Series:
    """
    Weight of each incident: its category's weight times ``night_weight`` at night.

    Parameters
    ----------
    incidents
        Incidents with a category and a tz-aware report time (a missing column means every
        incident gets the default weight for it).
    category_weights
        Weight per category (e.g. ``{"打架斗殴": 2.0, "求助": 0.5}``); categories not listed,
        and missing categories, weigh ``default_weight``.
    night_weight
        Factor for incidents reported in the night window (1 for no extra weight).
    night_hours
        ``(start, end)`` hours of the night window, wrapping past midnight when start > end:
        ``(22, 3)`` is 22:00-03:00.

    Returns
    -------
    pandas.Series
        Float weights aligned to ``incidents.index``, named ``weight``.

    Raises
    ------
    ValueError
        If a weight is negative or the night hours are not 0-23.
    """
    start, end = night_hours
    if not (0 <= start <= 23 and 0 <= end <= 24):
        raise ValueError(f"night_hours {night_hours!r}: give (start, end) hours between 0 and 24")
    weights = dict(category_weights or {})
    if default_weight < 0 or night_weight < 0 or any(v < 0 for v in weights.values()):
        raise ValueError("workload weights must not be negative")
    weight = np.full(len(incidents), float(default_weight))
    if weights and category_column in incidents.columns:
        category = incidents[category_column].astype("string")
        weight = category.map(weights).astype("Float64").fillna(default_weight).to_numpy(float)
    if night_weight != 1 and time_column in incidents.columns:
        hour = pd.to_datetime(incidents[time_column]).dt.hour.to_numpy()
        night = (hour >= start) | (hour < end) if start > end else (hour >= start) & (hour < end)
        weight = np.where(night, weight * night_weight, weight)
    return pd.Series(weight, index=incidents.index, name="weight")


def cell_workload(
    incidents: pd.DataFrame,
    cell_ids: pd.Series | str,
    *,
    cells: Iterable[str] | None = None,
    category_weights: Mapping[str, float] | None = None,
    default_weight: float = 1.0,
    night_weight: float = 1.5,
    night_hours: tuple[int, int] = DEFAULT_NIGHT_HOURS,
    hotspot_cells: Iterable[str] | None = None,
    hotspot_weight: float = 1.0,
    category_column: str = "category",
    time_column: str = "reported_at",
) -> pd.Series:
    """
    Workload of each grid cell: the sum of its incidents' weights.

    Parameters
    ----------
    incidents
        Incidents (a layer or any table with ``category`` and ``reported_at``).
    cell_ids
        The grid cell of each incident, aligned to ``incidents`` (as from
        ``incidents.assign.assign_to_cells``), or the name of a column holding it. Incidents with
        no cell (outside every cell) are left out.
    cells
        Every cell id to report, so cells without incidents get 0; by default only cells with
        incidents appear.
    category_weights, default_weight, night_weight, night_hours
        See :func:`incident_weights`.
    hotspot_cells
        Cells whose workload is multiplied by ``hotspot_weight``, so that zones holding hotspots
        get fewer other cells.

    Returns
    -------
    pandas.Series
        Workload per cell, indexed by cell id (``grid_id``), named ``workload``.

    Raises
    ------
    ValueError
        If ``cell_ids`` names no column or is not aligned to the incidents.
    """
    if isinstance(cell_ids, str):
        if cell_ids not in incidents.columns:
            raise ValueError(
                f"the incidents have no column {cell_ids!r}; assign them to grid "
                "cells first (incidents.assign.assign_to_cells)"
            )
        cell_of = incidents[cell_ids]
    else:
        if len(cell_ids) != len(incidents) or not cell_ids.index.equals(incidents.index):
            raise ValueError(
                "cell_ids must be aligned to the incidents (same index); pass the "
                "result of assign_to_cells on these incidents"
            )
        cell_of = cell_ids
    weight = incident_weights(
        incidents,
        category_weights=category_weights,
        default_weight=default_weight,
        night_weight=night_weight,
        night_hours=night_hours,
        category_column=category_column,
        time_column=time_column,
    )
    cell_of = cell_of.astype("string")
    known = cell_of.notna().to_numpy()
    workload = weight[known].groupby(cell_of[known].to_numpy()).sum()
    if cells is not None:
        workload = workload.reindex(
            pd.Index(pd.Series(list(cells), dtype="string")), fill_value=0.0
        )
    workload.index = pd.Index(workload.index.astype("string"), name="grid_id")
    if hotspot_cells is not None and hotspot_weight != 1:
        if hotspot_weight < 0:
            raise ValueError("hotspot_weight must not be negative")
        hot = workload.index.isin(pd.Index(list(hotspot_cells), dtype="string"))
        workload = workload.where(~hot, workload * hotspot_weight)
    return workload.astype(float).rename("workload")
