"""Repeat alarms (多次报警): places, addresses and callers with k or more calls within T days.

The grouping rule, the same for all three keys once each incident has its key (its place, its
normalised address, or its caller's number: digits only, without +86, which groups exactly as the
keyed hash of :func:`geodata.privacy.hash_phones` does; only the hash and a masked number are
ever output):

1. Sort a key's incidents by wall-clock time (then by their order in the input). The *window* of
   an incident holds it and every later incident of the same key at most ``days`` after it; a
   window *qualifies* when it holds at least ``min_count`` incidents.
2. A group is a union of qualifying windows that share incidents (a chain): every member lies in
   some window of ``min_count`` calls within ``days``, and a key whose calls never let up stays
   one group for as long as that lasts (``first_at`` to ``last_at``). Incidents in no qualifying
   window are in no group. The result does not depend on the order of the input.
3. Places (:func:`repeat_places`): incidents are first gathered into spots. The incident with the
   most others within ``radius_m`` metres (over the whole period; ties: the earlier, then the
   first in the input) seeds a spot holding every incident not yet gathered within ``radius_m``
   of it; then the next densest, and so on. A seed with fewer than ``min_count`` free neighbours
   seeds nothing. Spots are disks of ``radius_m`` around their seed, so chaining cannot spread a
   place down a street; a burst straddling two spots is split between them. By default only
   incidents with the same normalised address share a spot (``same_address``).

Times are compared on the local wall clock, so a file of dates only (midnights, as San
Francisco's) counts dates at most ``days`` apart, both ends included, even across a
daylight-saving change.

Each group also says how unusual it is for its key: ``expected`` is how many calls the key's calls
over the whole period predict for the group's span (at least ``days``), ``p_value`` the Poisson
chance of at least as many. A records system's default location, where it puts every incident it
cannot place (San Francisco's "800 Block of BRYANT ST", the Hall of Justice), shows up as a huge
group spanning the whole period with a ``p_value`` near 0.5 (steady, not a burst) with its calls
stacked on one or two points (``points``); ``exclude_addresses`` leaves such an address out.

The plain rule is also met by chance: strangers' calls at a busy doorway now and then fall
three in a month (the demo community, 2,250 calls a year in 0.72 km², gives three or four such
groups a year besides those at its bars and markets). Each group therefore says whether it is
``unusual``: someone in it called more than once (the same household or shop calling again), or
it holds far more calls than its place's whole period predicts (``p_value`` at most
:data:`UNUSUAL_P`). Give the functions a long history (a year), not just the last month, so that a
place's usual rate is known. ``returning_caller=True`` and ``max_p`` keep only such groups.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely
from scipy.stats import poisson

from geodata.crs import WGS84, local_metric_crs
from geodata.privacy import hash_phones, mask_phones, normalise_phones
from incidents.addresses import address_codes, drop_addresses, normalise_addresses
from incidents.spots import gather_spots

__all__ = [
    "UNUSUAL_P",
    "normalise_addresses",
    "repeat_addresses",
    "repeat_callers",
    "repeat_places",
]

UNUSUAL_P = 1e-3  # a group this unlikely under its place's own rate is not a coincidence

_MS_PER_DAY = 86_400_000


def repeat_places(
    incidents: gpd.GeoDataFrame,
    *,
    radius_m: float = 50,
    days: float = 30,
    min_count: int = 3,
    same_address: bool = True,
    exclude_addresses: Iterable[str] = (),
    max_p: float | None = None,
    returning_caller: bool = False,
) -> gpd.GeoDataFrame:
    """
    Find places called again and again: ``min_count`` incidents within ``radius_m`` metres and
    ``days`` days (the exact rule is in the module docstring).

    Parameters
    ----------
    incidents
        Incident points with ``incident_id`` and ``reported_at``; ``category``, ``address`` and
        ``caller_phone`` are used when present.
    radius_m
        Radius of a place around its seed incident, metres.
    days
        Length of the time window, days.
    min_count
        Calls a window needs.
    same_address
        Incidents share a place only if their normalised addresses are equal as well (incidents
        without an address form places among themselves); ``False``: distance alone. In a dense
        community distance alone puts every busy doorway's strangers in one "place".
    exclude_addresses
        Addresses (compared normalised) whose incidents are left out, such as a records system's
        default location.
    max_p
        Keep only groups at least this unusual for their place (``p_value <= max_p``).
    returning_caller
        Keep only groups in which someone called more than once (``returning_callers >= 1``): the
        same household or shop calling again, rather than strangers whose calls happen to fall
        close together.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per group, most calls first: ``place_id``, ``rank`` (1 = most calls),
        ``incidents``, ``first_at``, ``last_at``, ``days`` (first to last call),
        ``categories`` ("纠纷×5, 噪音扰民×2"), ``address`` (the most common), ``incident_ids``
        (comma-separated, in time order), ``callers`` (distinct callers), ``returning_callers``
        (callers who called more than once in the group), ``points`` (distinct positions, to the
        centimetre), ``radius_m`` (farthest member from the centre), ``expected``, ``p_value``,
        ``unusual`` (a returning caller, or ``p_value <= UNUSUAL_P``: see the module docstring)
        and the group's centre point (mean of its members), EPSG:4326.
    """
    radius = _positive("radius_m", radius_m)
    if not isinstance(incidents, gpd.GeoDataFrame) or incidents.crs is None:
        raise ValueError(
            "repeat places need the incidents as a GeoDataFrame with a coordinate system; "
            "load them with geodata.read_layer(..., 'incidents')"
        )
    frame = _prepare(incidents, days, min_count, exclude_addresses)
    geoms = gpd.GeoSeries(frame.geometry, crs=incidents.crs)
    frame = frame[~(geoms.isna() | geoms.is_empty).to_numpy()]
    if (shapely.get_type_id(np.asarray(frame.geometry.array)) != shapely.GeometryType.POINT).any():
        raise ValueError("the incidents must be points; found other geometry types")
    if frame.empty:
        metric, xy = WGS84, np.empty((0, 2))
    else:
        metric = local_metric_crs(frame)
        xy = _metric_xy(frame.geometry, metric)
    wall = _wall_ms(frame["reported_at"])
    if same_address and "address" in frame.columns:
        address = address_codes(frame["address"])[0]
    else:
        address = np.full(len(frame), -1, dtype=np.int64)
    spot = gather_spots(xy, address, wall, radius, min_count)
    summary = _summarise(frame, spot, wall, days, min_count, prefix="P", xy=xy)
    summary = _filter_and_rank(summary, max_p, returning_caller, prefix="P")
    centre = shapely.points(summary.pop("_x").to_numpy(float), summary.pop("_y").to_numpy(float))
    summary = summary.drop(columns=["_key"])
    return gpd.GeoDataFrame(
        summary, geometry=gpd.GeoSeries(centre, crs=metric).to_crs(WGS84).array, crs=WGS84
    )


def repeat_addresses(
    incidents: pd.DataFrame,
    *,
    days: float = 30,
    min_count: int = 3,
    exclude_addresses: Iterable[str] = (),
    max_p: float | None = None,
    returning_caller: bool = False,
) -> pd.DataFrame:
    """
    Find addresses called again and again: ``min_count`` incidents at the same normalised
    address (:func:`normalise_addresses`) within ``days`` days. Options as for
    :func:`repeat_places`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`repeat_places` without ``points``, ``radius_m`` and geometry, plus
        ``address_key`` (the normalised address). ``place_id`` starts with ``A``.
    """
    frame = _prepare(incidents, days, min_count, exclude_addresses)
    if "address" not in frame.columns:
        raise ValueError("the incidents have no address column; repeat addresses need one")
    codes, normal = address_codes(frame["address"])
    summary = _summarise(frame, codes, _wall_ms(frame["reported_at"]), days, min_count, prefix="A")
    summary = _filter_and_rank(summary, max_p, returning_caller, prefix="A")
    key = summary.pop("_key").to_numpy()
    summary.insert(
        summary.columns.get_loc("address") + 1,
        "address_key",
        pd.array(normal.take(pa.array(key)).to_pylist(), dtype="string"),
    )
    return summary


def repeat_callers(
    incidents: pd.DataFrame, *, days: float = 30, min_count: int = 3, max_p: float | None = None
) -> pd.DataFrame:
    """
    Find callers who call again and again: ``min_count`` calls from the same number within
    ``days`` days (numbers compared as :func:`geodata.privacy.hash_phones` does: digits only,
    without +86).

    The number itself is never in the result, only ``caller_hash`` (the keyed hash, for matching
    across reports) and ``caller_masked`` (138****1234).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`repeat_addresses` with ``caller_hash`` and ``caller_masked`` in
        place of ``address_key``, ``callers`` and ``returning_callers``. ``place_id`` starts with
        ``C``; ``unusual`` is ``p_value <= UNUSUAL_P`` alone (every caller here calls again).
    """
    frame = _prepare(incidents, days, min_count, ())
    if "caller_phone" not in frame.columns:
        raise ValueError("the incidents have no caller_phone column; repeat callers need one")
    codes, numbers = pd.factorize(normalise_phones(frame["caller_phone"]), use_na_sentinel=True)
    summary = _summarise(frame, codes, _wall_ms(frame["reported_at"]), days, min_count, prefix="C")
    summary = _filter_and_rank(summary, max_p, False, prefix="C", caller_key=True)
    phones = pd.Series(
        np.asarray(numbers, dtype=object)[summary.pop("_key").to_numpy()], dtype="string"
    )
    summary = summary.drop(columns=["callers", "returning_callers"])
    where = summary.columns.get_loc("address") + 1
    summary.insert(where, "caller_hash", hash_phones(phones).array)
    summary.insert(where + 1, "caller_masked", mask_phones(phones).array)
    return summary


# --- checking and preparing the input ------------------------------------------------------------


def _positive(name: str, value: float) -> float:
    number = float(value)
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return number


def _prepare(
    incidents: pd.DataFrame, days: float, min_count: int, exclude_addresses: Iterable[str]
) -> pd.DataFrame:
    """Check the input; drop incidents without a time or at an excluded address."""
    _positive("days", days)
    if isinstance(min_count, bool) or int(min_count) != min_count or min_count < 2:
        raise ValueError(f"min_count must be a whole number of at least 2, not {min_count!r}")
    for column in ("incident_id", "reported_at"):
        if column not in incidents.columns:
            raise ValueError(
                f"the incidents have no {column!r} column; load them with "
                "geodata.read_layer(..., 'incidents')"
            )
    if not isinstance(incidents["reported_at"].dtype, pd.DatetimeTZDtype):
        raise ValueError(
            "reported_at must hold time-zone-aware times; load the incidents with "
            "geodata.read_layer(..., 'incidents')"
        )
    frame = incidents[incidents["reported_at"].notna().to_numpy()]
    return drop_addresses(frame, exclude_addresses)


def _metric_xy(points: gpd.GeoSeries, metric: pyproj.CRS) -> np.ndarray:
    """Point coordinates in the metric CRS (pyproj on plain arrays: faster than to_crs)."""
    geoms = np.asarray(points.array)
    transformer = pyproj.Transformer.from_crs(points.crs, metric, always_xy=True)
    x, y = transformer.transform(shapely.get_x(geoms), shapely.get_y(geoms))
    return np.column_stack([x, y])


def _wall_ms(times: pd.Series) -> np.ndarray:
    """Milliseconds on the local wall clock, so that calendar days are always 24 hours."""
    return times.dt.tz_localize(None).astype("datetime64[ms]").to_numpy().astype(np.int64)


# --- grouping ------------------------------------------------------------------------------------


def _time_groups(key: np.ndarray, wall: np.ndarray, days: float, min_count: int) -> np.ndarray:
    """Group of each incident (-1 for none) by the window rule of the module docstring."""
    group = np.full(len(key), -1, dtype=np.int64)
    valid = np.flatnonzero(key >= 0)
    if len(valid) < min_count:
        return group
    order = valid[np.lexsort((valid, wall[valid], key[valid]))]
    window = int(round(days * _MS_PER_DAY))
    t = wall[order] - wall[order].min()
    stride = int(t.max()) + window + 1
    if int(key.max()) + 1 > np.iinfo(np.int64).max // stride:
        raise ValueError("too many keys over too long a period to group; split the incidents")
    composite = key[order] * stride + t  # sorted: key first, then time
    index = np.arange(len(order))
    end = np.searchsorted(composite, composite + window, side="right")
    qualifies = end - index >= min_count
    starts, ends = index[qualifies], end[qualifies]
    size = len(order) + 1
    covered = np.cumsum(np.bincount(starts, minlength=size) - np.bincount(ends, minlength=size))
    # Gap m (between sorted incidents m and m + 1) is bridged by a window starting at or before
    # m and reaching past m + 1.
    bridged = np.cumsum(np.bincount(starts, minlength=size) - np.bincount(ends - 1, minlength=size))
    member = covered[:-1] > 0
    new = member.copy()
    new[1:] &= bridged[:-2] <= 0
    label = np.cumsum(new) - 1
    group[order[member]] = label[member]
    return group


# --- describing the groups -----------------------------------------------------------------------


def _summarise(
    frame: pd.DataFrame,
    key: np.ndarray,
    wall: np.ndarray,
    days: float,
    min_count: int,
    *,
    prefix: str,
    xy: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per group, in group order, with the key code in ``_key``."""
    group = _time_groups(key, wall, days, min_count)
    mine = np.flatnonzero(group >= 0)
    sel = mine[np.lexsort((mine, wall[mine], group[mine]))]  # members by group, then time
    g = group[sel]
    n_groups = int(g.max()) + 1 if len(g) else 0
    start = np.searchsorted(g, np.arange(n_groups))
    last = np.append(start, len(g))[1:] - 1
    times = frame["reported_at"].array
    out = pd.DataFrame(
        {
            "incidents": (last - start + 1).astype(np.int64),
            "first_at": times.take(sel[start]),
            "last_at": times.take(sel[last]),
            "days": (wall[sel[last]] - wall[sel[start]]) / _MS_PER_DAY,
        }
    )
    out["categories"] = _category_text(frame, sel, g, n_groups)
    out["address"] = _most_common(frame, "address", sel, g, n_groups)
    ids = pa.array(frame["incident_id"].astype("string").array.take(sel), type=pa.string())
    out["incident_ids"] = _join_per_group(pc.fill_null(ids, ""), np.append(start, len(g)), ",")
    out["callers"], out["returning_callers"] = _caller_counts(frame, sel, g, n_groups)
    if xy is not None:
        pts = xy[sel]
        centre = (
            np.add.reduceat(pts, start, axis=0) / out["incidents"].to_numpy()[:, None]
            if n_groups
            else np.empty((0, 2))
        )
        offset = np.hypot(*(pts - centre[g]).T)
        out["points"] = _distinct_per_group(g, np.round(pts * 100).astype(np.int64), n_groups)
        out["radius_m"] = (np.maximum.reduceat(offset, start) if n_groups else np.empty(0)).round(1)
        out["_x"], out["_y"] = centre[:, 0], centre[:, 1]
    # How unusual: the key's calls over the whole period, spread evenly, predict `expected`.
    out["_key"] = key[sel[start]]
    totals = np.bincount(key[key >= 0]) if (key >= 0).any() else np.zeros(1, dtype=np.int64)
    period = max(float(wall.max() - wall.min()) if len(wall) else 0.0, days * _MS_PER_DAY)
    span = np.maximum(out["days"].to_numpy() * _MS_PER_DAY, days * _MS_PER_DAY)
    expected = totals[out["_key"].to_numpy()] * span / period
    out["expected"] = expected.round(2)
    out["p_value"] = poisson.sf(out["incidents"].to_numpy() - 1, expected)
    return out


