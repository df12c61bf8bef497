"""Commands for incidents on the grid: repeats (repeat-alarm places, addresses, callers) and
assign (each incident's grid cell and patrol zone)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dashboard.cli.errors import UserError
from dashboard.cli.inputs import read_input
from geodata.schemas import DEFAULT_TIMEZONE

_SHOWN = 20  # rows of the table printed; --out holds them all


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("incidents: a file or a store")
    source.add_argument(
        "--incidents",
        help="incidents file (CSV with lon/lat and a time, GeoJSON, GeoPackage, Shapefile, XLSX)",
    )
    source.add_argument(
        "--store",
        help="the store GeoPackage (its layers are used for any input not given as a file)",
    )
    source.add_argument("--crs", help="CRS of files that state none (gcj02, bd09, EPSG:4490...)")
    source.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"time zone of times without an offset (default {DEFAULT_TIMEZONE})",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="file to write: .csv, or .gpkg / .geojson for layers with places",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _read(args: argparse.Namespace, kind: str, path: str | None) -> gpd.GeoDataFrame:
    """One layer from its file, else from the store."""
    option = {"incidents": "--incidents", "grid_cells": "--cells", "patrol_zones": "--zones"}[kind]
    return read_input(args, kind, path, missing=f"give {option} FILE or --store STORE.gpkg")


def _write(frame: pd.DataFrame, path: str, layer: str) -> None:
    """Write a result: CSV (lon/lat columns for points, UTF-8 with BOM for Excel), or a layer."""
    from geodata.store import export_layer

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        if isinstance(frame, gpd.GeoDataFrame):
            points = frame.geometry.to_crs("EPSG:4326")
            present = ~(points.isna() | points.is_empty)
            table["lon"] = np.where(present, points.x.where(present), np.nan).round(7)
            table["lat"] = np.where(present, points.y.where(present), np.nan).round(7)
        for name in table.columns:
            if isinstance(table[name].dtype, pd.DatetimeTZDtype):
                table[name] = table[name].map(lambda t: t.isoformat(), na_action="ignore")
        target.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(target, index=False, encoding="utf-8-sig")
    elif suffix in (".gpkg", ".geojson", ".json"):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise UserError(f"{path}: these results have no places on the map; write a .csv")
        export_layer(frame, target, layer)
    else:
        raise UserError(f"{path}: write .csv, .gpkg or .geojson")


# --- repeats --------------------------------------------------------------------------------------


def cmd_repeats(args: argparse.Namespace) -> int:
    """Find repeat-alarm places, addresses or callers; write them all, print the top ones."""
    from incidents.repeats import repeat_addresses, repeat_callers, repeat_places

    incidents = _read(args, "incidents", args.incidents)
    if args.by == "place":
        groups = repeat_places(
            incidents,
            radius_m=args.radius,
            days=args.days,
            min_count=args.min_count,
            same_address=not args.any_address,
            exclude_addresses=args.exclude_address or (),
            max_p=args.max_p,
            returning_caller=args.returning_caller,
        )
    elif args.by == "address":
        groups = repeat_addresses(
            incidents,
            days=args.days,
            min_count=args.min_count,
            exclude_addresses=args.exclude_address or (),
            max_p=args.max_p,
            returning_caller=args.returning_caller,
        )
    else:
        if args.exclude_address or args.returning_caller:
            raise UserError(
                "--exclude-address and --returning-caller apply to --by place or "
                "address, not caller"
            )
        groups = repeat_callers(
            incidents, days=args.days, min_count=args.min_count, max_p=args.max_p
        )
    if args.unusual:
        groups = groups[groups["unusual"].to_numpy()]  # ranks stay those among all groups
    _write(groups, args.out, f"repeat_{args.by}s")
    in_groups = int(groups["incidents"].sum()) if len(groups) else 0
    if args.json:
        rows = pd.DataFrame(groups.drop(columns="geometry", errors="ignore"))
        if isinstance(groups, gpd.GeoDataFrame):
            rows["lon"] = groups.geometry.x.round(7)
            rows["lat"] = groups.geometry.y.round(7)
        print(
            json.dumps(
                {
                    "by": args.by,
                    "incidents": len(incidents),
                    "groups": len(groups),
                    "incidents_in_groups": in_groups,
                    "out": args.out,
                    "rule": {
                        "radius_m": args.radius if args.by == "place" else None,
                        "days": args.days,
                        "min_count": args.min_count,
                    },
                    "rows": json.loads(
                        rows.to_json(orient="records", date_format="iso", force_ascii=False)
                    ),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    where = f"within {args.radius:g} m and " if args.by == "place" else ""
    print(
        f"{len(groups)} repeat {args.by}s ({args.min_count}+ calls {where}within "
        f"{args.days:g} days), holding {in_groups} of {len(incidents)} incidents; "
        f"all written to {args.out}"
    )
    if len(groups):
        print(_table(groups, args.by))
        if len(groups) > _SHOWN:
            print(f"... and {len(groups) - _SHOWN} more in {args.out}")
    return 0


def _table(groups: pd.DataFrame, by: str) -> str:
    """The top groups as a plain-text table."""
    label = "caller_masked" if by == "caller" else "address"
    top = groups.head(_SHOWN)
    table = pd.DataFrame(
        {
            "rank": top["rank"],
            "calls": top["incidents"],
            "first": top["first_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "last": top["last_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "days": top["days"].round(1),
            "p": top["p_value"].map(lambda p: f"{p:.1g}"),
            "unusual": top["unusual"].map({True: "*", False: ""}),
            label: top[label].fillna(""),
            "categories": top["categories"].str.slice(0, 40),
        }
    )
    if "points" in top.columns:
        table.insert(5, "points", top["points"])
    return table.to_string(index=False)


# --- assign ---------------------------------------------------------------------------------------


def cmd_assign(args: argparse.Namespace) -> int:
    """Give each incident its grid cell (and patrol zone); report the unassigned."""
    from incidents.assign import assign_incidents

    incidents = _read(args, "incidents", args.incidents)
    if args.cell_size:
        if args.cells:
            raise UserError("give --cells FILE or --cell-size METRES, not both")
        from geodata.analysis_grid import hex_cells, square_cells

        make = hex_cells if args.hex else square_cells
        cells = make(incidents, args.cell_size).rename(columns={"cell_id": "grid_id"})
    else:
        cells = _read(args, "grid_cells", args.cells)
    zones = None
    if args.zones or (args.store and not args.cells and not args.cell_size):
        from geodata.store import store_layers

        if args.zones or "patrol_zones" in store_layers(args.store):
            zones = _read(args, "patrol_zones", args.zones)
    out = assign_incidents(incidents, cells, zones)
    _write(out, args.out, "incidents")
    summary = _assign_summary(out, cells, zones)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{summary['incidents']} incidents: {summary['assigned']} in {summary['cells_used']} "
        f"of {summary['cells']} grid cells, {summary['unassigned']} in no cell"
    )
    if zones is not None:
        print(
            f"patrol zones: {summary['zones']['assigned']} in a zone, "
            f"{summary['zones']['unassigned']} in none"
        )
    if summary["unassigned"]:
        ids = ", ".join(summary["unassigned_ids"][:10])
        more = " ..." if summary["unassigned"] > 10 else ""
        print(f"in no cell: {ids}{more}")
    print(f"written to {args.out}")
    return 0


def _assign_summary(
    out: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None
) -> dict[str, object]:
    missing = out["grid_id"].isna().to_numpy()
    summary: dict[str, object] = {
        "incidents": len(out),
        "assigned": int((~missing).sum()),
        "unassigned": int(missing.sum()),
        "cells": len(cells),
        "cells_used": int(out["grid_id"].nunique()),
        "unassigned_ids": out.loc[missing, "incident_id"].astype(str).tolist(),
    }
    if zones is not None:
        in_zone = out["zone_id"].notna().to_numpy()
        summary["zones"] = {
            "zones": len(zones),
            "assigned": int(in_zone.sum()),
            "unassigned": int((~in_zone).sum()),
            "unassigned_ids": out.loc[~in_zone, "incident_id"].astype(str).tolist(),
        }
    return summary


def register(commands: argparse._SubParsersAction) -> None:
    """Add the incident commands: repeats, assign."""
    repeats = commands.add_parser(
        "repeats",
        help="repeat-alarm places, addresses or callers (多次报警)",
        description="Groups of --min-count or more incidents within --days days at one place "
        "(within --radius metres and, unless --any-address, at the same address), one address, "
        "or from one caller. The table shows each group's calls, first and last, p (how unusual "
        "for that place: a default location shows a huge steady group with p near 0.5 and all "
        "calls on 1 point; leave it out with --exclude-address).",
    )
    _add_source_options(repeats)
    rule = repeats.add_argument_group("rule")
    rule.add_argument("--by", choices=("place", "address", "caller"), default="place")
    rule.add_argument("--radius", type=float, default=50, help="metres (default 50)")
    rule.add_argument("--days", type=float, default=30, help="time window, days (default 30)")
    rule.add_argument("--min-count", type=int, default=3, help="calls needed (default 3)")
    rule.add_argument(
        "--any-address",
        action="store_true",
        help="places by distance alone, whatever their addresses",
    )
    rule.add_argument(
        "--exclude-address",
        action="append",
        metavar="ADDRESS",
        help="leave out incidents at this address (repeatable), e.g. a records "
        "system's default location",
    )
    rule.add_argument(
        "--max-p", type=float, help="keep only groups this unusual for their place (e.g. 0.001)"
    )
    rule.add_argument(
        "--returning-caller",
        action="store_true",
        help="keep only groups in which someone called more than once",
    )
    rule.add_argument(
        "--unusual",
        action="store_true",
        help="keep only unusual groups (*): a caller called again, or p <= 0.001",
    )
    repeats.set_defaults(run=cmd_repeats)

    assign = commands.add_parser("assign", help="each incident's grid cell and patrol zone")
    _add_source_options(assign)
    cells = assign.add_argument_group("cells and zones")
    cells.add_argument("--cells", help="grid cells file (default: the store's grid_cells)")
    cells.add_argument(
        "--cell-size",
        type=float,
        help="instead of --cells: an analysis grid of cells this many metres",
    )
    cells.add_argument("--hex", action="store_true", help="with --cell-size: hexagons")
    cells.add_argument("--zones", help="patrol zones file (default: the store's, if any)")
    assign.set_defaults(run=cmd_assign)
