"""Analysis grids: square and hexagonal cells of a size in metres over an area."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import AREA

from geodata.analysis_grid import hex_cells, square_cells
from geodata.demo import make_demo

UTM51 = "EPSG:32651"  # the UTM zone of Yancheng, where AREA lies


def metric(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return frame.geometry.to_crs(UTM51)


def test_square_cells_are_150_m_squares_tiling_the_area():
    cells = square_cells(AREA, 150)
    assert cells.crs == "EPSG:4326"
    assert list(cells.columns) == ["cell_id", "row", "col", "geometry"]
    assert str(cells["cell_id"].dtype) == "string" and cells["row"].dtype == np.int64
    area = metric(cells).area
    np.testing.assert_allclose(area, 22_500, rtol=1e-6)
    # No overlaps, no gaps: the union is the sum, and it covers the whole area.
    union = shapely.union_all(metric(cells).array)
    assert union.area == pytest.approx(area.sum(), rel=1e-9)
    assert shapely.union_all(cells.geometry.array).covers(AREA)
    # ~1 km x 1 km: 8 x 8 cells at most once the lattice is snapped to multiples of 150 m.
    assert 49 <= len(cells) <= 64
    first = cells.iloc[0]
    assert first["cell_id"] == "S0000_0000" and (first["row"], first["col"]) == (0, 0)
    assert cells["cell_id"].str.fullmatch(r"S\d{4}_\d{4}").all()
    # Row 0 is the northernmost, column 0 the westernmost.
    centres = metric(cells).centroid
    assert centres.y[cells["row"] == 0].min() > centres.y[cells["row"] == 1].max()
    assert centres.x[cells["col"] == 0].max() < centres.x[cells["col"] == 1].min()


def test_clip_keeps_cells_overlapping_the_area_whole():
    triangle = shapely.Polygon([(120.158, 33.352), (120.169, 33.352), (120.158, 33.361)])
    clipped = square_cells(triangle, 150)
    full = square_cells(triangle, 150, clip=False)
    assert len(clipped) < len(full)
    overlap = metric(clipped).intersection(gpd.GeoSeries([triangle], crs=4326).to_crs(UTM51)[0])
    assert (overlap.area > 0).all()  # none merely touching
    np.testing.assert_allclose(metric(clipped).area, 22_500, rtol=1e-6)  # kept whole, not cut
    assert set(clipped["cell_id"]) <= set(full["cell_id"])


def test_grids_of_overlapping_areas_share_their_cells():
    west = square_cells(shapely.box(120.158, 33.352, 120.164, 33.361), 150)
    east = square_cells(shapely.box(120.162, 33.352, 120.169, 33.361), 150)
    # The same ground cells appear in both, with identical corners (ids differ: they count rows
    # and columns from each grid's own corner).
    west_keys = {tuple(np.round(shapely.get_coordinates(g), 9).ravel()) for g in west.geometry}
    east_keys = {tuple(np.round(shapely.get_coordinates(g), 9).ravel()) for g in east.geometry}
    assert len(west_keys & east_keys) >= 8


def test_hex_cells_size_is_the_distance_between_centres():
    cells = hex_cells(AREA, 150)
    assert cells["cell_id"].str.fullmatch(r"H\d{4}_\d{4}").all() and cells["cell_id"].is_unique
    assert (cells["row"].min(), cells["col"].min()) == (0, 0)
    hexes = metric(cells)
    np.testing.assert_allclose(hexes.area, np.sqrt(3) / 2 * 150**2, rtol=1e-6)
    assert (shapely.get_num_coordinates(hexes.array) == 7).all()
    centres = shapely.get_coordinates(hexes.centroid.array)
    gaps = np.hypot(*(centres[:, None] - centres[None, :]).transpose(2, 0, 1))
    np.fill_diagonal(gaps, np.inf)
    np.testing.assert_allclose(gaps.min(axis=1), 150, rtol=1e-6)
    union = shapely.union_all(hexes.array)
    assert union.area == pytest.approx(hexes.area.sum(), rel=1e-9)  # neighbours share edges
    assert shapely.union_all(cells.geometry.array).covers(AREA)


def test_grid_over_incidents_holds_them_all():
    incidents = make_demo("community")["incidents"]
    for make in (square_cells, hex_cells):
        cells = make(incidents, 100)
        hits = cells.sjoin(incidents[["geometry"]], predicate="intersects")
        assert hits["index_right"].nunique() == len(incidents)
        assert hits.index.nunique() == len(cells)  # with clip, only cells holding incidents


def test_grid_on_a_frame_in_a_projected_crs():
    cells = make_demo("community")["grid_cells"].to_crs(UTM51)
    grid = square_cells(cells, 200)
    assert grid.crs == "EPSG:4326"
    assert shapely.union_all(grid.geometry.array).covers(
        shapely.union_all(cells.to_crs(4326).geometry.array).buffer(-1e-7)
    )


@pytest.mark.parametrize(
    ("area", "size", "message"),
    [
        (AREA, 0, "size_m must be a positive number"),
        (AREA, float("nan"), "size_m must be a positive number"),
        (AREA, 0.2, "would make"),
        (gpd.GeoDataFrame(geometry=[AREA]), 150, "no coordinate system"),
        (gpd.GeoDataFrame(geometry=[], crs=4326), 150, "holds no geometry"),
        ("area.geojson", 150, "must be a GeoDataFrame"),
    ],
)
def test_bad_input_is_named(area, size, message):
    with pytest.raises(ValueError, match=message):
        square_cells(area, size)
