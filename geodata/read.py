"""Reading files as they come (GeoJSON, GeoPackage, Shapefile, zipped Shapefile, CSV, XLSX)
into a raw table, before any checking; everything goes through pyogrio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj

TABLE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx"}
VECTOR_SUFFIXES = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "shapefile",
}


class ReadError(ValueError):
    """A file that cannot be read at all; the message is one sentence for the user."""


@dataclass
class RawTable:
    """A file's rows as read, before checking.

    ``frame`` holds the attribute columns (all text for CSV and XLSX); ``geometry`` the file's own
    geometries for vector formats, in ``crs`` (``None`` when the file states no CRS).
    """

    source: str
    format: str
    frame: pd.DataFrame
    geometry: gpd.GeoSeries | None
    crs: pyproj.CRS | None
    layer: str | None = None


def detect_format(path: Path) -> str:
    """Name the format of ``path`` from its suffix (a folder holding a .shp is a Shapefile)."""
    if path.is_dir():
        if any(path.glob("*.shp")):
            return "shapefile"
        raise ReadError(f"{path}: folder holds no .shp file")
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return TABLE_SUFFIXES[suffix]
    if suffix in VECTOR_SUFFIXES:
        return VECTOR_SUFFIXES[suffix]
    if suffix == ".xls":
        raise ReadError(f"{path}: old Excel .xls files are not supported; save it as .xlsx or .csv")
    known = ", ".join(sorted({*TABLE_SUFFIXES, *VECTOR_SUFFIXES}))
    raise ReadError(f"{path}: unknown file type {suffix or '(none)'}; gridwatch reads {known}")


def text_encoding(path: Path) -> str:
    """Guess a text file's encoding: UTF-8 when it decodes as such, else GB18030.

    Chinese office software often saves CSV as GBK, which GB18030 contains.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def choose_layer(path: Path, layer: str | None, kind: str | None) -> str | None:
    """Pick the layer to read from a multi-layer file: the one asked for, else one named after
    the kind, else the only one; several candidates are an error naming them."""
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if layer is not None:
        if layer not in names:
            raise ReadError(f"{path}: has no layer {layer!r}; its layers are {', '.join(names)}")
        return layer
    if kind in names:
        return kind
    if len(names) == 1:
        return names[0]
    raise ReadError(
        f"{path}: holds several layers ({', '.join(names)}); say which one with --layer"
    )


def read_raw(
    path: str | Path,
    *,
    layer: str | None = None,
    kind: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read a file's rows without checking them.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp``, a folder or a ``.zip``), CSV or XLSX.
    layer
        Layer (GeoPackage) or sheet (XLSX) to read; by default the one named after ``kind`` or
        the only one.
    kind
        The layer kind being loaded, used to pick a layer.
    encoding
        Text encoding of a CSV or of Shapefile attributes; guessed when not given.

    Raises
    ------
    ReadError
        If the file does not exist or cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: file not found")
    fmt = detect_format(path)
    options: dict[str, object] = {}
    if fmt == "csv":
        options["encoding"] = encoding or text_encoding(path)
    elif fmt == "xlsx":
        # Force the first row as headers and every cell as text, so that checking sees exactly
        # what the user typed (a stray letter in a number column is reported, not guessed).
        options.update(HEADERS="FORCE", FIELD_TYPES="STRING")
    elif encoding:
        options["encoding"] = encoding
    try:
        if fmt in ("gpkg", "xlsx"):
            layer = choose_layer(path, layer, kind)
        read_geometry = fmt not in ("csv", "xlsx")
        # pyogrio's fast Arrow path reads UTF-8 only.
        arrow = str(options.get("encoding", "UTF-8")).upper().replace("-", "") == "UTF8"
        frame = pyogrio.read_dataframe(
            path, layer=layer, read_geometry=read_geometry, use_arrow=arrow, **options
        )
        crs = None
        if read_geometry:
            info = pyogrio.read_info(path, layer=layer)
            crs = pyproj.CRS.from_user_input(info["crs"]) if info["crs"] else None
    except ReadError:
        raise
    except Exception as error:  # pyogrio raises several types; the user needs one sentence
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ReadError(f"{path}: cannot be read as {fmt} ({message})") from None
    geometry = None
    if read_geometry:
        geometry = frame.geometry
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    frame = frame.reset_index(drop=True)
    if geometry is not None:
        geometry = geometry.reset_index(drop=True)
    return RawTable(str(path), fmt, frame, geometry, crs, layer)
