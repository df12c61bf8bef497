"""Loading a user's file as one of gridwatch's layers: read, check, and report every row."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from geodata.crs import SourceCRS, geometry_to_wgs84, parse_crs
from geodata.read import RawTable, ReadError, read_raw
from geodata.report import LoadReport
from geodata.schemas import DEFAULT_TIMEZONE, get_schema
from geodata.validate import LayerError, clean_layer

AreaLike = str | Path | gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry


def read_layer(
    path: str | Path,
    kind: str,
    *,
    crs: str | SourceCRS | None = None,
    area: AreaLike | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    cells: gpd.GeoDataFrame | str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load a file as a gridwatch layer in EPSG:4326, with a report on every row.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp``, folder or ``.zip``), CSV or XLSX; plain tables
        need coordinate columns (经度/纬度, lon/lat, x/y) or a WKT column.
    kind
        ``grid_cells``, ``rental_properties``, ``key_sites``, ``incidents``, ``patrol_zones``,
        ``devices`` or ``responders``.
    crs
        The coordinates' CRS where the file states none or states it wrongly: ``gcj02``, ``bd09``,
        ``EPSG:4490``, a Gauss-Krüger zone such as ``EPSG:4549``...
    area
        The jurisdiction (a polygon file, GeoDataFrame or geometry); rows outside are rejected.
    layer
        Layer of a GeoPackage or sheet of an XLSX file.
    encoding
        Text encoding of a CSV or Shapefile; guessed when not given (UTF-8, else GB18030).
    timezone
        Time zone of times written without an offset.
    cells
        Grid cells (a layer or a file) for patrol zones given as a table of zone ids and grid
        ids (巡区编号, 包含网格) without geometry: each zone becomes the union of its cells, and
        a zone listing an unknown grid id is rejected (``unknown_grid_id``).

    Returns
    -------
    layer, report
        The accepted rows (canonical columns first, then the file's other columns) and the
        :class:`~geodata.report.LoadReport`.

    Raises
    ------
    ReadError
        If the file cannot be read.
    LayerError
        If it lacks a required column or its coordinate system is unknown.
    """
    get_schema(kind)  # an unknown kind is the first thing to say
    raw = read_raw(path, layer=layer, kind=kind, encoding=encoding)
    area_shape = read_area(area) if area is not None else None
    if cells is not None and not isinstance(cells, gpd.GeoDataFrame):
        cells = read_layer(cells, "grid_cells")[0]
    return clean_layer(raw, kind, crs=crs, area=area_shape, timezone=timezone, cells=cells)


def read_area(area: AreaLike, *, crs: str | None = None) -> shapely.Geometry:
    """Return the union of an area's polygons in EPSG:4326, from a file, frame or geometry.

    A bare shapely geometry is taken to be in EPSG:4326.
    """
    if isinstance(area, shapely.Geometry):
        shape = area
    elif isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if area.crs is None:
            raise LayerError("the area has no coordinate system; set one on it first")
        shape = shapely.union_all(area.to_crs("EPSG:4326").geometry.array)
    else:
        raw: RawTable = read_raw(area)
        if raw.geometry is None:
            raise ReadError(
                f"{area}: an area must be a polygon file (GeoJSON, GeoPackage, "
                "Shapefile), not a table"
            )
        source = parse_crs(crs) if crs else parse_crs(raw.crs) if raw.crs else None
        if source is None:
            raise LayerError(f"{area}: states no coordinate system; give one for the area")
        shape = shapely.union_all(geometry_to_wgs84(raw.geometry.dropna(), source).array)
    shape = shapely.make_valid(shape)
    if shapely.area(shape) <= 0:
        raise LayerError("the area holds no polygon")
    return shape
