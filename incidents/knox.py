"""Near-repeat test (Knox): are incidents close in space also close in time more often than chance?
Reported as Ratcliffe's Near Repeat Calculator reports it: a table of distance bands by time bands
with observed pairs, Knox ratios and Monte Carlo p-values."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geodata import local_metric_crs
from incidents._hotspot_common import TIME_COLUMN, check_incidents

__all__ = ["knox_test"]

# Pairs closer than this are "the same place" (coordinates equal up to rounding).
_SAME_PLACE_M = 0.01
_DAY_NS = 86_400 * 10**9


def _edges(values: Sequence[float], name: str, unit: str) -> np.ndarray:
    edges = np.asarray(list(values), dtype=float)
    if len(edges) == 0 or not np.isfinite(edges).all() or (edges < 0).any():
        raise ValueError(
            f"{name}: give one or more band limits in {unit}, 0 or more, e.g. "
            f"{'0,100,200,300' if unit == 'metres' else '7,14,21,28'}"
        )
    if (np.diff(edges) <= 0).any():
        raise ValueError(f"{name}: band limits must increase, got {list(values)}")
    return edges


def _labels(edges: np.ndarray, unit: str, same: str | None) -> list[str]:
    labels = []
    for k, upper in enumerate(edges):
        lower = edges[k - 1] if k else 0.0
        if k == 0 and upper == 0:
            labels.append(same or f"0 {unit}")
        else:
            labels.append(f"{lower:g}-{upper:g} {unit}" if k else f"0-{upper:g} {unit}")
    labels.append(f"more than {edges[-1]:g} {unit}")
    return labels


def _band(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Band of each value: 0 for [0, e0], k for (e(k-1), ek], len(edges) beyond the last."""
    return np.searchsorted(edges, values, side="left")


def _pairs_per_time_band(days: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Pairs of all incidents in each time band; unchanged when times are shuffled."""
    ordered = np.sort(days)
    n = len(ordered)
    within = np.array(
        [
            (np.searchsorted(ordered, ordered + e, side="right") - np.arange(n) - 1).sum()
            for e in edges
        ],
        dtype=float,
    )
    total = n * (n - 1) / 2
    return np.diff(np.r_[0.0, within, total])


def knox_test(
    incidents: gpd.GeoDataFrame,
    *,
    space_bands_m: Sequence[float],
    time_bands_days: Sequence[float],
    permutations: int = 999,
    seed: int = 0,
) -> pd.DataFrame:
    """
    Knox test of near repeats, band by band, with Monte Carlo p-values.

    Every pair of incidents falls in one distance band and one time band. The times are then
    shuffled among the incidents ``permutations`` times (places stay where they are), as the Near
    Repeat Calculator does (Ratcliffe 2009; Johnson et al. 2007), and each band's pair count is
    compared with its counts in the shuffles.

    Parameters
    ----------
    incidents
        Points with ``reported_at``.
    space_bands_m
        Upper limits of the distance bands in metres, increasing. A first limit of 0 makes a
        "same place" band; the others are ``(previous, limit]``. Pairs beyond the last limit form
        a final band.
    time_bands_days
        Upper limits of the time bands in days: ``[0, first]``, then ``(previous, limit]``, then
        a final band beyond the last.
    permutations
        Shuffles of the times (the Calculator offers 20 to 1,000).
    seed
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        One row per distance band and time band: ``space_band``, ``time_band`` (labels),
        ``space_from_m``, ``space_to_m``, ``time_from_days``, ``time_to_days``, ``observed``
        pairs, ``expected`` (mean over the shuffles), ``knox_ratio`` (observed / expected) and
        ``p_value`` = (shuffles with at least as many pairs + 1) / (permutations + 1).
    """
    check_incidents(incidents, need_time=True)
    space = _edges(space_bands_m, "space_bands_m", "metres")
    time = _edges(time_bands_days, "time_bands_days", "days")
    if permutations < 1:
        raise ValueError("permutations must be at least 1 (the Calculator uses 20 to 1,000)")
    points = incidents[~incidents.geometry.is_empty & incidents.geometry.notna()]
    if len(points) < 3:
        raise ValueError("incidents: the Knox test needs at least three incidents with a place")
    metric = points.geometry.to_crs(local_metric_crs(points))
    xy = np.column_stack([shapely.get_x(metric.array), shapely.get_y(metric.array)])
    # Wall-clock days, so that dates-only records are whole days apart across a DST change.
    stamps = pd.DatetimeIndex(points[TIME_COLUMN]).tz_localize(None).as_unit("ns").asi8
    days = (stamps - stamps.min()) / _DAY_NS

    # Only pairs within the last distance limit need their band; the rest are the final band.
    pairs = cKDTree(xy).query_pairs(space[-1], output_type="ndarray")
    first, second = pairs[:, 0].astype(np.int32), pairs[:, 1].astype(np.int32)
    distance = np.hypot(*(xy[first] - xy[second]).T)
    n_space, n_time = len(space) + 1, len(time) + 1
    space_of = _band(np.where(distance < _SAME_PLACE_M, 0.0, distance), space)
    cell_base = (space_of * n_time).astype(np.int32)
    all_pairs = _pairs_per_time_band(days, time)

    def table(order: np.ndarray) -> np.ndarray:
        shuffled = days[order]
        gap = np.abs(shuffled[first] - shuffled[second])
        index = cell_base.copy()
        for limit in time:  # a few comparisons beat a binary search over few limits
            index += gap > limit
        near = np.bincount(index, minlength=(n_space - 1) * n_time)
        near = near.reshape(n_space - 1, n_time)
        return np.vstack([near, all_pairs - near.sum(axis=0)])

    observed = table(np.arange(len(days)))
    rng = np.random.default_rng(seed)
    total = np.zeros_like(observed, dtype=float)
    at_least = np.zeros_like(observed, dtype=float)
    for _ in range(permutations):
        simulated = table(rng.permutation(len(days)))
        total += simulated
        at_least += simulated >= observed
    expected = total / permutations

    space_to = np.r_[space, np.inf]
    space_from = np.r_[0.0, space]
    time_to = np.r_[time, np.inf]
    time_from = np.r_[0.0, time]
    space_labels = _labels(space, "m", "same place")
    time_labels = _labels(time, "days", None)
    rows = np.repeat(np.arange(n_space), n_time)
    cols = np.tile(np.arange(n_time), n_space)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = observed / expected
    out = pd.DataFrame(
        {
            "space_band": pd.array([space_labels[r] for r in rows], dtype="str"),
            "time_band": pd.array([time_labels[c] for c in cols], dtype="str"),
            "space_from_m": space_from[rows],
            "space_to_m": space_to[rows],
            "time_from_days": time_from[cols],
            "time_to_days": time_to[cols],
            "observed": observed.ravel().astype(np.int64),
            "expected": expected.ravel(),
            "knox_ratio": ratio.ravel(),
            "p_value": ((at_least + 1) / (permutations + 1)).ravel(),
        }
    )
    out.attrs.update({"incidents": len(points), "permutations": permutations, "seed": seed})
    return out
