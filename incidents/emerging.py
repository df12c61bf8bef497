"""Emerging hot spots: Gi* in every time slice, the Mann-Kendall trend of each cell's z-scores, and
the pattern names ArcGIS Pro's Emerging Hot Spot Analysis gives them (new, consecutive,
intensifying, persistent, diminishing, sporadic, oscillating, historical)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse, stats

from incidents._hotspot_common import (
    TIME_COLUMN,
    cell_rows_of,
    check_cells,
    check_incidents,
    to_timestamp,
)
from incidents.gistar import cell_weights, fdr_cut

__all__ = [
    "HOT_PATTERNS",
    "PATTERNS",
    "classify_patterns",
    "emerging_hotspots",
    "mann_kendall",
    "space_time_gi_star",
]

HOT_PATTERNS = (
    "new hot spot",
    "consecutive hot spot",
    "intensifying hot spot",
    "persistent hot spot",
    "diminishing hot spot",
    "sporadic hot spot",
    "oscillating hot spot",
    "historical hot spot",
)
COLD_PATTERNS = tuple(name.replace("hot", "cold") for name in HOT_PATTERNS)
NO_PATTERN = "no pattern detected"
PATTERNS = (*HOT_PATTERNS, *COLD_PATTERNS, NO_PATTERN)
# ArcGIS's share of time slices that makes a spot "persistent" and the like.
_MOST = 0.9


def mann_kendall(series: np.ndarray) -> pd.DataFrame:
    """
    The Mann-Kendall trend test on each row of ``series`` (rows: places, columns: time in order).

    ``S`` is the sum of the signs of all later-minus-earlier differences; its variance has the
    correction for tied values, and ``z = (S - sign(S)) / sqrt(var S)`` has the usual continuity
    correction (Mann 1945; Kendall 1975; Hipel & McLeod 1994, eq. 23.2-23.5).

    Returns
    -------
    pandas.DataFrame
        One row per row of ``series``: ``s``, ``tau`` (``S`` over the number of pairs), ``z`` and
        the two-sided ``p``. A row that never changes has ``z = 0`` and ``p = 1``.
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    n = x.shape[1]
    if n < 3:
        raise ValueError("the Mann-Kendall test needs at least three time slices")
    later, earlier = np.triu_indices(n, k=1)[::-1]
    s = np.sign(x[:, later] - x[:, earlier]).sum(axis=1)
    # Tie correction: sum over groups of equal values of t (t - 1) (2t + 5).
    ordered = np.sort(x, axis=1)
    starts = np.concatenate([np.ones((len(x), 1), bool), ordered[:, 1:] != ordered[:, :-1]], axis=1)
    group = np.cumsum(starts, axis=1) - 1
    sizes = np.zeros_like(x)
    np.add.at(sizes, (np.repeat(np.arange(len(x)), n), group.ravel()), 1.0)
    ties = (sizes * (sizes - 1) * (2 * sizes + 5)).sum(axis=1)
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    return pd.DataFrame(
        {"s": s, "tau": s / (n * (n - 1) / 2), "z": z, "p": 2 * stats.norm.sf(np.abs(z))}
    )


def space_time_gi_star(
    counts: np.ndarray, weights: sparse.sparray | sparse.spmatrix, *, time_window: int = 1
) -> np.ndarray:
    """
    Gi* z-score of every space-time bin (cells x time slices), as ArcGIS's space-time cube does it.

    A bin's neighbourhood is its cell and the cell's neighbours in its own slice and in the
    ``time_window`` slices before it (ArcGIS's "neighborhood time step"); the mean and spread are
    those of the whole cube (ArcGIS's default "entire cube" global window). Binary weights, so the
    z-score is ``(sum of neighbourhood - mean * W) / (s * sqrt((n W - W**2) / (n - 1)))``.
    """
    x = np.asarray(counts, dtype=float)
    if time_window < 0:
        raise ValueError("time_window must be 0 or more slices")
    star = sparse.csr_array(weights, dtype=float, copy=True)
    star.setdiag(1.0)
    spatial_sum = star @ x
    spatial_w = np.asarray(star.sum(axis=1)).ravel()
    # Running sums over the current slice and the time_window before it.
    cumulative = np.cumsum(spatial_sum, axis=1)
    lagged = np.zeros_like(cumulative)
    lagged[:, time_window + 1 :] = cumulative[:, : -(time_window + 1)]
    neighbourhood = cumulative - lagged
    slices_in = np.minimum(np.arange(x.shape[1]) + 1, time_window + 1)
    w = spatial_w[:, None] * slices_in[None, :]
    n = x.size
    mean, sd = x.mean(), x.std()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (neighbourhood - mean * w) / (sd * np.sqrt((n * w - w**2) / (n - 1)))
    z[~np.isfinite(z)] = np.nan
    return z


