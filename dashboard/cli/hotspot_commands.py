"""Commands for hotspot maps and their accuracy: hotspots, evaluate, knox."""

from __future__ import annotations

import argparse
import json

import geopandas as gpd
import numpy as np
import pandas as pd

from dashboard.cli.errors import UserError
from dashboard.cli.inputs import read_input
from geodata.schemas import DEFAULT_TIMEZONE

_METHODS = ("counts", "rate", "kde", "gistar", "emerging", "naive")


def _numbers(text: str, name: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(
            f"{name} {text!r}: write numbers separated by commas, e.g. 0,100,200"
        ) from None


def _add_input_options(parser: argparse.ArgumentParser, *, cells: bool = True) -> None:
    source = parser.add_argument_group("incidents: a file or a store")
    source.add_argument(
        "--incidents",
        help="incidents file (CSV with lon/lat and a time, GeoJSON, GeoPackage, Shapefile...)",
    )
    source.add_argument("--store", help="the store GeoPackage (its incidents and grid_cells)")
    source.add_argument("--crs", help="CRS of a file that states none (gcj02, EPSG:4490...)")
    source.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"time zone of times without an offset, and of --since/--until "
        f"dates (default {DEFAULT_TIMEZONE})",
    )
    source.add_argument("--since", help="only incidents from this date or time on")
    source.add_argument("--until", help="only incidents before this date or time")
    source.add_argument(
        "--exclude-address",
        action="append",
        metavar="ADDRESS",
        help="leave out incidents at this address (repeatable), e.g. a records system's "
        "default location",
    )
    if cells:
        grid = parser.add_argument_group("cells: a polygon file, or a square grid")
        grid.add_argument("--cells", help="polygons to score (grid cells, beats, blocks...)")
        grid.add_argument(
            "--id-column",
            help="column of --cells holding the ids (default: "
            "grid_id, or ids made from record numbers)",
        )
        grid.add_argument("--cell-size", type=float, help="side of square analysis cells, metres")
        grid.add_argument(
            "--area",
            help="polygon file of the area to grid (default: the store's "
            "grid cells, else the incidents' convex hull)",
        )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _read_incidents(args: argparse.Namespace) -> gpd.GeoDataFrame:
    if bool(args.incidents) == bool(args.store):
        raise UserError("give either --incidents FILE or --store STORE.gpkg")
    incidents = read_input(args, "incidents", args.incidents)
    from incidents._hotspot_common import between
    from incidents.addresses import drop_addresses

    if len(incidents) and (args.since or args.until):
        incidents = between(incidents, args.since, args.until)
    incidents = drop_addresses(incidents, args.exclude_address or ())
    if len(incidents) == 0:
        raise UserError("no incidents to analyse (check --since/--until and --exclude-address)")
    return incidents


