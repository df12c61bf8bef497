"""Reading a command's input layers: a plain file when one is given, else the store."""

from __future__ import annotations

import argparse
import sys

import geopandas as gpd

from dashboard.cli.errors import UserError
from geodata.schemas import DEFAULT_TIMEZONE


def read_input(
    args: argparse.Namespace,
    kind: str,
    path: str | None,
    *,
    layer: str | None = None,
    required: bool = True,
    missing: str = "",
) -> gpd.GeoDataFrame | None:
    """Return one layer from ``path`` if given, else layer ``layer`` (default ``kind``) of
    ``--store``; ``None`` when neither holds it and it is not required.

    Rows a file's checks reject are left out and counted on standard error (``gridwatch check``
    lists them). ``missing`` is the error shown when a required layer has no source.
    """
    from geodata import read_layer
    from geodata.store import read_store, store_layers

    timezone = getattr(args, "timezone", DEFAULT_TIMEZONE)
    if path:
        frame, report = read_layer(path, kind, crs=getattr(args, "crs", None), timezone=timezone)
        if report.rejected:
            print(
                f"{path}: {report.accepted} of {report.rows_in} rows used, "
                f"{len(report.rejected)} rejected (see gridwatch check)",
                file=sys.stderr,
            )
        return frame
    store = getattr(args, "store", None)
    if store:
        name = layer or kind
        if name in store_layers(store):
            return read_store(store, name, timezone=timezone)
        if required:
            raise UserError(f"{store}: the store has no {name} layer; ingest one first")
        return None
    if required:
        raise UserError(missing or f"give a {kind} file or --store STORE.gpkg")
    return None
