"""Benchmark: repeat-alarm detection (:mod:`incidents.repeats`) on the ``city`` demo's 2,000,000
incidents, against pandas' groupby-rolling window count, the way an analyst would count calls per
address in 30 days by hand.

Uses the demo cached by ``bench_assign.py`` (generated if missing). Each step runs in a child
process of its own that reads the cache, so its peak resident set (data included) and its growth
over the loaded data are its own. The peer gets the normalised address key ready made (its time is
the window count alone) and is checked against gridwatch: every incident that closes a window of
3 calls in 30 days at an address must be in one of gridwatch's repeat addresses, and every
gridwatch group must hold one.

    python bench/bench_repeats.py            # city demo
    python bench/bench_repeats.py --size district --no-distance
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_assign import OUT, cache, child, load, machine, peak_mb, rss_mb  # noqa: E402

STEPS = ("places", "places_distance", "addresses", "callers", "pandas_rolling", "whole")


def step(name: str, size: str, seed: int) -> dict:
    import pandas as pd

    from incidents.repeats import (
        normalise_addresses,
        repeat_addresses,
        repeat_callers,
        repeat_places,
    )

    if name == "whole":
        return whole_city(size, seed)
    (incidents,) = load(size, seed, "incidents")
    loaded = rss_mb()
    runs = {
        "places": lambda: repeat_places(incidents),
        "places_distance": lambda: repeat_places(incidents, same_address=False),
        "addresses": lambda: repeat_addresses(incidents),
        "callers": lambda: repeat_callers(incidents),
    }
    if name in runs:
        start, start_cpu = time.perf_counter(), time.process_time()
        groups = runs[name]()
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if name == "addresses":
            np.save(OUT / "repeats_groups.npy", groups["incident_ids"].to_numpy(dtype=str))
        return {
            "seconds": seconds,
            "cpu": cpu,
            "groups": len(groups),
            "in_groups": int(groups["incidents"].sum()),
            "peak_mb": peak_mb(),
            "growth_mb": peak_mb() - loaded,
            "incidents": len(incidents),
        }
    # The peer: calls at the same address in the 30 days up to each call, both ends included.
    table = pd.DataFrame(
        {
            "key": normalise_addresses(incidents["address"]),
            "t": incidents["reported_at"].dt.tz_localize(None),
            "id": incidents["incident_id"].astype(str),
        }
    ).dropna(subset=["key"])
    table = table.sort_values(["key", "t", "id"], kind="stable").reset_index(drop=True)
    start, start_cpu = time.perf_counter(), time.process_time()
    counts = table.groupby("key", sort=False).rolling("30D", on="t", closed="both")["t"].count()
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    closing = table["id"].to_numpy()[counts.to_numpy() >= 3]
    np.save(OUT / "repeats_closing.npy", closing.astype(str))
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "growth_mb": peak_mb() - loaded}


def whole_city(size: str, seed: int) -> dict:
    """One process doing the room's whole job on the city: cells, zones, repeats of all kinds."""
    from incidents.assign import assign_incidents
    from incidents.repeats import repeat_addresses, repeat_callers, repeat_places

    start, start_cpu = time.perf_counter(), time.process_time()
    incidents, cells, zones = load(size, seed, "incidents", "grid_cells", "patrol_zones")
    loaded = rss_mb()
    assigned = assign_incidents(incidents, cells, zones)
    groups = [repeat_places(assigned), repeat_addresses(assigned), repeat_callers(assigned)]
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - start_cpu,
        "groups": sum(len(g) for g in groups),
        "in_groups": sum(int(g["incidents"].sum()) for g in groups),
        "peak_mb": peak_mb(),
        "growth_mb": peak_mb() - loaded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="city", choices=("community", "district", "city"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-distance", action="store_true", help="skip places by distance alone")
    parser.add_argument("--no-peer", action="store_true", help="skip pandas' rolling count")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.size, args.seed)))
        return

    print(machine())
    cache(args.size, args.seed)
    wanted = [
        s
        for s in STEPS
        if not (args.no_distance and s == "places_distance")
        and not (args.no_peer and s == "pandas_rolling")
    ]
    results = {s: child(__file__, s, size=args.size, seed=args.seed) for s in wanted}
    n = results["places"]["incidents"]
    print(f"{args.size} demo: {n:,} incidents; rule: 3+ calls within 30 days (places: within 50 m)")
    print(
        f"{'':34}{'wall s':>8}{'CPU s':>8}{'groups':>9}{'in groups':>11}{'peak MB':>9}"
        f"{'growth MB':>11}"
    )
    labels = {
        "places": "repeat_places (same address)",
        "places_distance": "repeat_places (distance alone)",
        "addresses": "repeat_addresses",
        "callers": "repeat_callers",
        "pandas_rolling": "pandas groupby-rolling (peer)",
        "whole": "whole room in one process *",
    }
    for name, r in results.items():
        groups = f"{r['groups']:9,}{r['in_groups']:11,}" if "groups" in r else " " * 20
        print(
            f"{labels[name]:34}{r['seconds']:8.2f}{r['cpu']:8.2f}{groups}{r['peak_mb']:9.0f}"
            f"{r['growth_mb']:11.0f}"
        )
    if "whole" in results:
        print(
            "* reading the cached layers, assigning cells and zones, then places, addresses "
            "and callers"
        )
    if "pandas_rolling" in results:
        groups = [set(ids.split(",")) for ids in np.load(OUT / "repeats_groups.npy").tolist()]
        members = set().union(*groups)
        closing = set(np.load(OUT / "repeats_closing.npy").tolist())
        outside = len(closing - members)
        without = sum(not (g & closing) for g in groups)
        ratio = results["pandas_rolling"]["seconds"] / results["addresses"]["seconds"]
        print(
            f"repeat_addresses is {ratio:.1f}x faster than pandas' rolling count. Check: "
            f"{len(closing):,} incidents close a window of 3 calls in 30 days at one address, "
            f"{outside} of them outside gridwatch's groups; {without} of gridwatch's "
            f"{len(groups):,} groups hold none of them"
        )


if __name__ == "__main__":
    main()
