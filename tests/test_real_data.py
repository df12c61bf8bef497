"""Loading real public police data from ../shared/data (see its README)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SHARED_DATA

from geodata import LayerError, read_layer
from geodata.chinacoords import gcj02_to_wgs84

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data not beside")


def test_chicago_shapefile_in_state_plane_feet_lands_in_the_right_place():
    layer, report = read_layer(
        SHARED_DATA / "raw" / "chicago_carjackings_2020_shp",
        "incidents",
        timezone="America/Chicago",
    )
    assert report.source_crs == "EPSG:3435"
    assert (report.rows_in, report.accepted) == (1412, 1412)
    # The file also carries the city's own WGS-84 coordinates: both must agree.
    lon = layer["Longitude"].astype(float).to_numpy()
    lat = layer["Latitude"].astype(float).to_numpy()
    east = (shapely.get_x(layer.geometry.array) - lon) * 111_320 * np.cos(np.radians(lat))
    north = (shapely.get_y(layer.geometry.array) - lat) * 110_574
    assert np.hypot(east, north).max() < 1.0
    first = layer.set_index("incident_id").loc["12243012"]
    assert first.reported_at == pd.Timestamp("2020-12-11 23:45", tz="America/Chicago")


def test_chicago_csv_and_shapefile_agree():
    shp, _ = read_layer(
        SHARED_DATA / "raw" / "chicago_carjackings_2020_shp",
        "incidents",
        timezone="America/Chicago",
    )
    csv, report = read_layer(
        SHARED_DATA / "chicago_carjackings_2020.csv", "incidents", timezone="America/Chicago"
    )
    assert report.accepted == 1412
    joined = shp.merge(csv[["incident_id", "reported_at", "geometry"]], on="incident_id")
    assert len(joined) == 1412
    assert (joined.reported_at_x == joined.reported_at_y).all()
    assert shapely.distance(joined.geometry_x.array, joined.geometry_y.array).max() < 1e-5


def test_san_francisco_csv_loads_with_its_duplicate_ids_reported():
    layer, report = read_layer(
        SHARED_DATA / "sf_2012h2_incidents.csv", "incidents", timezone="America/Los_Angeles"
    )
    assert report.rows_in == 10_153
    assert report.rows_in == report.accepted + len(report.rejected)
    # One incident number may carry several offences; the first is kept, the others reported.
    assert {i.reason for i in report.rejected} == {"duplicate_id"}
    assert len(report.rejected) == 13
    assert layer.reported_at.min() == pd.Timestamp("2012-07-01", tz="America/Los_Angeles")
    # The Hall of Justice default location is kept (a false hotspot for incidents/ to handle).
    assert (layer.address == "800 Block of BRYANT ST").sum() > 150


def test_san_francisco_state_plane_columns_match_lon_lat():
    table = pd.read_csv(SHARED_DATA / "sf_2012h2_incidents.csv", nrows=500, dtype=str)
    from_feet, _ = read_layer_frame(table.drop(columns=["lon", "lat"]), crs="EPSG:2227")
    x = table.lon.astype(float).to_numpy()[: len(from_feet)]
    y = table.lat.astype(float).to_numpy()[: len(from_feet)]
    assert np.abs(shapely.get_x(from_feet.geometry.array) - x).max() < 2e-5
    assert np.abs(shapely.get_y(from_feet.geometry.array) - y).max() < 2e-5


def read_layer_frame(table: pd.DataFrame, **options):
    from geodata.read import RawTable
    from geodata.validate import clean_layer

    raw = RawTable("sf.csv", "csv", table.reset_index(drop=True), None, None)
    return clean_layer(raw, "incidents", timezone="America/Los_Angeles", **options)


def test_shanghai_pois_from_a_chinese_web_map():
    layer, report = read_layer(SHARED_DATA / "cn_shanghai_hospitals.csv", "key_sites", crs="gcj02")
    assert report.accepted == 7513 and report.source_crs == "gcj02"
    assert "ids made from record numbers" in " ".join(report.notes)
    ruijin = layer[layer.name == "上海交通大学医学院附属瑞金医院"].geometry.iloc[0]
    lon, lat = gcj02_to_wgs84(121.46310013497228, 31.2136849441858)
    assert (ruijin.x, ruijin.y) == pytest.approx((lon, lat), abs=1e-9)
    assert layer.category.str.contains("动物医疗场所").sum() == 382  # animal hospitals mixed in


def test_shenzhen_districts_without_prj_need_a_crs():
    folder = SHARED_DATA / "raw" / "cn_shenzhen_districts_shp"
    with pytest.raises(LayerError, match="states no coordinate system"):
        read_layer(folder, "grid_cells")
    layer, report = read_layer(folder, "grid_cells", crs="EPSG:4326")
    assert report.accepted == 10
    assert set(layer["qh"]) >= {"罗湖区", "福田区"} or set(layer["qh"]) >= {"罗湖", "福田"}
    assert [w.reason for w in report.warnings] == ["gap_between_cells"]


def test_chicago_beats_as_patrol_zones():
    layer, report = read_layer(
        SHARED_DATA / "chicago_police_beats_2012layout.geojson", "patrol_zones"
    )
    assert report.rows_in == 277
    assert {
        (i.reason, layer_id) for i, layer_id in zip(report.rejected, ["3100", "3100"], strict=True)
    } == {("duplicate_id", "3100")}
    assert layer.zone_id.is_unique and len(layer) == 275
