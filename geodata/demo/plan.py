"""Where the demo plants its hotspots and repeat-alarm places, and how many calls each gets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lattice import _Lattice
from .names import _HOTSPOT_THEMES, _REPEAT_THEMES
from .places import _Buildings, _Cells, _pick_building, _Rentals, _Sites
from .sizes import _HOTSPOTS, _REPEAT_PLACES

_PATTERNS = ("new", "intensifying", "diminishing", "persistent")


@dataclass
class _Plan:
    kind: np.ndarray  # "hotspot" or "repeat_place"
    pattern: np.ndarray
    u: np.ndarray
    v: np.ndarray
    counts: np.ndarray
    sigma: np.ndarray  # hotspot spread; for repeat places the jitter radius
    address: np.ndarray
    theme: np.ndarray  # main category of its calls
    night: np.ndarray  # calls at 22:00-03:00 only


def _spread(
    cand_u: np.ndarray,
    cand_v: np.ndarray,
    n: int,
    min_dist: float,
    taken: list[tuple[float, float, float]],
) -> list[int]:
    """
    Greedily pick up to ``n`` candidates, in order, that keep their distance from the others.

    ``taken`` holds points (u, v, distance to keep) already placed. Points are hashed into square
    buckets as wide as the largest distance, so only the 9 buckets around a candidate are checked.
    """
    size = max([min_dist] + [t[2] for t in taken])
    buckets: dict[tuple[int, int], list[tuple[float, float, float]]] = {}

    def add(u: float, v: float, dist: float) -> None:
        buckets.setdefault((int(u // size), int(v // size)), []).append((u, v, dist))

    for t in taken:
        add(*t)
    chosen: list[int] = []
    for c, (u, v) in enumerate(zip(cand_u.tolist(), cand_v.tolist(), strict=True)):
        if len(chosen) == n:
            break
        i, j = int(u // size), int(v // size)
        near = [
            p for di in (-1, 0, 1) for dj in (-1, 0, 1) for p in buckets.get((i + di, j + dj), ())
        ]
        if all((u - pu) ** 2 + (v - pv) ** 2 >= d * d for pu, pv, d in near):
            chosen.append(c)
            add(u, v, min_dist)
    return chosen


def _plan(
    lat: _Lattice,
    cells: _Cells,
    bld: _Buildings,
    rentals: _Rentals,
    sites: _Sites,
    scale: float,
    rng: np.random.Generator,
) -> _Plan:
    """Where the hotspots and repeat-alarm places go, and how many calls each gets."""
    n_hot, n_rep = round(_HOTSPOTS * scale), round(_REPEAT_PLACES * scale)
    # Hotspots 250 m apart: the first quarter at bars and KTVs (night), the others anywhere people
    # live, cycling through the temporal patterns.
    bars = rng.permutation(np.flatnonzero(sites.category == "nightlife"))
    night = _spread(sites.u[bars], sites.v[bars], max(1, round(n_hot / 4)), 250.0, [])
    taken = [(sites.u[bars[k]], sites.v[bars[k]], 250.0) for k in night]
    pop = cells.block_pop / cells.block_pop.sum()
    b = _pick_building(rng, bld, rng.choice(len(pop), 20 * n_hot, p=pop))
    others = _spread(bld.u[b], bld.v[b], n_hot - len(night), 250.0, taken)
    hot_u = np.concatenate([sites.u[bars[night]], bld.u[b[others]]])
    hot_v = np.concatenate([sites.v[bars[night]], bld.v[b[others]]])
    n_hot = len(hot_u)
    pattern = np.array(
        ["persistent"] * len(night) + [_PATTERNS[k % 4] for k in range(len(others))], dtype=object
    )
    # Repeat places 200 m apart and 150 m from hotspot centres: mostly rental flats (70%), some
    # shops. A weighted random order (exponential keys) gives each kind its share of the picks.
    cand_u, cand_v = np.concatenate([rentals.u, sites.u]), np.concatenate([rentals.v, sites.v])
    cand_address = np.concatenate([rentals.address, sites.address])
    weight = np.concatenate(
        [np.full(len(rentals.u), 0.7 / len(rentals.u)), np.full(len(sites.u), 0.3 / len(sites.u))]
    )
    order = np.argsort(rng.exponential(1.0, len(weight)) / weight)
    hot_taken = [(x, y, 150.0) for x, y in zip(hot_u, hot_v, strict=True)]
    places = order[_spread(cand_u[order], cand_v[order], n_rep, 200.0, hot_taken)]
    n_rep = len(places)
    hot_theme = np.array(_HOTSPOT_THEMES, dtype=object)[rng.integers(4, size=n_hot)]
    rep_theme = np.array(_REPEAT_THEMES, dtype=object)[rng.integers(4, size=n_rep)]
    return _Plan(
        kind=np.array(["hotspot"] * n_hot + ["repeat_place"] * n_rep, dtype=object),
        pattern=np.concatenate([pattern, np.full(n_rep, "", dtype=object)]),
        u=np.concatenate([hot_u, cand_u[places]]),
        v=np.concatenate([hot_v, cand_v[places]]),
        counts=np.concatenate(
            [rng.integers(110, 170, n_hot), 3 + np.minimum(rng.poisson(2.5, n_rep), 9)]
        ),
        # Hotspots a count map can show: ~half their calls within 60 m, at least 1.5 times the
        # community's density within 100 m of the centre, even in a quiet street.
        sigma=np.concatenate([rng.uniform(30, 60, n_hot), np.full(n_rep, 15.0)]),
        address=np.concatenate([np.full(n_hot, "", dtype=object), cand_address[places]]),
        theme=np.concatenate([hot_theme, rep_theme]),
        night=np.arange(n_hot + n_rep) < len(night),
    )
