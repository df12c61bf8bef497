"""The gridwatch command line: check, ingest and their errors, as a user would run them."""

from __future__ import annotations

import json
import subprocess
import sys

import pyogrio
import pytest

from dashboard.cli import main


def test_check_json_accounts_for_every_row(messy_csv, area_file, capsys):
    path, expect = messy_csv
    status = main(
        [
            "check",
            str(path),
            "--kind",
            "incidents",
            "--crs",
            "gcj02",
            "--area",
            str(area_file),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["rows_in"] == len(expect)
    assert data["rows_in"] == data["accepted"] + len(data["rejected"])
    reasons = {item["reason"] for item in data["rejected"]}
    assert {"duplicate_id", "duplicate_record", "outside_area", "zero_coordinates"} <= reasons
    assert [item["reason"] for item in data["repaired"]] == ["swapped_lon_lat"]


def test_check_prints_a_table_and_writes_clean_rows(messy_csv, area_file, tmp_path, capsys):
    path, expect = messy_csv
    out = tmp_path / "clean.geojson"
    status = main(
        [
            "check",
            str(path),
            "--kind",
            "incidents",
            "--crs",
            "gcj02",
            "--out",
            str(out),
            "--area",
            str(area_file),
        ]
    )
    text = capsys.readouterr().out
    assert status == 0
    assert "rejected:unparseable_time" in text and "swapped_lon_lat" in text
    written = pyogrio.read_dataframe(out)
    assert len(written) == int((expect.outcome != "rejected").sum())
    assert written.crs.to_epsg() == 4326


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "nothing.csv", "--kind", "incidents"], "nothing.csv: file not found"),
        (
            ["check", "{csv}", "--kind", "incidents", "--crs", "EPSG:999999"],
            "unknown coordinate system 'EPSG:999999'",
        ),
        (["check", "{notime}", "--kind", "incidents"], "no column for reported_at"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(messy_csv, tmp_path, capsys, args, message):
    path, _ = messy_csv
    notime = tmp_path / "notime.csv"
    notime.write_text("id,lon,lat\na,120.1,33.3\n")
    args = [a.format(csv=path, notime=notime) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_ingest_twice(messy_csv, tmp_path, capsys):
    path, _ = messy_csv
    store = tmp_path / "s.gpkg"
    args = [
        "ingest",
        str(path),
        "--kind",
        "incidents",
        "--crs",
        "gcj02",
        "--store",
        str(store),
        "--json",
    ]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)["ingest"]
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)["ingest"]
    assert first["added"] > 0 and second["added"] == 0
    assert second["already_stored"] == first["added"]


def test_console_script_runs():
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "check" in done.stdout and "ingest" in done.stdout and "demo" in done.stdout
