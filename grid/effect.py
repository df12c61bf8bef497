"""Effect of a past patrol change: incidents in a zone in equal windows before and after the change
date, against the rest of the area (difference in differences), with a significance test."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from geodata.schemas import DEFAULT_TIMEZONE

__all__ = ["ChangeEffect", "change_effect"]


@dataclass(frozen=True)
class ChangeEffect:
    """Incidents before and after a change in a zone and in the rest of the area.

    ``change`` is the difference in differences as a relative change: the zone's after/before
    ratio over the rest's, less one (-0.2: the zone fell 20% more than the rest). ``p_value``
    tests no change with the weekly counts (Welch's t-test on the weekly log share of the
    zone, robust to week-to-week swings); ``p_value_poisson`` is the exact conditional test
    of the four totals, which assumes Poisson counts.
    """

    zone: str
    date: str
    weeks: int
    zone_before: int
    zone_after: int
    rest_before: int
    rest_after: int
    zone_change: float  # plain after/before - 1 in the zone
    rest_change: float
    change: float  # difference in differences
    ci_low: float
    ci_high: float
    p_value: float
    p_value_poisson: float
    sentence: str

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def change_effect(
    incidents: pd.DataFrame,
    zone_of_incident: pd.Series,
    *,
    zone: str,
    date: str | pd.Timestamp,
    weeks: int = 8,
    time_column: str = "reported_at",
) -> ChangeEffect:
    """
    Estimate the effect of a patrol change in one zone.

    Parameters
    ----------
    incidents
        Incidents with a tz-aware report time.
    zone_of_incident
        The zone of each incident, aligned to ``incidents`` (``<NA>`` outside every zone; those
        count in neither group).
    zone
        The changed zone.
    date
        Day of the change (a date in Asia/Shanghai, or a timestamp); the windows are the
        ``weeks`` weeks before it and the ``weeks`` weeks from it.
    weeks
        Length of each window.

    Returns
    -------
    ChangeEffect
        With a sentence such as "incidents in XQ08 fell 20% in 8 weeks against the rest of the
        area (p = 0.003)".

    Raises
    ------
    ValueError
        If the zone has no incidents, a window reaches past the data, or the inputs do not
        line up.
    """
    if weeks < 2:
        raise ValueError("weeks must be at least 2, to compare week-to-week swings")
    if time_column not in incidents.columns:
        raise ValueError(f"the incidents have no column {time_column!r}")
    if not zone_of_incident.index.equals(incidents.index):
        raise ValueError("zone_of_incident must be aligned to the incidents (same index)")
    times = pd.to_datetime(incidents[time_column])
    if times.dt.tz is None:
        times = times.dt.tz_localize(DEFAULT_TIMEZONE)
    start = pd.Timestamp(date)
    start = start.tz_localize(times.dt.tz) if start.tz is None else start.tz_convert(times.dt.tz)
    span = pd.Timedelta(weeks=weeks)
    first, last = times.min(), times.max()
    if start - span < first - pd.Timedelta(days=1) or start + span > last + pd.Timedelta(days=1):
        raise ValueError(
            f"the {weeks}-week windows around {start.date()} run from "
            f"{(start - span).date()} to {(start + span).date()}, past the "
            f"incidents ({first.date()} to {last.date()}); use fewer --weeks"
        )
    zones = zone_of_incident.astype("string")
    if not (zones == zone).any():
        raise ValueError(f"no incident lies in zone {zone!r}; check the zone id")
    week = np.floor((times - start) / pd.Timedelta(weeks=1)).to_numpy()
    inside = (week >= -weeks) & (week < weeks) & zones.notna().to_numpy()
    mine = (zones == zone).fillna(False).to_numpy()
    slot = (week[inside] + weeks).astype(np.int64)
    zone_weeks = np.bincount(slot[mine[inside]], minlength=2 * weeks)
    rest_weeks = np.bincount(slot[~mine[inside]], minlength=2 * weeks)
    zb, za = int(zone_weeks[:weeks].sum()), int(zone_weeks[weeks:].sum())
    rb, ra = int(rest_weeks[:weeks].sum()), int(rest_weeks[weeks:].sum())

    # weekly log share of the zone (0.5 added against empty weeks): before vs after
    log_share = np.log((zone_weeks + 0.5) / (rest_weeks + 0.5))
    before, after = log_share[:weeks], log_share[weeks:]
    test = stats.ttest_ind(after, before, equal_var=False)
    diff = float(after.mean() - before.mean())
    se = float(np.sqrt(before.var(ddof=1) / weeks + after.var(ddof=1) / weeks))
    dof = float(test.df) if np.isfinite(test.df) else 2 * weeks - 2
    half = stats.t.ppf(0.975, dof) * se if se > 0 else 0.0
    # difference in differences of the totals (ratio of ratios)
    change = ((za + 0.5) / (zb + 0.5)) / ((ra + 0.5) / (rb + 0.5)) - 1
    # exact test: given the zone's total, its after-count is binomial under no change
    p0 = (ra + 0.5) / (ra + rb + 1.0)
    poisson = stats.binomtest(za, za + zb, p0).pvalue if za + zb > 0 else 1.0
    p = float(test.pvalue) if np.isfinite(test.pvalue) else float(poisson)
    verb = "fell" if change < 0 else "rose"
    sentence = (
        f"incidents in {zone} {verb} {abs(change):.0%} in {weeks} weeks against the rest "
        f"of the area ({_p_text(p)}); {zb} before, {za} after the change on "
        f"{start.date()}"
    )
    return ChangeEffect(
        zone=str(zone),
        date=str(start.date()),
        weeks=weeks,
        zone_before=zb,
        zone_after=za,
        rest_before=rb,
        rest_after=ra,
        zone_change=(za - zb) / zb if zb else float("nan"),
        rest_change=(ra - rb) / rb if rb else float("nan"),
        change=float(change),
        ci_low=float(np.exp(diff - half) - 1),
        ci_high=float(np.exp(diff + half) - 1),
        p_value=p,
        p_value_poisson=float(poisson),
        sentence=sentence,
    )


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
