"""The dashboard's parts without a page: offline map building, the wall's clock and figures, the
label table, the offline asset set-up and the `gridwatch serve` command line."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import branca.colormap
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from dashboard import assets, live, maps
from dashboard.i18n import LABELS

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"


def _square(size_deg: float = 0.01, vertices: int = 400) -> shapely.Polygon:
    """A square around Wanhu Xincun drawn with many nearly collinear vertices."""
    t = np.linspace(0, 4, vertices, endpoint=False)
    side, f = np.divmod(t, 1)
    x = np.select([side == 0, side == 1, side == 2, side == 3], [f, 1 + 0 * f, 1 - f, 0 * f])
    y = np.select([side == 0, side == 1, side == 2, side == 3], [0 * f, f, 1 + 0 * f, 1 - f])
    return shapely.Polygon(np.column_stack([120.158 + x * size_deg, 33.352 + y * size_deg]))


# --- maps ----------------------------------------------------------------------------------------


def test_localise_points_every_resource_at_the_static_folder():
    m = maps.new_map((120.158, 33.352, 120.169, 33.361))
    folium.plugins.HeatMap([[33.355, 120.16]]).add_to(m)
    folium.plugins.FastMarkerCluster([[33.355, 120.16]]).add_to(m)
    maps.localise(m)
    html = m.get_root().render()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/app/static/vendor/") for u in urls), urls
    files = {u.removeprefix("/app/static/vendor/") for u in urls}
    assert files <= set(assets.ASSET_FILES)
    assert {
        "leaflet/leaflet.js",
        "heat/leaflet_heat.min.js",
        "markercluster/leaflet.markercluster.js",
    } <= files
    # folium's own class lists are left alone.
    assert folium.Map.default_js[0][1].startswith("https://")
    assert '"maxZoom": 19' in html and "L.Icon.Default.imagePath" in html


def test_localise_refuses_what_has_no_offline_copy():
    m = maps.new_map((120.158, 33.352, 120.169, 33.361))
    folium.plugins.Draw().add_to(m)
    with pytest.raises(ValueError, match="no offline copy of"):
        maps.localise(m)
    m = maps.new_map((120.158, 33.352, 120.169, 33.361))
    branca.colormap.LinearColormap(["red", "blue"]).add_to(m)
    with pytest.raises(ValueError, match="d3 from the internet"):
        maps.localise(m)


def test_static_url_follows_the_base_url_path(monkeypatch):
    assert maps.static_url("leaflet/leaflet.js") == "/app/static/vendor/leaflet/leaflet.js"
    monkeypatch.setattr(maps.st, "get_option", lambda name: "/police/")
    assert maps.static_url("leaflet/leaflet.js") == "/police/app/static/vendor/leaflet/leaflet.js"


def test_tiles_come_from_the_configured_server_or_none(monkeypatch):
    monkeypatch.delenv(maps.TILES_ENV, raising=False)
    html = maps.new_map((120.158, 33.352, 120.169, 33.361)).get_root().render()
    assert "tileLayer" not in html
    monkeypatch.setenv(maps.TILES_ENV, "http://tiles.intranet/{z}/{x}/{y}.png")
    html = maps.new_map((120.158, 33.352, 120.169, 33.361)).get_root().render()
    assert "http://tiles.intranet/{z}/{x}/{y}.png" in html


def test_polygons_are_simplified_and_rounded_for_display():
    frame = gpd.GeoDataFrame({"grid_id": ["G1"]}, geometry=[_square()], crs=4326)
    shown = maps.display_shapes(frame, tolerance_m=2.0)
    assert len(shapely.get_coordinates(shown.iloc[0])) == 5  # 400 vertices -> the 4 corners
    assert shown.iloc[0].symmetric_difference(frame.geometry.iloc[0]).area < 1e-9
    data = maps.feature_collection(frame, properties=["grid_id"], styles={"color": "red"})
    ring = data["features"][0]["geometry"]["coordinates"][0]
    assert all(len(f"{c:.10f}".rstrip("0").split(".")[1]) <= 6 for xy in ring for c in xy)
    assert data["features"][0]["properties"] == {"grid_id": "G1", "style": {"color": "red"}}


def test_many_points_reach_the_browser_clustered_not_one_by_one():
    rng = np.random.default_rng(0)
    n = maps.CLUSTER_ABOVE + 1
    points = gpd.GeoDataFrame(
        {"id": np.arange(n)},
        crs=4326,
        geometry=gpd.points_from_xy(120.158 + rng.random(n) * 0.01, 33.352 + rng.random(n) * 0.01),
    )
    layer = maps.point_layer(points, name="x", styles={"color": "#fff", "fillColor": "#f00"})
    assert isinstance(layer, folium.plugins.FastMarkerCluster)
    assert len(layer.data) == n and layer.data[0][2] == "#f00"
    few = maps.point_layer(points.head(10), name="x", styles={"color": "#fff"})
    assert isinstance(few, folium.GeoJson) and len(few.data["features"]) == 10


def test_a_heat_map_of_100k_incidents_stays_small():
    rng = np.random.default_rng(1)
    n = 100_000
    points = gpd.GeoDataFrame(
        crs=4326,
        geometry=gpd.points_from_xy(120.10 + rng.random(n) * 0.1, 33.30 + rng.random(n) * 0.1),
    )
    m = maps.new_map(points.total_bounds)
    maps.heat_layer(points, name="heat").add_to(m)
    size = maps.payload_bytes(maps.localise(m))
    assert size < 3_000_000, size  # one layer, coordinates rounded to 5 decimals


def test_ramp_colours_classes_by_quantiles():
    values = pd.Series(np.arange(100, dtype=float))
    colours, edges = maps.ramp_colours(values)
    assert colours.iloc[0] == maps.RAMP[0] and colours.iloc[-1] == maps.RAMP[-1]
    assert edges[0] == 0 and edges[-1] == 99
    flat, edges = maps.ramp_colours(pd.Series([3.0, 3.0]))
    assert flat.nunique() == 1 and len(edges) == 2


# --- the wall's clock and figures ----------------------------------------------------------------


def test_replay_clock_plays_forward_and_loops():
    start = pd.Timestamp("2026-10-29 08:00", tz="Asia/Shanghai")
    end = start + pd.Timedelta(days=3)
    assert live.replay_time(start, end, elapsed_s=0, minutes_per_second=10) == start
    assert live.replay_time(start, end, elapsed_s=6, minutes_per_second=10) == start + pd.Timedelta(
        hours=1
    )
    loop_s = 3 * 24 * 60 / 10
    assert live.replay_time(
        start, end, elapsed_s=loop_s + 6, minutes_per_second=10
    ) == start + pd.Timedelta(hours=1)


def test_wall_figures_count_the_last_24_hours_and_last_week():
    now = pd.Timestamp("2026-11-01 08:00", tz="Asia/Shanghai")
    hours = [1, 5, 23, 25, 7 * 24 + 2, 7 * 24 + 30]
    incidents = pd.DataFrame({"reported_at": [now - pd.Timedelta(hours=h) for h in hours]})
    figures = live.wall_figures(incidents, now, repeat_places=2)
    assert (figures.last_24h, figures.same_hours_last_week) == (3, 1)
    assert figures.change == pytest.approx(2.0)
    assert live.format_change(figures.change) == "+200%"
    assert live.wall_figures(incidents.iloc[:0], now, repeat_places=None).change is None
    assert live.format_change(None) == "–"


# --- labels ------------------------------------------------------------------------------------


def _keys_used() -> set[str]:
    keys = set()
    for path in DASHBOARD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                keys.add(node.args[0].value)
    return keys


def test_every_label_used_is_in_the_table_in_both_languages():
    used = _keys_used()
    assert len(used) > 80
    assert used <= set(LABELS), sorted(used - set(LABELS))
    for key, (zh, en) in LABELS.items():
        assert zh and en, key
        fields = [
            {name for _, name, _, _ in string.Formatter().parse(text) if name} for text in (zh, en)
        ]
        assert fields[0] == fields[1], f"{key}: the two languages take different values"


# --- offline assets and `gridwatch serve` ------------------------------------------------


def test_install_assets_copies_leaflet_and_plugins(tmp_path):
    target = tmp_path / "vendor"
    assert assets.missing_assets(target) == list(assets.ASSET_FILES)
    copied = assets.install_assets(target)
    assert sorted(copied) == sorted(assets.ASSET_FILES)
    assert assets.missing_assets(target) == []
    assert assets.install_assets(target) == []  # already in place
    assert "1.9.3" in (target / "leaflet/leaflet.js").read_text()[:300]
    assert (target / "leaflet/images/marker-icon.png").read_bytes()[:4] == b"\x89PNG"


def test_serve_command_serves_static_files_offline(tmp_path):
    from dashboard.cli.load_commands import serve_command

    command = serve_command(tmp_path / "s.gpkg", 8600)
    options = dict(zip(command[5::2], command[6::2], strict=False))
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("dashboard/app.py")
    assert options["--server.enableStaticServing"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"
    # no banner: printing it makes a headless Streamlit look its external IP up on the internet
    assert options["--logger.hideWelcomeMessage"] == "true"
    assert options["--server.port"] == "8600"
    assert command[-2:] == ["--store", str((tmp_path / "s.gpkg").resolve())]


def test_serve_with_a_missing_store_is_a_one_line_error(tmp_path, capsys):
    from dashboard.cli import main

    assert main(["serve", "--store", str(tmp_path / "none.gpkg")]) == 2
    assert "store not found" in capsys.readouterr().err
