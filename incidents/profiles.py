"""When incidents happen: hour-of-day × weekday counts, the busiest hours (night peaks at bars,
the 22:00-03:00 patrol window) and market days (逢二逢七), per cell, zone or category."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "WEEKDAYS",
    "hour_weekday_profile",
    "market_day_rates",
    "night_share",
    "peak_hours",
    "window_sums",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NIGHT = (22, 3)  # the night patrol window of the seeds: 22:00 to 03:00
MARKET_DAYS = (2, 7)  # 逢二逢七: days of the month ending in 2 or 7
_NO_DAY = np.iinfo(np.int64).min


def hour_weekday_profile(incidents: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """
    Count incidents by hour of day and weekday, on the local clock of their times.

    Parameters
    ----------
    incidents
        With ``reported_at`` (time-zone aware).
    by
        A column to profile each value of separately (``grid_id``, ``zone_id``, ``category``);
        incidents with no value there are left out.

    Returns
    -------
    pandas.DataFrame
        int64 counts, zeros included: 24 rows (``hour`` 0-23) by 7 columns (``Mon`` … ``Sun``);
        with ``by``, 24 rows per value under a (value, ``hour``) index, values in sorted order.

    Raises
    ------
    ValueError
        If ``reported_at`` or ``by`` is missing, or every time is midnight (dates only, as in
        San Francisco's data: there is no hour to count).
    """
    hour, weekday, _ = _clock(incidents)
    if by is None:
        counts = np.bincount(hour * 7 + weekday, minlength=24 * 7).reshape(24, 7)
        return pd.DataFrame(
            counts.astype(np.int64), index=pd.RangeIndex(24, name="hour"), columns=list(WEEKDAYS)
        )
    codes, values = _groups(incidents, by)
    ok = codes >= 0
    flat = (codes[ok] * 24 + hour[ok]) * 7 + weekday[ok]
    counts = np.bincount(flat, minlength=len(values) * 24 * 7).reshape(len(values) * 24, 7)
    index = pd.MultiIndex.from_product([values, range(24)], names=[by, "hour"])
    return pd.DataFrame(counts.astype(np.int64), index=index, columns=list(WEEKDAYS))


def peak_hours(incidents: pd.DataFrame, *, hours: int = 5, by: str | None = None) -> pd.DataFrame:
    """
    Find the run of ``hours`` consecutive hours (across midnight too) holding the most incidents.

    Returns
    -------
    pandas.DataFrame
        One row (per value of ``by``): ``start_hour``, ``end_hour`` (exclusive, so 22 → 3 is
        22:00-03:00), ``incidents`` in the window, ``share`` of all, and ``lift``: the share
        divided by the share the window would hold if calls were even over the day. Ties go to
        the earliest start hour.
    """
    if isinstance(hours, bool) or int(hours) != hours or not 1 <= hours <= 24:
        raise ValueError(f"hours must be a whole number from 1 to 24, not {hours!r}")
    by_hour = _by_hour(incidents, by)
    sums = window_sums(by_hour, hours)
    start = sums.argmax(axis=1)
    best = sums[np.arange(len(sums)), start]
    total = by_hour.sum(axis=1)
    share = np.divide(best, total, out=np.zeros(len(total)), where=total > 0)
    out = pd.DataFrame(
        {
            "start_hour": start.astype(np.int64),
            "end_hour": ((start + hours) % 24).astype(np.int64),
            "incidents": best.astype(np.int64),
            "share": share,
            "lift": share / (hours / 24),
        }
    )
    return _index(out, incidents, by)


def window_sums(hourly: np.ndarray, hours: int) -> np.ndarray:
    """
    Incidents in each run of ``hours`` consecutive hours starting at 0:00 … 23:00, wrapping past
    midnight (the run starting at 22 with ``hours=5`` is 22:00-03:00).

    Parameters
    ----------
    hourly
        Counts per hour of day, 24 of them, or one row of 24 per place (places × 24).

    Returns
    -------
    numpy.ndarray
        The same shape as ``hourly``: column ``s`` holds the run starting at hour ``s``.
    """
    counts = np.asarray(hourly, dtype=float)
    if counts.shape[-1] != 24 or not 1 <= hours <= 24:
        raise ValueError("window sums need 24 hourly counts per row and 1 to 24 hours")
    ring = np.concatenate([counts, counts[..., : hours - 1]], axis=-1)
    pad = [(0, 0)] * (ring.ndim - 1) + [(1, 0)]
    window = np.cumsum(np.pad(ring, pad), axis=-1)
    return window[..., hours : hours + 24] - window[..., :24]


def night_share(
    incidents: pd.DataFrame, *, night: tuple[int, int] = NIGHT, by: str | None = None
) -> pd.DataFrame:
    """
    Share of incidents in the night window (default 22:00-03:00), against its share of the day.

    Returns
    -------
    pandas.DataFrame
        ``incidents``, ``at_night``, ``share`` and ``lift`` (share ÷ hours in window / 24; above 1
        means a night peak), one row or one per value of ``by``.
    """
    start, end = night
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise ValueError(f"night must be two different hours 0-23 (start, end), not {night!r}")
    by_hour = _by_hour(incidents, by)
    in_window = (
        (np.arange(24) >= start) | (np.arange(24) < end)
        if start > end
        else (np.arange(24) >= start) & (np.arange(24) < end)
    )
    at_night = by_hour[:, in_window].sum(axis=1)
    total = by_hour.sum(axis=1)
    share = np.divide(at_night, total, out=np.zeros(len(total)), where=total > 0)
    out = pd.DataFrame(
        {
            "incidents": total.astype(np.int64),
            "at_night": at_night.astype(np.int64),
            "share": share,
            "lift": share / (in_window.sum() / 24),
        }
    )
    return _index(out, incidents, by)


def market_day_rates(
    incidents: pd.DataFrame, *, market_days: Sequence[int] = MARKET_DAYS, by: str | None = None
) -> pd.DataFrame:
    """
    Incidents per day on market days against other days.

    Parameters
    ----------
    market_days
        Last digits of market days in the month (逢二逢七: 2 and 7, so the 2nd, 7th, 12th, …).
        Days counted are the calendar days from the first to the last incident, all of them.

    Returns
    -------
    pandas.DataFrame
        ``market_days``, ``other_days`` (how many of each in the period), ``per_market_day``,
        ``per_other_day`` and ``ratio`` (NaN where there is no other day), one row or one per
        value of ``by``. Works with dates only.
    """
    digits = set(market_days)
    if not digits or not digits <= set(range(10)):
        raise ValueError(f"market_days must be last digits 0-9 of days, not {market_days!r}")
    _, _, day = _clock(incidents, need_hours=False)
    present = day != _NO_DAY
    first, last = day[present].min(), day[present].max()
    calendar = pd.date_range(pd.Timestamp(first, unit="D"), pd.Timestamp(last, unit="D"), freq="D")
    is_market_day = np.isin(calendar.day % 10, list(digits))
    on_market = present & np.isin(
        pd.DatetimeIndex(np.where(present, day, first).astype("datetime64[D]")).day % 10,
        list(digits),
    )
    if by is None:
        codes, n_groups = np.zeros(len(day), dtype=np.int64), 1
    else:
        codes, values = _groups(incidents, by)
        n_groups = len(values)
    ok = codes >= 0
    market = np.bincount(codes[ok & on_market], minlength=n_groups)
    other = np.bincount(codes[ok & present & ~on_market], minlength=n_groups)
    n_market, n_other = int(is_market_day.sum()), int((~is_market_day).sum())
    per_market = market / max(n_market, 1)
    per_other = other / n_other if n_other else np.full(n_groups, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(per_other > 0, per_market / per_other, np.nan)
    out = pd.DataFrame(
        {
            "market_days": n_market,
            "other_days": n_other,
            "per_market_day": per_market,
            "per_other_day": per_other,
            "ratio": ratio,
        },
        index=range(n_groups),
    )
    return _index(out, incidents, by)


def _clock(
    incidents: pd.DataFrame, *, need_hours: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hour, weekday (Mon = 0) and day number (days since 1970) of each incident, local time."""
    if "reported_at" not in incidents.columns:
        raise ValueError(
            "the incidents have no 'reported_at' column; load them with "
            "geodata.read_layer(..., 'incidents')"
        )
    times = incidents["reported_at"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise ValueError(
            "reported_at must hold time-zone-aware times; load the incidents with "
            "geodata.read_layer(..., 'incidents')"
        )
    wall = times.dt.tz_localize(None).dropna().astype("datetime64[ms]").to_numpy()
    if len(wall) == 0:
        raise ValueError("the incidents hold no times to profile")
    ms = wall.astype(np.int64)
    day = np.floor_divide(ms, 86_400_000)
    of_day = ms - day * 86_400_000
    if need_hours and not of_day.any():
        raise ValueError(
            "reported_at holds dates only (every time is midnight); an hour profile "
            "needs times of day"
        )
    hour = (of_day // 3_600_000).astype(np.int64)
    weekday = ((day + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    if len(wall) < len(times):
        full = np.full(len(times), -1, dtype=np.int64)
        present = times.notna().to_numpy()
        hour = _spread(hour, present, full)
        weekday = _spread(weekday, present, full)
        day = _spread(day, present, np.full(len(times), _NO_DAY, dtype=np.int64))
    return hour, weekday, day


def _spread(values: np.ndarray, present: np.ndarray, full: np.ndarray) -> np.ndarray:
    out = full.copy()
    out[present] = values
    return out


def _groups(incidents: pd.DataFrame, by: str) -> tuple[np.ndarray, list]:
    if by not in incidents.columns:
        raise ValueError(
            f"the incidents have no column {by!r} to profile by; their columns are "
            f"{', '.join(map(str, incidents.columns))}"
        )
    codes, values = pd.factorize(incidents[by], sort=True, use_na_sentinel=True)
    codes = np.where(incidents["reported_at"].isna().to_numpy(), -1, codes)
    return codes.astype(np.int64), list(values)


def _by_hour(incidents: pd.DataFrame, by: str | None) -> np.ndarray:
    """Counts per hour (rows: one, or one per value of ``by``)."""
    hour, _, _ = _clock(incidents)
    if by is None:
        return np.bincount(hour[hour >= 0], minlength=24)[None, :]
    codes, values = _groups(incidents, by)
    ok = codes >= 0
    return np.bincount(codes[ok] * 24 + hour[ok], minlength=len(values) * 24).reshape(-1, 24)


def _index(out: pd.DataFrame, incidents: pd.DataFrame, by: str | None) -> pd.DataFrame:
    if by is None:
        return out.reset_index(drop=True)
    _, values = _groups(incidents, by)
    out.index = pd.Index(values, name=by)
    return out
