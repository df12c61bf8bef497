"""Getis-Ord Gi*: equal to PySAL esda on the same counts and weights, the FDR cut equal to esda's,
permutation p-values right, and planted hotspots of the demo community found.

How "found" is measured on the demo (hotspot level for recall, cell level for precision):

- A planted hotspot (``demo_truth``, kind ``hotspot``) is *found* when a flagged cell lies within
  its ``radius_m`` of its centre. Every planted hotspot is one a count map can show: at least 1.5
  times the community's mean incident density within 100 m of its centre (checked here; the
  demo plants 110-170 calls a year within a few dozen metres).
- Precision is over the cells flagged with the planted calls but not without them (the same
  seed with ``planted=False`` has exactly the same background calls): the share of those cells
  within ``radius_m`` of a planted hotspot. Cells flagged in both runs are the background's own
  hot spots (the generator gathers everyday calls around bars, markets, schools and hospitals),
  which the truth table does not list; they are neither credited nor charged.
"""

from __future__ import annotations

import functools
import itertools
import warnings

import esda
import geopandas as gpd
import numpy as np
import pytest
from libpysal.graph import Graph
from scipy import sparse

from geodata.analysis_grid import square_cells
from geodata.demo import make_demo
from incidents._hotspot_common import cell_counts
from incidents.gistar import cell_weights, fdr_cut, gi_star
from incidents.hotspots import hotspot_scores

DETECTABLE_DENSITY = 1.5  # times the mean density within 100 m of a planted centre


@functools.cache
def demo(seed: int, planted: bool = True) -> dict[str, gpd.GeoDataFrame]:
    """The demo community (cached: several tests use the same seeds)."""
    return make_demo("community", seed, planted=planted)


@functools.cache
def demo_cells(seed: int, size_m: float = 50.0) -> gpd.GeoDataFrame:
    return square_cells(demo(seed)["grid_cells"], size_m)


def esda_gi_star(values, weights, transform="B", **options):
    """esda's Gi*, each cell given weight 1 to itself as gridwatch does (esda would otherwise
    warn and guess the self-weight for row-standardised weights)."""
    with_self = sparse.csr_array(weights + sparse.identity(weights.shape[0], format="csr"))
    with warnings.catch_warnings():
        # esda warns that the default alternative of its permutation test will change.
        warnings.simplefilter("ignore", DeprecationWarning)
        return esda.G_Local(
            values, Graph.from_sparse(with_self), transform=transform, star=True, **options
        )


# --- equal to esda ---------------------------------------------------------------------------


@pytest.mark.parametrize("transform", ["B", "R"])
def test_z_scores_equal_esda_on_demo_counts_and_queen_weights(transform):
    cells = demo_cells(0)
    counts = cell_counts(demo(0)["incidents"], cells, "cell_id")
    weights = cell_weights(cells)
    ours = gi_star(counts, weights, transform=transform)
    theirs = esda_gi_star(counts, weights, transform=transform, permutations=0)
    np.testing.assert_allclose(ours["gi_z"], theirs.Zs, atol=1e-6)
    np.testing.assert_allclose(ours["gi_p"], 2 * theirs.p_norm, atol=1e-9)  # esda's is one-sided
    # A real map, not all zeros (esda's moments make row-standardised z-scores much smaller).
    assert np.abs(ours["gi_z"]).max() > (3 if transform == "B" else 1.5)


def test_z_scores_equal_esda_on_irregular_grid_cells_with_their_populations_as_values():
    cells = demo(0)["grid_cells"]  # 11 hand-drawn polygons of different shapes
    weights = cell_weights(cells)
    values = cells["population"].to_numpy(dtype=float)
    ours = gi_star(values, weights)
    np.testing.assert_allclose(
        ours["gi_z"], esda_gi_star(values, weights, permutations=0).Zs, atol=1e-6
    )
    assert weights.sum() > 20  # the grid cells do touch one another


def test_queen_weights_of_a_regular_grid_give_eight_neighbours_inside_and_three_at_corners():
    cells = square_cells(
        gpd.GeoSeries([gpd.points_from_xy([120.16], [33.356])[0].buffer(0.004)], crs=4326),
        100.0,
        clip=False,
    )
    weights = cell_weights(cells)
    degree = np.asarray(weights.sum(axis=1)).ravel()
    rows, cols = cells["row"].to_numpy(), cells["col"].to_numpy()
    inner = (rows > 0) & (rows < rows.max()) & (cols > 0) & (cols < cols.max())
    corner = np.isin(rows, [0, rows.max()]) & np.isin(cols, [0, cols.max()])
    assert (degree[inner] == 8).all() and (degree[corner] == 3).all()
    assert weights.diagonal().sum() == 0
    assert (np.asarray(cell_weights(cells, rook=True).sum(axis=1)).ravel()[inner] == 4).all()


