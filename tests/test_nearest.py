"""Nearest responders to an incident, in metres."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geodata.demo import make_demo
from incidents.nearest import nearest_responders

TO_LONLAT = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
ORIGIN = (500_000.0, 3_690_000.0)


def lonlat(east: float, north: float) -> shapely.Point:
    return shapely.Point(TO_LONLAT.transform(ORIGIN[0] + east, ORIGIN[1] + north))


@pytest.fixture
def responders() -> gpd.GeoDataFrame:
    places = [(300, 0), (0, 100), (-100, 0), (0, -40), (30, 40)]
    return gpd.GeoDataFrame(
        {
            "responder_id": ["R1", "R2", "R3", "R4", "R5"],
            "kind": ["police", "auxiliary", "volunteer", "police", "volunteer"],
            "name": ["王伟", "李娜", "张敏", "刘洋", "陈静"],
            "radio": ["CH01", "CH02", "CH05", "CH01", "CH06"],
            "on_duty": pd.array([True, True, True, False, None], dtype="boolean"),
        },
        geometry=[lonlat(*p) for p in places],
        crs=4326,
    )


def test_nearest_on_duty_in_metres(responders):
    got = nearest_responders(lonlat(0, 0), responders, k=3)
    assert list(got.columns) == ["responder_id", "name", "kind", "radio", "distance_m"]
    assert got["responder_id"].tolist() == ["R2", "R3", "R1"]  # R4 off duty, R5 unknown
    np.testing.assert_allclose(got["distance_m"], [100, 100, 300], atol=0.2)
    assert got.loc[0, "name"] == "李娜" and got.loc[0, "radio"] == "CH02"


def test_ties_keep_the_layers_order_and_off_duty_can_be_included(responders):
    everyone = nearest_responders(lonlat(0, 0), responders, k=10, on_duty_only=False)
    assert everyone["responder_id"].tolist() == ["R4", "R5", "R2", "R3", "R1"]
    np.testing.assert_allclose(everyone["distance_m"], [40, 50, 100, 100, 300], atol=0.2)
    assert everyone["distance_m"].is_monotonic_increasing


def test_several_incidents_get_their_own_rows(responders):
    incidents = gpd.GeoDataFrame(
        {"incident_id": ["J1", "J2"]}, geometry=[lonlat(0, 0), lonlat(290, 0)], crs=4326
    )
    got = nearest_responders(incidents, responders, k=2)
    assert got["incident_id"].tolist() == ["J1", "J1", "J2", "J2"]
    assert got["responder_id"].tolist() == ["R2", "R3", "R1", "R2"]
    one = nearest_responders(incidents.head(1), responders, k=2)
    assert "incident_id" not in one.columns and one["responder_id"].tolist() == ["R2", "R3"]


def test_demo_newest_incident_matches_a_brute_force_distance():
    demo = make_demo("community", 0)
    newest = demo["incidents"].tail(1)
    got = nearest_responders(newest, demo["responders"], k=3)
    on_duty = demo["responders"][demo["responders"]["on_duty"]].to_crs(32651)
    here = newest.to_crs(32651).geometry.iloc[0]
    expect = on_duty.distance(here).sort_values().head(3)
    assert got["responder_id"].tolist() == on_duty.loc[expect.index, "responder_id"].tolist()
    np.testing.assert_allclose(got["distance_m"], expect.to_numpy(), atol=0.06)
    assert "last_seen" in got.columns


def test_nobody_on_duty_gives_an_empty_table(responders):
    off = responders.assign(on_duty=False)
    got = nearest_responders(lonlat(0, 0), off)
    assert len(got) == 0 and "distance_m" in got.columns


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: nearest_responders(lonlat(0, 0), r, k=0), "k must be a whole number"),
        (lambda r: nearest_responders(shapely.box(0, 0, 1, 1), r), "must be a point"),
        (lambda r: nearest_responders("here", r), "must be a shapely Point"),
        (
            lambda r: nearest_responders(lonlat(0, 0), r.drop(columns="on_duty")),
            "no 'on_duty' column",
        ),
        (
            lambda r: nearest_responders(lonlat(0, 0), r.set_crs(None, allow_override=True)),
            "no coordinate system",
        ),
    ],
)
def test_bad_input_is_named(responders, call, message):
    with pytest.raises(ValueError, match=message):
        call(responders)
