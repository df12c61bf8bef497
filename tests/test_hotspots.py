"""hotspot_scores: counts, rate per 1,000 residents, kernel density, naive last period, and the
columns every method adds; the flag rule of the methods that test nothing; clear errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SHARED_DATA
from test_gistar import demo, demo_cells

from dashboard.cli import main
from geodata.analysis_grid import square_cells
from geodata.demo import DEMO_NOW
from geodata.load import read_layer
from incidents._hotspot_common import top_share_flags
from incidents.addresses import drop_addresses, normalise_addresses
from incidents.emerging import HOT_PATTERNS
from incidents.hotspots import hotspot_scores, kde_bandwidth, kernel_density

UTM51 = "EPSG:32651"


def points_at(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    """Incidents at UTM 51N coordinates (near Yancheng), stored in EPSG:4326."""
    geometry = gpd.GeoSeries(shapely.points(np.asarray(xy, dtype=float)), crs=UTM51)
    times = pd.date_range("2026-10-01", periods=len(xy), freq="h", tz="Asia/Shanghai")
    return gpd.GeoDataFrame(
        {"incident_id": [f"I{i}" for i in range(len(xy))], "reported_at": times},
        geometry=geometry.to_crs(4326),
    )


def square(x0: float, y0: float, side: float) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(x0, y0, x0 + side, y0 + side)], crs=UTM51)


# --- counts and the flag rule ----------------------------------------------------------------


def test_counts_score_every_cell_and_flag_the_busiest_five_percent():
    cells = demo_cells(0)
    incidents = demo(0)["incidents"]
    scored = hotspot_scores(incidents, cells, method="counts")
    assert scored.index.equals(cells.index) and list(scored.columns[:4]) == list(cells.columns)
    assert scored["incidents"].sum() == len(incidents)  # the grid covers the community
    assert (scored["score"] == scored["incidents"]).all()
    flagged = scored[scored["hotspot"]]
    assert 0.03 <= len(flagged) / len(cells) <= 0.06  # equal cells: about 5% of them
    assert flagged["score"].min() >= scored.loc[~scored["hotspot"], "score"].max()
    assert scored.attrs["method"] == "counts"
    assert "hotspot" not in cells.columns  # the input is left alone


def test_flag_rule_takes_whole_ties_or_none_and_always_the_top_cell():
    score = np.array([5.0, 4, 4, 3, 1, 0])
    area = np.ones(6)
    assert top_share_flags(score, area, 0.2).tolist() == [True, False, False, False, False, False]
    assert top_share_flags(score, area, 0.5).tolist() == [True, True, True, False, False, False]
    # A grid of a few big cells still has its hottest cell flagged.
    assert top_share_flags(score, area, 0.05).tolist() == [True] + [False] * 5
    # Zero is never a hotspot, however much area is allowed.
    assert not top_share_flags(score, area, 1.0)[5]
    with pytest.raises(ValueError, match="area_share"):
        top_share_flags(score, area, 0.0)


# --- rate per 1,000 residents ----------------------------------------------------------------


def test_rate_per_thousand_residents_on_the_demo_grid_cells():
    cells = demo(0)["grid_cells"]
    scored = hotspot_scores(demo(0)["incidents"], cells, method="rate", id_column="grid_id")
    g003 = scored.set_index("grid_id").loc["G003"]
    within = gpd.sjoin(demo(0)["incidents"], cells[["grid_id", "geometry"]], predicate="within")
    assert g003["incidents"] == (within["grid_id"] == "G003").sum() == 281
    assert g003["population"] == 1433
    assert g003["rate_per_1000"] == pytest.approx(281 / 1433 * 1000)
    assert scored.loc[scored["hotspot"], "grid_id"].tolist() == ["G003"]  # the highest rate


def test_rate_needs_a_population():
    with pytest.raises(ValueError, match="population"):
        hotspot_scores(demo(0)["incidents"], demo_cells(0), method="rate")


# --- kernel density --------------------------------------------------------------------------


def test_bandwidth_by_arcgis_rule_by_hand():
    # Four points on the corners of a 200 m square: standard distance and median distance to
    # the centre are both 141.42 m, so h = 0.9 * 141.42 * 4 ** -0.2.
    x = np.array([-100.0, 100, -100, 100])
    y = np.array([-100.0, -100, 100, 100])
    assert kde_bandwidth(x, y) == pytest.approx(0.9 * np.sqrt(2) * 100 * 4**-0.2)
    # 100 points on a 100 m circle and one 50 km away: the standard distance jumps to ~5 km,
    # the median distance to the (shifted) centre only to ~500 m, and the rule takes the smaller.
    angle = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    x2, y2 = np.r_[100 * np.cos(angle), 50_000.0], np.r_[100 * np.sin(angle), 0.0]
    assert kde_bandwidth(x2, y2) == pytest.approx(
        0.9
        * np.sqrt(1 / np.log(2))
        * np.median(np.hypot(x2 - x2.mean(), y2 - y2.mean()))
        * 101**-0.2
    )
    assert kde_bandwidth(x2, y2) < 300


def test_density_of_one_incident_integrates_to_one_and_peaks_at_its_place():
    x0, y0 = 250_000.0, 3_690_000.0
    cells = square_cells(square(x0, y0, 400), 10.0)
    incident = points_at([(x0 + 205, y0 + 205)])  # the centre of a 10 m cell
    density = kernel_density(incident, cells, bandwidth_m=100, samples_per_side=4)
    area_km2 = cells.to_crs(UTM51).area.to_numpy() / 1e6
    assert (density.to_numpy() * area_km2).sum() == pytest.approx(1.0, rel=0.01)
    one_sample = kernel_density(incident, cells, bandwidth_m=100, samples_per_side=1)
    assert one_sample.max() == pytest.approx(3 / (np.pi * 100**2) * 1e6)
    assert density.attrs["bandwidth_m"] == 100


def test_kde_scores_are_highest_at_the_planted_persistent_hotspot():
    cells = demo_cells(0)
    scored = hotspot_scores(demo(0)["incidents"], cells, method="kde")
    assert scored["kde_bandwidth_m"].iloc[0] == pytest.approx(
        kde_bandwidth(*_xy(demo(0)["incidents"]))
    )
    truth = demo(0)["demo_truth"].query("pattern == 'persistent'").to_crs(UTM51)
    top = scored.sort_values("score", ascending=False).head(10).to_crs(UTM51)
    assert top.distance(truth.geometry.iloc[0]).min() < truth["radius_m"].iloc[0]


def _xy(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    metric = frame.geometry.to_crs(UTM51)
    return shapely.get_x(metric.array), shapely.get_y(metric.array)


# --- naive, gistar and emerging through hotspot_scores ---------------------------------------


def test_naive_counts_only_the_last_period():
    incidents = demo(0)["incidents"]
    scored = hotspot_scores(
        incidents, demo_cells(0), method="naive", period_days=28, until=DEMO_NOW
    )
    recent = incidents["reported_at"] >= DEMO_NOW - pd.Timedelta(days=28)
    assert scored["score"].sum() == recent.sum()
    assert scored["incidents"].sum() == len(incidents)


def test_gistar_flags_are_positive_z_below_the_fdr_cut():
    scored = hotspot_scores(demo(0)["incidents"], demo_cells(0), method="gistar")
    expected = (scored["gi_z"] > 0) & (scored["gi_p"] < scored["gi_fdr_cut"])
    assert (scored["hotspot"] == expected).all() and scored["hotspot"].sum() > 5
    assert (scored["score"] == scored["gi_z"]).all()


def test_emerging_flags_current_hot_patterns_only():
    scored = hotspot_scores(demo(0)["incidents"], demo_cells(0), method="emerging")
    current = set(HOT_PATTERNS) - {"historical hot spot"}
    assert (scored["hotspot"] == scored["pattern"].isin(current)).all()
    assert scored["hotspot"].any()


# --- errors ----------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error():
    incidents, cells = demo(0)["incidents"], demo_cells(0)
    with pytest.raises(ValueError, match="unknown hotspot method 'hexbin'"):
        hotspot_scores(incidents, cells, method="hexbin")
    with pytest.raises(ValueError, match="takes no option 'bandwidth_m'"):
        hotspot_scores(incidents, cells, method="counts", bandwidth_m=100)
    with pytest.raises(ValueError, match="no column 'grid_id'"):
        hotspot_scores(incidents, cells, method="counts", id_column="grid_id")
    with pytest.raises(ValueError, match="reported_at"):
        hotspot_scores(incidents.drop(columns="reported_at"), cells, method="naive")
    duplicated = pd.concat([cells, cells.iloc[:1]])
    with pytest.raises(ValueError, match="unique id"):
        hotspot_scores(incidents, duplicated, method="counts")
    with pytest.raises(ValueError, match="bandwidth_m"):
        hotspot_scores(incidents, cells, method="kde", bandwidth_m=-5)


# --- a records system's default location ------------------------------------------------------


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data not beside")
def test_san_francisco_hall_of_justice_can_be_left_out_of_the_counts(tmp_path, capsys):
    # San Francisco files incidents it cannot place at "800 Block of BRYANT ST" (215 of them in
    # the half year, on two points): they make the 250 m cell holding it the second busiest of
    # the city (220 calls, 5 of them real) and a hotspot.
    path = SHARED_DATA / "sf_2012h2_incidents.csv"
    incidents, _ = read_layer(path, "incidents", timezone="America/Los_Angeles")
    at_hall = normalise_addresses(incidents["address"]) == "800BLOCKOFBRYANTST"
    assert at_hall.sum() == 215
    cells = square_cells(incidents, 250)
    every = hotspot_scores(incidents, cells, method="counts")
    kept = drop_addresses(incidents, ["800 block of Bryant St"])  # any spelling of it
    assert len(kept) == len(incidents) - 215
    without = hotspot_scores(kept, cells, method="counts")
    drop = every["incidents"] - without["incidents"]
    assert drop.sum() == 215 and (drop > 0).sum() <= 2  # its two points
    hall = drop.idxmax()
    assert every["incidents"].rank(ascending=False, method="min")[hall] == 2
    assert (every.loc[hall, "incidents"], without.loc[hall, "incidents"]) == (220, 5)
    assert every.loc[hall, "hotspot"] and not without.loc[hall, "hotspot"]
    # The command line does the same.
    status = main(
        [
            "hotspots",
            "--incidents",
            str(path),
            "--timezone",
            "America/Los_Angeles",
            "--cell-size",
            "250",
            "--method",
            "counts",
            "--exclude-address",
            "800 Block of BRYANT ST",
            "--out",
            str(tmp_path / "h.gpkg"),
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert status == 0 and summary["incidents"] == len(kept)
