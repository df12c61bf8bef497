"""The embedded store: one GeoPackage file holding every layer (QGIS opens it as it is), written
all-or-nothing, with a quarantine table of the rows that were rejected and why."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geodata.report import LoadReport
from geodata.schemas import (
    BOOLEAN,
    DATE,
    DATETIME,
    DEFAULT_TIMEZONE,
    ID,
    INTEGER,
    NUMBER,
    POINT,
    POLYGON,
    SCHEMAS,
    STRING,
    get_schema,
)

QUARANTINE = "quarantine"
QUARANTINE_COLUMNS = ["layer", "source", "row", "reason", "detail", "record", "ingested_at"]

_GEOMETRY_TYPES = {POINT: "Point", POLYGON: "MultiPolygon"}


@dataclass
class IngestResult:
    """What one ingest added to the store."""

    layer: str
    added: int = 0
    already_stored: int = 0
    quarantined: int = 0
    columns_not_stored: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Return the result as plain data for JSON."""
        return {
            "layer": self.layer,
            "added": self.added,
            "already_stored": self.already_stored,
            "quarantined": self.quarantined,
            "columns_not_stored": self.columns_not_stored,
        }


def store_layers(path: str | Path) -> dict[str, int]:
    """Return the layers of a store with their row counts (empty when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    return {
        str(name): pyogrio.read_info(path, layer=str(name))["features"]
        for name in pyogrio.list_layers(path)[:, 0]
    }


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Yield a scratch copy of ``path`` to write to; it replaces ``path`` only if all went well.

    The rename is atomic, so readers see the old store or the new one, never half of a write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch_name = tempfile.mkstemp(
        suffix=path.suffix, prefix=f".{path.stem}-", dir=path.parent
    )
    os.close(handle)
    scratch = Path(scratch_name)
    try:
        if path.exists():
            shutil.copy2(path, scratch)
        else:
            scratch.unlink()
        yield scratch
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
        for extra in ("-journal", "-wal", "-shm"):
            Path(f"{scratch}{extra}").unlink(missing_ok=True)


def _for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """Prepare columns for GeoPackage: times in UTC as the standard wants, yes/no as integers."""
    out = frame.copy()
    for name in out.columns:
        dtype = out[name].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.tz_convert("UTC")
        elif isinstance(dtype, pd.BooleanDtype):
            out[name] = out[name].astype("Int64")
    return out


def _write(
    frame: pd.DataFrame, path: Path, layer: str, *, append: bool, replace: bool = False
) -> None:
    """Write one layer to a GeoPackage: appended to, replacing, or added beside the others."""
    schema = SCHEMAS.get(layer)
    options: dict[str, object] = {}
    if isinstance(frame, gpd.GeoDataFrame):
        geometry = _GEOMETRY_TYPES.get(schema.geometry, "Unknown") if schema else None
        if geometry is None:
            types = set(frame.geom_type.dropna())
            geometry = types.pop() if len(types) == 1 else "Unknown"
        options = {"geometry_type": geometry, "promote_to_multi": geometry == "MultiPolygon"}
    if replace:
        options["layer_options"] = {"OVERWRITE": "YES"}
    if not path.exists():
        # GeoPackage 1.3 rather than GDAL's default 1.4: the widest choice of readers (QGIS on
        # an older GDAL, GDAL's own validator) accepts it, and gridwatch needs nothing from 1.4.
        options["dataset_options"] = {"VERSION": "1.3"}
    pyogrio.write_dataframe(
        _for_file(frame), path, layer=layer, driver="GPKG", append=append, **options
    )


def write_layers(path: str | Path, layers: dict[str, pd.DataFrame]) -> None:
    """Write whole layers to a store, replacing those of the same name; all or nothing."""
    path = Path(path)
    existing = store_layers(path)
    with _replacing(path) as scratch:
        for name, frame in layers.items():
            _write(frame, scratch, name, append=False, replace=name in existing)


def export_layer(frame: gpd.GeoDataFrame, path: str | Path, layer: str) -> None:
    """Write one layer to a GeoPackage (added to it) or GeoJSON file (replacing it), atomically.

    Raises
    ------
    ValueError
        If the file type is neither.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        write_layers(path, {layer: frame})
    elif suffix in (".geojson", ".json"):
        with _replacing(path) as scratch:
            scratch.unlink(missing_ok=True)
            pyogrio.write_dataframe(_for_file(frame), scratch, layer=layer, driver="GeoJSON")
    else:
        raise ValueError(f"{path}: write .gpkg or .geojson")


