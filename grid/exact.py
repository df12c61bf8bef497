"""Exact repair of workload balance: a small mixed-integer programme (HiGHS) choosing which border
cells change zone so that every zone lands within the band, with the fewest moves."""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from grid.search import ZoneState

__all__ = ["balance_exactly"]


def balance_exactly(
    state: ZoneState,
    *,
    rounds: int = 6,
    cuts: int = 10,
    seconds: float = 5.0,
    max_changed: int | None = None,
) -> bool:
    """
    Move border cells so that every zone's workload is within the band, solving which cells
    move as a mixed-integer programme; returns whether every zone ended within the band.

    Each round lets every border cell that can leave its zone (without cutting it) join one
    neighbouring zone. The programme keeps each zone's load in the band (with penalised slack
    when it cannot), lets a cell join a zone only next to a cell that stays there, and moves as
    few cells as it can. A solution that would still cut a zone in two gets a cut forbidding
    that combination, and the programme is solved again. Later rounds reach cells that became
    border cells. Greedy moves get stuck where workloads are coarse (a few whole incidents per
    cell); this finds combinations of moves across the whole map.
    """
    deadline = time.perf_counter() + seconds
    for _ in range(rounds):
        if state.penalty() <= 0:
            return True
        if time.perf_counter() > deadline:
            return False
        if max_changed is not None and state.changed() >= max_changed:
            return False
        problem = _Problem(state, max_changed)
        if not problem.cells:
            return False
        for _ in range(cuts):
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            moves = problem.solve(min(left, max(0.5, seconds / 4)))
            if moves is None:
                return False
            broken = _apply(state, moves)
            if broken is None:
                break
            problem.forbid(broken)
        else:
            return False
    return state.penalty() <= 0


class _Problem:
    """The programme of one round: variables x[c, j] (cell c joins zone j), slack per zone."""

    def __init__(self, state: ZoneState, max_changed: int | None) -> None:
        self.state = state
        zone, w = state.zone, state.w
        options = []
        for z in range(state.k):
            for c in state.border(z):
                if state.can_leave(c):
                    options += [(c, j) for j in state.touching(c) if j != z]
        options.sort()
        self.options = options
        self.cells = sorted({c for c, _ in options})
        n_x, k = len(options), state.k
        self.n_x = n_x
        rows, cols, vals, lower, upper = [], [], [], [], []

        def add(row_cols: list[int], row_vals: list[float], lo: float, hi: float) -> None:
            r = len(lower)
            rows.extend([r] * len(row_cols))
            cols.extend(row_cols)
            vals.extend(row_vals)
            lower.append(lo)
            upper.append(hi)

        by_cell: dict[int, list[int]] = {}
        for v, (c, _) in enumerate(options):
            by_cell.setdefault(c, []).append(v)
        for vs in by_cell.values():  # a cell moves at most once
            add(vs, [1.0] * len(vs), -np.inf, 1.0)
        # zone loads within the band, slack (over, under) at columns n_x + 2z, n_x + 2z + 1
        flows: list[list[tuple[int, float]]] = [[] for _ in range(k)]
        for v, (c, j) in enumerate(options):
            flows[zone[c]].append((v, -w[c]))
            flows[j].append((v, w[c]))
        for z in range(k):
            cols_z = [v for v, _ in flows[z]] + [n_x + 2 * z, n_x + 2 * z + 1]
            vals_z = [a for _, a in flows[z]] + [-1.0, 1.0]
            add(cols_z, vals_z, state.lo - state.load[z], state.hi - state.load[z])
        # a cell joins zone j only beside a cell of j that stays
        for v, (c, j) in enumerate(options):
            anchors = [nb for nb, _ in state.nbrs[c] if zone[nb] == j]
            if any(nb not in by_cell for nb in anchors):
                continue  # a neighbour in j that cannot move at all
            # x[c, j] + (moves of the anchors) <= number of anchors
            cols_v = [v] + [u for nb in anchors for u in by_cell[nb]]
            add(cols_v, [1.0] * len(cols_v), -np.inf, float(len(anchors)))
        if max_changed is not None:  # moved cells in all, against the cap
            start = state.start
            home = [v for v, (c, j) in enumerate(options) if j == start[c]]
            away = [v for v, (c, j) in enumerate(options) if zone[c] == start[c]]
            budget = max_changed - state.changed()
            add(away + home, [1.0] * len(away) + [-1.0] * len(home), -np.inf, float(budget))
        self.rows, self.cols, self.vals = rows, cols, vals
        self.lower, self.upper = lower, upper
        n = n_x + 2 * k
        # fewest moves, slack far dearer (per share of the mean workload); a move home is free
        cost = np.ones(n)
        for v, (c, j) in enumerate(options):
            cost[v] = (
                0.01 if j == state.start[c] else 1.0 + (0.5 if zone[c] != state.start[c] else 0.0)
            )
        cost[n_x:] = 1e4 * len(self.cells) / state.mean
        self.cost = cost
        self.n = n

    def forbid(self, moved_out: list[int]) -> None:
        """Forbid moving all of these (option indices) together again."""
        r = len(self.lower)
        self.rows.extend([r] * len(moved_out))
        self.cols.extend(moved_out)
        self.vals.extend([1.0] * len(moved_out))
        self.lower.append(-np.inf)
        self.upper.append(len(moved_out) - 1.0)

    def solve(self, seconds: float) -> list[tuple[int, int, int]] | None:
        matrix = sparse.csr_matrix(
            (self.vals, (self.rows, self.cols)), shape=(len(self.lower), self.n)
        )
        integrality = np.r_[np.ones(self.n_x), np.zeros(self.n - self.n_x)]
        upper = np.r_[np.ones(self.n_x), np.full(self.n - self.n_x, np.inf)]
        result = milp(
            self.cost,
            integrality=integrality,
            bounds=Bounds(0, upper),
            constraints=LinearConstraint(matrix, self.lower, self.upper),
            options={"time_limit": seconds, "disp": False, "mip_rel_gap": 0.2},
        )
        if result.x is None:
            return None
        chosen = np.flatnonzero(result.x[: self.n_x] > 0.5)
        return [(int(v), *self.options[v]) for v in chosen]


def _apply(state: ZoneState, moves: list[tuple[int, int, int]]) -> list[int] | None:
    """Make the moves; if a zone would be cut in two (or emptied), undo them and return the
    options that left that zone, else None."""
    source = {c: state.zone[c] for _, c, _ in moves}
    for _, c, j in moves:
        state.move(c, j)
    for z in {state.zone[c] for _, c, _ in moves} | set(source.values()):
        if not _connected(state, z):
            for _, c, _ in moves:
                state.move(c, source[c])
            state.moves_made -= 2 * len(moves)
            left = [v for v, c, _ in moves if source[c] == z]
            joined = [v for v, c, j in moves if j == z]
            return left + joined
    return None


def _connected(state: ZoneState, z: int) -> bool:
    members = state.members[z]
    if not members:
        return False
    first = next(iter(members))
    seen = {first}
    stack = [first]
    zone = state.zone
    while stack:
        c = stack.pop()
        for nb, _ in state.nbrs[c]:
            if nb not in seen and zone[nb] == z:
                seen.add(nb)
                stack.append(nb)
    return len(seen) == len(members)
