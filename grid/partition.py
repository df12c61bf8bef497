"""The start of a zone design: compact zones of equal workload around k centres (location-
allocation, a linear programme on HiGHS), and the repair that makes every zone one piece."""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from grid.adjacency import CellGraph

__all__ = ["compact_start", "repair_contiguity", "split_zones"]

_FOUR_PI = 4 * math.pi


def compact_start(
    graph: CellGraph, workload: np.ndarray, k: int, *, seed: int = 0, rounds: int = 1
) -> np.ndarray:
    """
    Zones of equal workload around ``k`` centres, each cell going to a near centre.

    This is the classic location-allocation districting model (Hess et al. 1965): minimise the
    area-weighted squared distance of cells to their zone's centre subject to every zone carrying
    the mean workload, solved as a linear programme with HiGHS, moving the centres to their
    zones' centroids between rounds. At most ``k - 1`` cells are split by the programme; each
    goes to its larger share.
    """
    rng = np.random.default_rng(seed)
    xy = graph.centroid
    n = graph.n
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    # Cost weight: workload, with a little area so that empty cells still go to a near centre.
    # Weighting by workload keeps zones convex-ish (a power diagram); weighting by area alone
    # would let dense cells jump to far centres and split zones.
    mass = workload / max(workload.sum(), 1e-12) + 0.05 * graph.area / graph.area.sum()
    centres = _kmeans_pp(xy, mass, k, rng)
    for _ in range(8):  # plain weighted k-means first: cheap and it puts centres roughly right
        label = cKDTree(centres).query(xy)[1]
        centres = _weighted_centres(xy, mass, label, k, centres)
    zone = label
    for _ in range(rounds):
        share = _allocate(xy, mass, workload, centres)
        if share is None:
            break
        rows, cols, x = share
        zone = _largest_share(rows, cols, x, n)
        weight = mass[rows] * x
        moved = np.zeros((k, 2))
        np.add.at(moved, cols, weight[:, None] * xy[rows])
        total = np.bincount(cols, weight, minlength=k)
        new = np.where(total[:, None] > 0, moved / np.maximum(total, 1e-12)[:, None], centres)
        shift = np.abs(new - centres).max()
        centres = new
        if shift < 1e-3 * math.sqrt(graph.area.mean()):
            break
    return zone.astype(np.int64)