def _cells(args: argparse.Namespace, incidents: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cells from --cells (id in ``cell_id``), or a square grid of --cell-size over the area."""
    from geodata import local_metric_crs, read_area, read_layer
    from geodata.analysis_grid import square_cells
    from geodata.store import read_store, store_layers

    if bool(args.cells) == bool(args.cell_size):
        raise UserError("give either --cells FILE or --cell-size METRES")
    if args.cells:
        cells, _ = read_layer(args.cells, "grid_cells", crs=args.crs)
        column = args.id_column or "grid_id"
        if column not in cells.columns:
            raise UserError(
                f"{args.cells}: no column {column!r}; its columns are "
                f"{', '.join(map(str, cells.columns))}"
            )
        if cells[column].isna().any() or cells[column].duplicated().any():
            raise UserError(
                f"{args.cells}: column {column!r} does not hold one id per cell; "
                "choose another with --id-column"
            )
        cells = cells.copy()
        cells["cell_id"] = cells[column].astype("string")
        return cells
    if args.area:
        area = gpd.GeoSeries([read_area(args.area, crs=args.crs)], crs=4326)
    elif args.store and "grid_cells" in store_layers(args.store):
        area = read_store(args.store, "grid_cells")
    else:
        # The incidents' convex hull, half a cell wider so edge incidents sit inside a cell.
        metric = local_metric_crs(incidents)
        hull = incidents.geometry.to_crs(metric).union_all().convex_hull.buffer(args.cell_size / 2)
        area = gpd.GeoSeries([hull], crs=metric).to_crs(4326)
    return square_cells(area, args.cell_size)


def _method_options(args: argparse.Namespace, method: str) -> dict[str, object]:
    options: dict[str, object] = {}
    if method in ("gistar", "emerging"):
        options["alpha"] = args.alpha
    if method == "gistar":
        options["permutations"] = args.permutations
        options["values"] = args.gistar_values
    if method == "emerging":
        options["slices"] = args.slices
    if method == "rate":
        options["population_column"] = args.population_column
    if method in ("counts", "rate", "kde", "naive") and getattr(args, "flag_share", None):
        options["area_share"] = args.flag_share
    return options


def cmd_hotspots(args: argparse.Namespace) -> int:
    """Score every cell by one method, flag the hotspots and write them to a GeoPackage."""
    from geodata.store import export_layer
    from incidents.hotspots import hotspot_scores

    incidents = _read_incidents(args)
    cells = _cells(args, incidents)
    options = _method_options(args, args.method)
    if args.method == "emerging":
        options.update(start=args.since, end=args.until)
    if args.method == "naive" and args.until:
        options["until"] = args.until
    scored = hotspot_scores(incidents, cells, method=args.method, **options)
    layer = f"hotspots_{args.method}"
    export_layer(scored, args.out, layer)
    top = scored.sort_values("score", ascending=False, na_position="last").head(10)
    summary = {
        "out": str(args.out),
        "layer": layer,
        "method": args.method,
        "cells": len(scored),
        "hotspots": int(scored["hotspot"].sum()),
        "incidents": len(incidents),
        "incidents_in_cells": int(scored["incidents"].sum()),
        "top": [
            {
                "cell_id": str(row.cell_id),
                "incidents": int(row.incidents),
                "score": None if pd.isna(row.score) else round(float(row.score), 4),
                "hotspot": bool(row.hotspot),
            }
            for row in top.itertuples()
        ],
    }
    for name in ("gi_fdr_cut", "kde_bandwidth_m"):
        if name in scored.columns:
            summary[name] = float(scored[name].iloc[0])
    if "pattern" in scored.columns:
        summary["patterns"] = {str(k): int(v) for k, v in scored["pattern"].value_counts().items()}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{args.out}: layer {layer}: {summary['cells']} cells, {summary['hotspots']} hotspots "
        f"({args.method}), {summary['incidents_in_cells']} of {summary['incidents']} incidents "
        "in the cells"
    )
    for name in ("gi_fdr_cut", "kde_bandwidth_m"):
        if name in summary:
            print(f"{name}: {summary[name]:.6g}")
    if "patterns" in summary:
        print("patterns: " + ", ".join(f"{k} {v}" for k, v in summary["patterns"].items()))
    print("\nhottest cells:")
    print(top[["cell_id", "incidents", "score", "hotspot"]].to_string(index=False))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print PAI, PEI* and RRI of every method for one train/test split."""
    from incidents.accuracy import evaluate_methods

    incidents = _read_incidents(args)
    cells = _cells(args, incidents)
    methods = args.methods.split(",") if args.methods else None
    if methods:
        unknown = sorted(set(methods) - set(_METHODS))
        if unknown:
            raise UserError(f"--methods: unknown method {unknown[0]!r}; use {', '.join(_METHODS)}")
    shares = _numbers(args.area_share, "--area-share")
    available = methods or [m for m in _METHODS if m != "rate" or "population" in cells.columns]
    options = {m: _method_options(args, m) for m in available}
    tables = []
    for share in shares:
        table = evaluate_methods(
            incidents,
            cells,
            train_until=args.train_until,
            test_until=args.test_until,
            area_share=share,
            methods=methods,
            train_since=args.train_since,
            method_options=options,
        )
        tables.append(table)
    info = tables[0].attrs
    header = {
        "cells": len(cells),
        "train_since": str(info["train_since"]),
        "train_until": str(info["train_until"]),
        "test_until": str(info["test_until"]),
        "train_incidents": info["train_incidents"],
        "test_incidents": info["test_incidents"],
    }
    if args.json:
        rows = []
        for share, table in zip(shares, tables, strict=True):
            for record in table.to_dict("records"):
                rows.append(
                    {
                        "area_share": share,
                        **{
                            k: (None if isinstance(v, float) and np.isnan(v) else v)
                            for k, v in record.items()
                        },
                    }
                )
        print(json.dumps({**header, "results": rows}, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{header['cells']} cells; train {header['train_since']} to {header['train_until']} "
        f"({header['train_incidents']} incidents), test to {header['test_until']} "
        f"({header['test_incidents']} incidents in the cells)"
    )
    for share, table in zip(shares, tables, strict=True):
        shown = table.rename(
            columns={
                "pei_star": "pei*",
                "test_incidents_captured": "captured",
                "area_share_used": "area",
            }
        )
        print(f"\nflagging {share:.0%} of the area:")
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def cmd_knox(args: argparse.Namespace) -> int:
    """Print the Knox near-repeat table: Knox ratios and p-values by distance and time band."""
    from incidents.knox import knox_test

    incidents = _read_incidents(args)
    table = knox_test(
        incidents,
        space_bands_m=_numbers(args.space_bands, "--space-bands"),
        time_bands_days=_numbers(args.time_bands, "--time-bands"),
        permutations=args.permutations,
        seed=args.seed,
    )
    if args.json:
        records = [
            {
                k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in row.items()
            }
            for row in table.to_dict("records")
        ]
        print(
            json.dumps(
                {
                    "incidents": table.attrs["incidents"],
                    "permutations": args.permutations,
                    "bands": records,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    order = list(dict.fromkeys(table["time_band"]))
    rows = list(dict.fromkeys(table["space_band"]))

    def grid(values: pd.Series) -> pd.DataFrame:
        return (
            pd.DataFrame(
                {"space": table["space_band"], "time": table["time_band"], "value": values}
            )
            .pivot(index="space", columns="time", values="value")
            .reindex(index=rows, columns=order)
        )

    marked = [
        ("n/a" if not np.isfinite(r) else f"{r:.2f}{'*' if p < 0.05 else ''}")
        for r, p in zip(table["knox_ratio"], table["p_value"], strict=True)
    ]
    print(
        f"Knox test: {table.attrs['incidents']} incidents, {args.permutations} shuffles of the "
        "times"
    )
    print("\nKnox ratio (observed / expected pairs; * p < 0.05):")
    print(grid(pd.Series(marked)).to_string())
    print("\nobserved pairs:")
    print(grid(table["observed"]).to_string())
    return 0


def _add_gistar_values(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gistar-values",
        choices=("anscombe", "counts"),
        default="anscombe",
        help="gistar: Anscombe's root of the counts (default: false hotspots near the nominal "
        "rate) or the raw counts (as ArcGIS)",
    )


def register(commands: argparse._SubParsersAction) -> None:
    """Add the hotspot commands: hotspots, evaluate, knox."""
    hot = commands.add_parser("hotspots", help="score cells by a hotspot method; write them out")
    _add_input_options(hot)
    hot.add_argument("--method", choices=_METHODS, default="gistar")
    hot.add_argument("--out", required=True, help="GeoPackage (or .geojson) to write")
    hot.add_argument(
        "--alpha", type=float, default=0.05, help="false-discovery rate (gistar, emerging)"
    )
    hot.add_argument(
        "--permutations",
        type=int,
        default=0,
        help="gistar: conditional permutations for pseudo p-values (e.g. 999)",
    )
    _add_gistar_values(hot)
    hot.add_argument("--slices", type=int, default=12, help="emerging: time slices")
    hot.add_argument(
        "--flag-share",
        type=float,
        help="counts, rate, kde, naive: share of the area to flag as hotspots (default 0.05)",
    )
    hot.add_argument("--population-column", default="population", help="rate: population column")
    hot.set_defaults(run=cmd_hotspots)

    evaluate = commands.add_parser("evaluate", help="PAI, PEI* and RRI of every hotspot method")
    _add_input_options(evaluate)
    evaluate.add_argument("--train-until", required=True, help="end of the training period")
    evaluate.add_argument("--test-until", required=True, help="end of the test period")
    evaluate.add_argument(
        "--train-since", help="start of the training period (default: first incident)"
    )
    evaluate.add_argument(
        "--area-share",
        default="0.01",
        help="share(s) of the area each map flags, e.g. 0.01 or 0.01,0.05",
    )
    evaluate.add_argument("--methods", help=f"comma-separated, from {', '.join(_METHODS)}")
    evaluate.add_argument("--alpha", type=float, default=0.05)
    evaluate.add_argument("--permutations", type=int, default=0)
    _add_gistar_values(evaluate)
    evaluate.add_argument("--slices", type=int, default=12)
    evaluate.add_argument("--population-column", default="population")
    evaluate.set_defaults(run=cmd_evaluate)

    knox = commands.add_parser("knox", help="Knox near-repeat test by distance and time band")
    _add_input_options(knox, cells=False)
    knox.add_argument(
        "--space-bands",
        default="0,100,200,300,400",
        help="distance band limits in metres (0 = same place)",
    )
    knox.add_argument("--time-bands", default="14,28,42,56", help="time band limits in days")
    knox.add_argument(
        "--permutations",
        type=int,
        default=99,
        help="shuffles of the times (the Near Repeat Calculator offers 20-1000)",
    )
    knox.add_argument("--seed", type=int, default=0)
    knox.set_defaults(run=cmd_knox)
