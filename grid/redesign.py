"""Proposed patrol zones made of whole grid cells: contiguous, workload-balanced, compact, and —
given today's zones — changed by as few cells as the balance needs."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from grid.adjacency import CellGraph, cell_graph
from grid.changes import ChangeReport, change_report
from grid.exact import balance_exactly
from grid.membership import ZoneMembership, as_membership
from grid.metrics import balance_figures, plan_summary, zone_metrics
from grid.partition import compact_start, repair_contiguity
from grid.search import ZoneState

__all__ = ["Proposal", "propose_zones"]

MODES = ("auto", "fresh", "minimal")


@dataclass
class Proposal:
    """A proposed set of patrol zones and the figures that justify it.

    ``assignment`` maps every grid id to its proposed zone id; ``metrics`` has one row per zone
    (see :func:`grid.metrics.zone_metrics`); ``balance`` says whether every zone is within the
    tolerance and, if not, why; ``changes`` (when today's zones were given) lists the cells that
    move and the before/after figures.
    """

    assignment: pd.Series
    metrics: pd.DataFrame
    summary: dict
    balance: dict
    mode: str
    changes: ChangeReport | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def moves(self) -> pd.DataFrame:
        """Cells that change zone (empty without today's zones)."""
        if self.changes is None:
            return pd.DataFrame(columns=["grid_id", "from_zone", "to_zone", "workload", "reason"])
        return self.changes.moves

    def to_dict(self) -> dict:
        """Plain data for JSON: mode, balance, summary, zones and (if any) changes."""
        zones = self.metrics.reset_index()
        out = {
            "mode": self.mode,
            "zones": int(len(self.metrics)),
            "seconds": round(self.seconds, 3),
            "balance": self.balance,
            "summary": self.summary,
            "notes": self.notes,
            "zone_metrics": _records(zones),
        }
        if self.changes is not None:
            out["changes"] = self.changes.to_dict()
        return out


def propose_zones(
    cells: gpd.GeoDataFrame,
    workload: pd.Series,
    *,
    k: int | None = None,
    max_workload: float | None = None,
    current: pd.Series | ZoneMembership | gpd.GeoDataFrame | None = None,
    max_moves: int | None = None,
    mode: str = "auto",
    tolerance: float = 0.02,
    seed: int = 0,
    starts: int = 4,
    quick: bool = False,
    seconds: float = 10.0,
    id_column: str = "grid_id",
    graph: CellGraph | None = None,
    zone_prefix: str = "Z",
    layers: Mapping[str, object] | None = None,
) -> Proposal:
    """
    Propose patrol zones made of whole grid cells.

    Every zone is one connected piece; zone workloads are balanced to within ``tolerance`` of
    the mean where the cells allow it (the best achieved, and why, is reported where they do
    not); zones are made compact (high Polsby-Popper, few cut edges). Given today's zones,
    the default is to change as few cells as the balance needs.

    How (fresh design): a location-allocation start (cells to ``k`` centres at equal workload,
    a linear programme solved by HiGHS), pieces cut off rejoined; border cells moved or
    swapped until every zone is within the band (a small integer programme where workloads are
    too coarse for that); then moves, swaps and simulated annealing over the borders raising
    the zones' Polsby-Popper scores within the band; the most compact of ``starts`` plans.
    Minimal change: today's zones, blind spots filled and cut-off pieces rejoined, then the
    border moves that reduce the excess over the band the most (heavy cells first), moved
    cells sent back where the band allows, and moved cells traded for better-shaped ones.

    Parameters
    ----------
    cells
        Grid cells (polygons with ``id_column``).
    workload
        Workload per cell, indexed by cell id (:func:`grid.workload.cell_workload`); missing
        cells count 0.
    k
        Number of zones. Defaults to the number of today's zones.
    max_workload
        Instead of ``k``: the most workload a zone may carry; ``k`` is the fewest zones that
        keeps every zone under it.
    current
        Today's zones: an assignment Series, a :class:`~grid.membership.ZoneMembership` or a
        patrol_zones layer.
    max_moves
        Minimal-change mode: move at most this many cells to even out workload (cells in no
        zone, or cut off from their zone, are placed regardless).
    mode
        ``"minimal"``: start from today's zones and move as few border cells as the balance
        needs; ``"fresh"``: design from scratch (zones are then named after the today's zone
        they overlap most); ``"auto"``: minimal when today's zones are given and ``k`` equals
        their number, else fresh.
    tolerance
        Allowed deviation of a zone's workload from the mean (0.02 = ±2%).
    seed
        Seed of the random choices; the same inputs and seed give the same zones.
    starts
        Fresh design: number of compact starts tried (each balanced and refined; the most
        compact balanced plan wins).
    quick
        Fresh design: stop at the first balanced plan, with a quick polish of its borders
        (no further starts, no annealing) — about a second for 1,000 cells.
    seconds
        Time limit of a fresh design: no further start begins after it (the first plan is
        always finished). With enough time the result depends only on the inputs and seed.
    graph
        The cells' :func:`~grid.adjacency.cell_graph`, if already built.
    zone_prefix
        Prefix of new zone ids (``Z01``, ``Z02`` ...).
    layers
        Optional figures for the zone tables, passed to :func:`~grid.metrics.zone_metrics`:
        ``hotspots``, ``repeat_places``, ``rental_properties``, ``key_sites``.

    Returns
    -------
    Proposal

    Raises
    ------
    ValueError
        For a k below 1 or above the number of cells, neither k, max_workload nor today's
        zones given, negative or missing workloads, or an unknown mode.
    """
    began = time.perf_counter()
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: use one of {', '.join(MODES)}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance {tolerance!r}: give a share of the mean, e.g. 0.02 for ±2%")
    graph = graph or cell_graph(cells, id_column=id_column)
    w = _workload_array(workload, graph)
    member = as_membership(current, cells, id_column=id_column) if current is not None else None
    k = _zone_count(k, max_workload, member, w, tolerance)
    if k > graph.n:
        raise ValueError(
            f"k = {k} zones but only {graph.n} grid cells; ask for at most {graph.n} zones"
        )
    if mode == "auto":
        mode = "minimal" if member is not None and k == len(member.zone_ids) else "fresh"
    if mode == "minimal" and member is None:
        raise ValueError("mode 'minimal' needs today's zones (current)")
    if mode == "minimal" and k != len(member.zone_ids):
        raise ValueError(
            f"minimal change keeps today's {len(member.zone_ids)} zones; for "
            f"k = {k} use mode='fresh'"
        )
    notes = [
        f"cells {a} and {b} touch no other cell; they were linked as neighbours"
        for a, b in graph.bridges
    ]

    if mode == "minimal":
        zone, capped = _minimal_change(
            graph, w, member, k, tolerance, max_moves, seed, seconds, notes
        )
        zone_ids = list(member.zone_ids)
    else:
        zone = _fresh_design(
            graph, w, k, tolerance, seed, 1 if quick else starts, not quick, seconds, began
        )
        capped = False
        zone_ids = _zone_names(zone, k, graph, w, member, zone_prefix)
    assignment = pd.Series(
        np.asarray(zone_ids, dtype=object)[zone], index=graph.ids, name="zone_id", dtype="string"
    )
    assignment.index.name = "grid_id"
    workload_series = pd.Series(w, index=graph.ids)
    layers = dict(layers or {})
    metrics = zone_metrics(
        cells, assignment, workload_series, id_column=id_column, graph=graph, **layers
    )
    metrics = metrics.reindex(pd.Index(zone_ids, name="zone_id", dtype="string"))
    summary = plan_summary(
        metrics, assignment, cells, id_column=id_column, graph=graph, tolerance=tolerance
    )
    balance = _balance_report(metrics["workload"], w, graph, tolerance, capped, max_moves)
    changes = None
    if member is not None:
        changes = change_report(
            cells,
            member,
            assignment,
            workload_series,
            graph=graph,
            id_column=id_column,
            tolerance=tolerance,
            after_metrics=metrics,
            mode=mode,
            **layers,
        )
    if changes is not None and changes.imbalance_cut:
        cut = changes.imbalance_cut
        balance["cv_before"] = cut["cv_before"]
        balance["max_deviation_before"] = cut["max_deviation_before"]
        balance["imbalance_cut"] = cut["cv_cut"]
        balance["max_deviation_cut"] = cut["max_deviation_cut"]
    return Proposal(
        assignment=assignment,
        metrics=metrics,
        summary=summary,
        balance=balance,
        mode=mode,
        changes=changes,
        notes=notes,
        seconds=time.perf_counter() - began,
    )


# --- the two ways of building zones -------------------------------------------------------------


def _fresh_design(
    graph: CellGraph,
    w: np.ndarray,
    k: int,
    tolerance: float,
    seed: int,
    starts: int,
    anneal: bool,
    seconds: float,
    began: float,
) -> np.ndarray:
    """Several compact balanced starts, each balanced and refined; the best plan wins.

    The number of starts is fixed (so a seed always gives the same plan); ``seconds`` only
    stops the search early on very large inputs, after the first plan.
    """
    deadline = began + seconds
    best, best_key = None, None
    possible = _granularity_reason(w, k, tolerance) is None
    for attempt in range(max(1, starts)):
        left = max(0.5, deadline - time.perf_counter())
        # the exact repair only while no balanced plan is in hand
        exact = possible and (best_key is None or best_key[0] > 0)
        state = _one_design(graph, w, k, tolerance, seed + attempt, left, anneal, exact)
        key = (round(state.penalty(), 12), -round(state.score(), 9))
        if best_key is None or key < best_key:
            best, best_key = state.assignment(), key
        if time.perf_counter() > deadline:
            break
    return best


def _one_design(
    graph: CellGraph,
    w: np.ndarray,
    k: int,
    tolerance: float,
    seed: int,
    seconds: float,
    anneal: bool = True,
    exact: bool = True,
) -> ZoneState:
    zone = repair_contiguity(graph, compact_start(graph, w, k, seed=seed), k)
    state = ZoneState(graph, w, zone, k, tolerance=tolerance, seed=seed)
    if not state.balance(seconds=seconds) and exact:
        # coarse workloads (a few whole incidents per cell) can leave greedy moves stuck
        balance_exactly(state, seconds=min(seconds, 5.0))
    state.refine(seconds=seconds)
    # annealing: a fixed number of tries (so the plan depends on the seed only), enough for
    # about 200 passes over the borders of a small plan and fewer on large ones
    if anneal:
        border = sum(len(state.border(z)) for z in range(k))
        state.anneal(moves=int(min(200 * border, max(60_000, 20 * border))), seconds=seconds)
        state.refine(seconds=seconds)
    if state.penalty() > 0:  # refining never makes balance worse, but try once more
        state.balance(seconds=seconds, target=tolerance)
    return state


def _minimal_change(
    graph: CellGraph,
    w: np.ndarray,
    member: ZoneMembership,
    k: int,
    tolerance: float,
    max_moves: int | None,
    seed: int,
    seconds: float,
    notes: list[str],
) -> tuple[np.ndarray, bool]:
    """Today's zones with blind spots filled and cut-off pieces rejoined, then evened out."""
    today = member.zone_ids.get_indexer(member.assignment.reindex(graph.ids).fillna(""))
    zone = _fill_blind_spots(graph, w, today, k)
    filled = int((today < 0).sum())
    if filled:
        notes.append(f"{filled} cells in no zone (blind spots) were given to a neighbouring zone")
    repaired = repair_contiguity(graph, zone, k)
    if (repaired != zone).any():
        notes.append(
            f"{int((repaired != zone).sum())} cells cut off from their zone joined "
            "the zone around them"
        )
    state = ZoneState(graph, w, repaired, k, tolerance=tolerance, seed=seed)
    ok = state.balance_with_few_changes(seconds=max(seconds, 1.0), max_changed=max_moves)
    if not ok and _granularity_reason(w, k, tolerance) is None:
        balance_exactly(state, seconds=min(max(seconds, 1.0), 5.0), max_changed=max_moves)
    capped = max_moves is not None and state.changed() >= max_moves and state.penalty() > 0
    return state.assignment(), capped


def _fill_blind_spots(graph: CellGraph, w: np.ndarray, today: np.ndarray, k: int) -> np.ndarray:
    """Give each cell in no zone to the lightest zone next to it, spreading out from the zones."""
    zone = today.copy()
    load = np.bincount(zone[zone >= 0], w[zone >= 0], minlength=k)
    neighbours = graph.neighbours()
    while (zone < 0).any():
        progress = False
        for c in np.flatnonzero(zone < 0):
            around = {zone[nb] for nb, _ in neighbours[c] if zone[nb] >= 0}
            if around:
                z = min(around, key=lambda q: load[q])
                zone[c] = z
                load[z] += w[c]
                progress = True
        if not progress:  # a region touching no zone at all: the lightest zone takes it
            c = int(np.flatnonzero(zone < 0)[0])
            zone[c] = int(np.argmin(load))
    return zone


# --- inputs and outputs ---------------------------------------------------------------------------


def _workload_array(workload: pd.Series, graph: CellGraph) -> np.ndarray:
    if not isinstance(workload, pd.Series):
        raise ValueError("workload must be a Series indexed by grid cell id")
    series = workload.copy()
    series.index = series.index.astype("string")
    if series.index.has_duplicates:
        raise ValueError(
            f"workload has cell {series.index[series.index.duplicated()][0]!r} "
            "twice; give one value per cell"
        )
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().any():
        raise ValueError(
            f"workload of cell {values.index[values.isna()][0]!r} is missing or not "
            "a number; give every cell a number (0 for none)"
        )
    if (values < 0).any():
        raise ValueError(f"workload of cell {values.index[values < 0][0]!r} is negative")
    w = values.reindex(graph.ids).fillna(0.0).to_numpy(float)
    if w.sum() <= 0:
        raise ValueError("the workload is zero everywhere; nothing to balance")
    return w


def _zone_count(
    k: int | None,
    max_workload: float | None,
    member: ZoneMembership | None,
    w: np.ndarray,
    tolerance: float,
) -> int:
    if k is not None and max_workload is not None:
        raise ValueError("give either k or max_workload, not both")
    if max_workload is not None:
        if max_workload <= 0:
            raise ValueError("max_workload must be positive")
        # enough zones that even a zone at the top of the band stays under the maximum
        k = math.ceil(w.sum() * (1 + tolerance) / max_workload - 1e-9)
    if k is None:
        if member is None:
            raise ValueError("give k (the number of zones), max_workload, or today's zones")
        k = len(member.zone_ids)
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number of zones, at least 1 (got {k!r})")
    return int(k)


def _zone_names(
    zone: np.ndarray,
    k: int,
    graph: CellGraph,
    w: np.ndarray,
    member: ZoneMembership | None,
    prefix: str,
) -> list[str]:
    """New zones named after today's zone they share most workload with, else Z01, Z02..."""
    width = max(2, len(str(k)))
    used = set(member.zone_ids) if member is not None else set()
    fresh = (
        f"{prefix}{z:0{width}d}"
        for z in range(1, 10 * k + len(used) + 2)
        if f"{prefix}{z:0{width}d}" not in used
    )
    names: list[str | None] = [None] * k
    if member is not None:
        today = member.zone_ids.get_indexer(member.assignment.reindex(graph.ids).fillna(""))
        inside = today >= 0
        overlap = np.zeros((k, len(member.zone_ids)))
        np.add.at(overlap, (zone[inside], today[inside]), w[inside] + 1e-9)
        for r, c in zip(*linear_sum_assignment(-overlap), strict=True):
            if overlap[r, c] > 0:
                names[r] = str(member.zone_ids[c])
    return [name if name is not None else next(fresh) for name in names]


def _granularity_reason(w: np.ndarray, k: int, tolerance: float) -> str | None:
    """Why no split can be within tolerance when workloads come in whole units (incidents,
    or halves with a night weight of 1.5), else None."""
    for scale in (1, 2, 4, 5, 10, 20, 100):
        scaled = w * scale
        if np.allclose(scaled, np.round(scaled), atol=1e-9):
            break
    else:
        return None
    total = round(float(w.sum()) * scale)
    mean = total / k
    low, high = math.ceil(mean * (1 - tolerance) - 1e-9), math.floor(mean * (1 + tolerance) + 1e-9)
    if low <= high and k * low <= total <= k * high:
        return None
    unit = 1 / scale
    return (
        f"workloads come in whole units of {unit:g}: {k} zones within ±{tolerance:.0%} would "
        f"each carry {low / scale:g} to {high / scale:g}, which cannot add up to the total "
        f"of {total / scale:g}"
    )


def _balance_report(
    zone_load: pd.Series,
    w: np.ndarray,
    graph: CellGraph,
    tolerance: float,
    capped: bool,
    max_moves: int | None,
) -> dict:
    figures = balance_figures(zone_load.to_numpy(float), tolerance=tolerance)
    mean = figures["mean_workload"]
    dev = zone_load / mean - 1 if mean > 0 else zone_load * 0
    report = {
        **figures,
        "zones_outside": [str(z) for z in dev.index[dev.abs() > tolerance + 1e-12]],
        "reason": None,
    }
    heaviest = int(np.argmax(w))
    report["heaviest_cell"] = {
        "grid_id": str(graph.ids[heaviest]),
        "share_of_mean": float(w[heaviest] / mean) if mean else 0.0,
    }
    if not figures["within_tolerance"]:
        if w[heaviest] > mean * (1 + tolerance):
            report["reason"] = (
                f"cell {graph.ids[heaviest]} alone carries "
                f"{w[heaviest] / mean:.0%} of the mean zone workload, so the "
                f"zone holding it cannot be within ±{tolerance:.0%}"
            )
        elif (reason := _granularity_reason(w, len(zone_load), tolerance)) is not None:
            report["reason"] = reason
        elif capped:
            report["reason"] = (
                f"the limit of {max_moves} moved cells was reached; this is the "
                "best balance within it"
            )
        else:
            report["reason"] = (
                f"no arrangement of whole, connected cells within "
                f"±{tolerance:.0%} was found; the best found is shown "
                f"(±{figures['max_deviation']:.1%})"
            )
    return report


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({key: _plain(value) for key, value in row.items()})
    return out


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