def test_fdr_cut_equals_esda_fdr():
    rng = np.random.default_rng(4)
    cases = [
        rng.uniform(size=500),  # nothing real: the Bonferroni-like floor
        np.r_[rng.uniform(0, 1e-4, 30), rng.uniform(size=300)],
        np.r_[rng.uniform(0, 0.01, 100), rng.uniform(size=100)],
        np.full(50, 1e-6),  # everything significant
    ]
    for p in cases:
        for alpha in (0.05, 0.1):
            assert fdr_cut(p, alpha) == pytest.approx(esda.fdr(p, alpha), rel=1e-12)
    mixed = cases[1]
    assert (mixed < fdr_cut(mixed)).sum() >= 25


def test_fdr_cut_ignores_missing_p_values():
    p = np.array([1e-5, 2e-5, 0.5, np.nan, np.nan])
    assert fdr_cut(p, 0.05) == pytest.approx(esda.fdr(p[:3], 0.05))


# --- permutations ----------------------------------------------------------------------------


def test_permutation_p_matches_the_exact_conditional_distribution():
    # A path of 9 cells; cell 4 has neighbours 3 and 5. Under conditional permutation its two
    # neighbours are any 2 of the other 8 values: 28 equally likely pairs, enumerated here.
    values = np.array([0, 1, 2, 3, 9, 8, 1, 0, 2], dtype=float)
    n = len(values)
    weights = sparse.diags_array([np.ones(n - 1), np.ones(n - 1)], offsets=[-1, 1]).tocsr()
    others = np.delete(values, 4)
    sums = np.array([a + b for a, b in itertools.combinations(others, 2)])
    observed = values[3] + values[5]
    larger = (sums >= observed).mean()
    exact = min(larger, 1 - larger)
    result = gi_star(values, weights, permutations=20_000, seed=3)
    assert result["gi_p_sim"].iloc[4] == pytest.approx(exact, abs=0.006)
    assert exact == pytest.approx(1 / 28)  # only the pair (3, 8) reaches the observed 3 + 8


def test_permutation_p_values_agree_with_esda_in_distribution():
    cells = demo_cells(0)
    counts = cell_counts(demo(0)["incidents"], cells, "cell_id")
    weights = cell_weights(cells)
    ours = gi_star(counts, weights, permutations=999, seed=1)["gi_p_sim"].to_numpy()
    theirs = esda_gi_star(counts, weights, permutations=999, seed=1, n_jobs=1).p_sim
    # Different random draws: each p-value has a Monte Carlo error of about 0.01.
    assert np.corrcoef(ours, theirs)[0, 1] > 0.98
    assert np.abs(ours - theirs).mean() < 0.02
    assert abs((ours < 0.05).mean() - (theirs < 0.05).mean()) < 0.03


def test_a_cell_without_neighbours_gets_no_permutation_evidence():
    values = np.array([5.0, 1, 2, 3, 50])
    weights = sparse.csr_array(
        np.array(
            [[0, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]],
            dtype=float,
        )
    )
    result = gi_star(values, weights, permutations=99)
    assert result["gi_p_sim"].iloc[4] == 1.0  # esda would give it 1/(permutations + 1)


def shuffled_demo_incidents(seed: int, shuffles: int):
    """The demo without planted hotspots, its cell counts shuffled over the cells, as incident
    points at the cell centres: Gi*'s null hypothesis holds exactly, so every hotspot is false
    and the FDR equals the chance of any."""
    cells = demo_cells(0)
    counts = cell_counts(demo(0, planted=False)["incidents"], cells, "cell_id").astype(int)
    centres = cells.geometry.representative_point().to_numpy()
    rng = np.random.default_rng(seed)
    for _ in range(shuffles):
        points = np.repeat(centres, rng.permutation(counts))
        yield cells, gpd.GeoDataFrame(geometry=points, crs=cells.crs)


@pytest.mark.parametrize(
    ("options", "most"),
    [
        # The default: normal p-values of Anscombe's root of the counts. Measured over 900
        # shuffles of seeds 0-2: 6.9% of maps show a false hotspot (nominal 5%).
        ({}, 0.05 * 60 + 3),  # binomial(60, 0.05) exceeds 6 once in 40 runs
        # Conditional permutations: conservative (none in 180 shuffles of seeds 0-2).
        ({"values": "counts", "permutations": 999}, 0.05 * 60 + 3),
    ],
)
def test_no_false_hotspots_beyond_the_fdr_on_counts_placed_at_random(options, most):
    with_false = sum(
        hotspot_scores(points, cells, method="gistar", seed=k, **options)["hotspot"].any()
        for k, (cells, points) in enumerate(shuffled_demo_incidents(11, 60))
    )
    assert with_false <= most


