"""Benchmark: gridwatch's zone redesign against spopt and GerryChain on the same units.

Runs, on a 40x25 lattice with hotspots (10 zones) and on the ``city`` demo's 8,000 grid cells
(40 zones): spopt's SKATER, max-p (workload floor) and RegionKMeans, GerryChain's recursive tree
partition then a ReCom chain keeping the plan with the fewest cut edges, and
:func:`grid.propose_zones` (first balanced plan, and the refined one). Every plan is scored the
same way on the same contiguity graph: largest deviation from the mean workload, coefficient
of variation, mean Polsby-Popper, cut edges, zones in one piece, time and peak memory (each
method runs in a forked child process, so a time limit can stop it; its peak RSS is reported
above the child's resident memory when it starts, i.e. beyond the shared input data).

    python bench/bench_zones.py                 # both sets of units
    python bench/bench_zones.py --only lattice  # the lattice only
    python bench/bench_zones.py --limit 600     # seconds allowed per method (default 300)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grid import cell_graph, cell_workload, propose_zones  # noqa: E402
from grid.adjacency import CellGraph  # noqa: E402
from grid.search import ZoneState  # noqa: E402

TOLERANCE = 0.02


# --- units ---------------------------------------------------------------------------------------


def lattice_units(
    nx: int = 40, ny: int = 25, size: float = 100.0, hotspots: int = 6, seed: int = 0
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Square cells with Poisson background calls plus Gaussian hotspots."""
    rng = np.random.default_rng(seed)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny)))
    x0, y0 = 500_000.0, 3_690_000.0  # UTM 51N, near Yancheng
    geoms = shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
    w = rng.poisson(20, len(i)).astype(float)
    for _ in range(hotspots):
        ci, cj, peak = rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(60, 200)
        w += peak * np.exp(-((i + 0.5 - ci) ** 2 + (j + 0.5 - cj) ** 2) / (2 * 1.5**2))
    ids = [f"C{r:04d}" for r in range(len(i))]
    cells = gpd.GeoDataFrame({"grid_id": ids}, geometry=geoms, crs="EPSG:32651")
    return cells, pd.Series(np.round(w), index=pd.Index(ids, name="grid_id"), name="workload")


def city_units() -> tuple[gpd.GeoDataFrame, pd.Series]:
    """The city demo's grid cells and their workload (incidents, night calls weighing 1.5)."""
    from geodata.demo import make_demo
    from incidents.assign import assign_to_cells

    layers = make_demo("city", 0)
    cells, incidents = layers["grid_cells"], layers["incidents"]
    cell_of = assign_to_cells(incidents, cells, id_column="grid_id")
    return cells, cell_workload(incidents, cell_of, cells=cells["grid_id"])


# --- the methods ---------------------------------------------------------------------------


def _weights(graph: CellGraph):
    from libpysal.weights import W

    neighbours: dict[int, list[int]] = {i: [] for i in range(graph.n)}
    for a, b in graph.edges.tolist():
        neighbours[a].append(b)
        neighbours[b].append(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return W(neighbours, silence_warnings=True)


def run_skater(cells, graph, w, k, seed):
    from spopt.region import Skater

    frame = gpd.GeoDataFrame({"workload": w}, geometry=cells.geometry.to_numpy(), crs=cells.crs)
    model = Skater(frame, _weights(graph), ["workload"], n_clusters=k, floor=1, islands="ignore")
    model.solve()
    return np.asarray(model.labels_)


def run_maxp(cells, graph, w, k, seed):
    from spopt.region import MaxPHeuristic

    frame = gpd.GeoDataFrame({"workload": w}, geometry=cells.geometry.to_numpy(), crs=cells.crs)
    np.random.seed(seed)
    floor = w.sum() / k * (1 - TOLERANCE)  # each region must carry at least this workload
    model = MaxPHeuristic(frame, _weights(graph), ["workload"], "workload", floor, top_n=2)
    model.solve()
    return np.asarray(model.labels_)


def run_region_kmeans(cells, graph, w, k, seed):
    from spopt.region import RegionKMeansHeuristic

    data = np.column_stack([w / w.std(), graph.centroid / graph.centroid.std(axis=0)])
    model = RegionKMeansHeuristic(data, k, _weights(graph), drop_islands=True, seed=seed)
    model.solve()
    return np.asarray(model.labels_)


def run_gerrychain(cells, graph, w, k, seed, *, steps: int, timings: dict):
    import networkx as nx
    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import contiguous
    from gerrychain.partition.initial_partition_generators import recursive_tree_part
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally, cut_edges

    g = nx.Graph()
    g.add_nodes_from((i, {"w": float(w[i])}) for i in range(graph.n))
    g.add_edges_from(graph.edges.tolist())
    gc_graph = Graph.from_networkx(g)
    target = w.sum() / k
    began = time.perf_counter()
    start = recursive_tree_part(gc_graph, range(k), target, "w", TOLERANCE, rng=seed)
    timings["tree"] = time.perf_counter() - began
    timings["tree_plan"] = np.array([start[i] for i in range(graph.n)])
    partition = Partition(gc_graph, start, {"w": Tally("w"), "cut_edges": cut_edges})
    proposal = partial(recom, pop_col="w", pop_target=target, epsilon=TOLERANCE)
    chain = MarkovChain(proposal, [contiguous], always_accept, partition, steps, rng=seed)
    best, fewest = partition, len(partition["cut_edges"])
    for state in chain:
        if len(state["cut_edges"]) < fewest:
            best, fewest = state, len(state["cut_edges"])
    return np.array([best.assignment[i] for i in range(graph.n)])


def run_ours(
    cells, graph, w, k, seed, *, starts: int = 4, quick: bool = False, seconds: float = 120.0
):
    workload = pd.Series(w, index=graph.ids)
    proposal = propose_zones(
        cells,
        workload,
        k=k,
        graph=graph,
        seed=seed,
        starts=starts,
        quick=quick,
        seconds=seconds,
        tolerance=TOLERANCE,
    )
    # the assignment is in the graph's cell order
    return pd.Index(proposal.metrics.index).get_indexer(proposal.assignment.to_numpy())


# --- scoring and running -------------------------------------------------------------------------


def score(graph: CellGraph, w: np.ndarray, labels: np.ndarray) -> dict:
    """Balance and compactness of a plan, measured the same way for every method."""
    _, zone = np.unique(labels, return_inverse=True)
    k = int(zone.max()) + 1
    state = ZoneState(graph, w, zone, k, tolerance=TOLERANCE)
    load = np.asarray(state.load)
    mean = load.mean()
    same = zone[graph.edges[:, 0]] == zone[graph.edges[:, 1]]
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    e = graph.edges[same]
    mat = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(graph.n, graph.n))
    _, piece = connected_components(mat, directed=False)
    pieces = np.array([len(np.unique(piece[zone == z])) for z in range(k)])
    return {
        "zones": k,
        "max_dev": float(np.abs(load / mean - 1).max()),
        "cv": float(load.std() / mean),
        "mean_pp": float(np.mean([state.pp(z) for z in range(k)])),
        "cut_edges": int((~same).sum()),
        "contiguous": int((pieces == 1).sum()),
    }


