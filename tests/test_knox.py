"""Knox near-repeat test: pair counts equal brute force, planted near repeats are found, random
data is not flagged, and band limits are checked."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from incidents.knox import knox_test

UTM51 = "EPSG:32651"


def incidents_at(x: np.ndarray, y: np.ndarray, days: np.ndarray) -> gpd.GeoDataFrame:
    """Incidents at UTM 51N metres around Yancheng, ``days`` after 1 January 2026."""
    start = pd.Timestamp("2026-01-01", tz="Asia/Shanghai")
    geometry = gpd.GeoSeries(shapely.points(x + 250_000, y + 3_690_000), crs=UTM51)
    return gpd.GeoDataFrame(
        {"reported_at": start + pd.to_timedelta(days, unit="D")}, geometry=geometry.to_crs(4326)
    )


def random_incidents(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 2000, n), rng.uniform(0, 2000, n), rng.uniform(0, 365, n)


def test_observed_pairs_equal_brute_force_counting():
    x, y, days = random_incidents(80, seed=1)
    x[5], y[5] = x[4], y[4]  # two incidents at the same place
    table = knox_test(
        incidents_at(x, y, days),
        space_bands_m=[0, 200, 400],
        time_bands_days=[14, 60],
        permutations=5,
    )
    i, j = np.triu_indices(len(x), k=1)
    distance = np.hypot(x[i] - x[j], y[i] - y[j])
    gap = np.abs(days[i] - days[j])
    space = np.select([distance < 0.01, distance <= 200, distance <= 400], [0, 1, 2], 3)
    time = np.select([gap <= 14, gap <= 60], [0, 1], 2)
    expected = np.zeros((4, 3), dtype=int)
    np.add.at(expected, (space, time), 1)
    assert table["observed"].to_numpy().reshape(4, 3).tolist() == expected.tolist()
    assert table["observed"].sum() == 80 * 79 // 2
    assert table["space_band"].iloc[0] == "same place"
    assert table["time_band"].tolist()[:3] == ["0-14 days", "14-60 days", "more than 60 days"]


def test_planted_near_repeats_are_found_and_random_data_is_not():
    x, y, days = random_incidents(300, seed=2)
    rng = np.random.default_rng(3)
    # 40 follow-ups within 50 m and 7 days of an earlier incident, as burglaries next door.
    source = rng.integers(0, 300, 40)
    angle = rng.uniform(0, 2 * np.pi, 40)
    r = rng.uniform(5, 50, 40)
    near = incidents_at(
        np.r_[x, x[source] + r * np.cos(angle)],
        np.r_[y, y[source] + r * np.sin(angle)],
        np.r_[days, days[source] + rng.uniform(0, 7, 40)],
    )
    bands = {"space_bands_m": [50, 200], "time_bands_days": [7, 30]}
    found = knox_test(near, permutations=199, seed=1, **bands).set_index(
        ["space_band", "time_band"]
    )
    close = found.loc[("0-50 m", "0-7 days")]
    assert close["knox_ratio"] > 3 and close["p_value"] <= 0.01
    plain = knox_test(incidents_at(x, y, days), permutations=199, seed=1, **bands)
    assert (
        plain.set_index(["space_band", "time_band"]).loc[("0-50 m", "0-7 days"), "p_value"] > 0.05
    )
    assert (plain["p_value"] < 0.01).sum() == 0


def test_expected_counts_keep_each_distance_band_total():
    # Shuffling times keeps places, so each distance band's pairs are the same in every shuffle.
    x, y, days = random_incidents(100, seed=4)
    table = knox_test(
        incidents_at(x, y, days), space_bands_m=[100, 300], time_bands_days=[10], permutations=50
    )
    by_space = table.groupby("space_band", sort=False)[["observed", "expected"]].sum()
    np.testing.assert_allclose(by_space["expected"], by_space["observed"])


def test_dates_only_are_whole_days_apart_across_a_daylight_saving_change():
    # San Francisco-style dates at midnight: 14 calendar days across the November change are 14
    # days, in the "0-14 days" band, though 14 days and one hour of real time passed.
    frame = gpd.GeoDataFrame(
        {
            "reported_at": pd.to_datetime(["2012-10-28", "2012-11-11", "2012-06-01"]).tz_localize(
                "America/Los_Angeles"
            )
        },
        geometry=gpd.points_from_xy([-122.41, -122.41, -122.40], [37.77, 37.77, 37.78]),
        crs=4326,
    )
    table = knox_test(frame, space_bands_m=[0, 100], time_bands_days=[14], permutations=3)
    same = table.set_index(["space_band", "time_band"]).loc[("same place", "0-14 days")]
    assert same["observed"] == 1


def test_bad_bands_are_clear_errors():
    frame = incidents_at(*random_incidents(10, seed=5))
    with pytest.raises(ValueError, match="must increase"):
        knox_test(frame, space_bands_m=[100, 50], time_bands_days=[7])
    with pytest.raises(ValueError, match="time_bands_days"):
        knox_test(frame, space_bands_m=[100], time_bands_days=[])
    with pytest.raises(ValueError, match="at least 1"):
        knox_test(frame, space_bands_m=[100], time_bands_days=[7], permutations=0)
    with pytest.raises(ValueError, match="reported_at"):
        knox_test(frame.drop(columns="reported_at"), space_bands_m=[100], time_bands_days=[7])
