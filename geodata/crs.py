"""Coordinate systems: reading a user's CRS name, bringing coordinates to WGS-84 (EPSG:4326),
including the Chinese web-map systems GCJ-02 and BD-09, and picking a metric CRS for distances."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from geodata import chinacoords

WGS84 = "EPSG:4326"

# Names users write for the web-map systems pyproj does not know.
_WEB_MAP_NAMES = {
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "tencent": "gcj02",
    "火星坐标": "gcj02",
    "高德": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
}
_WGS84_NAMES = {"wgs84", "wgs-84", "wgs 84", "gps", "4326"}


@dataclass(frozen=True)
class SourceCRS:
    """The coordinate system a file's coordinates are in.

    ``web_map`` is "gcj02" or "bd09" for the Chinese web-map systems (longitude/latitude degrees
    with an offset pyproj does not know), else empty and ``crs`` is the pyproj CRS.
    """

    name: str
    crs: pyproj.CRS
    web_map: str = ""

    @property
    def is_geographic(self) -> bool:
        """Whether coordinates are longitude/latitude degrees."""
        return bool(self.web_map) or self.crs.is_geographic


def parse_crs(spec: str | int | pyproj.CRS) -> SourceCRS:
    """Read a CRS as users write it: ``gcj02``, ``bd09``, ``wgs84``, ``EPSG:4490``, ``4547``, WKT.

    Raises
    ------
    ValueError
        If the name is not a CRS pyproj or gridwatch knows.
    """
    if isinstance(spec, pyproj.CRS):
        return SourceCRS(spec.to_string(), spec)
    text = str(spec).strip()
    key = text.lower()
    if key in _WEB_MAP_NAMES:
        web = _WEB_MAP_NAMES[key]
        return SourceCRS(web, pyproj.CRS.from_epsg(4326), web)
    if key in _WGS84_NAMES:
        return SourceCRS(WGS84, pyproj.CRS.from_epsg(4326))
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        crs = pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        raise ValueError(
            f"unknown coordinate system {spec!r}: give an EPSG code (e.g. EPSG:4326, EPSG:4490, "
            "EPSG:4547) or gcj02 / bd09 for Chinese web-map coordinates"
        ) from None
    name = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
    return SourceCRS(name, crs)


def to_wgs84_xy(x: ArrayLike, y: ArrayLike, source: SourceCRS) -> tuple[np.ndarray, np.ndarray]:
    """Bring coordinate arrays in ``source`` to WGS-84 longitude and latitude.

    Points a projection cannot map come back as NaN or inf, for the caller to reject.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if source.web_map:
        return chinacoords.convert(x, y, source.web_map, "wgs84")
    if source.crs.equals(pyproj.CRS.from_epsg(4326)):
        return x.copy(), y.copy()
    transformer = pyproj.Transformer.from_crs(source.crs, WGS84, always_xy=True)
    lon, lat = transformer.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def geometry_to_wgs84(geometry: gpd.GeoSeries, source: SourceCRS) -> gpd.GeoSeries:
    """Bring a GeoSeries whose coordinates are in ``source`` to EPSG:4326."""
    if not source.web_map:
        return geometry.set_crs(source.crs, allow_override=True).to_crs(WGS84)

    def transform(coords: np.ndarray) -> np.ndarray:
        lon, lat = chinacoords.convert(coords[:, 0], coords[:, 1], source.web_map, "wgs84")
        return np.column_stack([lon, lat])

    moved = shapely.transform(np.asarray(geometry.array), transform)
    return gpd.GeoSeries(moved, index=geometry.index, crs=WGS84)


def local_metric_crs(data: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Pick a metric CRS for distance and area work: the UTM zone at the data's centre.

    Distances in a UTM zone are within 0.04% of true ground distance inside the zone, far finer
    than anything gridwatch measures (tens of metres).
    """
    lon_min, lat_min, lon_max, lat_max = data.to_crs(WGS84).total_bounds
    if not np.all(np.isfinite([lon_min, lat_min, lon_max, lat_max])):
        raise ValueError("cannot pick a metric CRS for empty data")
    lon, lat = (lon_min + lon_max) / 2, (lat_min + lat_max) / 2
    info = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
    )
    return pyproj.CRS.from_epsg(info[0].code)
