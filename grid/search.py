"""Local search over zone borders: move or swap border cells to balance workload, to make zones
compact (Polsby-Popper, cut edges), always keeping every zone in one piece."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

from grid.adjacency import CellGraph
from grid.chains import reach_through_empty, relay

__all__ = ["ZoneState"]

_FOUR_PI = 4 * math.pi


class ZoneState:
    """
    A plan being improved: the zone of each cell and each zone's totals, kept up to date.

    Workload balance is a band around the mean (``tolerance``, e.g. 0.02 for ±2%); compactness is
    the sum of the zones' Polsby-Popper scores less ``cut_weight`` per cut edge.
    """

    def __init__(
        self,
        graph: CellGraph,
        workload: np.ndarray,
        zone: np.ndarray,
        k: int,
        *,
        tolerance: float,
        seed: int = 0,
        start: np.ndarray | None = None,
        cut_weight: float = 0.002,
    ) -> None:
        self.k = k
        self.nbrs = graph.neighbours()
        self.w = workload.astype(float).tolist()
        self.cell_area = graph.area.tolist()
        self.cell_perim = graph.perimeter.tolist()
        self.zone = zone.astype(np.int64).tolist()
        self.start = (start if start is not None else zone).astype(np.int64).tolist()
        self.members = [set(np.flatnonzero(zone == z).tolist()) for z in range(k)]
        self.mean = float(workload.sum()) / k
        self.lo = self.mean * (1 - tolerance)
        self.hi = self.mean * (1 + tolerance)
        self.cut_weight = cut_weight
        self.rng = np.random.default_rng(seed)
        self.load = np.bincount(zone, workload, minlength=k).tolist()
        self.area = np.bincount(zone, graph.area, minlength=k).tolist()
        perim = np.bincount(zone, graph.perimeter, minlength=k)
        a, b = graph.edges[:, 0], graph.edges[:, 1]
        inner = zone[a] == zone[b]
        perim -= 2 * np.bincount(zone[a][inner], graph.shared[inner], minlength=k)
        self.perim = perim.tolist()
        self.cut = int((~inner).sum())
        self.moves_made = 0

    # --- measures ---------------------------------------------------------------------------

    def pp(self, z: int) -> float:
        """Polsby-Popper score of zone z."""
        return _pp(self.area[z], self.perim[z])

    def excess(self, load: float) -> float:
        """How far a load lies outside the tolerance band, as a share of the mean."""
        if load > self.hi:
            return (load - self.hi) / self.mean
        if load < self.lo:
            return (self.lo - load) / self.mean
        return 0.0

    def penalty(self) -> float:
        """Sum over zones of the squared excess: zero when every zone is within tolerance."""
        return sum(self.excess(x) ** 2 for x in self.load)

    def score(self) -> float:
        """Compactness score: sum of Polsby-Popper over zones less the weighted cut edges."""
        return sum(self.pp(z) for z in range(self.k)) - self.cut_weight * self.cut

    def max_deviation(self) -> float:
        """Largest deviation of a zone's workload from the mean, as a share of the mean."""
        return max(abs(x - self.mean) for x in self.load) / self.mean

    def changed(self) -> int:
        """Cells in another zone than at the start."""
        return sum(1 for a, b in zip(self.zone, self.start, strict=True) if a != b)

    def assignment(self) -> np.ndarray:
        """Zone of each cell."""
        return np.array(self.zone, dtype=np.int64)

    # --- one move -----------------------------------------------------------------------------

    def touching(self, c: int) -> dict[int, tuple[float, int]]:
        """Zones around cell c (its own included): shared boundary and neighbours in each."""
        out: dict[int, tuple[float, int]] = {}
        zone = self.zone
        for nb, length in self.nbrs[c]:
            z = zone[nb]
            s, m = out.get(z, (0.0, 0))
            out[z] = (s + length, m + 1)
        return out

    def can_leave(self, c: int) -> bool:
        """Whether cell c can leave its zone and leave it in one piece (and not empty)."""
        z = self.zone[c]
        if len(self.members[z]) <= 1:
            return False
        zone = self.zone
        targets = {nb for nb, _ in self.nbrs[c] if zone[nb] == z}
        if len(targets) <= 1:
            return bool(targets)
        first = targets.pop()
        seen = {first, c}
        queue = deque([first])
        while queue:
            x = queue.popleft()
            for nb, _ in self.nbrs[x]:
                if nb not in seen and zone[nb] == z:
                    if nb in targets:
                        targets.discard(nb)
                        if not targets:
                            return True
                    seen.add(nb)
                    queue.append(nb)
        return False

    def gain(self, c: int, j: int, around: dict[int, tuple[float, int]]) -> float:
        """Change of the compactness score if cell c moves to zone j."""
        i = self.zone[c]
        si, ni = around.get(i, (0.0, 0))
        sj, nj = around.get(j, (0.0, 0))
        pc, ac = self.cell_perim[c], self.cell_area[c]
        after = _pp(self.area[i] - ac, self.perim[i] - pc + 2 * si) + _pp(
            self.area[j] + ac, self.perim[j] + pc - 2 * sj
        )
        return after - self.pp(i) - self.pp(j) - self.cut_weight * (ni - nj)

    def move(self, c: int, j: int) -> None:
        """Move cell c to zone j, updating the totals."""
        i = self.zone[c]
        around = self.touching(c)
        si, ni = around.get(i, (0.0, 0))
        sj, nj = around.get(j, (0.0, 0))
        pc, ac, wc = self.cell_perim[c], self.cell_area[c], self.w[c]
        self.perim[i] += -pc + 2 * si
        self.perim[j] += pc - 2 * sj
        self.area[i] -= ac
        self.area[j] += ac
        self.load[i] -= wc
        self.load[j] += wc
        self.cut += ni - nj
        self.members[i].discard(c)
        self.members[j].add(c)
        self.zone[c] = j
        self.moves_made += 1

    def border(self, z: int, towards: int | None = None) -> list[int]:
        """Cells of zone z with a neighbour in another zone (or in zone ``towards``)."""
        zone, nbrs = self.zone, self.nbrs
        if towards is None:
            return [c for c in self.members[z] if any(zone[nb] != z for nb, _ in nbrs[c])]
        return [c for c in self.members[z] if any(zone[nb] == towards for nb, _ in nbrs[c])]

    # --- balance --------------------------------------------------------------------------------

    def balance(self, *, seconds: float, target: float | None = None) -> bool:
        """
        Even out workloads: move border cells, or swap pairs of them, between neighbouring zones
        while that reduces the sum of squared deviations from the mean, the most deviant zone
        first, until every zone is within ``target`` (a share of the mean; half the tolerance by
        default, leaving room to make zones compact). Zones between a heavy and a light one
        pass workload along. Returns whether every zone ended within tolerance.

        Among moves that even out at least half as much as the best one, the one that keeps
        zones most compact is taken.
        """
        target = (self.hi / self.mean - 1) / 2 if target is None else target
        deadline = time.perf_counter() + seconds
        stuck: set[int] = set()
        while time.perf_counter() < deadline:
            dev = [abs(x - self.mean) / self.mean for x in self.load]
            out = [z for z in range(self.k) if dev[z] > target and z not in stuck]
            if not out:
                break
            z = max(out, key=dev.__getitem__)
            if not (self._even_out(z) or self._even_out_by_swap(z)):
                stuck.add(z)
                continue
            stuck.clear()
        return self.repair_band(deadline=deadline)

    def repair_band(self, *, deadline: float, max_changed: int | None = None) -> bool:
        """
        Bring the zones still outside the band into it: single moves and swaps that reduce
        the squared excess over the band, then chains of transfers and paths through empty
        cells (:mod:`grid.chains`). Every step strictly reduces the excess, so this ends; it returns
        whether every zone is within the band.
        """
        while time.perf_counter() < deadline:
            out = sorted(
                (z for z in range(self.k) if self.excess(self.load[z]) > 0),
                key=lambda q: -self.excess(self.load[q]),
            )
            if not out:
                return True
            for z in out:
                move = self._least_change_move(z, max_changed)
                if move is not None:
                    self.move(*move)
                    break
                if not self._room_for(2, max_changed):
                    continue
                if self._even_out_by_swap(z, band=True):
                    break
                # chains and paths may move many cells: not under a cap on changes
                if max_changed is None and (relay(self, z) or reach_through_empty(self, z)):
                    break
            else:
                return False
        return all(self.lo <= x <= self.hi for x in self.load)

    def trades(self, z: int, j: int) -> list[tuple[float, tuple[int, ...], tuple[int, ...]]]:
        """Ways for zones z and j to trade border cells: up to two cells each way, at most
        three in all, each with the workload z loses by it."""
        w = self.w
        mine, theirs = self.border(z, towards=j), self.border(j, towards=z)
        outs = [(c,) for c in mine] + [(a, b) for i, a in enumerate(mine) for b in mine[i + 1 :]]
        ins = [(d,) for d in theirs] + [
            (a, b) for i, a in enumerate(theirs) for b in theirs[i + 1 :]
        ]
        trades = [(sum(w[c] for c in o), o, ()) for o in outs]
        trades += [(-sum(w[d] for d in i), (), i) for i in ins]
        trades += [
            (sum(w[c] for c in o) - sum(w[d] for d in i), o, i)
            for o in outs
            for i in ins
            if len(o) + len(i) <= 3
        ]
        return [t for t in trades if t[0] != 0]

    def trade(
        self, outs: tuple[int, ...], ins: tuple[int, ...], z: int, j: int
    ) -> list[tuple[int, int]] | None:
        """Move ``outs`` from zone z to j and ``ins`` from j to z, one at a time, each zone
        staying in one piece; returns the moves made (cell, old zone), or None and changes
        nothing when a move would break a zone."""
        done: list[tuple[int, int]] = []
        for cell, target in [(c, j) for c in outs] + [(d, z) for d in ins]:
            if target not in self.touching(cell) or not self.can_leave(cell):
                self.undo(done)
                return None
            done.append((cell, self.zone[cell]))
            self.move(cell, target)
        return done

    def undo(self, done: list[tuple[int, int]]) -> None:
        """Reverse moves returned by :meth:`trade` (they do not count as moves made)."""
        for cell, source in reversed(done):
            self.move(cell, source)
        self.moves_made -= 2 * len(done)

    def _even_out(self, z: int) -> bool:
        """Make the best single move evening out zone z with a neighbour; False if none."""
        zone, mean = self.zone, self.mean
        heavy = self.load[z] > mean
        if heavy:
            cells = self.border(z)
        else:
            cells = list({nb for c in self.border(z) for nb, _ in self.nbrs[c] if zone[nb] != z})
        options = []
        for c in cells:
            i = zone[c]
            wc = self.w[c]
            around = self.touching(c)
            for j in [q for q in around if q != i] if heavy else [z]:
                change = 2 * wc * (self.load[j] - self.load[i] + wc)  # of sum of squares
                if change < -1e-9 * mean * mean:
                    options.append((change, c, j, around))
        if not options:
            return False
        best = min(o[0] for o in options)
        options = [o for o in options if o[0] <= 0.5 * best]
        options.sort(key=lambda o: -self.gain(o[1], o[2], o[3]))
        for _, c, j, _ in options:
            if self.can_leave(c):
                self.move(c, j)
                return True
        return False

    def _even_out_by_swap(self, z: int, *, band: bool = False) -> bool:
        """Trade border cells of zone z with a neighbour (a swap, or two cells for one) so
        that a little workload changes hands; False if no trade helps. With ``band`` the trade
        must reduce the squared excess over the band, else the squared deviation from the
        mean."""
        heavy = self.load[z] > self.mean
        options = []
        for j in self.neighbour_zones(z):
            gap = self.load[z] - self.load[j]
            if (gap > 0) != heavy or gap == 0:
                continue
            lz, lj = self.load[z], self.load[j]
            before = self.excess(lz) ** 2 + self.excess(lj) ** 2
            for t, outs, ins in self.trades(z, j):  # t: workload passing from z to j
                if not (outs and ins) and not band:
                    continue  # single moves were tried already
                if band:
                    change = self.excess(lz - t) ** 2 + self.excess(lj + t) ** 2 - before
                else:
                    change = 2 * t * (t - gap) / (self.mean * self.mean)
                if change < -1e-12:
                    options.append((change, len(outs) + len(ins), outs, ins, j))
        options.sort(key=lambda o: o[:2])
        for *_, outs, ins, j in options[:50]:
            if self.trade(outs, ins, z, j) is not None:
                return True
        return False

    def neighbour_zones(self, z: int) -> set[int]:
        """Zones touching zone z."""
        zone = self.zone
        return {zone[nb] for c in self.border(z) for nb, _ in self.nbrs[c]} - {z}

    # --- fewest changes -----------------------------------------------------------------------

    def balance_with_few_changes(self, *, seconds: float, max_changed: int | None = None) -> bool:
        """
        Bring every zone within tolerance moving as few cells as possible away from their
        starting zone: each step takes the move that most reduces the squared excess over the
        band (heavy cells first, so fewer of them), preferring cells that return home; then
        cells whose return home keeps every zone within the band are sent back.
        """
        deadline = time.perf_counter() + seconds
        self.repair_band(deadline=deadline, max_changed=max_changed)
        self._send_back()
        self._tidy_changes(deadline + 0.5 * seconds)
        return all(self.lo <= x <= self.hi for x in self.load)

    def _tidy_changes(self, deadline: float) -> None:
        """Swap moved cells for better-shaped ones: send a moved cell home and move another
        cell of its home zone, on the same border, instead, where that keeps the band and makes
        the zones more compact; the number of moved cells stays the same."""
        improved = True
        while improved and time.perf_counter() < deadline:
            improved = False
            for c in range(len(self.zone)):
                j, home = self.zone[c], self.start[c]
                if j == home or home not in self.touching(c):
                    continue
                for d in self.border(home, towards=j):
                    if self.start[d] != home or d == c:
                        continue
                    t = self.w[d] - self.w[c]
                    if not (self._fits(j, t) and self._fits(home, -t)):
                        continue
                    if self._exchange(c, home, d, j):
                        improved = True
                        break

    def _exchange(self, c: int, home: int, d: int, j: int) -> bool:
        """Move c (now in j) home and d from home to j if both zones stay in one piece and
        together they get more compact."""
        if not self.can_leave(c):
            return False
        g1 = self.gain(c, home, self.touching(c))
        self.move(c, home)
        around = self.touching(d)
        if j in around and self.can_leave(d) and g1 + self.gain(d, j, around) > 1e-9:
            self.move(d, j)
            return True
        self.move(c, j)
        self.moves_made -= 2
        return False

    def _least_change_move(self, z: int, max_changed: int | None) -> tuple[int, int] | None:
        over = self.load[z] > self.hi
        zone, start = self.zone, self.start
        if over:
            cells = self.border(z)
        else:
            cells = list({nb for c in self.border(z) for nb, _ in self.nbrs[c] if zone[nb] != z})
        at_cap = max_changed is not None and self.changed() >= max_changed
        options = []
        for c in cells:
            i = zone[c]
            wc = self.w[c]
            around = self.touching(c)
            for j in [q for q in around if q != i] if over else [z]:
                if at_cap and zone[c] == start[c]:
                    continue  # at the cap only cells already moved may move on
                change = (
                    self.excess(self.load[i] - wc) ** 2
                    + self.excess(self.load[j] + wc) ** 2
                    - self.excess(self.load[i]) ** 2
                    - self.excess(self.load[j]) ** 2
                )
                if change >= -1e-15:
                    continue
                # 0: adds no changed cell (a cell going home, or one already moved moving on)
                new_change = 0 if j == start[c] or zone[c] != start[c] else 1
                options.append((new_change, change, -self.gain(c, j, around), c, j))
        if not options:
            return None
        # moves adding no changed cell first; then, among moves doing at least 70% as much for
        # the balance as the best, the one keeping zones most compact
        free = [o for o in options if o[0] == 0]
        pool = free or options
        best = min(o[1] for o in pool)
        pool = sorted((o for o in pool if o[1] <= 0.7 * best), key=lambda o: o[2])
        for *_, c, j in pool:
            if self.can_leave(c):
                return c, j
        return None

    def _room_for(self, cells: int, max_changed: int | None) -> bool:
        return max_changed is None or self.changed() + cells <= max_changed

    def _send_back(self) -> None:
        """Return moved cells to their starting zone where every zone stays within the band."""
        again = True
        while again:
            again = False
            for c in range(len(self.zone)):
                i, home = self.zone[c], self.start[c]
                if i == home or home not in self.touching(c):
                    continue
                wc = self.w[c]
                if (
                    (
                        self.lo <= self.load[i] - wc <= self.hi
                        or self.excess(self.load[i] - wc) <= self.excess(self.load[i])
                    )
                    and (
                        self.lo <= self.load[home] + wc <= self.hi
                        or self.excess(self.load[home] + wc) <= self.excess(self.load[home])
                    )
                    and self.can_leave(c)
                ):
                    self.move(c, home)
                    again = True

    # --- compactness ------------------------------------------------------------------------------

    def refine(self, *, seconds: float, swaps: bool = True) -> None:
        """Move, or swap in pairs, border cells while that makes zones more compact, keeping
        every zone's workload within the band (or no further outside it than before)."""
        deadline = time.perf_counter() + seconds
        improved = True
        while improved and time.perf_counter() < deadline:
            improved = False
            cells = [c for z in range(self.k) for c in self.border(z)]
            cells.sort()
            self.rng.shuffle(cells)
            for c in cells:
                if time.perf_counter() > deadline:
                    break
                i = self.zone[c]
                around = self.touching(c)
                wc = self.w[c]
                for j in list(around):
                    if j == i:
                        continue
                    g = self.gain(c, j, around)
                    fits = self._fits(i, -wc) and self._fits(j, wc)
                    if fits and g > 1e-9:
                        if self.can_leave(c):
                            self.move(c, j)
                            improved = True
                            break
                    elif swaps and g > -0.02 and self._swap(c, i, j, g):
                        improved = True
                        break

    def anneal(
        self,
        *,
        moves: int,
        start_temperature: float = 0.03,
        end_temperature: float = 0.0003,
        seconds: float = 10.0,
    ) -> None:
        """
        Simulated annealing over border cells: a move that makes zones less compact is still
        taken with probability exp(gain / temperature), the temperature falling from
        ``start_temperature`` to ``end_temperature`` over about ``moves`` tries, so the search
        can leave a local optimum. Workloads stay within the band (moves that would leave it
        are tried as swaps); zones stay in one piece.
        """
        deadline = time.perf_counter() + seconds
        tried = 0
        sweeps = 0
        while tried < moves and time.perf_counter() < deadline:
            cells = [c for z in range(self.k) for c in self.border(z)]
            if not cells:
                return
            self.rng.shuffle(cells)
            for c in cells:
                share = min(1.0, tried / max(moves, 1))
                temperature = start_temperature * (end_temperature / start_temperature) ** share
                tried += 1
                i = self.zone[c]
                around = self.touching(c)
                options = [j for j in around if j != i]
                if not options:
                    continue
                j = options[int(self.rng.integers(len(options)))]
                g = self.gain(c, j, around)
                wc = self.w[c]
                if not (self._fits(i, -wc) and self._fits(j, wc)):
                    if g > -3 * temperature:
                        self._swap(c, i, j, g)
                    continue
                if (g > 0 or self.rng.random() < math.exp(g / temperature)) and self.can_leave(c):
                    self.move(c, j)
            sweeps += 1

    def _fits(self, z: int, change: float) -> bool:
        new = self.load[z] + change
        return self.lo <= new <= self.hi or self.excess(new) < self.excess(self.load[z]) - 1e-12

    def _swap(self, c: int, i: int, j: int, g: float) -> bool:
        """Move c from zone i to j and the best cell of j bordering i back, if together the
        zones get more compact and stay within the band."""
        wc = self.w[c]
        li, lj = self.load[i], self.load[j]
        ei, ej = self.excess(li), self.excess(lj)
        partners = []
        for d in self.border(j, towards=i):
            wd = self.w[d]
            ni, nj = li - wc + wd, lj + wc - wd
            if self.excess(ni) <= ei + 1e-12 and self.excess(nj) <= ej + 1e-12:
                partners.append(d)
        if not partners or not self.can_leave(c):
            return False
        self.move(c, j)
        best, best_total = None, 1e-9
        for d in partners:
            around = self.touching(d)
            if i not in around:
                continue
            total = g + self.gain(d, i, around)
            if total > best_total and self.can_leave(d):
                best, best_total = d, total
        if best is None:
            self.move(c, i)
            self.moves_made -= 2
            return False
        self.move(best, i)
        return True


def _pp(area: float, perimeter: float) -> float:
    return _FOUR_PI * area / (perimeter * perimeter) if perimeter > 0 else 0.0
