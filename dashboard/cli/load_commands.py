"""Commands for getting data in: check, ingest, demo, and serve to look at it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dashboard.cli.errors import UserError
from geodata import LAYER_KINDS, read_layer
from geodata.schemas import DEFAULT_TIMEZONE

DEFAULT_STORE = Path.home() / ".gridwatch" / "demo.gpkg"


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="GeoJSON, GeoPackage, Shapefile (.shp/.zip/folder), CSV, XLSX")
    parser.add_argument("--kind", required=True, choices=LAYER_KINDS, help="which layer it is")
    parser.add_argument(
        "--crs",
        help="coordinates' CRS if the file states none or wrongly: "
        "gcj02, bd09, EPSG:4490, EPSG:4549...",
    )
    parser.add_argument(
        "--area", help="polygon file of the jurisdiction; rows outside are rejected"
    )
    parser.add_argument("--layer", help="layer of a GeoPackage or sheet of an XLSX file")
    parser.add_argument(
        "--cells",
        help="grid cells file, for patrol zones given as a table of grid ids (包含网格) "
        "without geometry (ingest: the store's grid cells by default)",
    )
    parser.add_argument("--encoding", help="text encoding (default: UTF-8, else GB18030)")
    parser.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"time zone of times without an offset (default {DEFAULT_TIMEZONE})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _load(args: argparse.Namespace):
    cells = args.cells
    store = getattr(args, "store", None)
    if cells is None and args.kind == "patrol_zones" and store and Path(store).exists():
        from geodata.store import read_store, store_layers

        if "grid_cells" in store_layers(store):
            cells = read_store(store, "grid_cells")
    return read_layer(
        args.file,
        args.kind,
        crs=args.crs,
        area=args.area,
        layer=args.layer,
        encoding=args.encoding,
        timezone=args.timezone,
        cells=cells,
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Load a file, print its load report and optionally write the accepted rows."""
    from geodata.store import export_layer

    layer, report = _load(args)
    if args.out:
        export_layer(layer, args.out, args.kind)
    print(report.to_json() if args.json else report.summary())
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load a file and add its rows to the store in one transaction."""
    from geodata.store import ingest

    layer, report = _load(args)
    result = ingest(args.store, layer, report)
    if args.json:
        print(
            json.dumps(
                {"report": report.to_dict(), "ingest": result.to_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(report.summary())
        print(
            f"\n{args.store}: {result.added} rows added to {result.layer}, "
            f"{result.already_stored} already stored, {result.quarantined} quarantined"
        )
        if result.columns_not_stored:
            print(f"columns not stored: {', '.join(result.columns_not_stored)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo community into a GeoPackage."""
    from geodata.demo import make_demo
    from geodata.store import write_layers

    layers = make_demo(args.size, args.seed, planted=not args.no_planted)
    write_layers(args.out, layers)
    counts = ", ".join(f"{name} {len(frame)}" for name, frame in layers.items())
    print(f"{args.out}: {args.size} demo, seed {args.seed}: {counts}")
    return 0


# Streamlit options the dashboard needs, passed on the command line so that they hold whatever
# the working directory: static serving for the offline map files, no usage statistics (the one
# request Streamlit itself sends outside), the dark command-room theme, no developer menu, no
# watching of source files (a running dashboard is not being edited), and no welcome banner:
# on a headless server Streamlit looks its external IP up on the internet to print it.
STREAMLIT_OPTIONS = {
    "server.enableStaticServing": "true",
    "browser.gatherUsageStats": "false",
    "logger.hideWelcomeMessage": "true",
    "theme.base": "dark",
    "client.toolbarMode": "viewer",
    "server.fileWatcherType": "none",
}


def serve_command(store: Path, port: int) -> list[str]:
    """Return the command line that runs the dashboard on ``store`` at ``port``."""
    app = Path(__file__).parents[1] / "app.py"
    options = [item for name, value in STREAMLIT_OPTIONS.items() for item in (f"--{name}", value)]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        *options,
        "--",
        "--store",
        str(store.resolve()),
    ]


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the Streamlit dashboard on a store (the demo community when none is given)."""
    from dashboard.assets import install_assets

    store = Path(args.store) if args.store else DEFAULT_STORE
    if not store.exists():
        if args.store:
            raise UserError(f"{store}: store not found")
        print(f"first run: generating the demo community into {store}")
        cmd_demo(argparse.Namespace(size="community", seed=0, no_planted=False, out=store))
    copied = install_assets()  # before Streamlit starts: its file watcher would see the copies
    if copied:
        print(f"offline map files: {len(copied)} copied into dashboard/static/vendor", flush=True)
    command = serve_command(store, args.port)
    print(f"gridwatch dashboard on {store}: http://localhost:{args.port}/", flush=True)
    # Become Streamlit, so that a stop signal (Ctrl-C, a service manager) reaches it directly.
    os.execv(command[0], command)
    return 0  # not reached


def register(commands: argparse._SubParsersAction) -> None:
    """Add the data commands: check, ingest, demo, serve."""
    check = commands.add_parser("check", help="report on every row of a file; write the clean rows")
    _add_load_options(check)
    check.add_argument("--out", help="write accepted rows to this .gpkg or .geojson")
    check.set_defaults(run=cmd_check)

    ingest = commands.add_parser("ingest", help="add a file's rows to the store (all or nothing)")
    _add_load_options(ingest)
    ingest.add_argument("--store", required=True, help="the store GeoPackage (created if new)")
    ingest.set_defaults(run=cmd_ingest)

    demo = commands.add_parser("demo", help="generate the demo community")
    demo.add_argument("--out", required=True, help="GeoPackage to write")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--size", choices=("community", "district", "city"), default="community")
    demo.add_argument(
        "--no-planted",
        action="store_true",
        help="no planted hotspots or repeat-alarm places (background only)",
    )
    demo.set_defaults(run=cmd_demo)

    serve = commands.add_parser("serve", help="run the dashboard")
    serve.add_argument("--store", help=f"store GeoPackage (default: demo at {DEFAULT_STORE})")
    serve.add_argument("--port", type=int, default=8501)
    serve.set_defaults(run=cmd_serve)
