"""Zone figures: contiguity graph, workload, membership, metrics on known shapes and the demo."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.demo import make_demo
from grid import (
    cell_graph,
    cell_workload,
    incident_weights,
    plan_summary,
    zone_membership,
    zone_metrics,
)


def lattice(nx: int, ny: int, size: float = 100.0) -> gpd.GeoDataFrame:
    """Square cells C<col><row> in UTM 51N (Yancheng), columns west to east."""
    x0, y0 = 500_000.0, 3_690_000.0
    rows = [
        (
            f"C{i}{j}",
            shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size),
        )
        for j in range(ny)
        for i in range(nx)
    ]
    return gpd.GeoDataFrame(
        {"grid_id": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs="EPSG:32651"
    )


@pytest.fixture(scope="module")
def community() -> dict[str, gpd.GeoDataFrame]:
    return make_demo("community", 0)


def test_cell_graph_rook_neighbours_and_lengths() -> None:
    graph = cell_graph(lattice(3, 2))
    assert graph.n == 6
    # a 3x2 lattice has 3 vertical + 4 horizontal shared edges; corners do not count
    assert len(graph.edges) == 7
    np.testing.assert_allclose(graph.shared, 100.0, atol=0.01)
    np.testing.assert_allclose(graph.area, 10_000.0, rtol=1e-6)
    neighbours = {graph.ids[b] for a, b in graph.edges if graph.ids[a] == "C00"}
    assert neighbours == {"C10", "C01"}
    assert graph.bridges == []


def test_cell_graph_links_an_island_and_bridges_small_gaps() -> None:
    cells = lattice(2, 1)
    gap = shapely.box(500_200.5, 3_690_000.0, 500_300.0, 3_690_100.0)  # 0.5 m gap: neighbours
    island = shapely.box(501_000.0, 3_690_000.0, 501_100.0, 3_690_100.0)
    cells = pd.concat(
        [
            cells,
            gpd.GeoDataFrame({"grid_id": ["GAP", "FAR"]}, geometry=[gap, island], crs=cells.crs),
        ]
    )
    graph = cell_graph(cells)
    pairs = {tuple(sorted((graph.ids[a], graph.ids[b]))) for a, b in graph.edges}
    assert ("C10", "GAP") in pairs
    assert graph.bridges == [("GAP", "FAR")]


def test_cell_graph_rejects_duplicate_ids() -> None:
    cells = lattice(2, 1)
    cells["grid_id"] = ["A", "A"]
    with pytest.raises(ValueError, match="'A' appears twice"):
        cell_graph(cells)


def test_incident_weights_by_category_and_night() -> None:
    incidents = pd.DataFrame(
        {
            "category": ["打架斗殴", "求助", "纠纷", None],
            "reported_at": pd.to_datetime(
                ["2026-05-01 23:30", "2026-05-01 12:00", "2026-05-02 02:59", "2026-05-02 03:00"]
            ).tz_localize("Asia/Shanghai"),
        }
    )
    weights = incident_weights(
        incidents, category_weights={"打架斗殴": 2.0, "求助": 0.5}, night_weight=1.5
    )
    np.testing.assert_allclose(weights, [3.0, 0.5, 1.5, 1.0])


def test_cell_workload_sums_weights_and_keeps_empty_cells() -> None:
    incidents = pd.DataFrame(
        {
            "category": ["盗窃", "盗窃", "纠纷"],
            "reported_at": pd.to_datetime(
                ["2026-05-01 22:00", "2026-05-01 10:00", "2026-05-01 10:00"]
            ).tz_localize("Asia/Shanghai"),
            "grid_id": pd.array(["A", "A", None], dtype="string"),
        }
    )
    workload = cell_workload(
        incidents,
        "grid_id",
        cells=["A", "B"],
        night_weight=2.0,
        hotspot_cells=["A"],
        hotspot_weight=1.5,
    )
    assert workload.to_dict() == {"A": 4.5, "B": 0.0}
    with pytest.raises(ValueError, match="no column 'cell'"):
        cell_workload(incidents, "cell")


def test_metrics_of_known_shapes() -> None:
    cells = lattice(4, 2)
    # zone A: the 2x2 block on the west; B: two cells on the east not touching; C: the rest
    assignment = pd.Series(
        {
            "C00": "A",
            "C10": "A",
            "C01": "A",
            "C11": "A",
            "C20": "B",
            "C31": "B",
            "C30": "C",
            "C21": "C",
        }
    )
    workload = pd.Series(1.0, index=assignment.index)
    workload["C00"] = 5.0
    table = zone_metrics(cells, assignment, workload)
    assert table.loc["A", "cells"] == 4
    assert table.loc["A", "workload"] == 8.0
    np.testing.assert_allclose(table.loc["A", "area_km2"], 0.04)
    np.testing.assert_allclose(table.loc["A", "perimeter_km"], 0.8)
    np.testing.assert_allclose(table.loc["A", "polsby_popper"], np.pi / 4, rtol=1e-6)
    assert table.loc["A", "contiguous"] and table.loc["A", "parts"] == 1
    assert not table.loc["B", "contiguous"] and table.loc["B", "parts"] == 2
    np.testing.assert_allclose(table["deviation"].to_numpy(), [8 / 4 - 1, 2 / 4 - 1, 2 / 4 - 1])
    # the workload-weighted 1-median of zone A is the heavy cell
    assert table.loc["A", "centre_cell"] == "C00"
    np.testing.assert_allclose(
        table.loc["A", "mean_distance_m"], (0 + 100 + 100 + 100 * np.sqrt(2)) / 8, rtol=1e-6
    )
    np.testing.assert_allclose(table.loc["A", "max_distance_m"], np.hypot(150, 150), rtol=1e-6)
    summary = plan_summary(table, assignment, cells)
    assert summary["cut_edges"] == 10 - 4  # 10 edges in a 4x2 lattice, 4 inside zone A
    assert summary["contiguous_zones"] == 1  # B and C touch only at corners
    np.testing.assert_allclose(summary["max_deviation"], 1.0)


def test_blind_spots_and_double_claims_from_a_zones_layer() -> None:
    cells = lattice(3, 1)
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"], "grid_ids": ["C00,C10", "C10，X99"]},
        geometry=[None, None],
        crs=cells.crs,
    )
    member = zone_membership(zones, cells)
    assert list(member.blind_spots) == ["C20"]
    assert member.double_claimed.to_dict(orient="records") == [{"grid_id": "C10", "zones": "Z1,Z2"}]
    assert member.unknown_cells == ["X99"]
    assert member.assignment["C10"] == "Z1"  # the first zone listing a cell keeps it
    table = zone_metrics(cells, member, pd.Series(1.0, index=["C00", "C10", "C20"]))
    assert table["cells"].to_dict() == {"Z1": 2, "Z2": 1}
    assert table["shared_cells"].to_dict() == {"Z1": 1, "Z2": 1}
    summary = plan_summary(table, member, cells)
    assert (summary["blind_spots"], summary["double_claimed"], summary["unknown_cells"]) == (
        1,
        1,
        1,
    )


def test_membership_from_polygons_matches_the_lists(community) -> None:
    cells, zones = community["grid_cells"], community["patrol_zones"]
    listed = zone_membership(zones, cells)
    drawn = zone_membership(zones.drop(columns="grid_ids"), cells)
    pd.testing.assert_series_equal(listed.assignment, drawn.assignment)
    assert len(listed.blind_spots) == 0 and len(listed.double_claimed) == 0


def test_demo_zone_metrics_count_what_zones_hold(community) -> None:
    from incidents.assign import assign_to_cells

    cells, zones = community["grid_cells"], community["patrol_zones"]
    incidents = community["incidents"]
    cell_of = assign_to_cells(incidents, cells, id_column="grid_id")
    workload = cell_workload(incidents, cell_of, cells=cells["grid_id"], night_weight=1.0)
    table = zone_metrics(
        cells,
        zones,
        workload,
        rental_properties=community["rental_properties"],
        key_sites=community["key_sites"],
    )
    assert table["cells"].sum() == len(cells)
    assert table["workload"].sum() == cell_of.notna().sum()
    assert table["population"].sum() == cells["population"].sum()
    assert table["rental_properties"].sum() == len(community["rental_properties"])
    assert table["group_rentals"].sum() == community["rental_properties"]["group_rental"].sum()
    # key sites counted through their cell match a direct spatial join
    joined = gpd.sjoin(
        community["key_sites"], cells[["grid_id", "geometry"]], predicate="intersects"
    )
    assert table["key_sites"].sum() == joined["site_id"].nunique()
    assert table["contiguous"].all()
    area = cells.to_crs(32651).area.sum() / 1e6
    np.testing.assert_allclose(table["area_km2"].sum(), area, rtol=1e-3)
    assert ((table["polsby_popper"] > 0) & (table["polsby_popper"] <= 1)).all()
