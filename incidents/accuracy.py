"""How well a hotspot map predicts: PAI, PEI* and RRI of each method's map for a later period,
with every method run on the same train/test split and the naive "last period" baseline beside.

Definitions (``n`` test incidents in the flagged cells, ``N`` all test incidents, ``a`` the flagged
area, ``A`` the whole area):

- PAI, Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008, Security Journal 21):
  ``(n / N) / (a / A)``: the hit rate per unit of area, 1 for a map no better than chance.
- PEI*, Predictive Efficiency Index (Hunt 2016, NIJ; White, Hunt & Green 2023, Security Journal):
  the map's PAI over the largest PAI any map of the same area could reach, the one made from the
  test period's own counts; 1 is a perfect map of that size.
- RRI, Recapture Rate Index (Levine 2008, Security Journal 21, "The 'hottest' part of a hotspot";
  used by Drawve 2016, Justice Quarterly 33): ``(n_test / n_train) / (N_test / N_train)`` over the
  same flagged cells: whether the cells keep their share of incidents, corrected for a change in
  the total; above 1 they gained share.

Maps are compared at the same area: the cells a method scores highest, until ``area_share`` of
the area is covered. Cells tied at the cut are taken in part (the share of their area that still
fits), which is the average over every way of breaking the tie; the same rule builds the best map
for PEI*, which is therefore exact for cells of equal area and an upper bound otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from incidents._hotspot_common import (
    TIME_COLUMN,
    between,
    cell_areas_m2,
    cell_counts,
    check_cells,
    check_incidents,
    to_timestamp,
)
from incidents.hotspots import hotspot_scores

__all__ = ["DEFAULT_METHODS", "evaluate_methods", "hotspot_accuracy", "share_of_area"]

DEFAULT_METHODS = ("counts", "rate", "kde", "gistar", "emerging", "naive")
RESULT_COLUMNS = (
    "method",
    "pai",
    "pei_star",
    "rri",
    "cells_flagged",
    "area_share_used",
    "test_incidents_captured",
)


def share_of_area(score: np.ndarray, area: np.ndarray, share: float) -> np.ndarray:
    """
    How much of each cell a map of ``share`` of the area takes, ranking cells by ``score``.

    Returns a weight per cell: 1 for cells taken whole, a fraction for the tied group at the cut
    (the part of their area that fits), 0 for the rest. Missing scores rank last.
    """
    if not 0 < share <= 1:
        raise ValueError(f"area_share must be above 0 and at most 1, got {share}")
    score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
    area = np.asarray(area, dtype=float)
    target = share * area.sum()
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    group_area = np.add.reduceat(area[order], starts)
    before = np.cumsum(group_area) - group_area
    fraction = np.clip((target - before) / np.where(group_area > 0, group_area, 1.0), 0.0, 1.0)
    sizes = np.diff(np.r_[starts, len(ranked)])
    weight = np.zeros(len(score))
    weight[order] = np.repeat(fraction, sizes)
    return weight


def hotspot_accuracy(
    score: np.ndarray | pd.Series,
    area: np.ndarray,
    train_counts: np.ndarray,
    test_counts: np.ndarray,
    *,
    area_share: float = 0.01,
) -> dict[str, float]:
    """
    PAI, PEI* and RRI of one map: cells ranked by ``score``, covering ``area_share`` of the area.

    Parameters
    ----------
    score
        Higher is hotter; one value per cell.
    area
        Cell areas (any unit).
    train_counts, test_counts
        Incidents per cell in the period the map was made from and in the later period.
    area_share
        Share of the area the map may flag (0.01 = 1%).

    Returns
    -------
    dict
        ``pai``, ``pei_star``, ``rri``, ``cells_flagged`` (cells wholly or partly taken),
        ``area_share_used`` and ``test_incidents_captured`` (``n``, fractional when a tie is cut).
    """
    area = np.asarray(area, dtype=float)
    train = np.asarray(train_counts, dtype=float)
    test = np.asarray(test_counts, dtype=float)
    if not len(area) == len(train) == len(test) == len(np.asarray(score)):
        raise ValueError("score, area, train_counts and test_counts must have one value per cell")
    total_test, total_train = test.sum(), train.sum()
    if total_test == 0:
        raise ValueError("no incidents in the test period; choose a later test_until")
    weight = share_of_area(np.asarray(score, dtype=float), area, area_share)
    used = (weight * area).sum() / area.sum()
    captured = (weight * test).sum()
    pai = (captured / total_test) / used
    # The best map of the same area: the cells densest in the test period itself.
    best = share_of_area(test / np.where(area > 0, area, np.inf), area, area_share)
    best_captured = (best * test).sum()
    pei_star = captured / best_captured if best_captured > 0 else np.nan
    train_captured = (weight * train).sum()
    if train_captured > 0 and total_train > 0:
        rri = (captured / train_captured) / (total_test / total_train)
    else:
        rri = np.nan
    return {
        "pai": float(pai),
        "pei_star": float(pei_star),
        "rri": float(rri),
        "cells_flagged": int((weight > 0).sum()),
        "area_share_used": float(used),
        "test_incidents_captured": float(captured),
    }


def evaluate_methods(
    incidents: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    train_until: object,
    test_until: object,
    area_share: float = 0.01,
    id_column: str = "cell_id",
    methods: Sequence[str] | None = None,
    train_since: object = None,
    method_options: dict[str, dict[str, object]] | None = None,
) -> pd.DataFrame:
    """
    Run every hotspot method on the same train period and score its map on the test period.

    Parameters
    ----------
    incidents
        Points with ``reported_at``.
    cells
        Polygons with a unique ``id_column``; the whole area ``A`` is their total area.
    train_until
        End of the training period (exclusive); it starts at ``train_since`` or the first incident.
    test_until
        End of the test period (exclusive), which starts at ``train_until``.
    area_share
        Share of the area each map flags.
    methods
        Methods of :func:`incidents.hotspots.hotspot_scores`; by default all, without ``rate``
        when the cells carry no ``population``. ``naive`` counts the training period's last
        stretch as long as the test period.
    method_options
        Extra options per method, e.g. ``{"gistar": {"permutations": 999}}``.

    Returns
    -------
    pandas.DataFrame
        One row per method: ``method``, ``pai``, ``pei_star``, ``rri``, ``cells_flagged``,
        ``area_share_used``, ``test_incidents_captured``. ``attrs`` holds the periods and the
        incident totals.
    """
    check_cells(cells, id_column)
    check_incidents(incidents, need_time=True)
    times = incidents[TIME_COLUMN]
    train_end = to_timestamp(train_until, times, "train_until")
    test_end = to_timestamp(test_until, times, "test_until")
    if not test_end > train_end:
        raise ValueError("test_until must come after train_until")
    train = between(incidents, train_since, train_end)
    test = between(incidents, train_end, test_end)
    if len(train) == 0:
        raise ValueError("no incidents before train_until; choose a later train_until")
    if methods is None:
        methods = [m for m in DEFAULT_METHODS if m != "rate" or "population" in cells.columns]
    options = method_options or {}
    area = cell_areas_m2(cells)
    train_counts = cell_counts(train, cells, id_column)
    test_counts = cell_counts(test, cells, id_column)
    rows = []
    for method in methods:
        extra = dict(options.get(method, {}))
        if method == "naive":
            extra.setdefault("until", train_end)
            extra.setdefault("period_days", (test_end - train_end) / pd.Timedelta(days=1))
        if method == "emerging":
            extra.setdefault("end", train_end)
        scored = hotspot_scores(train, cells, method=method, id_column=id_column, **extra)
        result = hotspot_accuracy(
            scored["score"].to_numpy(), area, train_counts, test_counts, area_share=area_share
        )
        rows.append({"method": method, **result})
    table = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    table.attrs.update(
        {
            "train_since": train[TIME_COLUMN].min(),
            "train_until": train_end,
            "test_until": test_end,
            "train_incidents": len(train),
            "test_incidents": int(test_counts.sum()),
            "area_share": area_share,
            "test_incidents_outside_cells": len(test) - int(test_counts.sum()),
        }
    )
    return table
