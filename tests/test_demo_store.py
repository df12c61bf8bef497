"""The demo as users get it: written by ``gridwatch demo``, read back, and passed through the
same checks as any user's file."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from dashboard.cli import main
from geodata import LAYER_KINDS, read_layer
from geodata.store import read_store, store_layers


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    assert main(["demo", "--out", str(path), "--seed", "3"]) == 0
    return path


def test_demo_file_holds_seven_layers_and_the_truth(demo_store):
    layers = store_layers(demo_store)
    assert set(layers) == {*LAYER_KINDS, "demo_truth"}
    assert layers["grid_cells"] == 11 and layers["patrol_zones"] == 4
    truth = gpd.read_file(demo_store, layer="demo_truth")
    assert set(truth["kind"]) == {"hotspot", "repeat_place", "busy_site"}


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_every_demo_row_passes_the_loader_checks(demo_store, kind):
    layer, report = read_layer(demo_store, kind)
    assert report.ok, report.summary()
    assert report.accepted == store_layers(demo_store)[kind]


def test_same_seed_same_file_content(demo_store, tmp_path):
    again = tmp_path / "again.gpkg"
    assert main(["demo", "--out", str(again), "--seed", "3"]) == 0
    for kind in (*LAYER_KINDS, "demo_truth"):
        first, second = read_store(demo_store, kind), read_store(again, kind)
        pd.testing.assert_frame_equal(pd.DataFrame(first), pd.DataFrame(second))


def test_demo_times_come_back_in_shanghai_time(demo_store):
    incidents = read_store(demo_store, "incidents")
    assert str(incidents.reported_at.dt.tz) == "Asia/Shanghai"
    truth = read_store(demo_store, "demo_truth")
    assert str(truth.first_at.dt.tz) == "Asia/Shanghai"
