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

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely
from scipy.spatial import cKDTree
from scipy.stats import poisson

from geodata.crs import WGS84, local_metric_crs
from geodata.privacy import hash_phones, mask_phones, normalise_phones

__all__ = [
    "UNUSUAL_P",
    "normalise_addresses",
    "repeat_addresses",
    "repeat_callers",
    "repeat_places",
]

UNUSUAL_P = 1e-3  # a group this unlikely under its place's own rate is not a coincidence

_MS_PER_DAY = 86_400_000
_CN_DIGITS = {c: int(d) for c, d in zip("零〇一二两三四五六七八九", "001223456789", strict=True)}
# Chinese numbers directly before the words that number a building, entrance, floor or room
# (not before 路: 建军二路 is a name).
_CN_NUMBER = r"([零〇一二两三四五六七八九十百]+)(幢|单元|室|层|楼|号)"


def normalise_addresses(addresses: pd.Series) -> pd.Series:
    """
    Reduce addresses to a form in which one place written differently compares equal.

    Full-width characters become half-width (NFKC) and letters upper case; 栋, 号楼, 栋楼 become
    幢; Chinese numerals before 幢/单元/层/楼/室/号 become digits (十二幢 → 12幢); spaces and
    punctuation are dropped, dashes kept as ``-``. Empty results are ``<NA>``.

    Examples
    --------
    >>> spelt = pd.Series(["万户新村 １２栋3单元502室", "万户新村十二幢3单元502室"])
    >>> normalise_addresses(spelt).tolist()
    ['万户新村12幢3单元502室', '万户新村12幢3单元502室']
    """
    codes, normal = _address_codes(addresses)
    values = pd.array(normal.to_pylist(), dtype="string").take(codes, allow_fill=True)
    return pd.Series(values, index=addresses.index, name=addresses.name)


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
        address = _address_codes(frame["address"])[0]
    else:
        address = np.full(len(frame), -1, dtype=np.int64)
    spot = _spots(xy, address, wall, radius, min_count)
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
    codes, normal = _address_codes(frame["address"])
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
    if isinstance(exclude_addresses, str):  # one address, not its characters
        exclude_addresses = [exclude_addresses]
    excluded = pd.Series([a for a in exclude_addresses if a], dtype="string")
    if len(excluded):
        if "address" not in frame.columns:
            raise ValueError("exclude_addresses needs an address column in the incidents")
        drop = set(normalise_addresses(excluded).dropna())
        keep = ~normalise_addresses(frame["address"]).isin(drop).fillna(False).to_numpy(bool)
        frame = frame[keep]
    return frame


def _metric_xy(points: gpd.GeoSeries, metric: pyproj.CRS) -> np.ndarray:
    """Point coordinates in the metric CRS (pyproj on plain arrays: faster than to_crs)."""
    geoms = np.asarray(points.array)
    transformer = pyproj.Transformer.from_crs(points.crs, metric, always_xy=True)
    x, y = transformer.transform(shapely.get_x(geoms), shapely.get_y(geoms))
    return np.column_stack([x, y])


def _wall_ms(times: pd.Series) -> np.ndarray:
    """Milliseconds on the local wall clock, so that calendar days are always 24 hours."""
    return times.dt.tz_localize(None).astype("datetime64[ms]").to_numpy().astype(np.int64)