def _final_run(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    reversed_flags = flags[:, ::-1]
    run = np.argmin(reversed_flags, axis=1)
    return np.where(reversed_flags.all(axis=1), flags.shape[1], run)


def classify_patterns(
    z: np.ndarray,
    significant: np.ndarray,
    trend_z: np.ndarray,
    trend_p: np.ndarray,
    *,
    trend_alpha: float = 0.05,
) -> np.ndarray:
    """
    Name each place's pattern from its significant hot and cold slices and its trend.

    The rules are those of ArcGIS Pro's "How Emerging Hot Spot Analysis works", with ``most`` = 90%
    of the slices. Hot spots (cold spots are the mirror image):

    - new: hot in the final slice and never significant before;
    - consecutive: a single run of at least two hot slices at the end, never hot before it, hot in
      less than 90% of the slices;
    - intensifying / diminishing: hot in at least 90% of the slices including the final one, with
      a significant upward / downward trend in the z-scores;
    - persistent: hot in at least 90% of the slices including the final one, no significant trend;
    - sporadic: hot in the final slice, hot on and off before, in less than 90% of the slices,
      never cold;
    - oscillating: hot in the final slice, cold in an earlier one, hot in less than 90%;
    - historical: not hot in the final slice but hot in at least 90% of the slices.

    Where ArcGIS's wording lets two patterns apply, the more specific one wins: a place that was
    ever cold before turning hot is oscillating rather than new or consecutive.
    """
    n_slices = z.shape[1]
    up = (trend_p < trend_alpha) & (trend_z > 0)
    down = (trend_p < trend_alpha) & (trend_z < 0)
    names = np.full(len(z), NO_PATTERN, dtype=object)
    # Cold patterns first, so that the rare place matching both keeps its hot pattern.
    for sign, patterns, towards, away in (
        (-1, COLD_PATTERNS, down, up),
        (1, HOT_PATTERNS, up, down),
    ):
        (
            new,
            consecutive,
            intensifying,
            persistent,
            diminishing,
            sporadic,
            oscillating,
            historical,
        ) = patterns
        mine = significant & (np.sign(z) == sign)
        other = significant & (np.sign(z) == -sign)
        count = mine.sum(axis=1)
        most = count >= _MOST * n_slices - 1e-9
        final = mine[:, -1]
        run = _final_run(mine)
        ever_other = other[:, :-1].any(axis=1)
        rules = [
            (final & most & towards, intensifying),
            (final & most & away, diminishing),
            (final & most, persistent),
            (~final & most, historical),
            (final & ~most & ever_other, oscillating),
            (final & (count == 1), new),
            (final & (run >= 2) & (count == run), consecutive),
            (final & ~most, sporadic),
        ]
        for rule, name in reversed(rules):  # earlier rules win
            names[rule] = name
    return names


def _slice_bounds(times: pd.Series, slices: int, start: object, end: object) -> pd.DatetimeIndex:
    first = times.min() if start is None else to_timestamp(start, times, "start")
    last = times.max() if end is None else to_timestamp(end, times, "end")
    if not last > first:
        raise ValueError(
            "emerging hot spots need incidents spread over time; the time range is empty"
        )
    step = (last - first) / slices  # rounded to the nanosecond: the last bound is set exactly
    return pd.DatetimeIndex([first + k * step for k in range(slices)] + [last])


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    id_column: str = "cell_id",
    slices: int = 12,
    start: object = None,
    end: object = None,
    time_window: int = 1,
    alpha: float = 0.05,
    trend_alpha: float = 0.05,
    weights: sparse.sparray | None = None,
    values: str = "anscombe",
) -> pd.DataFrame:
    """
    Emerging hot spot pattern of each cell.

    Parameters
    ----------
    incidents
        Points with ``reported_at``.
    cells
        Polygons with a unique ``id_column``.
    slices
        Number of equal time slices between ``start`` and ``end`` (ArcGIS wants at least 10 for
        the trend test to mean much).
    start, end
        The period analysed; by default the first and last incident.
    time_window
        Earlier slices in each bin's neighbourhood (ArcGIS's neighborhood time step, default 1).
    alpha
        False-discovery rate of the Benjamini-Hochberg cut over all bins of the cube.
    trend_alpha
        Significance of the Mann-Kendall trend.
    weights
        Binary neighbours between cells; queen contiguity (:func:`cell_weights`) by default.
    values
        ``"anscombe"``: Gi* of √(count + 3/8) in each bin, which steadies the variance of small
        Poisson counts; ``"counts"``: of the raw counts, as ArcGIS. On the demo's cells shuffled
        (each cell's whole series moved to another cell), 21 of 30 maps show a hot pattern with
        raw counts, 9 of 30 with the root: per-slice counts are small and skewed, and a single
        busy cell makes its neighbourhood look hot either way.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``cells``: ``pattern`` (one of :data:`PATTERNS`), ``hot_slices``,
        ``cold_slices``, ``last_z`` (the final slice's Gi* z), ``trend_tau``, ``trend_z``,
        ``trend_p``. ``attrs`` holds the slice bounds, the FDR cut and the z-scores of every bin.
    """
    check_cells(cells, id_column)
    check_incidents(incidents, need_time=True)
    if slices < 3:
        raise ValueError(
            "slices: the trend test needs at least 3 time slices (10 or more is better)"
        )
    times = incidents[TIME_COLUMN]
    if len(incidents) == 0:
        raise ValueError("incidents: none to analyse in the period")
    bounds = _slice_bounds(times, slices, start, end)
    stamp = pd.DatetimeIndex(times).as_unit("ns").asi8
    edges = bounds.as_unit("ns").asi8
    slice_of = np.searchsorted(edges, stamp, side="right") - 1
    slice_of[stamp == edges[-1]] = slices - 1  # the last instant belongs to the last slice
    cell_of = cell_rows_of(incidents, cells, id_column)
    keep = (cell_of >= 0) & (slice_of >= 0) & (slice_of < slices)
    counts = np.zeros((len(cells), slices))
    np.add.at(counts, (cell_of[keep], slice_of[keep]), 1.0)

    if values not in ("anscombe", "counts"):
        raise ValueError(f"values must be 'anscombe' or 'counts', not {values!r}")
    w = cell_weights(cells) if weights is None else weights
    binned = np.sqrt(counts + 3 / 8) if values == "anscombe" else counts
    z = space_time_gi_star(binned, w, time_window=time_window)
    p = 2 * stats.norm.sf(np.abs(z))
    cut = fdr_cut(p.ravel(), alpha)
    significant = np.isfinite(p) & (p < cut)
    trend = mann_kendall(np.nan_to_num(z))
    pattern = classify_patterns(
        np.nan_to_num(z),
        significant,
        trend["z"].to_numpy(),
        trend["p"].to_numpy(),
        trend_alpha=trend_alpha,
    )
    out = pd.DataFrame(
        {
            "pattern": pd.array(pattern, dtype="str"),
            "hot_slices": (significant & (z > 0)).sum(axis=1),
            "cold_slices": (significant & (z < 0)).sum(axis=1),
            "last_z": z[:, -1],
            "trend_tau": trend["tau"].to_numpy(),
            "trend_z": trend["z"].to_numpy(),
            "trend_p": trend["p"].to_numpy(),
        },
        index=cells.index,
    )
    out.attrs.update(
        {"slice_bounds": list(bounds), "fdr_cut": cut, "bin_z": z, "bin_counts": counts}
    )
    return out
