"""The dashboard's four pages driven by Streamlit's AppTest on the demo community: each runs
without an exception, draws an offline map, and changes what it shows when a widget changes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import LABELS
from geodata import local_metric_crs
from geodata.demo import make_demo
from geodata.store import read_store, store_layers, write_layers

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
TIMEOUT = 120


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The community demo written once for the module."""
    path = tmp_path_factory.mktemp("dashboard") / "demo.gpkg"
    write_layers(path, make_demo("community", 0))
    return path


@pytest.fixture
def store(demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo store that the app opens (tests may write to it)."""
    path = tmp_path / "store.gpkg"
    shutil.copyfile(demo_store, path)
    monkeypatch.setenv("GRIDWATCH_STORE", str(path))
    return path


def _open(page: str | None = None, *, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _maps(at: AppTest) -> list[dict]:
    """The arguments of every st_folium map on the page, as the browser receives them."""
    return [
        json.loads(c.proto.json_args)
        for c in at.get("component_instance")
        if "st_folium" in c.proto.component_name
    ]


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _assert_offline(args: dict) -> None:
    assert args["js_links"] and args["css_links"]
    for url in args["js_links"] + args["css_links"]:
        assert url.startswith("/app/static/vendor/"), url
    text = args["script"] + args["header"] + args["html"] + (args["feature_group"] or "")
    assert not re.search(r"https?://", text), "a map refers to an outside address"
    assert "maxZoom" in args["script"]


@pytest.mark.parametrize("page", [None, "my_grid", "plan", "data_import"])
def test_every_page_runs_and_draws_an_offline_map(store, page):
    at = _open(page)
    found = _maps(at)
    assert found, f"page {page or 'wall'} draws no map"
    for args in found:
        _assert_offline(args)


def test_wall_figures_match_the_data_and_replay_moves_the_clock(store):
    at = _open()
    html = _html(at)
    assert "回放" in html  # the demo ends weeks ago: the wall opens in replay mode
    clock = pd.Timestamp(re.search(r'class="clock">([^<]+)<', html).group(1), tz="Asia/Shanghai")
    incidents = read_store(store, "incidents")
    times = incidents["reported_at"]
    last_24h = int(((times > clock - pd.Timedelta(hours=24)) & (times <= clock)).sum())
    week = clock - pd.Timedelta(days=7)
    last_week = int(((times > week - pd.Timedelta(hours=24)) & (times <= week)).sum())
    figures = re.findall(r'<div class="v">([^<]+)</div>', html)
    assert figures[:2] == [str(last_24h), str(last_week)]
    # The newest incident of the window is lit up on the map and named in the panel.
    newest = incidents[times <= clock].sort_values("reported_at").iloc[-1]
    assert str(newest["category"]) in html.split('class="gw-card"')[1]
    groups = _maps(at)[0]["feature_group"]
    assert "gw-pulse" in groups
    assert f"{newest.geometry.y:.6f}"[:8] in groups
    # The nearest on-duty responders, with their distances, measured here independently.
    responders = read_store(store, "responders")
    on_duty = responders[responders["on_duty"].fillna(False).to_numpy(bool)]
    metric = local_metric_crs(on_duty)
    place = gpd.GeoSeries([newest.geometry], crs=4326).to_crs(metric).iloc[0]
    top = on_duty.assign(d=on_duty.to_crs(metric).distance(place)).nsmallest(3, "d")
    panel = html.split("最近在岗警力")[1].split("近期警情")[0]
    shown = [(n, float(m)) for n, m in re.findall(r"<tr><td>([^<]+)</td>.*?>(\d+) 米<", panel)]
    assert [n for n, _ in shown] == list(top["name"])
    np.testing.assert_allclose([m for _, m in shown], top["d"], atol=1.0)
    # No caller phone number reaches the wall.
    assert str(newest["caller_phone"]) not in html + groups

    at.segmented_control(key="mode").set_value("live").run()
    assert not at.exception
    live_html = _html(at)
    assert "实时" in live_html and "回放" not in live_html.split('class="gw-bar"')[1][:300]
    live_clock = pd.Timestamp(re.search(r'class="clock">([^<]+)<', live_html).group(1))
    assert live_clock.tz_localize(None) > incidents["reported_at"].max().tz_localize(None)


def test_wall_base_map_stays_the_same_between_refreshes(store):
    """Only the live layers change: the map's own script (and so its key) stays the same, which
    is what lets streamlit-folium update the layers without reloading the map."""
    at = _open()
    first = _maps(at)[0]
    at.run()
    second = _maps(at)[0]
    assert first["script"] == second["script"]
    assert first["key"] == second["key"]


def test_language_switch_changes_every_label(store):
    at = _open()
    assert "指挥大屏" in _html(at)
    at.segmented_control(key="lang").set_value("en").run()
    assert not at.exception
    html = _html(at)
    assert "command room" in html and "Incidents, last 24 h" in html
    assert "指挥大屏" not in html and "近24小时警情" not in html
    at = _open(lang="en")  # or from the address, ?lang=en
    assert "command room" in _html(at)


def test_my_grid_lists_the_chosen_grid_with_masked_phones(store):
    at = _open("my_grid")
    rentals = read_store(store, "rental_properties")
    for grid in ("G001", "G007"):
        at.selectbox(key="grid").set_value(grid).run()
        assert not at.exception
        listed = at.dataframe[0].value
        mine = rentals[rentals["grid_id"] == grid]
        assert sorted(listed["编号"]) == sorted(mine["property_id"])
        overdue = listed["逾期天数"]
        assert overdue.notna().sum() > 0
        # Overdue first, the most overdue at the top; then the rest by due date.
        assert not overdue.iloc[: overdue.notna().sum()].isna().any()
        assert overdue.dropna().is_monotonic_decreasing
        incidents = at.dataframe[2].value
        assert len(incidents) > 0
        assert incidents["报警电话"].str.fullmatch(r"\d{3}\*{4}\d{4}").all()
        assert grid in at.caption[0].value or grid in str(at.selectbox(key="grid").value)
    downloads = at.get("download_button")
    assert len(downloads) == 2


def test_data_page_reports_and_ingests_an_upload(store):
    from conftest import messy_incidents

    table, expect = messy_incidents()
    at = _open("data_import")
    before = store_layers(store)["incidents"]
    at.selectbox(key="data_kind").set_value("incidents")
    at.text_input(key="data_crs").set_value("gcj02")
    at.file_uploader(key="data_file").set_value(
        ("警情.csv", table.to_csv(index=False).encode("utf-8"), "text/csv")
    )
    at.run()
    assert not at.exception
    metrics = {m.label: int(m.value) for m in at.metric}
    # No area is given on the page, so the row outside the jurisdiction is accepted here.
    rejected = int(((expect["outcome"] == "rejected") & (expect["reason"] != "outside_area")).sum())
    assert metrics == {
        "读入": len(expect),
        "接收": len(expect) - rejected,
        "拒收": rejected,
        "修复": 1,
    }
    by_reason = at.dataframe[1].value
    assert set(by_reason["code"]) >= {"zero_coordinates", "duplicate_record", "swapped_lon_lat"}
    assert len(_maps(at)) == 1  # the accepted rows on a map
    at.button(key="data_ingest").click().run()
    assert not at.exception
    assert any(f"新增 {len(expect) - rejected} 条" in s.value for s in at.success)
    assert store_layers(store)["incidents"] == before + len(expect) - rejected
    assert store_layers(store)["quarantine"] == rejected


def test_data_page_builds_zones_listed_by_grid_ids_from_the_store_cells(store):
    table = "巡区编号,包含网格\nXQ01,G001、G002\nXQ02,G003，G999\n"
    at = _open("data_import")
    at.selectbox(key="data_kind").set_value("patrol_zones")
    at.file_uploader(key="data_file").set_value(("巡区.csv", table.encode("utf-8"), "text/csv"))
    at.run()
    assert not at.exception
    metrics = {m.label: int(m.value) for m in at.metric}
    assert (metrics["读入"], metrics["接收"], metrics["拒收"]) == (2, 1, 1)
    assert set(at.dataframe[1].value["code"]) == {"unknown_grid_id"}
    assert len(_maps(at)) == 1  # the zone built from G001 and G002, on a map


def test_plan_page_method_and_zone_count_change_the_maps(store):
    at = _open("plan")
    evaluation = at.dataframe[0].value
    assert list(evaluation["PAI"]) == sorted(evaluation["PAI"], reverse=True)
    maps_before = _maps(at)
    assert len(maps_before) == 3  # hotspots, today's zones, proposed zones
    first = at.radio(key="plan_method").value
    assert LABELS[f"method_{first}"][0] == evaluation["方法"].iloc[0]  # best PAI picked first
    other = "gistar" if first != "gistar" else "counts"
    at.radio(key="plan_method").set_value(other).run()
    assert not at.exception
    assert LABELS[f"method_{other}"][0] in at.markdown[0].value  # the map's title
    assert _maps(at)[0]["script"] != maps_before[0]["script"]

    at.number_input(key="plan_k").set_value(3)
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception
    metrics = at.dataframe[1].value
    assert len(metrics) == 3
    downloads = at.get("download_button")
    assert len(downloads) == 3