def _filter_and_rank(
    out: pd.DataFrame,
    max_p: float | None,
    returning_caller: bool,
    *,
    prefix: str,
    caller_key: bool = False,
) -> pd.DataFrame:
    """Say which groups are unusual, apply the filters, order by calls (then first call, then
    key) and number the groups."""
    unusual = out["p_value"].to_numpy() <= UNUSUAL_P
    if not caller_key:
        unusual |= out["returning_callers"].to_numpy() >= 1
    out.insert(out.columns.get_loc("p_value") + 1, "unusual", unusual)
    if max_p is not None:
        out = out[out["p_value"] <= max_p]
    if returning_caller:
        out = out[out["returning_callers"] >= 1]
    first_at = out["first_at"].array.asi8  # tz-aware to_numpy() would make Timestamp objects
    order = np.lexsort((out["_key"].to_numpy(), first_at, -out["incidents"].to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    rank = np.arange(1, len(out) + 1, dtype=np.int64)
    width = max(4, len(str(len(out))))
    out.insert(0, "rank", rank)
    out.insert(0, "place_id", pd.array([f"{prefix}{r:0{width}d}" for r in rank], dtype="string"))
    return out


def _codes(frame: pd.DataFrame, column: str, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and values of a column, for the selected rows."""
    if column not in frame.columns:
        return np.full(len(sel), -1, dtype=np.int64), np.empty(0, dtype=object)
    return _factorize(frame[column].astype("string").array.take(sel))


def _factorize(strings: pd.api.extensions.ExtensionArray) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance (-1 for missing) and the distinct values, as
    ``pandas.factorize`` gives them, by pyarrow's dictionary encoding (several times faster)."""
    encoded = pc.dictionary_encode(pa.array(strings, type=pa.string()))
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _pair_counts(
    g: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (group, code) pairs (codes >= 0): group, code, count and first row of each."""
    ok = np.flatnonzero(codes >= 0)
    width = int(codes.max()) + 1 if len(ok) else 1
    pair = g[ok] * width + codes[ok]
    unique, first, counts = np.unique(pair, return_index=True, return_counts=True)
    return unique // width, unique % width, counts, ok[first]


def _category_text(
    frame: pd.DataFrame, sel: np.ndarray, g: np.ndarray, n_groups: int
) -> pd.api.extensions.ExtensionArray:
    """Category counts per group, "纠纷×5, 噪音扰民×2": most frequent first, then by name."""
    codes, values = _codes(frame, "category", sel)
    grp, code, count, _ = _pair_counts(g, codes)
    name_rank = np.argsort(np.argsort(values.astype(str)))
    order = np.lexsort((name_rank[code], -count, grp))
    grp, code, count = grp[order], code[order], count[order]
    text = pc.binary_join_element_wise(
        pa.array(values[code].astype(str), type=pa.string()),
        pa.array(count.astype(str), type=pa.string()),
        "×",
    )
    return _join_per_group(text, np.searchsorted(grp, np.arange(n_groups + 1)), ", ")


def _join_per_group(
    text: pa.Array, bounds: np.ndarray, separator: str
) -> pd.api.extensions.ExtensionArray:
    """Join ``text[bounds[k]:bounds[k + 1]]`` for each group k (vectorised in pyarrow)."""
    lists = pa.LargeListArray.from_arrays(pa.array(bounds, type=pa.int64()), text)
    return pd.array(pc.binary_join(lists, separator), dtype="string")


def _most_common(
    frame: pd.DataFrame, column: str, sel: np.ndarray, g: np.ndarray, n_groups: int
) -> pd.api.extensions.ExtensionArray:
    """The most common value per group (ties: the one called in first)."""
    codes, values = _codes(frame, column, sel)
    best = np.full(n_groups, None, dtype=object)
    if len(values):
        grp, code, count, first = _pair_counts(g, codes)
        order = np.lexsort((first, -count, grp))
        grp, code = grp[order], code[order]
        top = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]])
        best[grp[top]] = values[code[top]]
    return pd.array(best, dtype="string")


def _caller_counts(
    frame: pd.DataFrame, sel: np.ndarray, g: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct callers per group, and how many of them called more than once."""
    if "caller_phone" not in frame.columns:
        return np.zeros(n_groups, dtype=np.int64), np.zeros(n_groups, dtype=np.int64)
    codes, _ = _factorize(normalise_phones(frame["caller_phone"].iloc[sel]).array)
    grp, _, count, _ = _pair_counts(g, codes)
    callers = np.bincount(grp, minlength=n_groups).astype(np.int64)
    returning = np.bincount(grp[count >= 2], minlength=n_groups).astype(np.int64)
    return callers, returning


def _distinct_per_group(g: np.ndarray, rows: np.ndarray, n_groups: int) -> np.ndarray:
    """How many distinct rows (integer pairs) each group holds."""
    if not len(g):
        return np.zeros(n_groups, dtype=np.int64)
    low, span = rows.min(axis=0), rows.max(axis=0) - rows.min(axis=0) + 1
    if float(span[0]) * float(span[1]) < 2**62:  # one key per pair: sorting it is 3x faster
        keys = ((rows[:, 0] - low[0]) * span[1] + (rows[:, 1] - low[1]),)
    else:
        keys = (rows[:, 1], rows[:, 0])
    order = np.lexsort((*keys, g))
    g_sorted = g[order]
    new = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    for key in keys:
        key_sorted = key[order]
        new[1:] |= key_sorted[1:] != key_sorted[:-1]
    return np.bincount(g_sorted[new], minlength=n_groups).astype(np.int64)
