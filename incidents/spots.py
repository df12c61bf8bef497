"""Spots of repeat places (rule 3 of :mod:`incidents.repeats`): incidents gathered into disks of a
radius around the densest seeds first, among incidents of the same address or by distance alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["gather_spots"]


def gather_spots(
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
