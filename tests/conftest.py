"""Shared test data: a small jurisdiction in Yancheng and a messy incident export made from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geodata import chinacoords

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# A 1 km square around Wanhu Xincun, Yancheng (WGS-84).
AREA = shapely.box(120.158, 33.352, 120.169, 33.361)


def true_points(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` WGS-84 points spread over AREA."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = AREA.bounds
    return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)


def messy_incidents(n_good: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 110 export with Chinese headers and GCJ-02 coordinates, holding every kind of bad row.

    Returns the table as it would be written, and the expected outcome per record: true WGS-84
    place for good rows, reason code for rejected ones, repair code for repaired ones.
    """
    lon, lat = true_points(n_good)
    glon, glat = chinacoords.wgs84_to_gcj02(lon, lat)
    times = pd.date_range("2026-10-01 08:00", periods=n_good, freq="7h")
    rows = [
        {
            "接警单编号": f"J{i:04d}",
            "报警时间": t.strftime("%Y-%m-%d %H:%M:%S"),
            "警情类别": "纠纷",
            "经度": f"{x:.8f}",
            "纬度": f"{y:.8f}",
            "地址": f"万户新村{i}幢",
            "报警电话": f"1380000{i:04d}",
        }
        for i, (t, x, y) in enumerate(zip(times, glon, glat, strict=True))
    ]
    expect = [{"outcome": "accepted", "lon": x, "lat": y} for x, y in zip(lon, lat, strict=True)]
    # Other ways of writing a time, all readable.
    rows[1]["报警时间"] = times[1].strftime("%Y%m%d%H%M%S")
    rows[2]["报警时间"] = times[2].strftime("%Y年%m月%d日 %H时%M分%S秒")
    rows[3]["报警时间"] = times[3].strftime("%Y/%m/%d %H:%M")

    def bad(change: dict[str, str], outcome: str, reason: str, base: int = 0) -> None:
        row = dict(rows[base], 接警单编号=f"B{len(rows):04d}", 报警电话=f"1390000{len(rows):04d}")
        row.update(change)
        rows.append(row)
        expect.append({"outcome": outcome, "reason": reason, "lon": lon[base], "lat": lat[base]})

    bad({"经度": rows[5]["纬度"], "纬度": rows[5]["经度"]}, "repaired", "swapped_lon_lat", base=5)
    bad({"经度": "0", "纬度": "0"}, "rejected", "zero_coordinates")
    bad({"经度": ""}, "rejected", "missing_coordinates")
    bad({"纬度": "33.3x5"}, "rejected", "unparseable_number")
    bad({"报警时间": "昨天晚上"}, "rejected", "unparseable_time")
    bad({"报警时间": ""}, "rejected", "missing_value")
    far_lon, far_lat = chinacoords.wgs84_to_gcj02(120.25, 33.40)
    bad({"经度": f"{far_lon:.8f}", "纬度": f"{far_lat:.8f}"}, "rejected", "outside_area")
    bad({"接警单编号": "J0007"}, "rejected", "duplicate_id", base=8)
    bad({"接警单编号": ""}, "rejected", "missing_id")
    # The same call exported twice under a new id: same time, place, category, caller.
    rows.append(dict(rows[10], 接警单编号="D0010"))
    expect.append({"outcome": "rejected", "reason": "duplicate_record"})
    bad({"经度": "999", "纬度": "999"}, "rejected", "coordinates_out_of_range")
    return pd.DataFrame(rows), pd.DataFrame(expect)


@pytest.fixture
def messy_csv(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """The messy export written as a UTF-8 CSV, with its expected outcomes."""
    table, expect = messy_incidents()
    path = tmp_path / "警情.csv"
    table.to_csv(path, index=False)
    return path, expect


@pytest.fixture
def area_file(tmp_path: Path) -> Path:
    """AREA written as a GeoJSON file."""
    import geopandas as gpd

    path = tmp_path / "area.geojson"
    gpd.GeoDataFrame({"name": ["万户新村"]}, geometry=[AREA], crs=4326).to_file(path)
    return path