def _child(queue, fn, args):
    base = _reset_peak()
    began = time.perf_counter()
    timings: dict = {}
    try:
        labels = fn(*args, timings=timings) if _wants_timings(fn) else fn(*args)
        queue.put(
            (
                "ok",
                labels,
                time.perf_counter() - began,
                timings,
                _status_mb("VmHWM") - base,
            )
        )
    except Exception as error:  # report a peer library's failure as a row, not a crash
        queue.put(("error", f"{type(error).__name__}: {error}"[:120], 0.0, {}, 0.0))


def _wants_timings(fn) -> bool:
    import inspect

    target = fn.func if isinstance(fn, partial) else fn
    return "timings" in inspect.signature(target).parameters


def _status_mb(key: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> float:
    """Reset this process's peak RSS to its current RSS (Linux) and return that, MB."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def run(fn, args, limit: float):
    """Run one method in a forked child with a time limit; its peak memory is reported above
    the child's resident memory when it starts (the shared input data)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, fn, args))
    proc.start()
    began = time.perf_counter()
    while proc.is_alive() and time.perf_counter() - began < limit:
        proc.join(0.2)
        if not queue.empty():
            break
    if queue.empty() and proc.is_alive():
        proc.terminate()
        proc.join()
        return ("timeout", f"stopped after {limit:.0f} s", limit, {}, 0.0)
    result = queue.get()
    proc.join()
    return result


def bench(name: str, cells, workload, k: int, limit: float, steps: int) -> pd.DataFrame:
    graph = cell_graph(cells)
    w = workload.reindex(graph.ids).fillna(0).to_numpy(float)
    print(
        f"\n## {name}: {graph.n} cells, {len(graph.edges)} contiguity edges, k = {k}, "
        f"±{TOLERANCE:.0%}",
        flush=True,
    )
    methods = [
        ("spopt SKATER", run_skater),
        ("spopt max-p (workload floor)", run_maxp),
        ("spopt RegionKMeans", run_region_kmeans),
        ("GerryChain tree + ReCom", partial(run_gerrychain, steps=steps)),
        ("gridwatch balanced (quick)", partial(run_ours, quick=True)),
        ("gridwatch refined (4 starts)", partial(run_ours, starts=4)),
    ]
    rows = []
    for label, fn in methods:
        status, labels, seconds, timings, rss = run(fn, (cells, graph, w, k, 0), limit)
        if "tree_plan" in timings:
            rows.append(
                {
                    "method": "GerryChain recursive_tree_part",
                    "seconds": timings["tree"],
                    "extra_peak_mb": rss,
                    **score(graph, w, timings["tree_plan"]),
                }
            )
        if status != "ok":
            rows.append({"method": label, "seconds": seconds, "note": labels})
        else:
            rows.append(
                {
                    "method": label,
                    "seconds": seconds,
                    "extra_peak_mb": rss,
                    **score(graph, w, labels),
                }
            )
        print(f"  {label}: {status}, {seconds:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    ours = table.loc[table["method"] == "gridwatch refined (4 starts)"].iloc[0]
    table["time_vs_ours"] = table["seconds"] / ours["seconds"]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("lattice", "city"))
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per method")
    parser.add_argument("--steps", type=int, default=500, help="ReCom steps")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"machine: {mp.cpu_count()} cores; Python {sys.version.split()[0]}")
    if args.only in (None, "lattice"):
        cells, workload = lattice_units()
        print(
            bench("40x25 lattice with hotspots", cells, workload, 10, args.limit, args.steps)
            .round(3)
            .to_string(index=False)
        )
    if args.only in (None, "city"):
        began = time.perf_counter()
        cells, workload = city_units()
        print(f"(city demo built in {time.perf_counter() - began:.0f} s)")
        print(
            bench("city demo", cells, workload, 40, args.limit, args.steps // 5)
            .round(3)
            .to_string(index=False)
        )


if __name__ == "__main__":
    main()