def test_normal_p_values_of_raw_counts_let_false_hotspots_through():
    # Why the default takes the root: on raw counts a few busy cells make their neighbours'
    # z-scores look extreme (13 of these 60 maps; 25% over 180 shuffles of seeds 0-2).
    with_false = sum(
        hotspot_scores(points, cells, method="gistar", values="counts")["hotspot"].any()
        for cells, points in shuffled_demo_incidents(11, 60)
    )
    assert with_false >= 10


def test_unknown_gistar_values_are_a_clear_error():
    cells, points = next(shuffled_demo_incidents(0, 1))
    with pytest.raises(ValueError, match="'anscombe' or 'counts'"):
        hotspot_scores(points, cells, method="gistar", values="log")


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error():
    weights = cell_weights(demo_cells(0))
    n = weights.shape[0]
    with pytest.raises(ValueError, match="cannot be negative"):
        gi_star(-np.ones(n), weights)
    with pytest.raises(ValueError, match="does not match"):
        gi_star(np.ones(n + 1), weights)
    with pytest.raises(ValueError, match="transform"):
        gi_star(np.ones(n), weights, transform="X")
    with pytest.raises(ValueError, match="missing or infinite"):
        gi_star(np.r_[np.nan, np.ones(n - 1)], weights)
    flat = gi_star(np.ones(n), weights)  # no variation: no z-score, no hotspot, no warning
    assert flat["gi_z"].isna().all() and not flat["hotspot"].any()


# --- planted hotspots of the demo ------------------------------------------------------------


def planted_hotspot_scores(seed: int, *, scramble: bool = False) -> tuple[list[bool], int, int]:
    """Return found-or-not per detectable planted hotspot, and the flagged-only-with-planted
    cells (all, and those near a planted hotspot). ``scramble`` pairs the counts with the wrong
    cells: a broken Gi* that the measure must catch."""
    cells = demo_cells(seed)
    planted, background = demo(seed), demo(seed, planted=False)
    options = {}
    if scramble:
        order = np.random.default_rng(seed).permutation(len(cells))
        options["weights"] = cell_weights(cells)[order][:, order]
    flagged = hotspot_scores(planted["incidents"], cells, method="gistar", **options)["hotspot"]
    without = hotspot_scores(background["incidents"], cells, method="gistar", **options)["hotspot"]
    new = flagged.to_numpy() & ~without.to_numpy()

    metric = cells.estimate_utm_crs()
    cell_shapes = cells.to_crs(metric).geometry
    points = planted["incidents"].to_crs(metric).geometry
    mean_density = len(points) / cell_shapes.area.sum()
    truth = planted["demo_truth"].query("kind == 'hotspot'").to_crs(metric)
    near_any = np.zeros(len(cells), dtype=bool)
    found = []
    for centre, radius in zip(truth.geometry, truth["radius_m"], strict=True):
        near = (cell_shapes.distance(centre) <= radius).to_numpy()
        near_any |= near
        density = (points.distance(centre) <= 100).sum() / (np.pi * 100**2)
        assert density >= DETECTABLE_DENSITY * mean_density
        found.append(bool((flagged.to_numpy() & near).any()))
    return found, int(new.sum()), int((new & near_any).sum())


def test_gistar_finds_the_planted_hotspots_of_two_demo_communities():
    found, new, new_near = [], 0, 0
    for seed in (0, 1):
        f, n, m = planted_hotspot_scores(seed)
        found += f
        new += n
        new_near += m
    assert len(found) == 8
    assert all(found)
    assert new >= 10 and new_near / new >= 0.9


def test_the_measure_fails_a_gistar_with_scrambled_neighbours():
    found, new, new_near = planted_hotspot_scores(0, scramble=True)
    recall = np.mean(found)
    precision = new_near / new if new else 0.0
    assert recall < 0.9 or precision < 0.9


@pytest.mark.slow
def test_gistar_recall_and_precision_over_ten_demo_communities():
    found, new, new_near = [], 0, 0
    for seed in range(10):
        f, n, m = planted_hotspot_scores(seed)
        found += f
        new += n
        new_near += m
    recall, precision = np.mean(found), new_near / new
    assert len(found) == 40
    assert recall >= 0.9, f"recall {recall:.2f} over {len(found)} detectable planted hotspots"
    assert precision >= 0.9, f"precision {precision:.2f} over {new} cells"
