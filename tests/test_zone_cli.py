"""The zones and effect commands, as a planner would run them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from dashboard.cli import main
from geodata.demo import make_demo
from geodata.store import write_layers

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VALIDATOR = Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zones") / "demo.gpkg"
    write_layers(path, make_demo("community", 0))
    return path


def test_zones_from_a_store_write_layers_and_json(store, tmp_path, capsys) -> None:
    out = tmp_path / "proposal.gpkg"
    status = main(["zones", "--store", str(store), "--current", "--out", str(out), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["mode"] == "minimal"
    assert data["zones"] == 4
    assert {"max_deviation", "cv", "within_tolerance", "reason", "imbalance_cut"} <= set(
        data["balance"]
    )
    assert data["summary"]["contiguous_zones"] == 4
    assert data["changes"]["cells_moved"] == len(data["changes"]["moves"])
    assert {"windows", "checkpoints", "coverage_gaps", "focus"} <= set(data["plan"])
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"proposed_zones", "checkin_points", "coverage_gaps", "zone_changes"} <= layers
    zones = pyogrio.read_dataframe(out, layer="proposed_zones")
    cells = sorted(c for ids in zones["grid_ids"] for c in ids.split(","))
    assert len(cells) == len(set(cells)) == 11
    assert set(zones["zone_id"]) == {"XQ01", "XQ02", "XQ03", "XQ04"}
    changes = pd.read_csv(tmp_path / "proposal_changes.csv", encoding="utf-8-sig")
    assert list(changes.columns) == ["grid_id", "from_zone", "to_zone", "workload", "reason"]
    assert len(changes) == data["changes"]["cells_moved"]
    if VALIDATOR.exists():
        check = subprocess.run(
            ["/usr/bin/python3", str(VALIDATOR), str(out)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_zones_text_report(store, tmp_path, capsys) -> None:
    out = tmp_path / "fresh.geojson"
    status = main(["zones", "--store", str(store), "--k", "3", "--out", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert text.startswith("3 zones over 11 cells (fresh)")
    assert "mean Polsby-Popper" in text and "check-in points" in text
    assert out.exists() and (tmp_path / "fresh_checkin_points.geojson").exists()


def test_zones_from_plain_files_on_chicago_beats(tmp_path, capsys) -> None:
    out = tmp_path / "districts.gpkg"
    status = main(
        [
            "zones",
            "--cells",
            str(SHARED_DATA / "chicago_police_beats_2012layout.geojson"),
            "--incidents",
            str(SHARED_DATA / "chicago_carjackings_2020.csv"),
            "--id-column",
            "BEAT_NUM",
            "--k",
            "22",
            "--night-weight",
            "1",
            "--out",
            str(out),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["zones"] == 22 and data["summary"]["cells"] == 277
    assert data["summary"]["contiguous_zones"] == 22
    assert data["balance"]["max_deviation"] <= 0.02 + 1e-9
    assert 0 < data["summary"]["mean_polsby_popper"] < 1
    assert any("repeat an id in BEAT_NUM" in note for note in data["notes"])


def test_effect_of_a_change_on_the_demo(store, capsys) -> None:
    status = main(
        [
            "effect",
            "--store",
            str(store),
            "--zone",
            "XQ01",
            "--date",
            "2026-06-01",
            "--weeks",
            "8",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["zone"] == "XQ01" and data["weeks"] == 8
    assert data["zone_before"] > 0 and data["rest_before"] > data["zone_before"]
    assert 0 <= data["p_value"] <= 1
    assert data["sentence"].startswith("incidents in XQ01 ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["zones", "--k", "3"], "give --out"),
        (["zones", "--k", "3", "--out", "x.gpkg"], "give --store, or --cells FILE"),
        (["effect", "--zone", "XQ09", "--date", "2026-06-01"], "give --store"),
    ],
)
def test_user_errors_are_one_line(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unknown_zone_is_a_user_error(store, capsys) -> None:
    assert main(["effect", "--store", str(store), "--zone", "XQ99", "--date", "2026-06-01"]) == 2
    assert "no incident lies in zone 'XQ99'" in capsys.readouterr().err
