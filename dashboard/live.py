"""The wall's clock and headline figures: live time or a replay that plays stored incidents
forward, and the counts shown in big type (last 24 h, the same hours last week)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

WINDOW = pd.Timedelta(hours=24)
WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class WallFigures:
    """The wall's headline figures at one moment."""

    now: pd.Timestamp
    last_24h: int
    same_hours_last_week: int
    repeat_places: int | None  # None while the repeat-alarm analysis is not available

    @property
    def change(self) -> float | None:
        """Relative change of the last 24 h against the same hours last week (None if 0)."""
        if not self.same_hours_last_week:
            return None
        return self.last_24h / self.same_hours_last_week - 1.0


def count_between(times: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Return how many times fall in ``(start, end]``."""
    return int(((times > start) & (times <= end)).sum())


def wall_figures(
    incidents: gpd.GeoDataFrame, now: pd.Timestamp, *, repeat_places: int | None
) -> WallFigures:
    """Count the last 24 h before ``now`` and the same 24 h a week earlier."""
    times = incidents["reported_at"]
    return WallFigures(
        now=now,
        last_24h=count_between(times, now - WINDOW, now),
        same_hours_last_week=count_between(times, now - WEEK - WINDOW, now - WEEK),
        repeat_places=repeat_places,
    )


def replay_time(
    start: pd.Timestamp, end: pd.Timestamp, *, elapsed_s: float, minutes_per_second: float
) -> pd.Timestamp:
    """Return the replay clock after ``elapsed_s`` real seconds, looping from ``start`` back to
    ``start`` once it passes ``end``."""
    span = (end - start).total_seconds()
    if span <= 0:
        return end
    played = (elapsed_s * minutes_per_second * 60.0) % span
    return start + pd.Timedelta(seconds=played)


def format_change(change: float | None) -> str:
    """Return a change as ``+12%``, ``-5%`` or ``–`` when there is nothing to compare."""
    return "–" if change is None else f"{change:+.0%}"
