"""gridwatch hotspots / evaluate / knox, as a user would run them: on a store, on a CSV with
lon/lat columns, and with the mistakes users make."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest
import shapely
from test_gistar import demo

from dashboard.cli import main
from geodata.analysis_grid import square_cells
from geodata.store import write_layers
from incidents.hotspots import hotspot_scores


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "demo.gpkg"
    layers = demo(0)
    write_layers(path, {"incidents": layers["incidents"], "grid_cells": layers["grid_cells"]})
    return path


@pytest.fixture(scope="module")
def incidents_csv(tmp_path_factory):
    """The demo's incidents as a plain CSV: lon, lat and a local time without offset."""
    incidents = demo(0)["incidents"]
    path = tmp_path_factory.mktemp("csv") / "incidents.csv"
    pd.DataFrame(
        {
            "incident_id": incidents["incident_id"],
            "reported_at": incidents["reported_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "lon": shapely.get_x(incidents.geometry.array),
            "lat": shapely.get_y(incidents.geometry.array),
        }
    ).to_csv(path, index=False)
    return path


def test_hotspots_from_a_store_write_a_geopackage_layer(store, tmp_path, capsys):
    out = tmp_path / "hot.gpkg"
    status = main(
        [
            "hotspots",
            "--store",
            str(store),
            "--cell-size",
            "50",
            "--method",
            "gistar",
            "--out",
            str(out),
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert status == 0
    assert summary["layer"] == "hotspots_gistar" and summary["incidents"] == 2250
    assert summary["incidents_in_cells"] == 2250 and 5 < summary["hotspots"] < 60
    written = pyogrio.read_dataframe(out, layer="hotspots_gistar")
    assert len(written) == summary["cells"]
    assert {"cell_id", "incidents", "score", "gi_z", "gi_p", "hotspot"} <= set(written.columns)
    assert int(written["hotspot"].sum()) == summary["hotspots"]
    assert summary["top"][0]["score"] == pytest.approx(written["gi_z"].max(), abs=1e-4)


def test_gistar_values_choose_the_root_or_the_raw_counts(store, tmp_path, capsys):
    z = {}
    for values in ("anscombe", "counts"):
        out = tmp_path / f"{values}.gpkg"
        argv = ["hotspots", "--store", str(store), "--cell-size", "50", "--out", str(out)]
        assert main([*argv, "--gistar-values", values, "--json"]) == 0
        capsys.readouterr()
        written = pyogrio.read_dataframe(out, layer="hotspots_gistar")
        expected = hotspot_scores(
            demo(0)["incidents"],
            square_cells(demo(0)["grid_cells"], 50),
            method="gistar",
            values=values,
        )
        assert (written["cell_id"].to_numpy() == expected["cell_id"].to_numpy()).all()
        assert written["gi_z"].to_numpy() == pytest.approx(expected["gi_z"].to_numpy(), abs=1e-9)
        z[values] = written["gi_z"].to_numpy()
    assert abs(z["anscombe"] - z["counts"]).max() > 0.5  # two different maps


def test_hotspots_from_a_csv_with_lon_lat_columns_and_a_period(incidents_csv, tmp_path, capsys):
    out = tmp_path / "counts.gpkg"
    status = main(
        [
            "hotspots",
            "--incidents",
            str(incidents_csv),
            "--cell-size",
            "100",
            "--method",
            "counts",
            "--since",
            "2026-10-01",
            "--until",
            "2026-11-01",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "hotspots_counts" in printed and "hottest cells:" in printed
    written = pyogrio.read_dataframe(out, layer="hotspots_counts")
    in_october = demo(0)["incidents"]["reported_at"].between(
        pd.Timestamp("2026-10-01", tz="Asia/Shanghai"),
        pd.Timestamp("2026-11-01", tz="Asia/Shanghai"),
        inclusive="left",
    )
    assert written["incidents"].sum() == in_october.sum()


def test_evaluate_prints_every_method_with_pai_pei_and_rri(store, capsys):
    status = main(
        [
            "evaluate",
            "--store",
            str(store),
            "--cell-size",
            "50",
            "--train-until",
            "2026-08-01",
            "--test-until",
            "2026-11-02",
            "--area-share",
            "0.01,0.05",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    rows = pd.DataFrame(result["results"])
    assert rows.groupby("area_share")["method"].apply(list).to_dict() == {
        0.01: ["counts", "kde", "gistar", "emerging", "naive"],
        0.05: ["counts", "kde", "gistar", "emerging", "naive"],
    }
    assert (rows["pai"] > 1).all() and rows["pei_star"].between(0, 1).all()
    assert result["train_incidents"] + result["test_incidents"] == 2250

    main(
        [
            "evaluate",
            "--store",
            str(store),
            "--cell-size",
            "50",
            "--train-until",
            "2026-08-01",
            "--test-until",
            "2026-11-01",
        ]
    )
    table = capsys.readouterr().out
    assert "flagging 1% of the area" in table and "pei*" in table and "naive" in table


def test_knox_prints_ratios_by_band(incidents_csv, capsys):
    status = main(
        [
            "knox",
            "--incidents",
            str(incidents_csv),
            "--since",
            "2026-09-01",
            "--space-bands",
            "0,50,100",
            "--time-bands",
            "7,14",
            "--permutations",
            "19",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert len(result["bands"]) == 4 * 3
    assert result["bands"][0]["space_band"] == "same place"
    main(
        ["knox", "--incidents", str(incidents_csv), "--since", "2026-09-01", "--permutations", "9"]
    )
    assert "Knox ratio" in capsys.readouterr().out


def test_user_mistakes_exit_with_one_line(store, incidents_csv, tmp_path, capsys):
    out = str(tmp_path / "x.gpkg")
    assert main(["hotspots", "--store", str(store), "--out", out]) == 2
    assert "--cells FILE or --cell-size" in capsys.readouterr().err
    assert (
        main(
            [
                "hotspots",
                "--store",
                str(store),
                "--incidents",
                str(incidents_csv),
                "--cell-size",
                "50",
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "either --incidents" in capsys.readouterr().err
    assert main(["knox", "--store", str(store), "--space-bands", "100,a"]) == 2
    assert "--space-bands" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "--store",
                str(store),
                "--cell-size",
                "50",
                "--train-until",
                "2026-10-01",
                "--test-until",
                "2026-09-01",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "test_until must come after train_until" in err and err.count("\n") == 1
