"""Effect of a past patrol change: difference in differences finds a planted change."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from grid.effect import change_effect

CHANGE = pd.Timestamp("2026-06-01", tz="Asia/Shanghai")


def synthetic(
    effect: float,
    *,
    seed: int = 0,
    zone_rate: float = 40.0,
    rest_rate: float = 200.0,
    weeks: int = 10,
) -> tuple[pd.DataFrame, pd.Series]:
    """Poisson incidents per day in zone Z1 and in the rest; Z1's rate times (1 + effect) from
    the change date; the whole area 10% busier after it (a season), which DiD must remove."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(
        CHANGE - pd.Timedelta(weeks=weeks),
        CHANGE + pd.Timedelta(weeks=weeks),
        freq="D",
        inclusive="left",
    )
    after = days >= CHANGE
    season = np.where(after, 1.1, 1.0)
    zone_n = rng.poisson(zone_rate * season * np.where(after, 1 + effect, 1.0))
    rest_n = rng.poisson(rest_rate * season)
    rows_time, rows_zone = [], []
    for day, nz, nr in zip(days, zone_n, rest_n, strict=True):
        minutes = rng.integers(0, 24 * 60, nz + nr)
        rows_time.append(day + pd.to_timedelta(minutes, unit="min"))
        rows_zone.append(np.r_[np.full(nz, "Z1"), rng.choice(["Z2", "Z3"], nr)])
    incidents = pd.DataFrame({"reported_at": np.concatenate(rows_time)})
    incidents["reported_at"] = pd.DatetimeIndex(incidents["reported_at"]).tz_convert(
        "Asia/Shanghai"
    )
    zones = pd.Series(np.concatenate(rows_zone), index=incidents.index, dtype="string")
    return incidents, zones


def test_finds_a_planted_twenty_percent_fall() -> None:
    incidents, zones = synthetic(-0.2)
    effect = change_effect(incidents, zones, zone="Z1", date="2026-06-01", weeks=8)
    assert effect.change == pytest.approx(-0.2, abs=0.05)
    assert effect.ci_low < -0.2 < effect.ci_high
    assert effect.p_value < 0.001 and effect.p_value_poisson < 0.001
    # the plain before/after change is smaller: the season lifted everything by 10%
    assert effect.zone_change == pytest.approx(1.1 * 0.8 - 1, abs=0.05)
    assert effect.rest_change == pytest.approx(0.1, abs=0.03)
    assert effect.sentence.startswith(f"incidents in Z1 fell {abs(effect.change):.0%} in 8 weeks")
    assert "in 8 weeks against the rest of the area (p < 0.001)" in effect.sentence
    assert effect.zone_before + effect.zone_after == ((zones == "Z1") & _within(incidents, 8)).sum()
    assert json.loads(json.dumps(effect.to_dict()))["zone"] == "Z1"


def test_no_change_is_not_significant() -> None:
    incidents, zones = synthetic(0.0, seed=1)
    effect = change_effect(incidents, zones, zone="Z1", date=CHANGE, weeks=8)
    assert abs(effect.change) < 0.08
    assert effect.p_value > 0.05
    assert effect.ci_low < 0 < effect.ci_high


def test_windows_past_the_data_and_unknown_zones_are_refused() -> None:
    incidents, zones = synthetic(-0.2, weeks=4)
    with pytest.raises(ValueError, match="use fewer --weeks"):
        change_effect(incidents, zones, zone="Z1", date=CHANGE, weeks=8)
    with pytest.raises(ValueError, match="no incident lies in zone 'Z9'"):
        change_effect(incidents, zones, zone="Z9", date=CHANGE, weeks=4)


def _within(incidents: pd.DataFrame, weeks: int) -> pd.Series:
    span = pd.Timedelta(weeks=weeks)
    times = incidents["reported_at"]
    return (times >= CHANGE - span) & (times < CHANGE + span)
