"""Zone redesign: contiguity, balance, compactness, minimal change, and the real Chicago beats."""

from __future__ import annotations

import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata import read_layer
from geodata.demo import make_demo
from grid import cell_graph, cell_workload, propose_zones, zone_membership
from grid.partition import split_zones

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def lattice(
    nx: int = 40, ny: int = 25, hotspots: int = 6, seed: int = 0
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """100 m squares with Poisson background workload plus Gaussian hotspots."""
    rng = np.random.default_rng(seed)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny)))
    x0, y0 = 500_000.0, 3_690_000.0
    geoms = shapely.box(x0 + i * 100, y0 + j * 100, x0 + (i + 1) * 100, y0 + (j + 1) * 100)
    w = rng.poisson(20, len(i)).astype(float)
    for _ in range(hotspots):
        ci, cj, peak = rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(60, 200)
        w += peak * np.exp(-((i + 0.5 - ci) ** 2 + (j + 0.5 - cj) ** 2) / 4.5)
    ids = [f"C{r:04d}" for r in range(len(i))]
    cells = gpd.GeoDataFrame({"grid_id": ids}, geometry=geoms, crs="EPSG:32651")
    return cells, pd.Series(np.round(w), index=ids)


def assert_valid(proposal, cells: gpd.GeoDataFrame, k: int, tolerance: float = 0.02) -> None:
    """Every cell in exactly one of k zones, each in one piece, each within the band."""
    assert proposal.assignment.notna().all()
    assert len(proposal.assignment) == len(cells)
    assert proposal.assignment.nunique() == k
    assert proposal.metrics["contiguous"].all()
    deviation = proposal.metrics["deviation"].abs().max()
    assert deviation <= tolerance + 1e-9, deviation
    assert proposal.balance["within_tolerance"] and proposal.balance["reason"] is None


@pytest.fixture(scope="module")
def district() -> dict:
    from incidents.assign import assign_to_cells

    layers = make_demo("district", 0)
    cells = layers["grid_cells"]
    cell_of = assign_to_cells(layers["incidents"], cells, id_column="grid_id")
    workload = cell_workload(layers["incidents"], cell_of, cells=cells["grid_id"])
    return {
        "cells": cells,
        "zones": layers["patrol_zones"],
        "workload": workload,
        "graph": cell_graph(cells),
    }


def test_lattice_with_hotspots_is_balanced_contiguous_and_compact() -> None:
    cells, workload = lattice()
    began = time.perf_counter()
    proposal = propose_zones(cells, workload, k=10, quick=True)
    assert time.perf_counter() - began < 5
    assert_valid(proposal, cells, 10)
    # compact: GerryChain's tree partition + ReCom reaches ~0.40 on these units (bench/)
    assert proposal.summary["mean_polsby_popper"] > 0.5
    # independent check of contiguity on the graph
    graph = cell_graph(cells)
    zone = pd.Index(proposal.metrics.index).get_indexer(proposal.assignment.to_numpy())
    assert all(len(np.unique(part)) == 1 for part in split_zones(graph, zone, 10))


def test_same_seed_same_zones() -> None:
    cells, workload = lattice(20, 12)
    first = propose_zones(cells, workload, k=6, seed=3, starts=2)
    again = propose_zones(cells, workload, k=6, seed=3, starts=2)
    pd.testing.assert_series_equal(first.assignment, again.assignment)


@pytest.mark.parametrize("k", [4, 9, 14, 20])
def test_district_zones_are_contiguous_and_within_two_percent(district, k) -> None:
    began = time.perf_counter()
    proposal = propose_zones(
        district["cells"], district["workload"], k=k, graph=district["graph"], starts=2
    )
    assert time.perf_counter() - began < 10
    assert_valid(proposal, district["cells"], k)


@pytest.mark.slow
def test_district_every_k_from_4_to_20(district) -> None:
    for k in range(4, 21):
        began = time.perf_counter()
        proposal = propose_zones(
            district["cells"], district["workload"], k=k, graph=district["graph"]
        )
        assert time.perf_counter() - began < 10, k
        assert_valid(proposal, district["cells"], k)


def test_minimal_change_moves_fewer_cells_than_a_fresh_design(district) -> None:
    cells, today = district["cells"], district["zones"]
    minimal = propose_zones(cells, district["workload"], current=today, graph=district["graph"])
    fresh = propose_zones(
        cells, district["workload"], current=today, mode="fresh", graph=district["graph"], starts=1
    )
    assert minimal.mode == "minimal" and fresh.mode == "fresh"
    assert_valid(minimal, cells, len(today))
    assert_valid(fresh, cells, len(today))
    assert 0 < len(minimal.moves) < len(fresh.moves) / 2
    # minimal change keeps today's zone ids; every move is a real change of zone
    assert set(minimal.assignment) == set(today["zone_id"])
    before = zone_membership(today, cells).assignment
    moved = minimal.moves.set_index("grid_id")
    assert (before[moved.index] == moved["from_zone"]).all()
    assert (minimal.assignment[moved.index] == moved["to_zone"]).all()
    assert moved["reason"].str.startswith("evens out workload").all()
    # today's demo zones are far off balance: the imbalance cut beats Atlanta's 43%
    assert minimal.balance["max_deviation_before"] > 0.3
    assert minimal.balance["imbalance_cut"] > 0.43
    summary = minimal.changes.summary.set_index("metric")
    assert summary.loc["cv", "after"] < summary.loc["cv", "before"]
    zones = minimal.changes.zones
    assert (
        zones["cells_out"] - zones["cells_in"] == zones["cells_before"] - zones["cells_after"]
    ).all()