def _address_codes(addresses: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Code of each address's normalised form (-1 for none), and the normalised forms."""
    raw = pa.array(addresses.astype("string").array, type=pa.string())
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    encoded = pc.dictionary_encode(raw)
    normal = pc.dictionary_encode(_normalise_unique(encoded.dictionary))
    codes = pc.fill_null(normal.indices, -1).to_numpy().astype(np.int64)
    raw_codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    codes = np.append(codes, -1)  # raw code -1 (no address) looks up the last entry: none
    result = codes[raw_codes]
    return result, normal.dictionary


def _normalise_unique(text: pa.Array) -> pa.Array:
    """The normalisation of :func:`normalise_addresses`, vectorised (RE2 via pyarrow)."""
    text = pc.utf8_upper(pc.utf8_normalize(text, "NFKC"))
    text = pc.replace_substring_regex(text, pattern=r"[‐‑‒–—―﹣~～]", replacement="-")
    text = pc.replace_substring_regex(text, pattern="号楼|栋楼|幢楼|栋", replacement="幢")
    numbered = pc.fill_null(pc.match_substring_regex(text, pattern=_CN_NUMBER), False)
    if pc.any(numbered).as_py():
        values = text.to_pylist()
        for k in np.flatnonzero(numbered.to_numpy(zero_copy_only=False)):
            values[k] = _digits_for_numerals(values[k])
        text = pa.array(values, type=pa.string())
    text = pc.replace_substring_regex(text, pattern=r"[^\p{L}\p{N}\-]", replacement="")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _digits_for_numerals(address: str) -> str:
    import re

    return re.sub(_CN_NUMBER, lambda m: f"{_chinese_number(m.group(1))}{m.group(2)}", address)


def _chinese_number(text: str) -> int:
    """十二 → 12, 一百零五 → 105, 三零二 → 302 (digit by digit when there is no 十 or 百)."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for char in text:
        if char in "百十":
            total += (digit or 1) * (100 if char == "百" else 10)
            digit = 0
        else:
            digit = _CN_DIGITS[char]
    return total + digit


# --- grouping ------------------------------------------------------------------------------------


def _spots(
    xy: np.ndarray, address: np.ndarray, wall: np.ndarray, radius: float, min_count: int
) -> np.ndarray:
    """Spot of each incident (-1 for none): disks of ``radius`` grown densest seed first, among
    incidents with the same address code (-1: those without one)."""
    n = len(xy)
    spot = np.full(n, -1, dtype=np.int64)
    if n < min_count:
        return spot
    # An address whose incidents all lie in a box of diagonal <= radius is one spot whatever its
    # seed: no need to search it.
    by_address = np.argsort(address, kind="stable")
    codes, first, size = np.unique(address[by_address], return_index=True, return_counts=True)
    where = np.empty(n, dtype=np.int64)
    where[by_address] = np.repeat(np.arange(len(codes)), size)
    lo = np.minimum.reduceat(xy[by_address], first, axis=0)
    hi = np.maximum.reduceat(xy[by_address], first, axis=0)
    tight = (codes >= 0) & (size >= min_count) & (np.hypot(*(hi - lo).T) <= radius)
    in_tight = tight[where]
    _, spot[in_tight] = np.unique(where[in_tight], return_inverse=True)
    next_spot = int(spot.max()) + 1
    rest = ~in_tight & (size[where] >= min_count)
    addressed, loose = np.flatnonzero(rest & (address >= 0)), np.flatnonzero(rest & (address < 0))
    if len(addressed):
        next_spot = _spots_by_address(
            xy, address, wall, addressed, radius, min_count, spot, next_spot
        )
    if len(loose) >= min_count:
        _spots_in_turn(xy[loose], wall[loose], loose, radius, min_count, spot, next_spot)
    return spot


# Candidate pairs of incidents checked at once (their arrays stay in the processor's cache, and a
# wide radius in a crowd cannot run out of memory), and seeds taken at once.
_PAIRS = 1 << 17
_SEED_BATCH = 1024


def _spots_in_turn(
    xy: np.ndarray,
    wall: np.ndarray,
    which: np.ndarray,
    radius: float,
    min_count: int,
    spot: np.ndarray,
    next_spot: int,
) -> int:
    """The seeding rule, one seed at a time, for incidents with no address (all one place).

    Only a seed still free at its turn needs its neighbours (one incident in twenty in the city
    demo): they are listed for the next ``_SEED_BATCH`` free seeds in order at once, and the batch
    is decided by :func:`_seed_batch`.
    """
    around, neighbours = _neighbourhoods(xy, radius)
    candidates = np.flatnonzero(around >= min_count)
    order = candidates[np.lexsort((candidates, wall[candidates], -around[candidates]))]
    local = np.full(len(xy), -1, dtype=np.int64)
    first = np.full(len(xy), _SEED_BATCH, dtype=np.int64)  # scratch for _seed_batch
    done = 0
    while done < len(order):
        ahead = order[done : done + 8 * _SEED_BATCH]
        free = np.flatnonzero(local[ahead] < 0)
        # _SEED_BATCH seeds at most, with not many more than _PAIRS neighbours between them.
        most = min(_SEED_BATCH, int(np.searchsorted(np.cumsum(around[ahead[free]]), _PAIRS)) + 1)
        if len(free) > most:
            free = free[:most]
            done += int(free[-1]) + 1
        else:
            done += len(ahead)
        if len(free):
            seeds = ahead[free]
            members, size = neighbours(seeds)
            next_spot = _seed_batch(seeds, members, size, min_count, local, first, next_spot)
    spot[which] = local
    return next_spot


def _seed_batch(
    seeds: np.ndarray,
    members: np.ndarray,
    size: np.ndarray,
    min_count: int,
    local: np.ndarray,
    first: np.ndarray,
    next_spot: int,
) -> int:
    """Take free seeds in turn (``members``: the neighbours of each, one after the other), exactly
    as one at a time; ``local`` holds the spots so far and gets this batch's.

    A seed that shares no neighbour with an earlier seed of the batch (most of them: the batch
    is spread over the whole area) finds its neighbours as they were before the batch, and changes
    none of a later seed's that matters to its own: all those are decided at once. The others
    are then taken one at a time, in order. Spots are numbered in the order of their seeds.
    """
    owner = np.repeat(np.arange(len(seeds)), size)
    np.minimum.at(first, members, owner)
    shares = np.zeros(len(seeds), dtype=bool)
    shares[owner[first[members] < owner]] = True
    first[members] = _SEED_BATCH
    free = local[members] < 0
    seeded = ~shares & (np.bincount(owner[free], minlength=len(seeds)) >= min_count)
    take = free & seeded[owner]
    local[members[take]] = next_spot + owner[take]  # numbered by place in the batch for now
    ends = np.cumsum(size)
    for k in np.flatnonzero(shares).tolist():
        if local[seeds[k]] >= 0:
            continue
        gathered = members[ends[k] - size[k] : ends[k]]
        gathered = gathered[local[gathered] < 0]
        if len(gathered) >= min_count:
            local[gathered] = next_spot + k
            seeded[k] = True
    number = np.full(len(seeds), -1, dtype=np.int64)
    number[seeded] = next_spot + np.arange(int(seeded.sum()))
    label = local[members]
    now = label >= next_spot
    local[members[now]] = number[label[now] - next_spot]
    return next_spot + int(seeded.sum())


def _neighbourhoods(
    xy: np.ndarray, radius: float
) -> tuple[np.ndarray, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]]:
    """How many points lie within ``radius`` of each (itself included), and a function listing
    the neighbours of some points: all of the first point's, then all of the second's..., and how
    many each has.

    Points are sorted into square cells a little wider than the radius, row by row, so that a
    point's neighbours lie in three runs of the sorted points: the three cells around it in its
    row, in the row below and in the row above. Points at the very same place (a records system's
    default location may hold thousands) are one site: pairs are checked between sites. A
    neighbour is what scipy's KD-tree takes for one, dx² + dy² <= r², in the same arithmetic.
    Each pair is counted once, from the site sorted first, by threads sharing the sites (numpy
    lets go of the GIL). On the city demo this counts twice as fast as KD-trees
    (``query_pairs``), and lists scattered seeds' neighbours three times as fast.
    """
    if not np.isfinite(xy).all():
        raise ValueError("the incidents' coordinates must be finite; check their geometry")
    n = len(xy)
    # A neighbour lies at most r (and a rounding) away in x and in y: in the next cell at most.
    reach = radius * 1.001 + 4 * float(np.spacing(np.abs(xy).max()))
    by_cell, key, columns = _cells(xy[:, 0], xy[:, 1], reach)
    x, y = xy[:, 0][by_cell], xy[:, 1][by_cell]
    first = np.flatnonzero(np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])])  # of each site
    weight = np.diff(np.append(first, n))  # points at each site
    site = np.repeat(np.arange(len(first)), weight)  # of each sorted point
    x, y, key = x[first], y[first], key[first]
    heavy = len(first) < n
    cell_first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    cell = np.repeat(np.arange(len(cell_first)), np.diff(np.append(cell_first, len(key))))
    # Where the three cells around each cell start and end, in the rows below, at and above it.
    start = [np.searchsorted(key, key[cell_first] + r * columns - 1) for r in (-1, 0, 1)]
    end = [
        np.searchsorted(key, key[cell_first] + r * columns + 1, side="right") for r in (-1, 0, 1)
    ]
    r2 = radius * radius

    def count(chunks: list[tuple[int, int]]) -> np.ndarray:
        total = np.zeros(len(key), dtype=np.int64)
        for a, b in chunks:
            here, home = np.arange(a, b), cell[a:b]
            # The later sites of its own cell and the next in the row, then the three above.
            begin = np.concatenate([here + 1, start[2][home]])
            length = np.concatenate([end[1][home] - here - 1, end[2][home] - start[2][home]])
            others, offset = _runs(begin, length)
            near = _within(
                x[others] - np.repeat(np.tile(x[a:b], 2), length),
                y[others] - np.repeat(np.tile(y[a:b], 2), length),
                r2,
            )
            found = np.append(0, np.cumsum(np.where(near, weight[others], 0) if heavy else near))
            found = found[offset + length] - found[offset]
            total[a:b] += found[: b - a] + found[b - a :]
            mine = np.repeat(np.tile(weight[a:b], 2), length)[near] if heavy else None
            others = others[near]
            if len(others):
                low = int(others.min())
                partners = np.bincount(others - low, weights=mine).astype(np.int64)
                total[low : low + len(partners)] += partners
        return total

    chunks = _chunks(end[1][cell] - np.arange(1, len(key) + 1) + end[2][cell] - start[2][cell])
    parts = min(len(chunks), os.cpu_count() or 1)
    shares = [
        chunks[len(chunks) * k // parts : len(chunks) * (k + 1) // parts] for k in range(parts)
    ]
    if parts > 1:
        with ThreadPoolExecutor(parts) as pool:
            totals = list(pool.map(count, shares))
    else:
        totals = [count(chunks)]
    around = np.empty(n, dtype=np.int64)
    around[by_cell] = (weight + sum(totals))[site]
    home_site = np.empty(n, dtype=np.int64)
    home_site[by_cell] = site

    def neighbours(some: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        home = home_site[some]
        begin = np.column_stack([s[cell[home]] for s in start])  # one row per point
        length = np.column_stack([e[cell[home]] for e in end]) - begin
        members, size = [], np.zeros(len(some), dtype=np.int64)
        for a, b in _chunks(length.sum(axis=1)):
            others, _ = _runs(begin[a:b].ravel(), length[a:b].ravel())
            seed = np.repeat(np.arange(a, b), length[a:b].sum(axis=1))
            near = _within(x[others] - x[home[seed]], y[others] - y[home[seed]], r2)
            others, seed = others[near], seed[near]
            members.append(by_cell[_runs(first[others], weight[others])[0]])
            size[a:b] = np.bincount(seed - a, weight[others], b - a).astype(np.int64)
        return np.concatenate(members), size

    return around, neighbours


def _chunks(cost: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive ranges of items costing ``_PAIRS`` or less in all (or one item)."""
    spent = np.cumsum(cost)
    cuts = [0]
    while cuts[-1] < len(cost):
        before = int(spent[cuts[-1] - 1]) if cuts[-1] else 0
        cuts.append(max(cuts[-1] + 1, int(np.searchsorted(spent, before + _PAIRS, "right"))))
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def _cells(x: np.ndarray, y: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Points sorted by square cells of side ``reach`` or more, row by row, and within a cell by
    place (so that points at the same place are together): the order, the sorted points' cell
    keys and the keys per row (the cells left and right of key k are k ± 1, those below and above
    k ± that)."""
    left, bottom = x.min(), y.min()
    reach = max(reach, (x.max() - left) / 2**30, (y.max() - bottom) / 2**30)  # keys fit in 64 bits
    across, up = (x - left) / reach, (y - bottom) / reach  # >= 0: truncating is flooring
    column, row = across.astype(np.int64), up.astype(np.int64)
    columns = int(column.max()) + 3
    key = (row + 1) * columns + column + 1
    if columns <= 2**16 and row.max() < 2**16:  # radix sorts, ten times faster: finest first
        # 2**16ths of a cell, to bring points at the same place together within it
        fine_x = (across * 2**16).astype(np.int64).astype(np.uint16)  # the last 16 bits
        fine_y = (up * 2**16).astype(np.int64).astype(np.uint16)
        by_cell = np.argsort(fine_x, kind="stable")
        for rank in (fine_y, column.astype(np.uint16), row.astype(np.uint16)):
            by_cell = by_cell[np.argsort(rank[by_cell], kind="stable")]
    else:
        by_cell = np.lexsort((y, x, key))
    return by_cell, key[by_cell], columns


def _runs(start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions start[k], start[k] + 1, ... (length[k] of them) for each k, one run after the
    other, and where each run begins among them."""
    offset = np.cumsum(length) - length
    total = int(offset[-1] + length[-1]) if len(length) else 0
    return np.repeat(start - offset, length) + np.arange(total), offset


def _within(dx: np.ndarray, dy: np.ndarray, r2: float) -> np.ndarray:
    """dx² + dy² <= r², computed as scipy's KD-tree does (in place: dx and dy are spent)."""
    dx *= dx
    dy *= dy
    dx += dy
    return dx <= r2


def _spots_by_address(
    xy: np.ndarray,
    address: np.ndarray,
    wall: np.ndarray,
    which: np.ndarray,
    radius: float,
    min_count: int,
    spot: np.ndarray,
    next_spot: int,
) -> int:
    """The seeding rule for incidents with addresses, all addresses at once.

    Addresses never share a spot, so the rule runs in rounds: in each, every address takes its
    next seed in order. That gives exactly the spots of taking seeds one at a time.
    """
    # Each address on a plane of its own, planes farther apart than the radius: a 3-d tree then
    # pairs incidents of the same address only, with x and y untouched.
    extent = float(np.ptp(xy[which], axis=0).max())
    code = address[which]
    points = np.column_stack([xy[which], (code + 1.0) * (extent + 4 * radius + 1)])
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = len(which)
    source = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    target = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    by_source = np.argsort(source, kind="stable")
    target = target[by_source]
    start = np.searchsorted(source[by_source], np.arange(n + 1))
    around = np.diff(start)  # neighbours within the radius, itself included
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((which, wall[which], -around))] = np.arange(n)
    queue = np.flatnonzero(around >= min_count)
    queue = queue[np.lexsort((rank[queue], code[queue]))]  # by address, then in seed order
    local = np.full(n, -1, dtype=np.int64)
    refused = np.zeros(n, dtype=bool)
    while len(queue):
        queue = queue[(local[queue] < 0) & ~refused[queue]]
        if not len(queue):
            break
        first = np.r_[True, code[queue][1:] != code[queue][:-1]]
        seeds = queue[first]  # each address's next seed
        count = start[seeds + 1] - start[seeds]
        owner = np.repeat(np.arange(len(seeds)), count)
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
        members = target[start[seeds][owner] + offset]
        free = local[members] < 0
        enough = np.bincount(owner[free], minlength=len(seeds)) >= min_count
        ids = np.full(len(seeds), -1, dtype=np.int64)
        ids[enough] = next_spot + np.arange(int(enough.sum()))
        next_spot += int(enough.sum())
        take = free & enough[owner]
        local[members[take]] = ids[owner[take]]
        refused[seeds[~enough]] = True
    spot[which] = local
    return next_spot


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
    ids = frame["incident_id"].astype("string").array.take(sel).to_numpy(na_value="")
    bounds = np.append(start, len(g))
    out["incident_ids"] = pd.array(
        [",".join(ids[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)], dtype="string"
    )
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
    order = np.lexsort(
        (out["_key"].to_numpy(), out["first_at"].to_numpy(), -out["incidents"].to_numpy())
    )
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
    codes, values = pd.factorize(
        frame[column].astype("string").array.take(sel), use_na_sentinel=True
    )
    return codes.astype(np.int64), np.asarray(values, dtype=object)


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
    text = [f"{values[c]}×{n}" for c, n in zip(code, count, strict=True)]
    bounds = np.searchsorted(grp, np.arange(n_groups + 1))
    return pd.array(
        [", ".join(text[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)], dtype="string"
    )


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
    codes, _ = pd.factorize(normalise_phones(frame["caller_phone"].iloc[sel]), use_na_sentinel=True)
    grp, _, count, _ = _pair_counts(g, codes.astype(np.int64))
    callers = np.bincount(grp, minlength=n_groups).astype(np.int64)
    returning = np.bincount(grp[count >= 2], minlength=n_groups).astype(np.int64)
    return callers, returning


def _distinct_per_group(g: np.ndarray, rows: np.ndarray, n_groups: int) -> np.ndarray:
    """How many distinct rows (integer pairs) each group holds."""
    if not len(g):
        return np.zeros(n_groups, dtype=np.int64)
    unique = np.unique(np.column_stack([g, rows]), axis=0)
    return np.bincount(unique[:, 0], minlength=n_groups).astype(np.int64)
