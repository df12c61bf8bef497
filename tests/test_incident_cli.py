"""The incident commands: gridwatch repeats and gridwatch assign, as a user would run them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from conftest import SHARED_DATA

from dashboard.cli import main
from geodata.demo import make_demo
from geodata.store import write_layers

SF = SHARED_DATA / "sf_2012h2_incidents.csv"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "demo.gpkg"
    write_layers(path, make_demo("community", 0))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_repeats_from_a_store_as_json_and_csv(demo_store, tmp_path, capsys):
    out = tmp_path / "places.csv"
    status, text, _ = run(
        capsys, "repeats", "--store", demo_store, "--returning-caller", "--out", out, "--json"
    )
    data = json.loads(text)
    assert status == 0 and data["by"] == "place" and data["incidents"] == 2250
    assert data["groups"] == len(data["rows"]) == 8
    assert data["rule"] == {"radius_m": 50.0, "days": 30.0, "min_count": 3}
    assert [row["rank"] for row in data["rows"]] == list(range(1, 9))
    assert all(row["returning_callers"] >= 1 for row in data["rows"])
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"incident_ids": str})
    assert len(table) == 8 and {"lon", "lat", "incident_ids", "first_at"} <= set(table.columns)
    assert table["lon"].between(120.15, 120.18).all()
    assert table["first_at"].str.endswith("+08:00").all()


def test_repeats_unusual_keeps_the_starred_groups_with_their_ranks(demo_store, tmp_path, capsys):
    status, text, _ = run(capsys, "repeats", "--store", demo_store, "--out", tmp_path / "a.csv")
    every = pd.read_csv(tmp_path / "a.csv", encoding="utf-8-sig")
    status, text, _ = run(
        capsys, "repeats", "--store", demo_store, "--unusual", "--out", tmp_path / "u.csv"
    )
    unusual = pd.read_csv(tmp_path / "u.csv", encoding="utf-8-sig")
    assert status == 0 and len(every) == 61 and len(unusual) == 15
    assert unusual["rank"].tolist() == every.loc[every["unusual"], "rank"].tolist()
    assert text.splitlines()[0].startswith("15 repeat places")
    assert all(line.split()[9] == "*" for line in text.splitlines()[2:12])


def test_repeat_callers_never_print_or_write_a_number(demo_store, tmp_path, capsys):
    out = tmp_path / "callers.csv"
    status, text, _ = run(capsys, "repeats", "--store", demo_store, "--by", "caller", "--out", out)
    assert status == 0 and "repeat callers" in text and "****" in text
    phones = make_demo("community", 0)["incidents"]["caller_phone"]
    written = out.read_text(encoding="utf-8-sig")
    top = phones.value_counts().index[:20]
    assert not any(p in written or p in text for p in top)
    assert "caller_hash" in written and "caller_masked" in written


@pytest.mark.skipif(not SF.exists(), reason="../shared/data not beside")
def test_san_francisco_repeats_show_the_default_location_first(tmp_path, capsys):
    out = tmp_path / "sf.gpkg"
    status, text, err = run(
        capsys, "repeats", "--incidents", SF, "--timezone", "America/Los_Angeles", "--out", out
    )
    assert status == 0 and "13 rejected" in err
    assert text.startswith("272 repeat places (3+ calls within 50 m and within 30 days)")
    first = text.splitlines()[2].split()
    assert first[:3] == ["1", "212", "2012-07-02"]  # rank, calls, first day
    assert "800 Block of BRYANT ST" in text.splitlines()[2]
    assert len(pyogrio.read_dataframe(out)) == 272
    status, text, _ = run(
        capsys,
        "repeats",
        "--incidents",
        SF,
        "--timezone",
        "America/Los_Angeles",
        "--exclude-address",
        "800 Block of BRYANT ST",
        "--out",
        tmp_path / "sf2.csv",
    )
    assert status == 0 and "BRYANT" not in text
    assert text.splitlines()[2].split()[:2] == ["1", "44"]


def test_assign_from_a_store_counts_cells_and_zones(demo_store, tmp_path, capsys):
    out = tmp_path / "assigned.gpkg"
    status, text, _ = run(capsys, "assign", "--store", demo_store, "--out", out, "--json")
    data = json.loads(text)
    assert status == 0
    assert (data["incidents"], data["assigned"], data["unassigned"]) == (2250, 2250, 0)
    assert data["cells"] == data["cells_used"] == 11
    assert data["zones"]["assigned"] == 2250
    written = pyogrio.read_dataframe(out)
    assert written["grid_id"].notna().all() and written["zone_id"].notna().all()


def test_assign_reports_incidents_in_no_cell(demo_store, tmp_path, capsys):
    demo = make_demo("community", 0)
    cells = tmp_path / "cells.geojson"
    demo["grid_cells"].head(3).to_file(cells)
    status, text, _ = run(
        capsys, "assign", "--store", demo_store, "--cells", cells, "--out", tmp_path / "a.csv"
    )
    assert status == 0
    head = text.splitlines()[0]
    written = pd.read_csv(tmp_path / "a.csv", encoding="utf-8-sig", dtype=str)
    assigned = int(written["grid_id"].notna().sum())
    assert head == (
        f"2250 incidents: {assigned} in 3 of 3 grid cells, {2250 - assigned} in no cell"
    )
    assert 0 < assigned < 2250
    first_missing = written.loc[written["grid_id"].isna(), "incident_id"].iloc[0]
    assert f"in no cell: {first_missing}, " in text


def test_assign_to_an_analysis_grid(demo_store, tmp_path, capsys):
    status, text, _ = run(
        capsys,
        "assign",
        "--store",
        demo_store,
        "--cell-size",
        "150",
        "--hex",
        "--out",
        tmp_path / "hex.csv",
        "--json",
    )
    data = json.loads(text)
    assert status == 0 and data["unassigned"] == 0 and data["cells"] == data["cells_used"]
    ids = pd.read_csv(tmp_path / "hex.csv", encoding="utf-8-sig", dtype=str)["grid_id"]
    assert ids.str.fullmatch(r"H\d{4}_\d{4}").all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["repeats", "--out", "x.csv"], "give --incidents FILE or --store STORE.gpkg"),
        (["repeats", "--store", "{store}", "--out", "x.txt"], "write .csv, .gpkg or .geojson"),
        (
            ["repeats", "--store", "{store}", "--by", "address", "--out", "x.geojson"],
            "no places on the map",
        ),
        (
            [
                "repeats",
                "--store",
                "{store}",
                "--by",
                "caller",
                "--returning-caller",
                "--out",
                "x.csv",
            ],
            "apply to --by place or address",
        ),
        (
            ["repeats", "--store", "{store}", "--min-count", "1", "--out", "x.csv"],
            "min_count must be a whole number of at least 2",
        ),
        (
            [
                "assign",
                "--store",
                "{store}",
                "--cells",
                "c.geojson",
                "--cell-size",
                "100",
                "--out",
                "x.csv",
            ],
            "not both",
        ),
    ],
)
def test_user_errors_are_one_line_with_status_2(
    demo_store, tmp_path, capsys, argv, message, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, *[a.replace("{store}", str(demo_store)) for a in argv])
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1
