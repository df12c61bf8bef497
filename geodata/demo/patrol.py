"""Patrol zones, devices and responders of the demo community."""

from __future__ import annotations

import heapq

import geopandas as gpd
import numpy as np
import shapely

from .lattice import _frame, _ids, _in_disk, _Lattice, _local_times
from .names import _DEVICE_LABELS, _names
from .places import _Buildings, _Cells, _pick_building, _Sites
from .sizes import _DEVICES, _HOUR_MS, _NOW_MS, _RESPONDERS, _Size


def _zone_plan(lat: _Lattice, cells: _Cells, n_zones: int, rng: np.random.Generator) -> np.ndarray:
    """Zone of each grid cell: contiguous zones grown from spread-out seeds, to uneven targets."""
    n = len(cells.ids)
    centre = shapely.get_coordinates(shapely.centroid(lat.cell_polygons))
    neighbours: list[set[int]] = [set() for _ in range(n)]
    grid = lat.block_cell.reshape(lat.ny, lat.nx)
    for a, b in [(grid[:, :-1], grid[:, 1:]), (grid[:-1, :], grid[1:, :])]:
        for x, y in zip(a.ravel(), b.ravel(), strict=True):
            if x != y:
                neighbours[x].add(int(y))
                neighbours[y].add(int(x))
    seeds = [int(rng.integers(n))]
    dist = np.hypot(*(centre - centre[seeds[0]]).T)
    for _ in range(n_zones - 1):
        seeds.append(int(dist.argmax()))
        dist = np.minimum(dist, np.hypot(*(centre - centre[seeds[-1]]).T))
    # Today's zones were drawn by hand: some carry much more than others.
    target = rng.uniform(0.6, 1.5, n_zones)
    zone = np.full(n, -1)
    load = np.zeros(n_zones)
    frontier: list[list[tuple[float, int]]] = [[] for _ in range(n_zones)]

    def assign(c: int, z: int) -> None:
        zone[c] = z
        load[z] += cells.population[c]
        for nb in neighbours[c]:
            if zone[nb] < 0:
                d = float(np.hypot(*(centre[nb] - centre[seeds[z]])))
                heapq.heappush(frontier[z], (d, nb))

    for z, c in enumerate(seeds):
        assign(c, z)
    while (zone < 0).any():
        for z in np.argsort(load / target):
            while frontier[z] and zone[frontier[z][0][1]] >= 0:
                heapq.heappop(frontier[z])
            if frontier[z]:
                assign(heapq.heappop(frontier[z])[1], int(z))
                break
    return zone


