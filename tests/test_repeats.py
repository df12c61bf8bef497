"""Repeat alarms: the grouping rule on small cases, planted places in the demo, and the real data
of San Francisco and Chicago."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SHARED_DATA
from pyproj import Transformer

from geodata import read_layer
from geodata.demo import make_demo
from incidents.repeats import (
    UNUSUAL_P,
    normalise_addresses,
    repeat_addresses,
    repeat_callers,
    repeat_places,
)

TO_LONLAT = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
ORIGIN = (500_000.0, 3_690_000.0)  # a spot in UTM 51N (Yancheng)


def calls(
    rows: list[tuple[float, float, str]],
    *,
    address: str | list[str] | None = None,
    phone: str | list[str] | None = None,
    tz: str = "Asia/Shanghai",
) -> gpd.GeoDataFrame:
    """Incidents at (east m, north m) from ORIGIN at local times, ids C01, C02..."""
    east, north, when = zip(*rows, strict=True)
    lon, lat = TO_LONLAT.transform(ORIGIN[0] + np.array(east), ORIGIN[1] + np.array(north))
    n = len(rows)
    data = {
        "incident_id": pd.array([f"C{k:02d}" for k in range(1, n + 1)], dtype="string"),
        "reported_at": pd.DatetimeIndex(when).tz_localize(tz),
        "category": pd.array(["纠纷"] * n, dtype="string"),
    }
    if address is not None:
        data["address"] = pd.array(
            [address] * n if isinstance(address, str) else address, dtype="string"
        )
    if phone is not None:
        data["caller_phone"] = pd.array(
            [phone] * n if isinstance(phone, str) else phone, dtype="string"
        )
    return gpd.GeoDataFrame(data, geometry=shapely.points(lon, lat), crs=4326)


def members(groups: pd.DataFrame) -> list[list[str]]:
    return [ids.split(",") for ids in groups["incident_ids"]]


# --- the rule -----------------------------------------------------------------------------------


def test_three_calls_within_30_days_at_one_spot_make_a_group():
    frame = calls(
        [
            (0, 0, "2026-05-01 10:00"),
            (10, 5, "2026-05-12 22:00"),
            (-8, 3, "2026-05-31 09:00"),
            (300, 0, "2026-05-02 10:00"),
        ]
    )
    places = repeat_places(frame)
    assert len(places) == 1
    row = places.iloc[0]
    assert row["incident_ids"] == "C01,C02,C03" and row["incidents"] == 3 and row["rank"] == 1
    assert row["place_id"] == "P0001" and row["categories"] == "纠纷×3"
    assert row["first_at"] == pd.Timestamp("2026-05-01 10:00", tz="Asia/Shanghai")
    assert row["last_at"] == pd.Timestamp("2026-05-31 09:00", tz="Asia/Shanghai")
    assert row["days"] == pytest.approx(29 + 23 / 24)
    # The centre is the members' mean position, in EPSG:4326.
    lon, lat = TO_LONLAT.transform(ORIGIN[0] + 2 / 3, ORIGIN[1] + 8 / 3)
    assert places.crs == "EPSG:4326"
    assert row.geometry.x == pytest.approx(lon, abs=1e-8)
    assert row.geometry.y == pytest.approx(lat, abs=1e-8)
    assert row["points"] == 3 and row["radius_m"] == pytest.approx(9.6, abs=0.05)


def test_the_window_is_days_long_and_includes_its_end():
    on_time = calls(
        [(0, 0, "2026-05-01 10:00"), (0, 0, "2026-05-15 10:00"), (0, 0, "2026-05-31 10:00")]
    )
    late = calls(
        [(0, 0, "2026-05-01 10:00"), (0, 0, "2026-05-15 10:00"), (0, 0, "2026-05-31 10:00:01")]
    )
    assert len(repeat_places(on_time)) == 1
    assert len(repeat_places(late)) == 0
    assert len(repeat_places(late, days=31)) == 1
    assert len(repeat_places(on_time, min_count=4)) == 0


def test_windows_that_share_calls_chain_into_one_group_and_others_split():
    frame = calls(
        [
            (0, 0, "2026-01-01"),
            (0, 0, "2026-01-10"),
            (0, 0, "2026-01-20"),
            (0, 0, "2026-02-15"),
            (0, 0, "2026-02-18"),  # a window 01-20..02-18 bridges
            (0, 0, "2026-06-01"),
            (0, 0, "2026-06-02"),  # alone: only 2 calls
            (0, 0, "2026-09-01"),
            (0, 0, "2026-09-02"),
            (0, 0, "2026-09-03"),
        ]
    )
    places = repeat_places(frame)
    assert members(places) == [["C01", "C02", "C03", "C04", "C05"], ["C08", "C09", "C10"]]
    assert places["rank"].tolist() == [1, 2]


def test_the_result_does_not_depend_on_the_input_order():
    demo = make_demo("community", 3)["incidents"]
    shuffled = demo.sample(frac=1.0, random_state=1)
    a, b = repeat_places(demo), repeat_places(shuffled)
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


def test_places_are_disks_around_the_densest_call_not_chains():
    # Calls every 40 m along a street, all within 30 days: a chain would join them all.
    frame = calls([(40.0 * k, 0, f"2026-05-{k + 1:02d}") for k in range(10)])
    places = repeat_places(frame, radius_m=50)
    assert (places["radius_m"] <= 50).all()
    assert sum(len(m) for m in members(places)) <= 10
    assert len({i for m in members(places) for i in m}) == sum(len(m) for m in members(places))


def test_same_address_keeps_neighbouring_flats_apart_unless_asked():
    frame = calls(
        [(0, 0, "2026-05-01"), (5, 0, "2026-05-02"), (3, 3, "2026-05-03")],
        address=["万户新村12幢101室", "万户新村12幢502室", "万户新村12幢302室"],
    )
    assert len(repeat_places(frame)) == 0
    assert len(repeat_places(frame, same_address=False)) == 1
    spelt = calls(
        [(0, 0, "2026-05-01"), (5, 0, "2026-05-02"), (3, 3, "2026-05-03")],
        address=["万户新村12幢101室", "万户新村 12栋101室", "万户新村十二号楼101室"],
    )
    assert len(repeat_places(spelt)) == 1


def test_dates_only_count_calendar_days_even_across_daylight_saving():
    # San Francisco gives dates only: midnights. 2012-11-04 the clocks went back an hour, so
    # 10-20 to 11-19 is 30 days and 1 hour of real time, but 30 calendar days.
    frame = calls(
        [(0, 0, "2012-10-20"), (0, 0, "2012-11-01"), (0, 0, "2012-11-19")], tz="America/Los_Angeles"
    )
    places = repeat_places(frame)
    assert len(places) == 1 and places.iloc[0]["days"] == 30.0
    assert len(repeat_places(frame, days=29)) == 0


def test_normalised_addresses():
    raw = pd.Series(
        [
            "万户新村 １２栋3单元502室",
            "万户新村十二号楼３单元五〇二室",
            "万户新村12幢3单元502室。",
            "建军二路15号",
            "  ",
            None,
            "800 Block of BRYANT ST",
            "800 BLOCK OF BRYANT ST",
            "盐渎路88-1号",
        ]
    )
    got = normalise_addresses(raw).tolist()
    assert got[:3] == ["万户新村12幢3单元502室"] * 3
    assert got[3] == "建军二路15号"  # 二 names the road, it is not a number
    assert pd.isna(got[4]) and pd.isna(got[5])
    assert got[6] == got[7] == "800BLOCKOFBRYANTST"
    assert got[8] == "盐渎路88-1号"


def test_repeat_addresses_and_callers_on_small_cases():
    frame = calls(
        [(0, 0, "2026-05-01"), (900, 0, "2026-05-02"), (0, 700, "2026-05-03")],
        address=["解放路66号", "解放路 66号", "解放路６６号"],
        phone=["13812341234", "+86 138-1234-1234", "13812341234"],
    )
    addresses = repeat_addresses(frame)
    assert len(addresses) == 1 and addresses.iloc[0]["address_key"] == "解放路66号"
    assert addresses.iloc[0]["place_id"] == "A0001"
    assert addresses.iloc[0]["callers"] == 1 and addresses.iloc[0]["returning_callers"] == 1
    callers = repeat_callers(frame)
    assert len(callers) == 1 and callers.iloc[0]["caller_masked"] == "138****1234"
    assert callers.iloc[0]["place_id"] == "C0001"
    assert len(callers.iloc[0]["caller_hash"]) == 16
    # The number itself appears nowhere in the result.
    text = callers.astype(str).to_string()
    assert "13812341234" not in text and "1234-1234" not in text
    assert "caller_phone" not in callers.columns


def test_no_groups_gives_an_empty_result_with_the_columns():
    frame = calls([(0, 0, "2026-05-01"), (0, 0, "2026-07-01")], address="解放路66号")
    places = repeat_places(frame)
    assert len(places) == 0 and isinstance(places, gpd.GeoDataFrame)
    assert {"place_id", "rank", "incidents", "incident_ids", "p_value"} <= set(places.columns)
    assert len(repeat_addresses(frame)) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"radius_m": 0}, "radius_m must be a positive number"),
        ({"days": -1}, "days must be a positive number"),
        ({"min_count": 1}, "min_count must be a whole number of at least 2"),
        ({"min_count": 2.5}, "min_count must be a whole number"),
    ],
)
def test_bad_options_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        repeat_places(calls([(0, 0, "2026-05-01")]), **change)


def test_bad_columns_are_named():
    frame = calls([(0, 0, "2026-05-01")])
    with pytest.raises(ValueError, match="no 'reported_at' column"):
        repeat_places(frame.drop(columns="reported_at"))
    naive = frame.assign(reported_at=frame["reported_at"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="time-zone-aware"):
        repeat_places(naive)
    with pytest.raises(ValueError, match="no address column"):
        repeat_addresses(frame)
    with pytest.raises(ValueError, match="no caller_phone column"):
        repeat_callers(frame)


# --- the demo: planted repeat places --------------------------------------------------------------


def score(groups: pd.DataFrame, truth: gpd.GeoDataFrame) -> tuple[int, int, int]:
    """Planted places found, groups matching one, and false groups.

    A group and a planted place match when each holds at least half of the other's incidents. A
    group matching none is false unless at least half of its incidents belong to a cluster the
    truth lists (a planted hotspot, or a key site the background gathers calls around: a bar
    with fights every week *is* a place called again and again); those are neither credited nor
    charged.
    """
    planted = [
        set(s.split(",")) for s in truth.loc[truth["kind"] == "repeat_place", "incident_ids"]
    ]
    clusters = set(",".join(truth.loc[truth["kind"] != "repeat_place", "incident_ids"]).split(","))
    found = [set(s.split(",")) for s in groups["incident_ids"]]

    def match(p: set[str], g: set[str]) -> bool:
        common = len(p & g)
        return common >= len(p) / 2 and common >= len(g) / 2

    hits = sum(any(match(p, g) for g in found) for p in planted)
    true = sum(any(match(p, g) for p in planted) for g in found)
    at_clusters = sum(
        not any(match(p, g) for p in planted) and len(g & clusters) >= len(g) / 2 for g in found
    )
    return hits, true, len(found) - true - at_clusters


def ten_demo_scores(**options) -> tuple[int, int, int, int]:
    """Planted places, found, true groups and false groups of the unusual groups (or, with
    options, of the groups those options keep) over the demo communities of seeds 0-9."""
    planted = found = true = false = 0
    for seed in range(10):
        demo = make_demo("community", seed)
        places = repeat_places(demo["incidents"], **options)
        if not options:
            places = places[places["unusual"]]
        hits, good, bad = score(places, demo["demo_truth"])
        planted += int((demo["demo_truth"]["kind"] == "repeat_place").sum())
        found, true, false = found + hits, true + good, false + bad
    return planted, found, true, false


def test_planted_repeat_places_are_unusual_with_precision_and_recall_over_0_9():
    planted, found, true, false = ten_demo_scores()
    assert planted == 80
    assert found / planted >= 0.9  # 79 of 80
    assert true / (true + false) >= 0.9  # 4 false groups against 79 true
    assert (found, false) == (79, 4)


def test_returning_callers_alone_find_nearly_every_planted_place_and_nothing_else():
    planted, found, true, false = ten_demo_scores(returning_caller=True)
    assert (planted, found, false) == (80, 79, 0)
    # The p-value alone misses the places called only three times: 74 found, 4 false.
    assert ten_demo_scores(max_p=UNUSUAL_P)[1:] == (74, 74, 4)


def test_seed_0_in_detail():
    demo = make_demo("community", 0)
    truth = demo["demo_truth"]
    truth = truth[truth["kind"] == "repeat_place"]
    plain = repeat_places(demo["incidents"])
    # The plain rule finds every planted place among 61 groups: 46 at the hotspots and busy key
    # sites, and 7 chance groups of strangers at busy street numbers. Of the 15 unusual groups,
    # 8 are the planted places, 6 are at clusters, 1 is chance.
    assert len(plain) == 61
    assert score(plain, demo["demo_truth"]) == (8, 8, 7)
    unusual = plain["unusual"]
    assert unusual.sum() == 15
    assert score(plain[unusual], demo["demo_truth"]) == (8, 8, 1)
    assert (unusual == (plain["p_value"] <= UNUSUAL_P) | (plain["returning_callers"] >= 1)).all()
    confirmed = repeat_places(demo["incidents"], returning_caller=True)
    assert len(confirmed) == 8 and (confirmed["returning_callers"] >= 1).all()
    # Each found place sits on its planted spot (planted within 15 m).
    spots = truth.to_crs(32651).geometry
    centres = confirmed.to_crs(32651).geometry
    assert (centres.apply(lambda c: spots.distance(c).min()) < 15).all()
    # Address variants of one flat (栋/幢, full-width digits, spaces) are one place.
    variants = (
        demo["incidents"]
        .set_index("incident_id")
        .loc[confirmed.iloc[0]["incident_ids"].split(","), "address"]
    )
    assert variants.nunique() >= 2
    assert normalise_addresses(variants).nunique() == 1


def test_background_alone_makes_few_groups_and_one_unusual():
    background = make_demo("community", 0, planted=False)
    places = repeat_places(background["incidents"])
    assert len(places) == 9  # 3 at the busy key sites, 6 chance groups
    assert score(places, background["demo_truth"]) == (0, 0, 6)
    assert places["unusual"].sum() == 1
    assert len(repeat_places(background["incidents"], returning_caller=True)) == 0
    assert len(repeat_places(background["incidents"], max_p=UNUSUAL_P)) == 1


# --- real data ----------------------------------------------------------------------------------

real = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data not beside")


@pytest.fixture(scope="module")
def san_francisco() -> gpd.GeoDataFrame:
    layer, _ = read_layer(
        SHARED_DATA / "sf_2012h2_incidents.csv", "incidents", timezone="America/Los_Angeles"
    )
    return layer


@real
def test_san_francisco_default_location_stands_out_and_can_be_left_out(san_francisco):
    places = repeat_places(san_francisco)
    top = places.iloc[0]
    # The Hall of Justice: the records system's default location, all period long, on 2 points.
    assert top["address"] == "800 Block of BRYANT ST"
    assert top["incidents"] == 212 and top["points"] == 2
    assert top["days"] == 182.0  # 2012-07-02 to 2012-12-31: the whole half year
    assert top["p_value"] > 0.3  # steady: no burst, just a place everything is put on
    assert top["incidents"] > 4 * places.iloc[1]["incidents"]
    assert len(places) == 272
    assert repeat_addresses(san_francisco).iloc[0][["address", "incidents"]].tolist() == [
        "800 Block of BRYANT ST",
        215,
    ]
    without = repeat_places(san_francisco, exclude_addresses=["800 block of Bryant St"])
    assert "800 Block of BRYANT ST" not in set(without["address"])
    assert without.iloc[0]["address"] == "100 Block of LEAVENWORTH ST"
    assert without.iloc[0]["incidents"] == 44


@real
def test_chicago_carjackings_have_one_spot_hit_seven_times_in_three_weeks():
    layer, _ = read_layer(
        SHARED_DATA / "chicago_carjackings_2020.csv", "incidents", timezone="America/Chicago"
    )
    places = repeat_places(layer)  # no addresses in this file: distance alone
    assert len(places) == 8 and places["incidents"].sum() == 29
    top = places.iloc[0]
    assert top["incident_ids"] == ("12095583,12100372,12108193,12110299,12111424,12113629,12114884")
    assert top["first_at"] == pd.Timestamp("2020-07-03 17:57", tz="America/Chicago")
    assert top["radius_m"] < 12 and top["p_value"] < 1e-4
    assert top.geometry.x == pytest.approx(-87.70793, abs=1e-4)
    assert top.geometry.y == pytest.approx(41.86034, abs=1e-4)
    beats = layer.set_index("incident_id").loc[top["incident_ids"].split(","), "beat"]
    assert set(beats.astype(str)) == {"1021", "1022"}


def test_places_need_points_with_a_crs_and_one_excluded_address_may_be_a_string():
    frame = calls(
        [(0, 0, "2026-05-01"), (0, 0, "2026-05-02"), (0, 0, "2026-05-03")], address="解放路66号"
    )
    with pytest.raises(ValueError, match="with a coordinate system"):
        repeat_places(frame.set_crs(None, allow_override=True))
    with pytest.raises(ValueError, match="must be points"):
        repeat_places(frame.set_geometry(shapely.buffer(frame.geometry.array, 0.0001)))
    assert len(repeat_places(frame, exclude_addresses="解放路 66号")) == 0
