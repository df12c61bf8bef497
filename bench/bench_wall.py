"""Wall page on the district demo (~200,000 incidents): server time of its first render and of a
refresh, and the size of the map it sends, against geopandas' ``explore()`` (folium) drawing
the same layers directly.

    python bench/bench_wall.py [--size district] [--runs 3]

The store is generated once into bench/out/ (git-ignored). The first render is timed with
Streamlit's AppTest on a cold cache (layers read from the GeoPackage, repeat-alarm places
computed); the map payload is the JSON that streamlit-folium sends the browser.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from geodata.store import read_store, store_layers, write_layers  # noqa: E402

OUT = ROOT / "bench" / "out"


def _store(size: str) -> Path:
    path = OUT / f"{size}.gpkg"
    if not path.exists():
        from geodata.demo import make_demo

        OUT.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        write_layers(path, make_demo(size, 0))
        print(f"generated {path} in {time.perf_counter() - began:.1f} s")
    return path


def _wall_run(store: Path, *, cold: bool) -> tuple[float, int, int, AppTest]:
    """Time one run of the wall page; return seconds, map payload bytes, page bytes."""
    if cold:
        st.cache_data.clear()
        st.cache_resource.clear()
    os.environ["GRIDWATCH_STORE"] = str(store)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
    began = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - began
    if at.exception:
        raise SystemExit(f"the wall page failed: {at.exception[0].message}")
    maps = [c.proto.json_args for c in at.get("component_instance")]
    page = sum(len(e.proto.SerializeToString()) for e in at.get("html")) + sum(
        len(m.encode()) for m in maps
    )
    return seconds, sum(len(m.encode()) for m in maps), page, at


def _explore(store: Path, now: pd.Timestamp) -> tuple[float, int]:
    """The peer: the same layers drawn with geopandas' explore() (folium), one object each."""
    began = time.perf_counter()
    cells = read_store(store, "grid_cells")
    m = cells.explore(name="grid_cells", style_kwds={"fill": False})
    for kind in ("rental_properties", "key_sites", "devices", "responders"):
        read_store(store, kind).explore(m=m, name=kind)
    incidents = read_store(store, "incidents")
    week = incidents[
        (incidents["reported_at"] > now - pd.Timedelta(days=7)) & (incidents["reported_at"] <= now)
    ]
    week.explore(m=m, name="incidents_7d", color="red")
    html = m.get_root().render()
    return time.perf_counter() - began, len(html.encode())


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="district", choices=("community", "district", "city"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    store = _store(args.size)
    counts = store_layers(store)
    print(
        f"store {store.name}: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items() if k != "demo_truth")
    )

    first = []
    for _ in range(args.runs):
        seconds, payload, page, at = _wall_run(store, cold=True)
        first.append(seconds)
    refresh = []
    for _ in range(args.runs):
        at.run()  # same session, warm caches: what a refresh of the wall costs
        began = time.perf_counter()
        at.run()
        refresh.append(time.perf_counter() - began)
    html = "\n".join(h.proto.body for h in at.get("html"))
    clock = pd.Timestamp(html.split('class="clock">')[1].split("<")[0], tz="Asia/Shanghai")
    args_json = json.loads(at.get("component_instance")[0].proto.json_args)

    peer_s, peer_bytes = _explore(store, clock)
    first_s = statistics.median(first)
    print(
        f"wall first render (cold cache, server): median {first_s:.2f} s of {args.runs} "
        f"({', '.join(f'{s:.2f}' for s in first)})  aim < 5 s"
    )
    print(f"wall refresh (warm cache, server):      median {statistics.median(refresh):.2f} s")
    print(
        f"wall map payload: {payload / 1e6:.2f} MB (base map {len(args_json['script']) / 1e6:.2f}"
        f" MB, live layers {len(args_json['feature_group'] or '') / 1e6:.2f} MB)  aim < 5 MB"
    )
    print(
        f"peer, geopandas explore() of the same layers (last 7 days' incidents as points): "
        f"{peer_s:.2f} s, {peer_bytes / 1e6:.2f} MB"
    )
    print(
        f"ratio gridwatch / explore: time {first_s / peer_s:.2f}, payload "
        f"{payload / peer_bytes:.2f}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