def _patrol_zones(
    lat: _Lattice, cells: _Cells, sites: _Sites, zone_of_cell: np.ndarray, spec: _Size
) -> gpd.GeoDataFrame:
    n = int(zone_of_cell.max()) + 1
    polygons = np.array(
        [shapely.union_all(lat.cell_polygons[zone_of_cell == z]) for z in range(n)], dtype=object
    )
    grid_ids = [",".join(cells.ids[zone_of_cell == z]) for z in range(n)]
    # Zones holding bars and KTVs get the 22:00-03:00 night patrol.
    night = np.bincount(
        zone_of_cell[lat.block_cell[sites.block[sites.category == "nightlife"]]], minlength=n
    )
    busiest = night >= max(1, np.sort(night)[-max(1, n // 4)])
    return _frame(
        lat,
        "patrol_zones",
        {
            "zone_id": _ids("XQ", n, 2),
            "name": [f"{spec.place}第{k}巡区" for k in range(1, n + 1)],
            "team": [f"巡逻{k}组" for k in range(1, n + 1)],
            "shift_hours": np.where(busiest, "22:00-03:00", "08:00-20:00"),
            "grid_ids": grid_ids,
        },
        polygons,
    )


def _devices(
    lat: _Lattice, sites: _Sites, scale: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    nodes = lat.nodes.reshape(-1, 2)
    node_j, node_i = np.divmod(np.arange(len(nodes)), lat.nx + 1)
    node_name = lat.h_streets[node_j] + "与" + lat.v_streets[node_i] + "交叉口"
    shopfront = np.flatnonzero(
        np.isin(sites.category, ["mall", "market", "nightlife", "bank", "internet_cafe", "hotel"])
    )
    school_gate = np.flatnonzero(np.isin(sites.category, ["school", "kindergarten"]))
    kinds, us, vs, names = [], [], [], []

    def place(kind: str, n: int, where: dict[str, float]) -> None:
        source = rng.choice(list(where), n, p=list(where.values()))
        at_node = source == "crossroads"
        k = rng.integers(len(nodes), size=n)
        s = np.where(
            source == "school_gate",
            school_gate[rng.integers(len(school_gate), size=n)],
            shopfront[rng.integers(len(shopfront), size=n)],
        )
        off = _in_disk(rng, n, 8.0)  # several cameras on one pole or gate
        u = np.where(at_node, nodes[k, 0], sites.u[s]) + off[:, 0]
        v = np.where(at_node, nodes[k, 1], sites.v[s]) + off[:, 1]
        u, v = np.clip(u, 1.0, lat.width - 1.0), np.clip(v, 1.0, lat.height - 1.0)
        kinds.append(np.full(n, kind, dtype=object))
        us.append(u)
        vs.append(v)
        label = _DEVICE_LABELS[kind]
        names.append(np.where(at_node, node_name[k], sites.name[s] + "门口") + label)

    place("camera", round(_DEVICES["camera"] * scale), {"crossroads": 0.8, "shopfront": 0.2})
    place(
        "alarm_post",
        round(_DEVICES["alarm_post"] * scale),
        {"shopfront": 0.5, "school_gate": 0.3, "crossroads": 0.2},
    )
    place(
        "loudspeaker",
        round(_DEVICES["loudspeaker"] * scale),
        {"school_gate": 0.4, "shopfront": 0.3, "crossroads": 0.3},
    )
    # Checkpoints where streets cross the boundary, set 5 m inside it.
    on_side = (node_i == 0) | (node_i == lat.nx)
    boundary = np.flatnonzero(on_side ^ ((node_j == 0) | (node_j == lat.ny)))  # no corners
    k = np.sort(rng.choice(boundary, round(0.4 * len(boundary)), replace=False))
    u = np.clip(nodes[k, 0], 5.0, lat.width - 5.0)
    v = np.clip(nodes[k, 1], 5.0, lat.height - 5.0)
    kinds.append(np.full(len(k), "checkpoint", dtype=object))
    us.append(u)
    vs.append(v)
    names.append(node_name[k] + _DEVICE_LABELS["checkpoint"])
    kind = np.concatenate(kinds)
    return _frame(
        lat,
        "devices",
        {
            "device_id": _ids("SB", len(kind), 4),
            "kind": kind,
            "name": np.concatenate(names),
        },
        (np.concatenate(us), np.concatenate(vs)),
    )


def _responders(
    lat: _Lattice,
    cells: _Cells,
    bld: _Buildings,
    sites: _Sites,
    zone_of_cell: np.ndarray,
    scale: float,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    counts = {kind: round(k * scale) for kind, k in _RESPONDERS.items()}
    n_police, n_aux, n_vol = counts.values()
    # Police and auxiliaries are out on the streets: somewhere along a block's edge.
    n_street = n_police + n_aux
    block = rng.integers(len(lat.block_area), size=n_street)
    edge = rng.integers(4, size=n_street)
    q = lat.quads[block]
    a, b = q[np.arange(n_street), edge], q[np.arange(n_street), (edge + 1) % 4]
    street = a + rng.random((n_street, 1)) * (b - a)
    # 万家卫士: every grid worker in their grid, guards at key sites, elderly residents at home.
    n_cells = len(cells.ids)
    n_workers = min(n_cells, n_vol)
    n_guards = min(len(sites.u), (n_vol - n_workers) // 2)
    n_elderly = n_vol - n_workers - n_guards
    worker_cell = rng.permutation(n_cells)[:n_workers]
    worker_block = np.unique(lat.block_cell, return_index=True)[1][worker_cell]
    guard_site = rng.permutation(len(sites.u))[:n_guards]
    pop = cells.block_pop / cells.block_pop.sum()
    home_block = rng.choice(len(pop), n_elderly, p=pop)
    at_building = _pick_building(rng, bld, np.concatenate([worker_block, home_block]))
    u = np.concatenate(
        [
            street[:, 0],
            bld.u[at_building[:n_workers]],
            sites.u[guard_site],
            bld.u[at_building[n_workers:]],
        ]
    )
    v = np.concatenate(
        [
            street[:, 1],
            bld.v[at_building[:n_workers]],
            sites.v[guard_site],
            bld.v[at_building[n_workers:]],
        ]
    )
    in_block = np.concatenate(
        [
            block,
            bld.block[at_building[:n_workers]],
            sites.block[guard_site],
            bld.block[at_building[n_workers:]],
        ]
    )
    kind = np.repeat(
        np.array(["police", "auxiliary", "volunteer"], dtype=object), [n_police, n_aux, n_vol]
    )
    names = _names(rng, len(kind))
    names[n_street : n_street + n_workers] = cells.workers[worker_cell]
    # Police talk on the command channel, auxiliaries on theirs, volunteers on their zone's.
    zone = zone_of_cell[lat.block_cell[in_block]]
    radio = np.where(kind == "police", "CH01", np.where(kind == "auxiliary", "CH02", ""))
    radio = np.where(radio == "", np.array([f"CH{z + 3:02d}" for z in zone], dtype=object), radio)
    on_duty = rng.random(len(kind)) < np.where(kind == "volunteer", 0.75, 0.88)
    now_ms = _NOW_MS
    last_seen = now_ms - rng.integers(0, _HOUR_MS, len(kind))
    return _frame(
        lat,
        "responders",
        {
            "responder_id": _ids("R", len(kind), 4),
            "kind": kind,
            "name": names,
            "radio": radio,
            "on_duty": on_duty,
            "last_seen": _local_times(last_seen),
        },
        (u, v),
    )