def read_store(
    path: str | Path,
    layer: str,
    *,
    columns: list[str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one layer of a store with gridwatch's column types restored.

    Raises
    ------
    ValueError
        If the store or the layer does not exist.
    """
    path = Path(path)
    layers = store_layers(path)
    if layer not in layers:
        where = f"its layers are {', '.join(layers)}" if layers else "the file does not exist"
        raise ValueError(f"{path}: no layer {layer!r} in the store; {where}")
    frame = pyogrio.read_dataframe(path, layer=layer, columns=columns, use_arrow=True)
    return restore_types(frame, layer, timezone=timezone)


def restore_types(
    frame: pd.DataFrame, layer: str, *, timezone: str = DEFAULT_TIMEZONE
) -> pd.DataFrame:
    """Give a layer read back from a file the column types its schema says."""
    schema = SCHEMAS.get(layer)
    out = frame.copy()
    for f in schema.fields if schema else ():
        if f.name not in out.columns:
            continue
        col = out[f.name]
        if f.type in (ID, STRING):
            out[f.name] = col.astype("string")
        elif f.type == INTEGER:
            out[f.name] = col.astype("Int64")
        elif f.type == NUMBER:
            out[f.name] = col.astype(float)
        elif f.type == BOOLEAN:
            out[f.name] = col.astype("boolean")
        elif f.type == DATETIME:
            stamps = pd.to_datetime(col)
            if stamps.dt.tz is None:
                stamps = stamps.dt.tz_localize("UTC")
            out[f.name] = stamps.dt.tz_convert(timezone).astype(f"datetime64[ms, {timezone}]")
        elif f.type == DATE:
            out[f.name] = pd.to_datetime(col).astype("datetime64[ms]")
    for name in out.columns:  # times of layers without a schema (demo_truth) too
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.tz_convert(timezone)
    if isinstance(out, gpd.GeoDataFrame) and out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    return out


def ingest(path: str | Path, layer: gpd.GeoDataFrame, report: LoadReport) -> IngestResult:
    """Add a loaded layer's accepted rows and its rejected rows to a store in one transaction.

    Rows whose id is already stored are skipped, so running the same ingest twice adds nothing;
    rejected rows go to the ``quarantine`` table with their reasons (once each). Either every
    write lands or none does: the store is left exactly as it was if anything fails.
    """
    path = Path(path)
    kind = report.kind
    schema = get_schema(kind)
    layers = store_layers(path)
    result = IngestResult(kind)

    keep = [*schema.columns, layer.geometry.name]
    result.columns_not_stored = [c for c in layer.columns if c not in keep]
    rows = layer[keep]
    if kind in layers:
        stored = pyogrio.read_dataframe(
            path, layer=kind, columns=[schema.id_field], read_geometry=False, use_arrow=True
        )[schema.id_field]
        new = ~rows[schema.id_field].isin(set(stored.astype(str)))
        result.already_stored = int((~new).sum())
        rows = rows[new]
    result.added = len(rows)

    quarantine = report.rejected_records.assign(layer=kind, source=str(report.source))
    if len(quarantine) and QUARANTINE in layers:
        seen = pyogrio.read_dataframe(
            path,
            layer=QUARANTINE,
            columns=["layer", "record", "reason"],
            read_geometry=False,
            use_arrow=True,
        )
        known = set(zip(seen["layer"], seen["record"], seen["reason"], strict=True))
        fresh = [
            (k, rec, r) not in known
            for k, rec, r in zip(
                quarantine["layer"], quarantine["record"], quarantine["reason"], strict=True
            )
        ]
        quarantine = quarantine[fresh]
    result.quarantined = len(quarantine)
    if len(quarantine):
        quarantine = quarantine.assign(
            ingested_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            row=quarantine["row"].astype("int64"),
        )[QUARANTINE_COLUMNS]

    if not result.added and not result.quarantined and kind in layers:
        return result
    with _replacing(path) as scratch:
        _write(rows, scratch, kind, append=kind in layers)
        if result.quarantined:
            _write(quarantine, scratch, QUARANTINE, append=QUARANTINE in layers)
    return result
