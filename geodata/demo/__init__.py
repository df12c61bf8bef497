"""Deterministic demo community for gridwatch, modelled on Wanhu Xincun (万户新村, Yancheng).

It feeds the dashboard out of the box and gives tests a known truth: the repeat-alarm places and
hotspots planted in the incidents, and the key sites that draw everyday calls around them (bars,
markets, schools and hospitals), are listed in ``demo_truth``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from .calls import _background, _clock, _concat, _incidents, _planted, _truth
from .lattice import _lattice
from .patrol import _devices, _patrol_zones, _responders, _zone_plan
from .places import _buildings, _grid_cells, _key_sites, _rentals
from .plan import _plan
from .sizes import _BASE_AREA_KM2, DEMO_NOW, SIZES, TRUTH_COLUMNS

__all__ = ["DEMO_NOW", "SIZES", "TRUTH_COLUMNS", "make_demo"]

_STREAMS = (
    "lattice",
    "cells",
    "buildings",
    "rentals",
    "sites",
    "devices",
    "responders",
    "zones",
    "plan",
    "background",
    "planted",
    "incidents",
)


def make_demo(
    size: str = "community", seed: int = 0, *, planted: bool = True
) -> dict[str, gpd.GeoDataFrame]:
    """
    Generate the demo community: the seven layers and the truth about what was planted.

    Parameters
    ----------
    size
        ``"community"`` (0.72 km², 11 grid cells, 2,250 incidents a year), ``"district"``
        (~20 km², ~400 cells, ~200,000 incidents) or ``"city"`` (~400 km², ~8,000 cells,
        ~2,000,000 incidents, for benchmarks).
    seed
        Seed of ``numpy.random.default_rng``; the same arguments always give the same layers.
    planted
        Plant repeat-alarm places and hotspots in the incidents. Without them the incidents are
        background only (the same background as with them) and ``demo_truth`` lists only the
        busy key sites.

    Returns
    -------
    dict[str, geopandas.GeoDataFrame]
        The layers ``grid_cells``, ``rental_properties``, ``key_sites``, ``incidents``,
        ``patrol_zones``, ``devices`` and ``responders`` with the columns of
        :data:`geodata.schemas.SCHEMAS`, plus ``demo_truth``, all in EPSG:4326: one point per
        planted hotspot (kind ``hotspot``, ids ``HS…``) and repeat-alarm place (``repeat_place``,
        ``RP…``), then one per key site around which the background gathers calls (bars at
        night, markets on market days, fraud near schools and hospitals: ``busy_site``,
        ``BS…``), each with ``incident_ids`` naming its incidents and ``radius_m`` holding 90%
        of a cluster's calls (a repeat place's: its planted jitter).
    """
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; use one of: {', '.join(SIZES)}")
    spec = SIZES[size]
    scale = spec.area_km2 / _BASE_AREA_KM2
    # One child generator per layer, so that changing one layer's code leaves the others alone.
    rng = dict(zip(_STREAMS, np.random.default_rng(seed).spawn(len(_STREAMS)), strict=True))

    lat = _lattice(spec, rng["lattice"])
    cells = _grid_cells(lat, spec, scale, rng["cells"])
    bld = _buildings(lat, cells, rng["buildings"])
    rentals = _rentals(lat, cells, bld, scale, rng["rentals"])
    sites = _key_sites(lat, scale, rng["sites"])
    zone_of_cell = _zone_plan(lat, cells, spec.zones, rng["zones"])
    plan = _plan(lat, cells, bld, rentals, sites, scale, rng["plan"])
    n_background = spec.incidents - int(plan.counts.sum())
    clock = _clock()
    events = _background(lat, cells, bld, sites, clock, n_background, rng["background"])
    if planted:
        events = _concat(events, _planted(lat, plan, clock, rng["planted"]))
    # Truth rows: the planted places, then the key sites that drew everyday calls.
    n_planted = len(plan.kind) if planted else 0
    truth_of = np.where(
        events.source >= 0, events.source, np.where(events.site >= 0, n_planted + events.site, -1)
    )
    incidents, ids_by_truth = _incidents(
        lat, events, truth_of, n_planted + len(sites.u), spec.area_code, rng["incidents"]
    )
    layers = {
        "grid_cells": cells.frame,
        "rental_properties": rentals.frame,
        "key_sites": sites.frame,
        "incidents": incidents,
        "patrol_zones": _patrol_zones(lat, cells, sites, zone_of_cell, spec),
        "devices": _devices(lat, sites, scale, rng["devices"]),
        "responders": _responders(lat, cells, bld, sites, zone_of_cell, scale, rng["responders"]),
        "demo_truth": _truth(lat, plan, sites, events, truth_of, ids_by_truth, n_planted),
    }
    return layers
