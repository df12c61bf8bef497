"""Benchmark: assigning the ``city`` demo's 2,000,000 incidents to its ~8,000 irregular grid cells
with gridwatch (:func:`incidents.assign.assign_to_cells`) against ``geopandas.sjoin``.

The demo is generated once (in a child process, its peak memory measured) and cached in
``bench/out/`` as GeoParquet. Each contender then runs in a child process of its own that reads
the cache, so its peak resident set is its own: the figure given is the child's peak, data
included, and the growth over its size once the data is loaded. sjoin uses ``predicate=
"intersects"`` and keeps, for a point on a shared edge, the first cell, which is gridwatch's rule;
the script checks that every incident gets the same cell from both.

    python bench/bench_assign.py              # city demo, best of 3 runs each
    python bench/bench_assign.py --size district --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def rss_mb() -> float:
    """The process's resident set now, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """The process's peak resident set so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """One line about the machine the figures come from."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import geopandas
    import pandas
    import scipy
    import shapely

    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB RAM, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pandas.__version__}, shapely {shapely.__version__}, "
        f"geopandas {geopandas.__version__}, scipy {scipy.__version__}"
    )


def cache(size: str, seed: int) -> dict[str, Path]:
    """The demo's layers as GeoParquet files, generated in a child process if missing."""
    paths = {
        name: OUT / f"{size}_{seed}_{name}.parquet"
        for name in ("incidents", "grid_cells", "patrol_zones")
    }
    if not all(p.exists() for p in paths.values()):
        report = child(__file__, "make", size=size, seed=seed)
        print(
            f"generated the {size} demo (seed {seed}) in {report['seconds']:.0f} s, "
            f"peak memory {report['peak_mb']:.0f} MB"
        )
    return paths


def child(script: str, step: str, **options: object) -> dict:
    """Run ``script --step step`` in a fresh interpreter; return the JSON it prints last."""
    argv = [sys.executable, script, "--step", step]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(repeat: int, run) -> tuple[float, float, object]:
    """The shortest wall time and CPU time of ``repeat`` runs, and the last result.

    CPU time (this process's) is given beside wall time because the machine may be shared:
    the contenders here use one core each, so CPU time is what they cost.
    """
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


# --- the steps, each in its own process ---------------------------------------------------------


def step_make(size: str, seed: int) -> dict:
    from geodata.demo import make_demo

    start = time.perf_counter()
    layers = make_demo(size, seed)
    seconds = time.perf_counter() - start
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("incidents", "grid_cells", "patrol_zones"):
        layers[name].to_parquet(OUT / f"{size}_{seed}_{name}.parquet")
    return {"seconds": seconds, "peak_mb": peak_mb()}


def load(size: str, seed: int, *names: str) -> list:
    import geopandas as gpd

    return [gpd.read_parquet(OUT / f"{size}_{seed}_{name}.parquet") for name in names]


def step_gridwatch(size: str, seed: int, repeat: int) -> dict:
    from incidents.assign import cell_positions

    incidents, cells, zones = load(size, seed, "incidents", "grid_cells", "patrol_zones")
    loaded = rss_mb()
    seconds, cpu, positions = best_of(repeat, lambda: cell_positions(incidents, cells))
    np.save(OUT / "assign_gridwatch.npy", positions)
    zone_seconds, zone_cpu, _ = best_of(repeat, lambda: cell_positions(incidents, zones))
    return {
        "seconds": seconds,
        "cpu": cpu,
        "zone_seconds": zone_seconds,
        "zone_cpu": zone_cpu,
        "peak_mb": peak_mb(),
        "growth_mb": peak_mb() - loaded,
        "points": len(incidents),
        "cells": len(cells),
        "zones": len(zones),
    }


def step_sjoin(size: str, seed: int, repeat: int) -> dict:
    import geopandas as gpd

    incidents, cells = load(size, seed, "incidents", "grid_cells")
    points = incidents[["geometry"]].reset_index(drop=True)
    polygons = cells[["geometry"]].reset_index(drop=True)
    loaded = rss_mb()

    def run() -> np.ndarray:
        joined = gpd.sjoin(points, polygons, how="left", predicate="intersects")
        # A point on a shared edge matches both cells: keep the first, as gridwatch does.
        first = joined["index_right"].groupby(level=0).min()
        return first.fillna(-1).to_numpy().astype(np.int64)

    seconds, cpu, positions = best_of(repeat, run)
    np.save(OUT / "assign_sjoin.npy", positions)
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "growth_mb": peak_mb() - loaded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="city", choices=("community", "district", "city"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = {"make": step_make, "gridwatch": step_gridwatch, "sjoin": step_sjoin}
    if args.step:
        options = {"size": args.size, "seed": args.seed}
        if args.step != "make":
            options["repeat"] = args.repeat
        print(json.dumps(steps[args.step](**options)))
        return

    print(machine())
    cache(args.size, args.seed)
    ours = child(__file__, "gridwatch", size=args.size, seed=args.seed, repeat=args.repeat)
    peer = child(__file__, "sjoin", size=args.size, seed=args.seed, repeat=args.repeat)
    a = np.load(OUT / "assign_gridwatch.npy")
    b = np.load(OUT / "assign_sjoin.npy")
    print(
        f"{args.size} demo: {ours['points']:,} incidents, {ours['cells']:,} grid cells, "
        f"{ours['zones']} patrol zones; best of {args.repeat}"
    )
    print(f"{'':24}{'wall s':>8}{'CPU s':>8}{'peak MB':>10}{'growth MB':>11}")
    print(
        f"{'gridwatch cells':24}{ours['seconds']:8.2f}{ours['cpu']:8.2f}{ours['peak_mb']:10.0f}"
        f"{ours['growth_mb']:11.0f}"
    )
    print(f"{'gridwatch zones':24}{ours['zone_seconds']:8.2f}{ours['zone_cpu']:8.2f}")
    print(
        f"{'geopandas.sjoin cells':24}{peer['seconds']:8.2f}{peer['cpu']:8.2f}"
        f"{peer['peak_mb']:10.0f}{peer['growth_mb']:11.0f}"
    )
    print(
        f"gridwatch is {peer['seconds'] / ours['seconds']:.1f}x faster than sjoin in wall time, "
        f"{peer['cpu'] / ours['cpu']:.1f}x in CPU time"
    )
    print(
        f"identical assignments: {int((a == b).sum()):,} of {len(a):,} "
        f"({int((a < 0).sum())} in no cell)"
    )


if __name__ == "__main__":
    main()
