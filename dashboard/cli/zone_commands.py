"""Commands for patrol zones: propose zones (with a patrol plan and a change report) and measure
the effect of a past change."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dashboard.cli.errors import UserError
from dashboard.cli.inputs import read_input

_PLAN_LAYERS = ("devices", "rental_properties", "key_sites")


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("data: a store, or plain files")
    source.add_argument("--store", help="the store GeoPackage")
    source.add_argument("--cells", help="grid cells file (GeoJSON, GeoPackage, Shapefile, CSV)")
    source.add_argument("--incidents", help="incidents file")
    source.add_argument("--zones", help="today's patrol zones file (optional)")
    source.add_argument("--devices", help="devices file, for camera coverage gaps (optional)")
    source.add_argument(
        "--id-column",
        help="column of the cells holding their id, when it is "
        "not one gridwatch recognises (e.g. BEAT_NUM)",
    )
    source.add_argument("--crs", help="CRS of plain files that state none (gcj02, EPSG:4490...)")


def _read(
    args: argparse.Namespace, kind: str, *, layer: str | None = None, required: bool = True
) -> gpd.GeoDataFrame | None:
    """One layer from its plain file, else from the store."""
    options = {
        "grid_cells": "cells",
        "incidents": "incidents",
        "patrol_zones": "zones",
        "devices": "devices",
    }
    path = getattr(args, options[kind], None) if kind in options else None
    return read_input(
        args,
        kind,
        path,
        layer=layer,
        required=required,
        missing=f"give --store, or --{options.get(kind, kind)} FILE",
    )


def _cells(args: argparse.Namespace) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Grid cells with ids from --id-column; repeated ids are numbered (3100, 3100#2...)."""
    cells = _read(args, "grid_cells")
    notes = []
    if args.id_column:
        if args.id_column not in cells.columns:
            raise UserError(
                f"the grid cells have no column {args.id_column!r}; its columns are "
                f"{', '.join(map(str, cells.columns))}"
            )
        ids = cells[args.id_column].astype("string")
        repeat = ids.groupby(ids).cumcount().to_numpy()
        if (repeat > 0).any():
            notes.append(
                f"{int((repeat > 0).sum())} cells repeat an id in {args.id_column}; "
                "they were numbered id#2, id#3..."
            )
        cells = cells.copy()
        cells["grid_id"] = pd.array(
            np.where(repeat > 0, ids + "#" + (repeat + 1).astype(str), ids), dtype="string"
        )
    return cells, notes


def _category_weights(items: list[str] | None) -> dict[str, float]:
    weights = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise UserError(
                f"--category-weight {item!r}: write CATEGORY=WEIGHT, e.g. 打架斗殴=2"
            ) from None
        if not sep or not name.strip():
            raise UserError(f"--category-weight {item!r}: write CATEGORY=WEIGHT")
    return weights