def _kmeans_pp(xy: np.ndarray, mass: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    first = rng.choice(len(xy), p=mass / mass.sum())
    centres = [xy[first]]
    d2 = ((xy - xy[first]) ** 2).sum(axis=1)
    for _ in range(k - 1):
        p = mass * d2
        nxt = rng.choice(len(xy), p=p / p.sum()) if p.sum() > 0 else rng.integers(len(xy))
        centres.append(xy[nxt])
        d2 = np.minimum(d2, ((xy - xy[nxt]) ** 2).sum(axis=1))
    return np.array(centres)


def _weighted_centres(
    xy: np.ndarray, mass: np.ndarray, label: np.ndarray, k: int, old: np.ndarray
) -> np.ndarray:
    total = np.bincount(label, mass, minlength=k)
    sx = np.bincount(label, mass * xy[:, 0], minlength=k)
    sy = np.bincount(label, mass * xy[:, 1], minlength=k)
    new = np.column_stack([sx, sy]) / np.maximum(total, 1e-300)[:, None]
    return np.where(total[:, None] > 0, new, old)


def _allocate(
    xy: np.ndarray, weight: np.ndarray, workload: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Solve the balanced allocation; cells may only go to their nearest few centres."""
    n, k = len(xy), len(centres)
    mean = workload.sum() / k
    for m in sorted({min(k, 6), min(k, 12), k}):
        dist, idx = cKDTree(centres).query(xy, k=m)
        dist, idx = dist.reshape(n, m), idx.reshape(n, m)
        cost = (weight[:, None] * dist**2).ravel()
        cost = cost / max(cost.mean(), 1e-300)
        rows, cols = np.repeat(np.arange(n), m), idx.ravel()
        var = np.arange(n * m)
        one_zone = sparse.csr_matrix((np.ones(n * m), (rows, var)), shape=(n, n * m))
        load = sparse.csr_matrix((workload[rows], (cols, var)), shape=(k, n * m))
        a_ub = sparse.vstack([load, -load]).tocsr()
        b_ub = np.r_[np.full(k, mean * 1.0005), np.full(k, -mean * 0.9995)]
        result = linprog(
            cost,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=one_zone,
            b_eq=np.ones(n),
            bounds=(0, 1),
            method="highs",
        )
        if result.status == 0:
            keep = result.x > 1e-9
            return rows[keep], cols[keep], result.x[keep]
    return None


def _largest_share(rows: np.ndarray, cols: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    order = np.lexsort((-x, rows))
    first = np.r_[True, rows[order][1:] != rows[order][:-1]]
    zone = np.zeros(n, dtype=np.int64)
    zone[rows[order][first]] = cols[order][first]
    return zone


def split_zones(graph: CellGraph, zone: np.ndarray, k: int) -> list[np.ndarray]:
    """Connected parts of each zone, largest first: ``parts[z]`` is a label per cell of zone z."""
    same = zone[graph.edges[:, 0]] == zone[graph.edges[:, 1]]
    e = graph.edges[same]
    mat = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(graph.n, graph.n))
    _, label = connected_components(mat, directed=False)
    return [label[zone == z] for z in range(k)]


def repair_contiguity(graph: CellGraph, zone: np.ndarray, k: int) -> np.ndarray:
    """
    Make every zone one connected piece: each zone keeps its largest piece, and every other
    piece joins the zone it shares the most boundary with. Empty zones take one cell from the
    zone with the most cells.
    """
    zone = zone.copy()
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    for _ in range(4 * k + 10):
        same = zone[a] == zone[b]
        mat = sparse.coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(graph.n, graph.n))
        _, piece = connected_components(mat, directed=False)
        size = np.bincount(piece, graph.area + 1e-9)
        # the largest piece of each zone stays
        order = np.lexsort((-size[piece], zone))
        first = np.r_[True, zone[order][1:] != zone[order][:-1]]
        keep = np.zeros(len(size), dtype=bool)
        keep[piece[order][first]] = True
        stray = ~keep[piece]
        if not stray.any():
            break
        # stray pieces: the zone (other than their own) they share the most boundary with
        cross = (piece[a] != piece[b]) & stray[a]
        cross_b = (piece[a] != piece[b]) & stray[b]
        src = np.r_[piece[a][cross], piece[b][cross_b]]
        dst_zone = np.r_[zone[b][cross], zone[a][cross_b]]
        length = np.r_[graph.shared[cross], graph.shared[cross_b]] + 1e-6
        own = np.r_[zone[a][cross], zone[b][cross_b]]
        ok = dst_zone != own
        if not ok.any():
            break
        src, dst_zone, length = src[ok], dst_zone[ok], length[ok]
        pair = src.astype(np.int64) * k + dst_zone
        total = np.bincount(pair, length)
        pairs = np.flatnonzero(total)
        p_src, p_zone = pairs // k, pairs % k
        best = np.lexsort((-total[pairs], p_src))
        first = np.r_[True, p_src[best][1:] != p_src[best][:-1]]
        target = dict(zip(p_src[best][first].tolist(), p_zone[best][first].tolist(), strict=True))
        for cell in np.flatnonzero(stray):
            t = target.get(int(piece[cell]))
            if t is not None:
                zone[cell] = t
    counts = np.bincount(zone, minlength=k)
    for z in np.flatnonzero(counts == 0):
        donor = int(np.argmax(np.bincount(zone, minlength=k)))
        cells = np.flatnonzero(zone == donor)
        # a cell on the donor's edge: its farthest from the donor's centre
        centre = graph.centroid[cells].mean(axis=0)
        far = cells[np.argmax(((graph.centroid[cells] - centre) ** 2).sum(axis=1))]
        zone[far] = z
    return zone
