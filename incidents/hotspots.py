"""Hotspot maps by several standard methods, each giving every cell a score and a hotspot flag:
counts, rate per 1,000 residents, kernel density, Getis-Ord Gi*, emerging hot spots, and the
naive "last period's counts"."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geodata import local_metric_crs
from incidents._hotspot_common import (
    TIME_COLUMN,
    cell_areas_m2,
    cell_counts,
    check_cells,
    check_incidents,
    to_timestamp,
    top_share_flags,
)

__all__ = ["METHODS", "hotspot_scores", "kde_bandwidth", "kernel_density"]

METHODS = ("counts", "rate", "kde", "gistar", "emerging", "naive")
DEFAULT_AREA_SHARE = 0.05


def kde_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """
    Default kernel bandwidth in metres, by the rule ArcGIS's Kernel Density uses.

    ``0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n ** -0.2``, where ``SD`` is the standard distance of
    the points, ``Dm`` the median distance to their mean centre and ``n`` their number: a spatial
    version of Silverman's rule of thumb (Silverman 1986, eq. 3.31) that is robust to outliers
    (ArcGIS Pro, "How Kernel Density works").
    """
    n = len(x)
    if n < 2:
        raise ValueError("kernel density needs at least two incidents to choose a bandwidth")
    dx, dy = x - x.mean(), y - y.mean()
    standard_distance = np.sqrt((dx**2).sum() / n + (dy**2).sum() / n)
    median_distance = np.median(np.hypot(dx, dy))
    bandwidth = 0.9 * min(standard_distance, np.sqrt(1 / np.log(2)) * median_distance) * n**-0.2
    if not bandwidth > 0:
        raise ValueError("kernel density: all incidents are at one place; give bandwidth_m")
    return float(bandwidth)


def _sample_points(cells_metric: gpd.GeoSeries, per_side: int) -> tuple[np.ndarray, ...]:
    """A ``per_side`` x ``per_side`` lattice over each cell's bounding box, kept where it falls
    inside the cell; a cell that keeps none is sampled at its representative point."""
    bounds = cells_metric.bounds.to_numpy()
    offsets = (np.arange(per_side) + 0.5) / per_side
    fx, fy = np.meshgrid(offsets, offsets)
    fx, fy = fx.ravel(), fy.ravel()
    owner = np.repeat(np.arange(len(bounds)), len(fx))
    x = bounds[owner, 0] + np.tile(fx, len(bounds)) * (bounds[owner, 2] - bounds[owner, 0])
    y = bounds[owner, 1] + np.tile(fy, len(bounds)) * (bounds[owner, 3] - bounds[owner, 1])
    geoms = np.asarray(cells_metric.array)
    inside = shapely.contains_xy(geoms[owner], x, y)
    owner, x, y = owner[inside], x[inside], y[inside]
    missing = np.setdiff1d(np.arange(len(bounds)), owner)
    if len(missing):
        rep = shapely.point_on_surface(geoms[missing])
        owner = np.concatenate([owner, missing])
        x = np.concatenate([x, shapely.get_x(rep)])
        y = np.concatenate([y, shapely.get_y(rep)])
    return owner, x, y


def kernel_density(
    incidents: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    bandwidth_m: float | None = None,
    samples_per_side: int = 3,
) -> pd.Series:
    """
    Kernel density of incidents, per square kilometre, averaged over each cell.

    The quartic (biweight) kernel ArcGIS uses, ``3 / (pi h**2) * (1 - (d / h)**2)**2`` within the
    bandwidth ``h`` (Silverman 1986, eq. 4.5), summed over incidents, so the density integrates to
    the number of incidents. It is sampled on a ``samples_per_side`` squared lattice inside each
    cell and averaged, so a cell smaller or larger than the bandwidth is represented fairly.

    Parameters
    ----------
    bandwidth_m
        Kernel radius in metres; by default :func:`kde_bandwidth` of the incidents.
    samples_per_side
        Lattice points per side of each cell's bounding box.

    Returns
    -------
    pandas.Series
        Aligned to ``cells``; the bandwidth used is in ``attrs["bandwidth_m"]``.
    """
    if samples_per_side < 1:
        raise ValueError("samples_per_side must be at least 1")
    crs = local_metric_crs(cells)
    points = incidents.geometry.to_crs(crs)
    px, py = shapely.get_x(points.array), shapely.get_y(points.array)
    if bandwidth_m is None:
        bandwidth_m = kde_bandwidth(px, py)
    elif not bandwidth_m > 0:
        raise ValueError(f"bandwidth_m must be a positive distance in metres, got {bandwidth_m}")
    owner, sx, sy = _sample_points(cells.geometry.to_crs(crs), samples_per_side)
    density = np.zeros(len(sx))
    if len(px):
        near = cKDTree(np.column_stack([sx, sy])).sparse_distance_matrix(
            cKDTree(np.column_stack([px, py])), bandwidth_m, output_type="coo_matrix"
        )
        kernel = 3 / (np.pi * bandwidth_m**2) * (1 - (near.data / bandwidth_m) ** 2) ** 2
        np.add.at(density, near.row, kernel)
    per_cell = np.bincount(owner, weights=density, minlength=len(cells))
    per_cell /= np.bincount(owner, minlength=len(cells))
    out = pd.Series(per_cell * 1e6, index=cells.index, name="density_km2")
    out.attrs["bandwidth_m"] = float(bandwidth_m)
    return out


def _take(options: dict[str, object], allowed: dict[str, object], method: str) -> dict[str, object]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"method {method!r} takes no option {unknown[0]!r}; its options are: "
            f"{', '.join(allowed) or 'none'}"
        )
    return {**allowed, **options}


def _counts(incidents, cells, id_column, counts, options):
    opts = _take(options, {"area_share": DEFAULT_AREA_SHARE}, "counts")
    return {"score": counts}, top_share_flags(counts, cell_areas_m2(cells), opts["area_share"])


def _rate(incidents, cells, id_column, counts, options):
    opts = _take(
        options, {"area_share": DEFAULT_AREA_SHARE, "population_column": "population"}, "rate"
    )
    column = opts["population_column"]
    if column not in cells.columns:
        raise ValueError(
            f"cells have no {column!r} column; the rate per 1,000 residents needs "
            "each cell's population (or use method='counts')"
        )
    population = pd.to_numeric(cells[column], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(population > 0, counts / population * 1000, np.nan)
    flags = top_share_flags(rate, cell_areas_m2(cells), opts["area_share"])
    return {"score": rate, "rate_per_1000": rate}, flags


def _kde(incidents, cells, id_column, counts, options):
    opts = _take(
        options,
        {"area_share": DEFAULT_AREA_SHARE, "bandwidth_m": None, "samples_per_side": 3},
        "kde",
    )
    density = kernel_density(
        incidents, cells, bandwidth_m=opts["bandwidth_m"], samples_per_side=opts["samples_per_side"]
    )
    flags = top_share_flags(density.to_numpy(), cell_areas_m2(cells), opts["area_share"])
    return {
        "score": density.to_numpy(),
        "density_km2": density.to_numpy(),
        "kde_bandwidth_m": density.attrs["bandwidth_m"],
    }, flags


def _gistar(incidents, cells, id_column, counts, options):
    from incidents.gistar import cell_weights, gi_star

    opts = _take(
        options,
        {
            "values": "anscombe",
            "permutations": 0,
            "alpha": 0.05,
            "transform": "B",
            "seed": 0,
            "weights": None,
        },
        "gistar",
    )
    if opts["values"] not in ("anscombe", "counts"):
        raise ValueError(f"gistar values must be 'anscombe' or 'counts', not {opts['values']!r}")
    weights = cell_weights(cells) if opts["weights"] is None else opts["weights"]
    # Counts are Poisson-like and skewed: a few busy cells give their neighbours z-scores that
    # normal p-values overrate. Anscombe's square root steadies the variance (Anscombe 1948).
    values = np.sqrt(counts + 3 / 8) if opts["values"] == "anscombe" else counts
    result = gi_star(
        values,
        weights,
        permutations=opts["permutations"],
        alpha=opts["alpha"],
        transform=opts["transform"],
        seed=opts["seed"],
    )
    columns = {"score": result["gi_z"].to_numpy()}
    for name in result.columns:
        if name != "hotspot":
            columns[name] = result[name].to_numpy()
    columns["gi_fdr_cut"] = result.attrs["fdr_cut"]
    return columns, result["hotspot"].to_numpy()


def _emerging(incidents, cells, id_column, counts, options):
    from incidents.emerging import HOT_PATTERNS, emerging_hotspots

    opts = _take(
        options,
        {
            "slices": 12,
            "start": None,
            "end": None,
            "time_window": 1,
            "alpha": 0.05,
            "trend_alpha": 0.05,
            "weights": None,
            "values": "anscombe",
        },
        "emerging",
    )
    result = emerging_hotspots(incidents, cells, id_column=id_column, **opts)
    columns = {"score": result["last_z"].to_numpy()}
    columns.update({name: result[name].to_numpy() for name in result.columns})
    current = [name for name in HOT_PATTERNS if name != "historical hot spot"]
    return columns, result["pattern"].isin(current).to_numpy()


def _naive(incidents, cells, id_column, counts, options):
    opts = _take(
        options, {"area_share": DEFAULT_AREA_SHARE, "period_days": 28, "until": None}, "naive"
    )
    check_incidents(incidents, need_time=True)
    if not opts["period_days"] > 0:
        raise ValueError("period_days must be a positive number of days")
    times = incidents[TIME_COLUMN]
    if opts["until"] is not None:
        until = to_timestamp(opts["until"], times, "until")
    elif len(times):
        until = times.max() + pd.Timedelta(1, "ms")
    else:
        until = None
    if until is None:
        last = incidents
    else:
        since = until - pd.Timedelta(days=float(opts["period_days"]))
        last = incidents[((times >= since) & (times < until)).to_numpy()]
    recent = cell_counts(last, cells, id_column)
    return (
        {"score": recent, "last_period_incidents": recent},
        top_share_flags(recent, cell_areas_m2(cells), opts["area_share"]),
    )


_SCORERS: dict[str, Callable] = {
    "counts": _counts,
    "rate": _rate,
    "kde": _kde,
    "gistar": _gistar,
    "emerging": _emerging,
    "naive": _naive,
}


def hotspot_scores(
    incidents: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    method: str,
    id_column: str = "cell_id",
    **options: object,
) -> gpd.GeoDataFrame:
    """
    Score every cell for being a hotspot by one method, and flag the hotspots.

    Parameters
    ----------
    incidents
        Points (EPSG:4326 or any CRS), with ``reported_at`` for ``emerging`` and ``naive``.
    cells
        Polygons with a unique ``id_column`` (an analysis grid, grid cells, beats...).
    method
        - ``"counts"``: incidents in the cell.
        - ``"rate"``: incidents per 1,000 residents (``population_column``, default
          ``"population"``); cells without a population get no score.
        - ``"kde"``: quartic kernel density per km² averaged over the cell; ``bandwidth_m``
          (default: ArcGIS's rule, :func:`kde_bandwidth`), ``samples_per_side`` (3).
        - ``"gistar"``: Getis-Ord Gi* z-score on queen contiguity; hotspots are z > 0 with p
          below the Benjamini-Hochberg cut at ``alpha`` (0.05). ``values``: ``"anscombe"``
          (default, √(count + 3/8): on the demo's counts shuffled over the cells, 7% of maps
          show a false hotspot against the nominal 5%) or ``"counts"`` (raw counts, as ArcGIS:
          25% do, as a few busy cells make their neighbours look hot). ``permutations`` (0:
          normal p-values; 999 or more for conditional-permutation pseudo p-values, which hold
          the FDR but find fewer real hotspots, see :func:`incidents.gistar.gi_star`),
          ``transform`` (``"B"``), ``seed``, ``weights``.
        - ``"emerging"``: ArcGIS-style emerging hot spot pattern (``slices`` 12, ``time_window``
          1, ``alpha``, ``trend_alpha``, ``start``, ``end``, ``values`` as for Gi*: the root by
          default); the score is the Gi* z of the final slice and hotspots are the hot patterns
          other than "historical".
        - ``"naive"``: incidents in the last ``period_days`` (28) before ``until`` (default:
          just after the last incident).

        For ``counts``, ``rate``, ``kde`` and ``naive``, which test nothing, the hotspots are the
        highest-scoring cells covering at most ``area_share`` (0.05) of the area; cells tied at
        the cut are all left out.
    id_column
        The cells' id column.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``cells`` with ``incidents`` (the count in each cell), ``score`` (higher is
        hotter), ``hotspot`` and the method's own columns (``gi_z``, ``gi_p``, ``pattern``,
        ``density_km2``...). ``attrs["method"]`` names the method.
    """
    if method not in _SCORERS:
        raise ValueError(f"unknown hotspot method {method!r}; use one of: {', '.join(METHODS)}")
    check_cells(cells, id_column)
    check_incidents(incidents, need_time=method in ("emerging", "naive"))
    counts = cell_counts(incidents, cells, id_column)
    columns, flags = _SCORERS[method](incidents, cells, id_column, counts, dict(options))
    out = cells.copy()
    out["incidents"] = counts.astype(np.int64)
    for name, values in columns.items():
        out[name] = values
    out["score"] = out["score"].astype(float)
    out["hotspot"] = np.asarray(flags, dtype=bool)
    out.attrs["method"] = method
    return out