def _optional(module: str, name: str) -> object | None:
    """A function of the incidents room, or None while that room has not shipped it."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def cmd_zones(args: argparse.Namespace) -> int:
    """Propose patrol zones, plan patrols and write the proposal."""
    from grid import cell_workload, propose_zones
    from grid.export import export_proposal, proposed_zones_layer
    from grid.plan import patrol_plan
    from incidents.assign import assign_to_cells

    if not args.out:
        raise UserError("give --out FILE.gpkg (or .geojson) for the proposal")
    cells, notes = _cells(args)
    incidents = _read(args, "incidents")
    today = None
    if args.current:
        today = _read(args, "patrol_zones", layer=args.current)
    elif args.store or args.zones:
        today = _read(args, "patrol_zones", required=False)
    layers = {
        kind: _read(args, kind, required=False) if args.store else None for kind in _PLAN_LAYERS
    }
    if not args.store:
        layers["devices"] = _read(args, "devices", required=False)

    cell_of = assign_to_cells(incidents, cells, id_column="grid_id")
    hotspots = None
    if args.hotspot_method != "none":
        from incidents.hotspots import hotspot_scores

        scores = hotspot_scores(incidents, cells, method=args.hotspot_method, id_column="grid_id")
        hotspots = pd.Series(
            scores["hotspot"].to_numpy(bool), index=scores["grid_id"].astype("string")
        )
    hot_ids = hotspots.index[hotspots] if hotspots is not None else None
    workload = cell_workload(
        incidents,
        cell_of,
        cells=cells["grid_id"],
        category_weights=_category_weights(args.category_weight),
        night_weight=args.night_weight,
        hotspot_cells=hot_ids,
        hotspot_weight=args.hotspot_weight,
    )
    repeat_places = None
    finder = _optional("incidents.repeats", "repeat_places")
    if finder is not None:
        repeat_places = finder(incidents)
    figures = {
        "hotspots": hotspots,
        "repeat_places": repeat_places,
        "rental_properties": layers.get("rental_properties"),
        "key_sites": layers.get("key_sites"),
    }
    mode = "fresh" if args.fresh or not args.current else "auto"
    proposal = propose_zones(
        cells,
        workload,
        k=args.k,
        max_workload=args.max_workload,
        current=today,
        max_moves=args.max_moves,
        mode=mode,
        tolerance=args.tolerance,
        seed=args.seed,
        starts=args.starts,
        quick=args.quick,
        seconds=args.seconds,
        layers={k: v for k, v in figures.items() if v is not None},
    )
    proposal.notes[:0] = notes
    zone_of_incident = pd.Series(
        proposal.assignment.reindex(cell_of.fillna("")).to_numpy(),
        index=incidents.index,
        dtype="string",
    )
    plan = patrol_plan(
        cells,
        proposal.assignment,
        workload,
        incidents=incidents,
        zone_of_incident=zone_of_incident,
        cell_of_incident=cell_of,
        hotspot_cells=hot_ids,
        repeat_places=repeat_places,
        devices=layers.get("devices"),
        window_hours=args.window_hours,
        min_spacing_m=args.checkin_spacing,
        camera_radius_m=args.camera_radius,
    )
    zones_layer = proposed_zones_layer(
        cells, proposal.assignment, proposal.metrics, today=today, windows=plan.windows
    )
    written = export_proposal(
        args.out,
        zones_layer,
        checkpoints=plan.checkpoints,
        coverage_gaps=plan.coverage_gaps,
        changes=proposal.changes.moves if proposal.changes else None,
        changes_csv=args.changes_csv,
    )
    if args.json:
        out = proposal.to_dict()
        out["plan"] = plan.to_dict()
        out["written"] = [str(p) for p in written]
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        print(_zones_text(proposal, plan, written))
    return 0


def _zones_text(proposal: object, plan: object, written: list[Path]) -> str:
    b, s = proposal.balance, proposal.summary
    lines = [
        f"{s['zones']} zones over {s['cells']} cells ({proposal.mode.replace('_', ' ')}), "
        f"{proposal.seconds:.1f} s"
    ]
    if b["within_tolerance"]:
        lines.append(
            f"every zone within ±{b['tolerance']:.0%} of the mean workload "
            f"(largest deviation {b['max_deviation']:.1%}, CV {b['cv']:.1%})"
        )
    else:
        lines.append(f"not every zone within ±{b['tolerance']:.0%}: {b['reason']}")
    if "imbalance_cut" in b:
        lines.append(
            f"today's zones: largest deviation {b['max_deviation_before']:.1%}, CV "
            f"{b['cv_before']:.1%} -> imbalance (CV) cut by {b['imbalance_cut']:.0%}, "
            f"largest deviation cut by {b['max_deviation_cut']:.0%}"
        )
    lines.append(
        f"mean Polsby-Popper {s['mean_polsby_popper']:.2f}, cut edges {s['cut_edges']}, "
        f"{s['contiguous_zones']}/{s['zones']} zones in one piece"
    )
    if proposal.changes is not None:
        lines.append(f"{len(proposal.changes.moves)} cells change zone")
    lines.extend(f"note: {n}" for n in proposal.notes)
    table = proposal.metrics[
        ["cells", "workload", "deviation", "polsby_popper", "mean_distance_m"]
    ].copy()
    table["deviation"] = table["deviation"].map("{:+.1%}".format)
    table["workload"] = table["workload"].round(1)
    table["polsby_popper"] = table["polsby_popper"].round(2)
    table["mean_distance_m"] = table["mean_distance_m"].round(0)
    lines += ["", table.to_string(), ""]
    best = plan.windows[plan.windows["kind"] == "best"] if len(plan.windows) else None
    if best is not None and len(best):
        lines.append(
            "patrol windows: "
            + ", ".join(
                f"{z} {w} ({sh:.0%})"
                for z, w, sh in zip(best["zone_id"], best["window"], best["share"], strict=True)
            )
        )
    if plan.focus is not None and len(plan.focus):
        lines.append("places needing their own patrol hours:")
        lines += [
            f"  {z} {w}: cells {c} ({n:.0f} incidents, {r:.1f}x the area's share)"
            for z, w, c, n, r in plan.focus[
                ["zone_id", "window", "cells", "incidents", "vs_area"]
            ].itertuples(index=False)
        ]
    lines.append(
        f"{len(plan.checkpoints)} check-in points, {len(plan.coverage_gaps)} places "
        "with no camera near"
    )
    lines.append("written: " + ", ".join(str(p) for p in written))
    return "\n".join(lines)


def cmd_effect(args: argparse.Namespace) -> int:
    """Incidents before and after a patrol change in a zone, against the rest of the area."""
    from grid.effect import change_effect
    from grid.membership import zone_membership
    from incidents.assign import assign_to_cells

    incidents = _read(args, "incidents")
    zones = _read(args, "patrol_zones", layer=args.zones_layer)
    cells = None
    if args.store or args.cells:
        cells, _ = _cells(args)
    if cells is not None and "grid_ids" in zones.columns and zones["grid_ids"].notna().all():
        member = zone_membership(zones, cells)
        cell_of = assign_to_cells(incidents, cells, id_column="grid_id")
        zone_of = pd.Series(
            member.assignment.reindex(cell_of.fillna("")).to_numpy(),
            index=incidents.index,
            dtype="string",
        )
    else:
        zone_of = assign_to_cells(incidents, zones, id_column="zone_id")
    effect = change_effect(incidents, zone_of, zone=args.zone, date=args.date, weeks=args.weeks)
    if args.json:
        print(json.dumps(effect.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(effect.sentence)
        print(
            f"  {effect.zone}: {effect.zone_before} -> {effect.zone_after} "
            f"({effect.zone_change:+.0%}); rest of the area: {effect.rest_before} -> "
            f"{effect.rest_after} ({effect.rest_change:+.0%})"
        )
        print(
            f"  difference in differences {effect.change:+.1%} (95% CI {effect.ci_low:+.0%} "
            f"to {effect.ci_high:+.0%}), p = {effect.p_value:.3g} (weekly t-test), "
            f"{effect.p_value_poisson:.3g} (Poisson)"
        )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the zone commands: zones, effect."""
    zones = commands.add_parser(
        "zones",
        help="propose balanced, compact patrol zones with a patrol plan",
        description="Propose patrol zones made of whole grid cells, balanced by workload "
        "(incidents weighted by category and night hours), with patrol windows, places "
        "needing their own hours (a night team 22:00-03:00), "
        "check-in points and camera coverage gaps; write them for QGIS.",
    )
    _add_source_options(zones)
    design = zones.add_argument_group("design")
    design.add_argument("--k", type=int, help="number of zones (default: today's number)")
    design.add_argument(
        "--max-workload", type=float, help="instead of --k: the most workload a zone may carry"
    )
    design.add_argument(
        "--current",
        metavar="LAYER",
        nargs="?",
        const="patrol_zones",
        help="today's zones (store layer, default patrol_zones; or the --zones "
        "file): change as few cells as the balance needs",
    )
    design.add_argument(
        "--fresh", action="store_true", help="design from scratch even with --current"
    )
    design.add_argument("--max-moves", type=int, help="move at most this many cells")
    design.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        help="allowed deviation from the mean workload (default 0.02 = ±2%%)",
    )
    design.add_argument("--seed", type=int, default=0)
    design.add_argument(
        "--starts", type=int, default=4, help="compact starts tried in a fresh design (default 4)"
    )
    design.add_argument(
        "--quick",
        action="store_true",
        help="fresh design: the first balanced plan only (about a second)",
    )
    design.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="time limit of a fresh design: no new start after it (default 10)",
    )
    weights = zones.add_argument_group("workload")
    weights.add_argument(
        "--night-weight",
        type=float,
        default=1.5,
        help="weight of incidents at 22:00-03:00 (default 1.5)",
    )
    weights.add_argument(
        "--category-weight",
        action="append",
        metavar="CATEGORY=W",
        help="weight of a category (repeatable), e.g. 打架斗殴=2",
    )
    weights.add_argument(
        "--hotspot-method",
        default="counts",
        help="hotspot method for hotspot cells (counts, kde, gistar...; 'none' for no hotspots)",
    )
    weights.add_argument(
        "--hotspot-weight",
        type=float,
        default=1.0,
        help="extra weight of hotspot cells' workload (default 1)",
    )
    plan = zones.add_argument_group("patrol plan")
    plan.add_argument("--window-hours", type=int, default=5, help="length of a patrol window")
    plan.add_argument(
        "--checkin-spacing",
        type=float,
        default=200.0,
        help="least distance between check-in points, metres (default 200)",
    )
    plan.add_argument(
        "--camera-radius",
        type=float,
        default=100.0,
        help="a place farther than this from every camera is a gap (default 100)",
    )
    zones.add_argument("--out", help="GeoPackage or GeoJSON to write the proposal to")
    zones.add_argument("--changes-csv", help="CSV of the cells that move (default: beside --out)")
    zones.add_argument("--json", action="store_true", help="print JSON")
    zones.set_defaults(run=cmd_zones)

    effect = commands.add_parser(
        "effect",
        help="incidents before and after a patrol change in a zone",
        description="Compare incidents in a zone in equal windows before and after a change "
        "date against the rest of the area (difference in differences).",
    )
    _add_source_options(effect)
    effect.add_argument(
        "--zones-layer",
        default="patrol_zones",
        help="store layer of the zones (default patrol_zones)",
    )
    effect.add_argument("--zone", required=True, help="the zone that changed")
    effect.add_argument("--date", required=True, help="the day of the change, e.g. 2026-06-01")
    effect.add_argument("--weeks", type=int, default=8, help="weeks in each window (default 8)")
    effect.add_argument("--json", action="store_true", help="print JSON")
    effect.set_defaults(run=cmd_effect)
