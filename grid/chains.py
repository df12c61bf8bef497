"""Balancing where workloads are coarse (a few whole incidents per cell): chains of trades across
zones and paths through empty cells, for when no single move or swap helps."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grid.search import ZoneState

__all__ = ["reach_through_empty", "relay"]


def relay(state: ZoneState, z: int, *, tries: int = 2000) -> bool:
    """
    Bring zone z into the band by passing workload along a chain of zones: z gives a
    border cell (or swaps two) to the neighbour nearest a zone with room, which gives on
    in the same way if that took it out of the band, until a zone with room takes it; a
    zone below the band pulls workload the same way from the zones that have some to
    spare. Needed where workloads are coarse (whole incidents) and no single move or swap
    helps. Returns whether z ended within the band; on failure nothing is changed.
    """
    giving = state.load[z] > state.hi
    ends = [
        q
        for q in range(state.k)
        if q != z and (state.load[q] < state.mean if giving else state.load[q] > state.mean)
    ]
    hops = _zone_hops(state, ends)
    if hops.get(z) is None:
        return False
    return _relay(state, z, giving, hops, {z}, [tries], first=True)


def _zone_hops(state: ZoneState, ends: list[int]) -> dict[int, int]:
    """Hops from each zone to the nearest of ``ends`` in the graph of touching zones."""
    touching: dict[int, set[int]] = {q: set() for q in range(state.k)}
    zone = state.zone
    for c, around in enumerate(state.nbrs):
        for nb, _ in around:
            if zone[nb] != zone[c]:
                touching[zone[c]].add(zone[nb])
    hops = dict.fromkeys(ends, 0)
    queue = deque(ends)
    while queue:
        q = queue.popleft()
        for r in touching[q]:
            if r not in hops:
                hops[r] = hops[q] + 1
                queue.append(r)
    return hops


def _relay(
    state: ZoneState,
    z: int,
    giving: bool,
    hops: dict[int, int],
    chain: set[int],
    budget: list[int],
    *,
    first: bool = False,
) -> bool:
    here = hops[z]
    # transfers between z and a neighbouring zone nearer the end: one cell, or a swap of
    # two cells, changing z's load by -change
    options = []
    for j in state.neighbour_zones(z) - chain:
        if hops.get(j, here) >= here:
            continue
        for change, outs, ins in state.trades(z, j):
            if (change > 0) != giving:
                continue
            new = state.load[z] - change
            # the first zone must get closer to the band; a zone passing workload on must
            # end within it, so that a chain always reduces the total excess
            if state.lo <= new <= state.hi or (
                first and (state.excess(new) < state.excess(state.load[z]) - 1e-12)
            ):
                options.append((hops[j], abs(new - state.mean), len(outs) + len(ins), outs, ins, j))
    options.sort(key=lambda o: o[:3])
    for *_, outs, ins, j in options[:8]:
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        done = state.trade(outs, ins, z, j)
        if done is None:
            continue
        if state.lo <= state.load[j] <= state.hi:
            return True
        if _relay(state, j, giving, hops, chain | {j}, budget):
            return True
        state.undo(done)
    return False


def reach_through_empty(state: ZoneState, z: int, *, tries: int = 20) -> bool:
    """
    A zone below the band whose neighbours hold only empty cells (no workload: a park, an
    airport) cannot gain by single moves: take a path of empty cells to the nearest cell
    with workload, and that cell. A zone above the band gives away a path of its own
    empty cells and the cell with workload behind them. Returns whether z got closer to
    the band; on failure nothing is changed.
    """
    giving = state.load[z] > state.hi
    zone, w = state.zone, state.w
    before = state.penalty()
    start = state.border(z)
    parent: dict[int, int] = {}
    if giving:  # inside z, from its border inwards
        queue = deque(c for c in start)
        seen = set(start)
    else:  # outside z, from its neighbours outwards
        first = {nb for c in start for nb, _ in state.nbrs[c] if zone[nb] != z}
        queue, seen = deque(first), set(first)
    targets = []
    while queue and len(targets) < tries:
        c = queue.popleft()
        if w[c] > 0:
            new = state.load[z] - w[c] if giving else state.load[z] + w[c]
            if state.excess(new) < state.excess(state.load[z]) - 1e-12:
                targets.append(c)
            continue  # paths run through empty cells only
        for nb, _ in state.nbrs[c]:
            if nb not in seen and ((zone[nb] == z) if giving else (zone[nb] != z)):
                seen.add(nb)
                parent[nb] = c
                queue.append(nb)
    for target in targets:
        path = [target]
        while path[-1] in parent:
            path.append(parent[path[-1]])
        # giving: the border end of the path leaves first; taking: the end next to z joins
        # first (path runs target -> ... -> cell next to z)
        order = path[::-1]
        done = []
        for c in order:
            if giving:
                near = [q for q in state.touching(c) if q != z]
                if not near or not state.can_leave(c):
                    break
                done.append((c, z))
                state.move(c, near[0])
            else:
                if z not in state.touching(c) or not state.can_leave(c):
                    break
                done.append((c, zone[c]))
                state.move(c, z)
        else:
            if state.penalty() < before - 1e-15:
                return True
        for c, back in reversed(done):
            state.move(c, back)
        state.moves_made -= 2 * len(done)
    return False
