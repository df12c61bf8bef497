"""The GeoPackage store: ingest all-or-nothing, idempotent re-runs, quarantine, types kept."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geodata import read_layer
from geodata.store import QUARANTINE, ingest, read_store, store_layers, write_layers


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ingest_adds_rows_and_quarantines_rejects(messy_csv, area_file, tmp_path):
    path, expect = messy_csv
    store = tmp_path / "store.gpkg"
    layer, report = read_layer(path, "incidents", crs="gcj02", area=area_file)
    result = ingest(store, layer, report)
    assert result.added == report.accepted
    assert result.quarantined == len(report.rejected)
    assert store_layers(store) == {"incidents": report.accepted, QUARANTINE: len(report.rejected)}
    stored = read_store(store, "incidents")
    assert list(stored.incident_id) == list(layer.incident_id)
    pd.testing.assert_series_equal(stored.reported_at, layer.reported_at, check_names=False)
    assert stored.geometry.geom_equals_exact(layer.geometry, tolerance=1e-9).all()
    quarantine = read_store(store, QUARANTINE)
    assert sorted(quarantine.reason) == sorted(expect.reason[expect.outcome == "rejected"])
    assert "昨天晚上" in quarantine.record[quarantine.reason == "unparseable_time"].iloc[0]


def test_running_the_same_ingest_twice_adds_nothing(messy_csv, tmp_path):
    path, _ = messy_csv
    store = tmp_path / "store.gpkg"
    layer, report = read_layer(path, "incidents", crs="gcj02")
    ingest(store, layer, report)
    before = store_layers(store)
    again = ingest(store, layer, report)
    assert (again.added, again.already_stored, again.quarantined) == (0, len(layer), 0)
    assert store_layers(store) == before


def test_ingest_adds_only_new_ids(messy_csv, tmp_path):
    path, _ = messy_csv
    store = tmp_path / "store.gpkg"
    layer, report = read_layer(path, "incidents", crs="gcj02")
    ingest(store, layer.iloc[:10], report)
    result = ingest(store, layer, report)
    assert (result.added, result.already_stored) == (len(layer) - 10, 10)
    assert read_store(store, "incidents").incident_id.is_unique


def test_ingest_failing_halfway_leaves_the_store_as_it_was(messy_csv, tmp_path, monkeypatch):
    path, _ = messy_csv
    store = tmp_path / "store.gpkg"
    layer, report = read_layer(path, "incidents", crs="gcj02")
    ingest(store, layer.iloc[:5], report.__class__(source="first", kind="incidents"))
    digest = _digest(store)

    real_write = pyogrio.write_dataframe
    calls = []

    def write_then_fail(*args, **kwargs):
        calls.append(kwargs.get("layer"))
        if kwargs.get("layer") == QUARANTINE:  # the incidents are written, then this fails
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        ingest(store, layer, report)
    assert calls == ["incidents", QUARANTINE]
    assert _digest(store) == digest
    assert sorted(p.name for p in tmp_path.iterdir() if "store" in p.name) == ["store.gpkg"]


def test_write_layers_replaces_a_layer_and_keeps_the_others(messy_csv, tmp_path):
    path, _ = messy_csv
    layer, _ = read_layer(path, "incidents", crs="gcj02")
    store = tmp_path / "store.gpkg"
    write_layers(store, {"incidents": layer, "other": layer.iloc[:3]})
    write_layers(store, {"incidents": layer.iloc[:4]})
    assert store_layers(store) == {"incidents": 4, "other": 3}


def test_read_store_names_missing_layers(tmp_path):
    with pytest.raises(ValueError, match="the file does not exist"):
        read_store(tmp_path / "none.gpkg", "incidents")


VALIDATOR = Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py")


@pytest.mark.skipif(not VALIDATOR.exists(), reason="Debian's python3-gdal is not installed")
def test_store_passes_gdal_geopackage_validator(messy_csv, tmp_path):
    path, _ = messy_csv
    store = tmp_path / "store.gpkg"
    layer, report = read_layer(path, "incidents", crs="gcj02")
    ingest(store, layer.iloc[:20], report)
    ingest(store, layer, report)  # appends, and adds nothing new to quarantine
    write_layers(store, {"incidents": layer.iloc[:5], "key_sites": _sites()})
    done = subprocess.run(
        ["/usr/bin/python3", str(VALIDATOR), str(store)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert store_layers(store) == {"incidents": 5, QUARANTINE: len(report.rejected), "key_sites": 2}


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"], "name": ["医院", "学校"], "category": ["hospital", "school"]},
        geometry=[shapely.Point(120.16, 33.357), shapely.box(120.161, 33.356, 120.162, 33.357)],
        crs=4326,
    )