def test_max_moves_caps_the_changes_and_says_so(district) -> None:
    proposal = propose_zones(
        district["cells"],
        district["workload"],
        current=district["zones"],
        max_moves=10,
        graph=district["graph"],
    )
    assert len(proposal.moves) <= 10
    assert not proposal.balance["within_tolerance"]
    assert "limit of 10 moved cells" in proposal.balance["reason"]
    # still better balanced than today
    assert proposal.balance["max_deviation"] < proposal.balance["max_deviation_before"]


def test_blind_spots_are_filled_and_reported() -> None:
    cells, workload = lattice(6, 4, hotspots=0)
    ids = cells["grid_id"].tolist()
    today = pd.Series(["A"] * 12 + ["B"] * 12, index=ids)
    today.iloc[[5, 11]] = pd.NA  # two cells on the east edge of A's rows in no zone
    proposal = propose_zones(cells, workload, current=today)
    assert proposal.assignment.notna().all()
    blind = proposal.moves[proposal.moves["from_zone"] == "(no zone)"]
    assert sorted(blind["grid_id"]) == [ids[5], ids[11]]
    assert blind["reason"].str.startswith("blind spot").all()
    assert proposal.changes.summary.set_index("metric").loc["blind_spots", "after"] == 0


def test_a_cell_heavier_than_a_zone_is_reported_not_hidden() -> None:
    cells, workload = lattice(10, 6, hotspots=0)
    workload.iloc[0] = workload.sum()  # one cell carries half of everything
    proposal = propose_zones(cells, workload, k=4, quick=True)
    assert proposal.metrics["contiguous"].all()
    assert not proposal.balance["within_tolerance"]
    assert proposal.balance["reason"].startswith(f"cell {cells['grid_id'].iloc[0]} alone")


def test_max_workload_picks_the_number_of_zones() -> None:
    cells, workload = lattice(12, 8, hotspots=1)
    cap = workload.sum() / 5
    proposal = propose_zones(cells, workload, max_workload=cap, quick=True)
    assert len(proposal.metrics) == 6  # 5 zones could not stay under the cap with ±2%
    assert proposal.metrics["workload"].max() <= cap


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "at least 1"),
        ({"k": 25}, "only 24 grid cells"),
        ({}, "give k"),
        ({"k": 2, "mode": "minimal"}, "needs today's zones"),
        ({"k": 2, "mode": "best"}, "mode 'best'"),
        ({"k": 2, "max_workload": 10}, "either k or max_workload"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message) -> None:
    cells, workload = lattice(6, 4, hotspots=0)
    with pytest.raises(ValueError, match=message):
        propose_zones(cells, workload, **kwargs)


def test_bad_workload_raises_clear_errors() -> None:
    cells, workload = lattice(6, 4, hotspots=0)
    workload.iloc[2] = -1
    with pytest.raises(ValueError, match="C0002.*negative"):
        propose_zones(cells, workload, k=2)
    with pytest.raises(ValueError, match="zero everywhere"):
        propose_zones(cells, workload * 0, k=2)


def test_chicago_beats_make_contiguous_balanced_districts() -> None:
    """277 real police beats (2012 layout), workload = 2020 carjackings in each beat."""
    from incidents.assign import assign_to_cells

    beats, _ = read_layer(SHARED_DATA / "chicago_police_beats_2012layout.geojson", "grid_cells")
    number = beats["BEAT_NUM"].astype(str)
    repeat = number.groupby(number).cumcount()  # beat 3100 comes in three pieces
    beats["grid_id"] = number + np.where(repeat > 0, "#" + (repeat + 1).astype(str), "")
    carjackings, _ = read_layer(SHARED_DATA / "chicago_carjackings_2020.csv", "incidents")
    cell_of = assign_to_cells(carjackings, beats, id_column="grid_id")
    workload = cell_workload(carjackings, cell_of, cells=beats["grid_id"], night_weight=1.0)
    assert len(beats) == 277 and workload.sum() == cell_of.notna().sum() > 1300
    proposal = propose_zones(beats, workload, k=22, starts=2)
    assert_valid(proposal, beats, 22)
    data = json.loads(json.dumps(proposal.to_dict()))
    assert data["balance"]["within_tolerance"] is True
    assert data["summary"]["contiguous_zones"] == 22
    assert 0 < data["summary"]["mean_polsby_popper"] < 1
    assert len(data["zone_metrics"]) == 22
    assert {"workload", "deviation", "polsby_popper", "cells"} <= set(data["zone_metrics"][0])
