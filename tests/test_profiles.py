"""Time profiles: hour × weekday counts, peak hours, night shares and market days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata.demo import make_demo
from incidents.profiles import (
    WEEKDAYS,
    hour_weekday_profile,
    market_day_rates,
    night_share,
    peak_hours,
    window_sums,
)


def at(*times: str, tz: str = "Asia/Shanghai", **columns: list) -> pd.DataFrame:
    return pd.DataFrame({"reported_at": pd.DatetimeIndex(times).tz_localize(tz), **columns})


@pytest.fixture(scope="module")
def demo_incidents() -> pd.DataFrame:
    return make_demo("community", 0)["incidents"]


def test_hour_weekday_counts_on_the_local_clock():
    # 2026-11-02 is a Monday. 23:30 in Beijing is 15:30 UTC: the local hour counts.
    frame = at("2026-11-02 23:30", "2026-11-02 23:59", "2026-11-08 00:10", "2026-11-04 12:00")
    profile = hour_weekday_profile(frame)
    assert profile.shape == (24, 7) and list(profile.columns) == list(WEEKDAYS)
    assert profile.index.name == "hour" and (profile.dtypes == np.int64).all()
    assert profile.loc[23, "Mon"] == 2 and profile.loc[0, "Sun"] == 1
    assert profile.loc[12, "Wed"] == 1 and profile.to_numpy().sum() == 4
    utc = frame.assign(reported_at=frame["reported_at"].dt.tz_convert("UTC"))
    assert hour_weekday_profile(utc).loc[15, "Mon"] == 2  # the clock of the times given


def test_profile_by_column_keeps_every_value_with_zeros():
    frame = at(
        "2026-11-02 08:00",
        "2026-11-02 08:30",
        "2026-11-03 22:00",
        "2026-11-03 22:00",
        grid_id=["G002", "G001", "G001", None],
    )
    profile = hour_weekday_profile(frame, by="grid_id")
    assert profile.index.names == ["grid_id", "hour"] and len(profile) == 48
    assert profile.loc[("G001", 8), "Mon"] == 1 and profile.loc[("G001", 22), "Tue"] == 1
    assert profile.loc["G002"].to_numpy().sum() == 1
    assert profile.to_numpy().sum() == 3  # the one without a grid is left out


def test_demo_night_peaks_at_bars_and_thefts_on_market_days(demo_incidents):
    total = hour_weekday_profile(demo_incidents)
    assert total.to_numpy().sum() == len(demo_incidents)
    # Calls are fewest at 03:00-06:00 and most in the evening, as the demo's rhythm says.
    by_hour = total.sum(axis=1)
    assert by_hour.loc[3:5].max() < by_hour.loc[18:21].min()
    peaks = peak_hours(demo_incidents, hours=5, by="category")
    assert peaks.loc["醉酒滋事", ["start_hour", "end_hour"]].tolist() == [22, 3]
    assert peaks.loc["打架斗殴", ["start_hour", "end_hour"]].tolist() == [22, 3]
    nights = night_share(demo_incidents, by="category")
    assert nights.loc["醉酒滋事", "lift"] > 2 and nights.loc["走失", "lift"] < 1
    assert nights["at_night"].sum() == night_share(demo_incidents)["at_night"].iloc[0]
    market = market_day_rates(demo_incidents, by="category")
    assert (market["market_days"] + market["other_days"] == 366).all()
    assert market.loc["盗窃", "ratio"] > 1.2  # thefts at the market on 逢二逢七 days


def test_peak_hours_window_wraps_midnight_and_ties_go_early():
    frame = at("2026-11-02 23:00", "2026-11-03 00:30", "2026-11-03 01:10", "2026-11-03 12:00")
    peak = peak_hours(frame, hours=3).iloc[0]
    assert (peak["start_hour"], peak["end_hour"], peak["incidents"]) == (23, 2, 3)
    assert peak["share"] == 0.75 and peak["lift"] == pytest.approx(0.75 / (3 / 24))
    flat = at(*[f"2026-11-02 {h:02d}:00" for h in range(24)])
    assert peak_hours(flat, hours=2).iloc[0]["start_hour"] == 0


def test_market_days_work_on_dates_only():
    frame = at("2026-11-02", "2026-11-02", "2026-11-07", "2026-11-03", tz="America/Los_Angeles")
    rates = market_day_rates(frame).iloc[0]
    # 11-02..11-07: market days the 2nd and 7th, other days the 3rd to 6th.
    assert (rates["market_days"], rates["other_days"]) == (2, 4)
    assert rates["per_market_day"] == 1.5 and rates["per_other_day"] == 0.25
    assert rates["ratio"] == 6.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: hour_weekday_profile(f.drop(columns="reported_at")), "no 'reported_at'"),
        (lambda f: hour_weekday_profile(f, by="zone_id"), "no column 'zone_id'"),
        (lambda f: peak_hours(f, hours=0), "hours must be a whole number from 1 to 24"),
        (lambda f: night_share(f, night=(3, 3)), "night must be two different hours"),
        (lambda f: market_day_rates(f, market_days=[12]), "market_days must be last digits"),
        (
            lambda f: hour_weekday_profile(
                f.assign(reported_at=f["reported_at"].dt.tz_localize(None))
            ),
            "time-zone-aware",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(at("2026-11-02 08:00", "2026-11-03 09:00"))


def test_dates_only_have_no_hours_to_profile():
    with pytest.raises(ValueError, match="dates only"):
        hour_weekday_profile(at("2012-07-01", "2012-07-02", tz="America/Los_Angeles"))


def test_window_sums_wrap_past_midnight_for_one_or_many_places():
    hourly = np.arange(24, dtype=float)
    sums = window_sums(hourly, 5)
    assert sums[0] == 0 + 1 + 2 + 3 + 4
    assert sums[22] == 22 + 23 + 0 + 1 + 2  # 22:00-03:00
    places = np.random.default_rng(0).poisson(3.0, (7, 24))
    brute = [[sum(row[(s + t) % 24] for t in range(3)) for s in range(24)] for row in places]
    np.testing.assert_array_equal(window_sums(places, 3), brute)
    assert window_sums(hourly, 24).tolist() == [hourly.sum()] * 24
    with pytest.raises(ValueError, match="24 hourly counts"):
        window_sums(np.ones(23), 5)
