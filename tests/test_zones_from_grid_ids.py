"""Patrol zones given as a table of grid ids (巡区编号, 包含网格) with no geometry: the loader
builds each zone from its grid cells, and rejects a zone naming a cell that does not exist."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from dashboard.cli import main
from geodata import LayerError, read_layer
from geodata.demo import make_demo
from geodata.store import read_store, write_layers
from grid.membership import zone_membership

ZONES = (
    "巡区编号,巡区名称,包含网格,巡逻队\n"
    'XQ01,东片,"G001,G002，G003",一队\n'
    "XQ02,西片,G004、G005；G006,二队\n"
    "XQ03,北片,G007 G999,三队\n"
    "XQ04,南片,,四队\n"
)


@pytest.fixture(scope="module")
def cells():
    return make_demo("community", 0)["grid_cells"]


@pytest.fixture
def zones_csv(tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text(ZONES, encoding="utf-8")
    return path


def test_each_zone_is_the_union_of_its_cells(zones_csv, cells):
    zones, report = read_layer(zones_csv, "patrol_zones", cells=cells)
    assert zones["zone_id"].tolist() == ["XQ01", "XQ02"]
    assert zones["team"].tolist() == ["一队", "二队"]
    metric = cells.estimate_utm_crs()
    cell_area = cells.to_crs(metric).set_index("grid_id").area
    zone_area = zones.to_crs(metric).area.to_numpy()
    listed = (["G001", "G002", "G003"], ["G004", "G005", "G006"])
    np.testing.assert_allclose(zone_area, [cell_area[ids].sum() for ids in listed], rtol=1e-6)
    # Every cell listed lies inside its zone's polygon.
    by_id = cells.set_index("grid_id").geometry
    for zone, ids in zip(zones.geometry, listed, strict=True):
        assert all(zone.buffer(1e-9).contains(shapely.point_on_surface(by_id[i])) for i in ids)
    # The other two rows are rejected, each with its reason, and every row is accounted for.
    assert report.rows_in == 4 and report.accepted == 2
    reasons = {issue.row: (issue.reason, issue.detail) for issue in report.rejected}
    assert reasons[3] == ("unknown_grid_id", "G999 not among the 11 grid cells")
    assert reasons[4] == ("missing_geometry", "lists no grid cells")


def test_the_grid_room_reads_the_loaded_zones(zones_csv, cells):
    zones, _ = read_layer(zones_csv, "patrol_zones", cells=cells)
    membership = zone_membership(zones, cells)
    assignment = membership.assignment.dropna()
    assert assignment.to_dict() == {
        "G001": "XQ01", "G002": "XQ01", "G003": "XQ01",
        "G004": "XQ02", "G005": "XQ02", "G006": "XQ02",
    }  # fmt: skip
    assert len(membership.blind_spots) == 5  # G007-G011 are in no accepted zone


def test_without_cells_the_table_is_a_clear_error(zones_csv):
    with pytest.raises(LayerError, match=r"no geometry, only grid ids \(包含网格\).*--cells"):
        read_layer(zones_csv, "patrol_zones")


def test_ingest_builds_zones_from_the_store_grid_cells(zones_csv, cells, tmp_path, capsys):
    store = tmp_path / "store.gpkg"
    write_layers(store, {"grid_cells": cells})
    argv = ["ingest", str(zones_csv), "--kind", "patrol_zones", "--store", str(store), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ingest"]["added"] == 2 and result["ingest"]["quarantined"] == 2
    stored = read_store(store, "patrol_zones")
    assert stored["zone_id"].tolist() == ["XQ01", "XQ02"]
    loaded, _ = read_layer(zones_csv, "patrol_zones", cells=cells)
    different = stored.geometry.symmetric_difference(loaded.geometry, align=False)
    assert (shapely.area(different.to_numpy()) < 1e-12).all()  # the same, stored as multi
    # check with --cells reads the same table from a grid cells file.
    cells_file = tmp_path / "cells.geojson"
    cells.to_file(cells_file)
    argv = ["check", str(zones_csv), "--kind", "patrol_zones", "--cells", str(cells_file), "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 2
