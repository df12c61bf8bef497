"""Loading files as layers: every bad-row kind, every file format, the report's accounting."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from conftest import AREA, messy_incidents, true_points

from geodata import LayerError, ReadError, read_layer
from geodata.crs import local_metric_crs


def _distance_m(layer: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    metric = local_metric_crs(layer)
    truth = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(metric)
    return layer.geometry.to_crs(metric).distance(truth, align=False).to_numpy()


def test_messy_gcj02_csv_accounts_for_every_row(messy_csv, area_file):
    path, expect = messy_csv
    layer, report = read_layer(path, "incidents", crs="gcj02", area=area_file)

    assert report.rows_in == len(expect)
    assert report.rows_in == report.accepted + len(report.rejected)
    assert len(layer) == report.accepted
    rejected = {issue.row: issue.reason for issue in report.rejected}
    wanted = {i + 1: r.reason for i, r in expect.iterrows() if r.outcome == "rejected"}
    assert rejected == wanted
    repaired = {(issue.row, issue.reason) for issue in report.repaired}
    assert repaired == {(i + 1, r.reason) for i, r in expect.iterrows() if r.outcome == "repaired"}


def test_messy_csv_accepted_points_land_within_a_metre(messy_csv, area_file):
    path, expect = messy_csv
    layer, _ = read_layer(path, "incidents", crs="gcj02", area=area_file)
    kept = expect[expect.outcome != "rejected"]
    assert len(kept) == len(layer)
    distance = _distance_m(layer, kept.lon.to_numpy(), kept.lat.to_numpy())
    assert distance.max() < 1.0
    assert shapely.covers(AREA, layer.geometry.array).all()


def test_unconverted_gcj02_is_hundreds_of_metres_off(messy_csv):
    path, expect = messy_csv
    layer, report = read_layer(path, "incidents")  # no --crs: read as WGS-84
    assert "taken as WGS-84" in " ".join(report.notes)
    first = expect.iloc[:10]
    distance = _distance_m(layer.iloc[:10], first.lon.to_numpy(), first.lat.to_numpy())
    assert (distance > 250).all() and (distance < 700).all()


def test_times_in_many_formats_are_read_in_shanghai_time(messy_csv):
    path, _ = messy_csv
    layer, _ = read_layer(path, "incidents", crs="gcj02")
    start = pd.Timestamp("2026-10-01 08:00", tz="Asia/Shanghai")
    expected = [start + pd.Timedelta(hours=7 * i) for i in range(4)]
    assert list(layer.reported_at.iloc[:4]) == expected
    assert str(layer.reported_at.dt.tz) == "Asia/Shanghai"


def test_report_json_shape(messy_csv):
    path, _ = messy_csv
    _, report = read_layer(path, "incidents", crs="gcj02")
    data = report.to_dict()
    assert {"rows_in", "accepted", "rejected", "repaired"} <= set(data)
    assert isinstance(data["accepted"], int)
    assert all(set(item) >= {"row", "reason"} for item in data["rejected"] + data["repaired"])


def test_gbk_csv_with_chinese_headers(tmp_path):
    table, _ = messy_incidents(12)
    path = tmp_path / "gbk.csv"
    table.to_csv(path, index=False, encoding="gbk")
    layer, report = read_layer(path, "incidents", crs="gcj02")
    assert report.columns["address"] == "地址"
    assert layer.address.iloc[0] == "万户新村0幢"


def test_xlsx(tmp_path):
    table, expect = messy_incidents(12)
    path = tmp_path / "警情.xlsx"
    table.to_excel(path, index=False)
    layer, report = read_layer(path, "incidents", crs="gcj02", area=AREA)
    assert report.rows_in == len(table)
    assert report.accepted == int((expect.outcome != "rejected").sum())


def _incidents_frame(n: int = 6) -> gpd.GeoDataFrame:
    lon, lat = true_points(n)
    return gpd.GeoDataFrame(
        {  # short headers, as a Shapefile allows no more than ten characters
            "jjdbh": [f"A{i}" for i in range(n)],
            "bjsj": pd.date_range("2026-01-01", periods=n, freq="D").strftime("%Y-%m-%d %H:%M"),
            "bjlbdm": "盗窃",
        },
        geometry=shapely.points(lon, lat),
        crs=4326,
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp", ".zip"])
def test_vector_formats_round_trip(tmp_path, suffix):
    frame = _incidents_frame()
    if suffix == ".zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        frame.to_file(folder / "incidents.shp")
        path = tmp_path / "incidents.zip"
        with zipfile.ZipFile(path, "w") as z:
            for part in folder.iterdir():
                z.write(part, part.name)
    else:
        path = tmp_path / f"incidents{suffix}"
        frame.to_file(path)
    layer, report = read_layer(path, "incidents")
    assert report.accepted == len(frame) and report.ok
    assert list(layer.incident_id) == list(frame.jjdbh)
    assert np.allclose(
        shapely.get_coordinates(layer.geometry.array), shapely.get_coordinates(frame.geometry.array)
    )


def test_geopackage_layer_choice(tmp_path):
    path = tmp_path / "many.gpkg"
    _incidents_frame().to_file(path, layer="calls")
    _incidents_frame(3).to_file(path, layer="other")
    with pytest.raises(ReadError, match="several layers"):
        read_layer(path, "incidents")
    layer, _ = read_layer(path, "incidents", layer="other")
    assert len(layer) == 3
    with pytest.raises(ReadError, match="no layer 'nope'; its layers are calls, other"):
        read_layer(path, "incidents", layer="nope")


def test_projected_file_is_brought_to_wgs84(tmp_path):
    # CGCS2000 3-degree Gauss-Krüger zone with central meridian 120°E.
    frame = _incidents_frame().to_crs("EPSG:4549")
    path = tmp_path / "gk.gpkg"
    frame.to_file(path)
    layer, report = read_layer(path, "incidents")
    assert report.source_crs == "EPSG:4549"
    lon, lat = true_points(6)
    assert _distance_m(layer, lon, lat).max() < 0.01


def test_file_without_crs_is_an_error_unless_given(tmp_path):
    frame = _incidents_frame()
    frame.to_file(tmp_path / "nocrs.shp")
    (tmp_path / "nocrs.prj").unlink()
    with pytest.raises(LayerError, match="states no coordinate system; give one with --crs"):
        read_layer(tmp_path / "nocrs.shp", "incidents")
    layer, _ = read_layer(tmp_path / "nocrs.shp", "incidents", crs="EPSG:4326")
    assert len(layer) == len(frame)


def test_projected_csv_without_crs_is_an_error(tmp_path):
    path = tmp_path / "xy.csv"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "time": ["2026-01-01", "2026-01-02"],
            "x": [1171154.0, 1160694.0],
            "y": [1859576.0, 1889888.0],
        }
    ).to_csv(path)
    with pytest.raises(LayerError, match="coordinates look projected"):
        read_layer(path, "incidents")


def test_missing_required_column_names_the_aliases(tmp_path):
    path = tmp_path / "notime.csv"
    pd.DataFrame({"id": ["a"], "lon": [120.16], "lat": [33.357]}).to_csv(path, index=False)
    with pytest.raises(LayerError, match="no column for reported_at .* 报警时间, bjsj"):
        read_layer(path, "incidents")


def test_no_coordinates_is_an_error(tmp_path):
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"id": ["a"], "报警时间": ["2026-01-01"]}).to_csv(path, index=False)
    with pytest.raises(LayerError, match="no coordinate columns found"):
        read_layer(path, "incidents")


def test_unknown_file_type_and_missing_file(tmp_path):
    with pytest.raises(ReadError, match="file not found"):
        read_layer(tmp_path / "nothing.csv", "incidents")
    (tmp_path / "a.doc").write_text("x")
    with pytest.raises(ReadError, match="unknown file type .doc"):
        read_layer(tmp_path / "a.doc", "incidents")


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown layer kind 'crimes'"):
        read_layer(Path(__file__), "crimes")


def test_wkt_column_and_optional_field_repairs(tmp_path):
    path = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "单位编号": ["S1", "S2", "S3"],
            "单位名称": ["人民医院", "实验小学", "夜色酒吧"],
            "类别": ["hospital", "school", "nightlife"],
            "wkt": [
                "POINT (120.16 33.357)",
                "POLYGON ((120.161 33.356, 120.162 33.356, 120.162 33.357, 120.161 33.356))",
                "POINT (120.1 oops)",
            ],
        }
    ).to_csv(path, index=False)
    layer, report = read_layer(path, "key_sites")
    assert list(layer.site_id) == ["S1", "S2"]
    assert [g.geom_type for g in layer.geometry] == ["Point", "Polygon"]
    assert [(i.row, i.reason) for i in report.rejected] == [(3, "missing_geometry")]


def test_optional_values_that_cannot_be_read_are_blanked_and_reported(tmp_path):
    path = tmp_path / "rentals.csv"
    pd.DataFrame(
        {
            "房屋编号": ["R1", "R2", "R3"],
            "地址": ["万户新村1幢101室", "万户新村2幢", "万户新村3幢"],
            "租住人数": ["3", "many", "１２"],
            "是否群租": ["否", "是", "maybe"],
            "最近检查日期": ["2026-05-01", "last spring", "2026/6/1"],
            "经度": [120.160, 120.161, 120.162],
            "纬度": [33.356, 33.357, 33.358],
        }
    ).to_csv(path, index=False)
    layer, report = read_layer(path, "rental_properties")
    assert report.accepted == 3
    assert list(layer.tenants.astype("Float64")) == [3, pd.NA, 12]
    assert list(layer.group_rental) == [False, True, pd.NA]
    assert layer.last_inspection.iloc[2] == pd.Timestamp("2026-06-01")
    assert sorted((i.row, i.reason) for i in report.repaired) == [
        (2, "unparseable_number"),
        (2, "unparseable_time"),
        (3, "unparseable_yes_no"),
    ]


def _cells(polygons: list[shapely.Polygon]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"网格编号": [f"G{i + 1}" for i in range(len(polygons))]}, geometry=polygons, crs=4326
    )


def test_grid_cells_invalid_overlapping_and_gaps(tmp_path):
    d = 0.002
    x0, y0 = 120.16, 33.356
    cells = [
        shapely.box(x0, y0, x0 + d, y0 + d),
        shapely.box(x0 + d * 0.8, y0, x0 + 2 * d, y0 + d),  # overlaps G1 by a fifth
        # a bow-tie: self-intersecting, repaired into two triangles
        shapely.Polygon([(x0, y0 + d), (x0 + d, y0 + 2 * d), (x0 + d, y0 + d), (x0, y0 + 2 * d)]),
        shapely.box(x0 + d, y0 + d, x0 + 2 * d, y0 + 2 * d),
        shapely.box(x0 + 0.2 * d, y0 + 0.2 * d, x0 + 0.5 * d, y0 + 0.5 * d),  # inside G1
        shapely.Point(x0, y0),  # not a polygon
    ]
    path = tmp_path / "cells.geojson"
    _cells(cells).to_file(path)
    layer, report = read_layer(path, "grid_cells")
    assert list(layer.grid_id) == ["G1", "G2", "G3", "G4"]
    assert {(i.row, i.reason) for i in report.rejected} == {
        (5, "overlaps_other_cell"),
        (6, "wrong_geometry_type"),
    }
    assert {(i.row, i.reason) for i in report.repaired} == {
        (2, "overlaps_other_cell"),
        (3, "invalid_geometry"),
    }
    metric = layer.to_crs(local_metric_crs(layer))
    assert metric.geometry.iloc[1].intersection(metric.geometry.iloc[0]).area < 1.0
    assert layer.geometry.is_valid.all()


def test_gap_between_grid_cells_is_reported(tmp_path):
    d = 0.002
    ring = [
        shapely.box(120.16 + i * d, 33.356 + j * d, 120.16 + (i + 1) * d, 33.356 + (j + 1) * d)
        for j in range(3)
        for i in range(3)
        if (i, j) != (1, 1)
    ]
    path = tmp_path / "ring.gpkg"
    _cells(ring).to_file(path)
    layer, report = read_layer(path, "grid_cells")
    assert report.accepted == 8 and not report.rejected
    [gap] = report.warnings
    assert gap.reason == "gap_between_cells" and gap.row is None
    assert gap.detail.startswith("gap of 4")  # 0.002° squared at 33°N is about 41,000 m²
    assert "G1, G2, G3, G4, G5, G6, G7, G8" in gap.detail


def test_swapped_coordinates_outside_china_are_found_by_the_bulk(tmp_path):
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(6)],
            "date": ["2020-01-01"] * 6,
            "lon": [-87.65, -87.66, -87.64, -87.70, 41.85, -87.62],
            "lat": [41.77, 41.85, 41.88, 41.80, -87.63, 41.90],
        }
    )
    path = tmp_path / "chicago.csv"
    frame.to_csv(path, index=False)
    layer, report = read_layer(path, "incidents", timezone="America/Chicago")
    assert [(i.row, i.reason) for i in report.repaired] == [(5, "swapped_lon_lat")]
    assert layer.geometry.iloc[4].x == pytest.approx(-87.63)


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "EPSG:4490", "EPSG:4549", "EPSG:32651"])
def test_each_coordinate_system_of_a_csv_lands_within_a_centimetre(tmp_path, crs):
    from geodata.chinacoords import convert
    from geodata.crs import parse_crs

    lon, lat = true_points(50)
    source = parse_crs(crs)
    if source.web_map:
        x, y = convert(lon, lat, "wgs84", source.web_map)
    else:
        x, y = pyproj.Transformer.from_crs(4326, source.crs, always_xy=True).transform(lon, lat)
    path = tmp_path / "points.csv"
    pd.DataFrame({"jjdbh": range(50), "bjsj": "2026-01-01 10:00", "x": x, "y": y}).to_csv(
        path, index=False
    )
    layer, report = read_layer(path, "incidents", crs=crs)
    assert report.accepted == 50 and report.ok
    assert _distance_m(layer, lon, lat).max() < 0.01


def test_polygon_that_collapses_to_a_line_is_rejected(tmp_path):
    line_like = shapely.Polygon([(120.16, 33.356), (120.161, 33.357), (120.162, 33.358)])
    cells = _cells([shapely.box(120.16, 33.356, 120.161, 33.357), line_like])
    path = tmp_path / "cells.geojson"
    cells.to_file(path)
    layer, report = read_layer(path, "grid_cells")
    assert list(layer.grid_id) == ["G1"]
    [issue] = report.rejected
    assert (issue.row, issue.reason) == (2, "invalid_geometry")
    assert "Too few points" in issue.detail or "Self-intersection" in issue.detail
