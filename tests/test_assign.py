"""Assigning incidents to grid cells and patrol zones: exact, deterministic on edges, fast path
identical to the plain one."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SHARED_DATA

from geodata import read_layer
from geodata.analysis_grid import hex_cells, square_cells
from geodata.demo import make_demo
from incidents.assign import assign_incidents, assign_to_cells, cell_positions, count_per_cell


@pytest.fixture(scope="module")
def demo() -> dict[str, gpd.GeoDataFrame]:
    return make_demo("community", 0)


def first_hit_by_sjoin(points: gpd.GeoDataFrame, cells: gpd.GeoDataFrame) -> np.ndarray:
    """The documented rule done with geopandas: every intersecting cell, the first one kept."""
    joined = gpd.sjoin(
        points[["geometry"]].reset_index(drop=True),
        cells[["geometry"]].reset_index(drop=True),
        how="left",
        predicate="intersects",
    )
    first = joined["index_right"].groupby(level=0).min()
    return first.fillna(-1).astype(np.int64).reindex(range(len(points))).to_numpy()


def test_demo_incidents_land_in_their_grid_cells_as_sjoin_says(demo):
    incidents = demo["incidents"].sample(frac=1.0, random_state=3)  # index not 0..n-1
    incidents.index = incidents.index * 7 + 11
    cells = demo["grid_cells"]
    grid_id = assign_to_cells(incidents, cells, id_column="grid_id")
    assert grid_id.index.equals(incidents.index) and str(grid_id.dtype) == "string"
    expected = cells["grid_id"].to_numpy()[first_hit_by_sjoin(incidents, cells)]
    assert (grid_id.to_numpy() == expected).all()
    assert grid_id.notna().all()  # the demo's incidents all lie inside its grids
    assert grid_id.nunique() == len(cells) == 11


def test_raster_and_tree_agree_on_edges_vertices_and_everywhere(demo):
    rng = np.random.default_rng(5)
    for cells in (
        demo["grid_cells"],
        square_cells(demo["grid_cells"], 60),
        hex_cells(demo["grid_cells"], 60),
    ):
        rings, ring = shapely.get_coordinates(cells.geometry.boundary.array, return_index=True)
        same = ring[1:] == ring[:-1]  # consecutive vertices of one cell's boundary
        start, end = rings[:-1][same], rings[1:][same]
        along = start + rng.random((len(start), 1)) * (end - start)
        xmin, ymin, xmax, ymax = cells.total_bounds
        spread = np.column_stack(
            [
                rng.uniform(xmin - 1e-3, xmax + 1e-3, 30_000),
                rng.uniform(ymin - 1e-3, ymax + 1e-3, 30_000),
            ]
        )
        points = gpd.GeoDataFrame(
            geometry=shapely.points(np.vstack([rings, along, spread])), crs=4326
        )
        raster = cell_positions(points, cells, method="raster")
        tree = cell_positions(points, cells, method="tree")
        assert (raster == tree).all()
        assert (raster == first_hit_by_sjoin(points, cells)).all()
        # Vertices are on the boundary exactly, and the boundary counts as inside. (Points
        # interpolated along an edge may be a rounding error outside the outermost edges.)
        assert (raster[: len(rings)] >= 0).all()


def test_points_on_shared_edges_go_to_the_first_cell_listed():
    # Four unit squares in degrees, edges on round numbers: the raster's lines line up with them.
    boxes = [shapely.box(i, j, i + 1, j + 1) for j in range(2) for i in range(2)]
    cells = gpd.GeoDataFrame({"cell": ["SW", "SE", "NW", "NE"]}, geometry=boxes, crs=4326)
    points = gpd.GeoDataFrame(
        geometry=shapely.points(
            [(1.0, 0.5), (1.0, 1.0), (0.5, 1.0), (1.5, 1.0), (1.0, 1.5), (0.5, 0.5), (3, 3)]
        ),
        crs=4326,
    )
    for method in ("raster", "tree"):
        got = cell_positions(points, cells, method=method)
        assert got.tolist() == [0, 0, 0, 1, 2, 0, -1]
        # Listed the other way round, the same points go to the other cells: the rule is the
        # order, nothing else.
        flipped = cell_positions(points, cells.iloc[::-1], method=method)
        assert flipped.tolist() == [2, 0, 1, 0, 0, 3, -1]
    assert assign_to_cells(points, cells, id_column="cell").tolist()[:6] == [
        "SW",
        "SW",
        "SW",
        "SE",
        "NW",
        "SW",
    ]


def test_overlaps_holes_multipolygons_and_missing_geometries():
    ring = shapely.Point(3, 0).buffer(5).difference(shapely.Point(3, 0).buffer(2))
    cells = gpd.GeoDataFrame(
        {"zone_id": ["disk", "ring", "pair", "none", "empty"]},
        geometry=[
            shapely.Point(0, 0).buffer(5),
            ring,
            shapely.MultiPolygon([shapely.box(-10, -10, -6, -6), shapely.box(6, 6, 9, 9)]),
            None,
            shapely.Polygon(),
        ],
        crs=32651,
    )
    rng = np.random.default_rng(2)
    xy = rng.uniform(-12, 12, (40_000, 2))
    points = gpd.GeoDataFrame(
        geometry=list(shapely.points(xy)) + [None, shapely.Point()], crs=32651
    )
    raster = cell_positions(points, cells, method="raster")
    assert (raster == cell_positions(points, cells, method="tree")).all()
    assert (raster[-2:] == -1).all()
    # Where the disk and the ring overlap, the disk (listed first) wins; the ring's hole is not
    # the ring's.
    in_disk = np.hypot(xy[:, 0], xy[:, 1]) < 4.99
    assert (raster[:-2][in_disk] == 0).all()
    hole = (np.hypot(xy[:, 0] - 3, xy[:, 1]) < 1.99) & ~in_disk
    assert not hole.any() or (raster[:-2][hole] != 1).all()
    far_pair = (xy[:, 0] > 6.01) & (xy[:, 0] < 8.99) & (xy[:, 1] > 6.01) & (xy[:, 1] < 8.99)
    assert (raster[:-2][far_pair] == 2).all()
    ids = assign_to_cells(points, cells, id_column="zone_id")
    assert ids.iloc[-2:].isna().all()
    assert set(ids.dropna()) == {"disk", "ring", "pair"}


def test_counts_per_cell_with_zeros_in_the_cells_order(demo):
    xmin, ymin, xmax, ymax = demo["grid_cells"].total_bounds
    cells = square_cells(shapely.box(xmin - 0.003, ymin - 0.003, xmax + 0.003, ymax + 0.003), 150)
    counts = count_per_cell(demo["incidents"], cells, id_column="cell_id")
    assert counts.index.equals(pd.Index(cells["cell_id"]))
    assert counts.dtype == np.int64 and counts.sum() == len(demo["incidents"])
    assert (counts == 0).sum() >= 20  # the margin around the community catches nothing
    again = assign_to_cells(demo["incidents"], cells, id_column="cell_id").value_counts()
    assert (counts[counts > 0] == again.reindex(counts[counts > 0].index)).all()


def test_points_in_another_crs_are_brought_to_the_cells(demo):
    incidents = demo["incidents"].head(500)
    direct = assign_to_cells(incidents, demo["grid_cells"], id_column="grid_id")
    moved = assign_to_cells(incidents.to_crs(32651), demo["grid_cells"], id_column="grid_id")
    assert (direct == moved).all()


def test_assign_incidents_to_cells_and_zones(demo):
    out = assign_incidents(demo["incidents"], demo["grid_cells"], demo["patrol_zones"])
    assert out is not demo["incidents"] and "grid_id" not in demo["incidents"].columns
    assert out["grid_id"].notna().all() and out["zone_id"].notna().all()
    # Zones are unions of whole grid cells: a cell's incidents all fall in the zone listing it.
    zone_of_cell = {
        g: z
        for z, ids in zip(
            demo["patrol_zones"]["zone_id"], demo["patrol_zones"]["grid_ids"], strict=True
        )
        for g in ids.split(",")
    }
    assert (out["grid_id"].map(zone_of_cell) == out["zone_id"]).mean() > 0.99


def test_a_large_batch_uses_the_raster_and_matches_sjoin(demo):
    rng = np.random.default_rng(9)
    cells = demo["grid_cells"]
    xmin, ymin, xmax, ymax = cells.total_bounds
    points = gpd.GeoDataFrame(
        geometry=shapely.points(rng.uniform(xmin, xmax, 60_000), rng.uniform(ymin, ymax, 60_000)),
        crs=4326,
    )
    got = cell_positions(points, cells)  # "auto": above the size where the raster is used
    assert (got == first_hit_by_sjoin(points, cells)).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no_id", "the cells have no column 'zone'"),
        ("no_crs", "the points have no coordinate system"),
        ("lines", "the cells must be polygons"),
        ("polygons", "the incidents must be points"),
        ("duplicate", "repeats the id"),
        ("method", "method must be"),
    ],
)
def test_bad_input_is_named(demo, change, message):
    incidents, cells = demo["incidents"].head(20), demo["grid_cells"]
    column = "grid_id"
    if change == "no_id":
        column = "zone"
    elif change == "no_crs":
        incidents = incidents.set_crs(None, allow_override=True)
    elif change == "lines":
        cells = cells.set_geometry(cells.boundary)
    elif change == "polygons":
        incidents = cells
    elif change == "duplicate":
        cells = pd.concat([cells, cells.head(1)])
    with pytest.raises(ValueError, match=message):
        if change == "duplicate":
            count_per_cell(incidents, cells, id_column=column)
        elif change == "method":
            cell_positions(incidents, cells, method="fast")
        else:
            assign_to_cells(incidents, cells, id_column=column)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data not beside")
def test_chicago_carjackings_fall_in_their_recorded_beats():
    beats, _ = read_layer(SHARED_DATA / "chicago_police_beats_2012layout.geojson", "patrol_zones")
    carjackings, _ = read_layer(
        SHARED_DATA / "chicago_carjackings_2020.csv", "incidents", timezone="America/Chicago"
    )
    raster = cell_positions(carjackings, beats, method="raster")
    assert (raster == cell_positions(carjackings, beats, method="tree")).all()
    assert (raster == first_hit_by_sjoin(carjackings, beats)).all()
    beat = assign_to_cells(carjackings, beats, id_column="zone_id")
    # 33 carjackings lie in none of the 2012 polygons (the same with the 2 rows the loader
    # rejects as duplicate ids put back), and beats were redrawn after 2012: 91% still match
    # the beat recorded in 2020.
    assert int(beat.isna().sum()) == 33
    same = beat.str.lstrip("0") == carjackings["beat"].astype(str).str.lstrip("0")
    assert same.fillna(False).mean() == pytest.approx(0.911, abs=0.001)
