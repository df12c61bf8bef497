"""Patrol plans: windows from hour profiles, focus places, check-in points, camera gaps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.demo import make_demo
from grid import cell_workload, zone_membership
from grid.plan import (
    checkin_points,
    coverage_gaps,
    focus_windows,
    hotspot_centres,
    patrol_plan,
    patrol_windows,
    zone_hour_profiles,
)

X0, Y0 = 500_000.0, 3_690_000.0  # UTM 51N


def points(xy: list[tuple[float, float]], **columns: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        columns, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs="EPSG:32651"
    )


def evening_and_night_profile() -> pd.DataFrame:
    """Zone A busy in the evening like everywhere; zone B's calls cluster 22:00-03:00."""
    evening = np.full(24, 10.0)
    evening[17:22] = 40.0
    night = np.full(24, 10.0)
    night[[22, 23, 0, 1, 2]] = 60.0
    return pd.DataFrame([evening, evening * 3, night], index=["A", "C", "B"], columns=range(24))


def test_best_window_wraps_past_midnight() -> None:
    windows = patrol_windows(evening_and_night_profile(), window_hours=5)
    best = windows[windows["kind"] == "best"].set_index("zone_id")
    assert best.loc["A", "window"] == "17:00-22:00"
    assert best.loc["B", "window"] == "22:00-03:00"
    assert (best.loc["B", "start_hour"], best.loc["B", "end_hour"]) == (22, 3)
    np.testing.assert_allclose(best.loc["B", "share"], 300 / (300 + 190))
    np.testing.assert_allclose(best.loc["B", "lift"], 300 / 490 / (5 / 24))
    # B's night is unlike the area (evening-heavy): its window is 'distinct' only where the best
    # differs, and B's best already is the night
    assert "distinct" not in set(windows.loc[windows["zone_id"] == "A", "kind"])
    peaks = windows[(windows["kind"] == "peak") & (windows["zone_id"] == "B")]
    assert peaks["window"].tolist() == ["22:00-03:00"]


def test_focus_windows_find_the_night_spots() -> None:
    hours = evening_and_night_profile().rename(index={"A": "G1", "C": "G3", "B": "G2"})
    focus = focus_windows(
        hours, pd.Series({"G1": "XQ01", "G2": "XQ01", "G3": "XQ02"}), min_incidents=100
    )
    assert focus[["zone_id", "window", "cells"]].values.tolist() == [["XQ01", "22:00-03:00", "G2"]]
    assert focus.loc[0, "incidents"] == 300
    assert focus.loc[0, "vs_area"] > 1.8


def test_checkin_points_keep_their_distance_busiest_first() -> None:
    candidates = points(
        [(0, 0), (100, 0), (250, 0), (600, 0), (620, 10)],
        weight=[5.0, 9.0, 4.0, 1.0, 3.0],
        zone_id=["A", "A", "A", "B", "B"],
    )
    chosen = checkin_points(candidates, min_spacing_m=200)
    xy = shapely.get_coordinates(chosen.geometry.array) - [X0, Y0]
    # 100 (heaviest), then 620 (3.0); 0 and 250 are within 200 m of 100; 600 within 200 m of 620
    np.testing.assert_allclose(xy[:, 0], [100, 620])
    assert chosen["point_id"].tolist() == ["DK001", "DK002"]
    assert chosen["rank"].tolist() == [1, 2]
    one_each = checkin_points(candidates, min_spacing_m=0, max_per_zone=1)
    assert one_each["zone_id"].tolist() == ["A", "B"]


def test_coverage_gaps_are_places_far_from_every_camera() -> None:
    places = points([(0, 0), (500, 0), (1000, 0)], kind=["hotspot"] * 3)
    devices = points(
        [(30, 40), (500, 150), (1000, 20)],
        device_id=["SB1", "SB2", "SB3"],
        kind=["camera", "camera", "loudspeaker"],
    )
    gaps = coverage_gaps(places, devices, radius_m=100)
    xy = shapely.get_coordinates(gaps.geometry.array) - [X0, Y0]
    # (1000, 0) has only a loudspeaker near; (500, 0) is 150 m from its camera
    np.testing.assert_allclose(xy[:, 0], [1000, 500])
    assert gaps["nearest_device"].tolist() == ["SB2", "SB2"]
    np.testing.assert_allclose(gaps["distance_m"], [np.hypot(500, 150), 150])


def test_hotspot_centres_one_per_cluster() -> None:
    cells = gpd.GeoDataFrame(
        {"grid_id": [f"C{i}" for i in range(5)]},
        geometry=[shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(5)],
        crs="EPSG:32651",
    )
    workload = pd.Series([10.0, 30.0, 0.0, 5.0, 1.0], index=cells["grid_id"])
    centres = hotspot_centres(cells, ["C0", "C1", "C3"], workload)
    assert centres["cells"].tolist() == ["C0,C1", "C3"]
    assert centres["workload"].tolist() == [40.0, 5.0]
    xy = shapely.get_coordinates(centres.geometry.array) - [X0, Y0]
    np.testing.assert_allclose(xy[0], [(50 * 10 + 150 * 30) / 40, 50])


@pytest.fixture(scope="module")
def community() -> dict[str, gpd.GeoDataFrame]:
    return make_demo("community", 0)


def test_patrol_plan_on_the_demo(community) -> None:
    from incidents.assign import assign_to_cells
    from incidents.repeats import repeat_places

    cells, zones, incidents = (
        community["grid_cells"],
        community["patrol_zones"],
        community["incidents"],
    )
    member = zone_membership(zones, cells)
    cell_of = assign_to_cells(incidents, cells, id_column="grid_id")
    zone_of = pd.Series(
        member.assignment.reindex(cell_of.fillna("")).to_numpy(),
        index=incidents.index,
        dtype="string",
    )
    workload = cell_workload(incidents, cell_of, cells=cells["grid_id"])
    hot = workload.nlargest(2).index.tolist()
    repeats = repeat_places(incidents)
    plan = patrol_plan(
        cells,
        member,
        workload,
        incidents=incidents,
        zone_of_incident=zone_of,
        cell_of_incident=cell_of,
        hotspot_cells=hot,
        repeat_places=repeats,
        devices=community["devices"],
        min_spacing_m=100,
    )
    profile = zone_hour_profiles(incidents, zone_of)
    assert profile.to_numpy().sum() == zone_of.notna().sum()
    assert set(plan.windows["zone_id"]) == set(zones["zone_id"])
    checkpoints = plan.checkpoints.to_crs(32651)
    xy = shapely.get_coordinates(checkpoints.geometry.array)
    gaps = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert gaps[np.triu_indices(len(xy), 1)].min() >= 100
    assert set(plan.checkpoints["kind"]) <= {"hotspot", "repeat_place"}
    assert plan.checkpoints["zone_id"].notna().all()
    assert (plan.coverage_gaps["distance_m"] > 100).all()
    assert set(plan.coverage_gaps["kind"]) <= {"hotspot"}
    data = plan.to_dict()
    assert {"windows", "checkpoints", "coverage_gaps", "focus"} <= set(data)
