"""Spots of repeat places (rule 3 of :mod:`incidents.repeats`, in :mod:`incidents.spots`): the fast
seeding gives exactly the spots, and spot numbers, of taking the seeds one at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from geodata.demo import make_demo
from incidents import spots as seeding
from incidents.repeats import repeat_places


def one_at_a_time(
    xy: np.ndarray,
    wall: np.ndarray,
    which: np.ndarray,
    radius: float,
    min_count: int,
    spot: np.ndarray,
    next_spot: int,
) -> int:
    """The former ``_spots_in_turn``, kept as it was: a KD-tree query per seed."""
    tree = cKDTree(xy)
    around = np.asarray(tree.query_ball_point(xy, radius, return_length=True, workers=-1))
    candidates = np.flatnonzero(around >= min_count)
    order = candidates[np.lexsort((candidates, wall[candidates], -around[candidates]))]
    local = np.full(len(xy), -1, dtype=np.int64)
    for seed in order:
        if local[seed] >= 0:
            continue
        members = np.asarray(tree.query_ball_point(xy[seed], radius), dtype=np.int64)
        members = members[local[members] < 0]
        if len(members) >= min_count:
            local[members] = next_spot
            next_spot += 1
    spot[which] = local
    return next_spot


def plain_rule(xy: np.ndarray, wall: np.ndarray, radius: float, min_count: int) -> np.ndarray:
    """Rule 3 word for word, on all pairwise distances (dx² + dy² <= r², as the KD-tree tests)."""
    dx = xy[:, 0][:, None] - xy[:, 0][None, :]
    dy = xy[:, 1][:, None] - xy[:, 1][None, :]
    near = dx * dx + dy * dy <= radius * radius
    around = near.sum(axis=1)
    seeds = sorted(range(len(xy)), key=lambda i: (-around[i], wall[i], i))
    spot = np.full(len(xy), -1, dtype=np.int64)
    next_spot = 0
    for seed in seeds:
        if spot[seed] >= 0:
            continue
        free = np.flatnonzero(near[seed] & (spot < 0))
        if len(free) >= min_count:  # fewer: seeds nothing (and a seed with fewer in all, too)
            spot[free] = next_spot
            next_spot += 1
    return spot


def spots(method, xy: np.ndarray, wall: np.ndarray, radius: float, min_count: int) -> np.ndarray:
    spot = np.full(len(xy), -1, dtype=np.int64)
    end = method(xy, wall, np.arange(len(xy)), radius, min_count, spot, 0)
    assert end == (spot.max() + 1 if (spot >= 0).any() else 0)
    return spot


def random_incidents(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Points (metres), wall times with many ties, and a radius giving ~5-40 neighbours."""
    rng = np.random.default_rng(seed)
    radius = float(rng.choice([7.5, 20.0, 50.0, 33.3]))
    side = radius * np.sqrt(n / rng.uniform(2, 12))  # mean neighbours ~ pi * n r² / side²
    if kind == "uniform":
        xy = rng.uniform(0, side, (n, 2))
    elif kind == "clustered":
        centres = rng.uniform(0, side, (max(1, n // 40), 2))
        xy = centres[rng.integers(0, len(centres), n)] + rng.normal(0, radius, (n, 2))
    elif kind == "grid":  # whole metres: distances exactly equal to the radius, stacked points
        radius = float(round(radius))
        xy = rng.integers(0, int(side / 2) + 1, (n, 2)).astype(float)
    elif kind == "chain":  # overlapping disks along a street: the order of seeds decides
        t = np.sort(rng.uniform(0, n * radius / rng.uniform(3, 10), n))
        xy = np.column_stack([t, rng.normal(0, radius / 4, n)])
    elif kind == "stacked":  # default locations: many calls at one point, some more nearby
        stacks = rng.uniform(0, side, (3, 2))
        xy = np.where(
            rng.random((n, 1)) < 0.5,
            stacks[rng.integers(0, 3, n)] + np.where(rng.random((n, 1)) < 0.8, 0.0, radius * 0.7),
            rng.uniform(0, side, (n, 2)),
        )
    elif kind == "ring":  # on circles of the radius (and centres), at UTM magnitudes: many d²
        centres = rng.uniform(0, side, (max(1, n // 8), 2)) + [500_000.0, 3_690_000.0]
        angle = rng.uniform(0, 2 * np.pi, n)  # a rounding either side of r²
        xy = centres[rng.integers(0, len(centres), n)]
        xy = xy + radius * np.column_stack([np.cos(angle), np.sin(angle)]) * (
            rng.random((n, 1)) < 0.7
        )
    else:  # "utm": realistic magnitudes, where rounding of differences matters
        xy = rng.uniform(0, side, (n, 2)) + [500_000.0, 3_690_000.0]
    wall = rng.integers(0, rng.choice([1, 3, 50, 10**9]), n).astype(np.int64)
    return xy, wall, radius


KINDS = ["uniform", "clustered", "grid", "chain", "stacked", "ring", "utm"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_former_loop_follows_the_plain_rule(kind: str) -> None:
    for seed in range(6):
        xy, wall, radius = random_incidents(kind, 60 + 40 * seed, seed)
        for min_count in (2, 3, 5):
            expected = plain_rule(xy, wall, radius, min_count)
            np.testing.assert_array_equal(
                spots(one_at_a_time, xy, wall, radius, min_count), expected
            )


@pytest.mark.parametrize("kind", KINDS)
def test_small_inputs_give_the_same_spots(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(12):
        xy, wall, radius = random_incidents(kind, 30 + 30 * seed, 100 + seed)
        for min_count in (2, 3, 4, 5):
            expected = plain_rule(xy, wall, radius, min_count)
            for pairs, batch in ((10**9, 10**9), (60, 10**9), (10**9, 4), (300, 1)):
                # Few pairs at once (in chunks shared by two threads) and few seeds at once.
                monkeypatch.setattr(seeding, "_PAIRS", pairs)
                monkeypatch.setattr(seeding, "_SEED_BATCH", batch)
                got = spots(seeding._spots_in_turn, xy, wall, radius, min_count)
                np.testing.assert_array_equal(got, expected, err_msg=f"{seed} {min_count} {pairs}")


@pytest.mark.parametrize("kind", KINDS)
def test_medium_inputs_give_the_same_spots(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seeding, "_PAIRS", 5_000)
    monkeypatch.setattr(seeding, "_SEED_BATCH", 64)
    for seed, (n, min_count) in enumerate([(20_000, 3), (8_000, 2), (12_000, 5)]):
        xy, wall, radius = random_incidents(kind, n, 200 + seed)
        expected = spots(one_at_a_time, xy, wall, radius, min_count)
        assert (expected >= 0).sum() > n // 10  # a real test: many spots to agree on
        got = spots(seeding._spots_in_turn, xy, wall, radius, min_count)
        np.testing.assert_array_equal(got, expected)


def test_ties_are_decided_by_time_then_input_order() -> None:
    # Four stacked calls, one 10 m east, one 20 m east, four stacked 30 m east; radius 10 m. The
    # two in the middle tie with 6 neighbours each: the first seeds a spot and takes the other.
    xy = np.array([[0.0, 0.0]] * 4 + [[10.0, 0.0], [20.0, 0.0]] + [[30.0, 0.0]] * 4)
    same_time = np.zeros(len(xy), dtype=np.int64)
    later_west = same_time.copy()
    later_west[4] = 1
    for wall, expected in (
        (same_time, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
        (later_west, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]),
    ):
        np.testing.assert_array_equal(plain_rule(xy, wall, 10.0, 3), expected)
        np.testing.assert_array_equal(spots(one_at_a_time, xy, wall, 10.0, 3), expected)
        np.testing.assert_array_equal(spots(seeding._spots_in_turn, xy, wall, 10.0, 3), expected)
    # Five needed: after the first spot the far stack has only four free calls left.
    np.testing.assert_array_equal(
        spots(seeding._spots_in_turn, xy, same_time, 10.0, 5), [0] * 6 + [-1] * 4
    )


def places_both_ways(incidents, monkeypatch: pytest.MonkeyPatch, **options):
    fast = repeat_places(incidents, **options)
    with monkeypatch.context() as patch:
        patch.setattr(seeding, "_spots_in_turn", one_at_a_time)
        former = repeat_places(incidents, **options)
    return fast, former


@pytest.mark.parametrize(
    "options",
    [
        {"same_address": False},
        {"same_address": False, "radius_m": 20, "min_count": 2},
        {"same_address": False, "radius_m": 80, "min_count": 5, "days": 90},
        {"same_address": True},  # incidents without an address are seeded in turn too
    ],
)
def test_community_places_are_unchanged(options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    incidents = make_demo("community")["incidents"]
    # Some incidents without an address, so the default rule seeds some in turn as well.
    incidents = incidents.assign(
        address=incidents["address"].where(np.arange(len(incidents)) % 7 != 0, pd.NA)
    )
    fast, former = places_both_ways(incidents, monkeypatch, **options)
    assert len(former) > 5
    pd.testing.assert_frame_equal(fast, former)


@pytest.mark.slow
def test_district_places_by_distance_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    incidents = make_demo("district")["incidents"]
    fast, former = places_both_ways(incidents, monkeypatch, same_address=False)
    assert len(former) > 1_000
    pd.testing.assert_frame_equal(fast, former)
