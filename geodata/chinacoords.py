"""Convert between WGS-84 and China's web-map systems GCJ-02 (AMap, Tencent) and BD-09 (Baidu)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

LonLat = tuple[np.ndarray, np.ndarray] | tuple[float, float]
_Map = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

# Krasovsky 1940 ellipsoid, as in every published GCJ-02 implementation.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_LON_MIN, _LON_MAX, _LAT_MIN, _LAT_MAX = 72.004, 137.8347, 0.8293, 55.8271
# Both offsets are under 0.02 degrees, so an inverse can only land in the box from this close.
_MARGIN = 0.1
_TOL, _MAX_ITER = 1e-10, 30
# A converged preimage of a point on the box edge may land this far outside it.
_EDGE_SLACK = 1e-9


def _box(lon: np.ndarray, lat: np.ndarray, margin: float = 0.0) -> np.ndarray:
    # Comparisons with NaN are False, so NaN is never "in China".
    return (
        (lon >= _LON_MIN - margin)
        & (lon <= _LON_MAX + margin)
        & (lat >= _LAT_MIN - margin)
        & (lat <= _LAT_MAX + margin)
    )


def _gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the GCJ-02 offset everywhere, ignoring the box."""
    x, y = lon - 105.0, lat - 35.0
    xp, yp = x * np.pi, y * np.pi
    common = 20.0 * np.sin(6.0 * xp) + 20.0 * np.sin(2.0 * xp)
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (
            common
            + 20.0 * np.sin(yp)
            + 40.0 * np.sin(yp / 3.0)
            + 160.0 * np.sin(yp / 12.0)
            + 320.0 * np.sin(yp / 30.0)
        )
        * 2.0
        / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (
            common
            + 20.0 * np.sin(xp)
            + 40.0 * np.sin(xp / 3.0)
            + 150.0 * np.sin(xp / 12.0)
            + 300.0 * np.sin(xp / 30.0)
        )
        * 2.0
        / 3.0
    )
    rad = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / (_A * (1.0 - _EE) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return lon + dlon, lat + dlat


def _bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the BD-09 offset to GCJ-02 coordinates everywhere, ignoring the box."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_guess(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The usual closed-form approximate inverse of _bd; off by up to a few decimetres.
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _gcj_guess(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    glon, glat = _gcj(lon, lat)
    return 2.0 * lon - glon, 2.0 * lat - glat


def _wgs_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _bd(*_gcj(lon, lat))


def _wgs_bd_guess(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _gcj_guess(*_bd_guess(lon, lat))


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.copy(), lat_a.copy(), lon_a.ndim == 0


def _finish(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> LonLat:
    return (float(lon), float(lat)) if scalar else (lon, lat)


def _forward(fn: _Map, lon: ArrayLike, lat: ArrayLike) -> LonLat:
    lon_a, lat_a, scalar = _prepare(lon, lat)
    inside = _box(lon_a, lat_a)
    lon_a[inside], lat_a[inside] = fn(lon_a[inside], lat_a[inside])
    return _finish(lon_a, lat_a, scalar)


def _inverse(fn: _Map, guess: _Map, lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Solve fn(w) = p by fixed-point iteration; identity where no solution lies in the box."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    # Only points near the box can have a preimage in it; skipping the rest also keeps
    # infinities and polar latitudes out of the trigonometry.
    near = _box(lon_a, lat_a, _MARGIN)
    p_lon, p_lat = lon_a[near], lat_a[near]
    w_lon, w_lat = guess(p_lon, p_lat)
    for _ in range(_MAX_ITER):
        f_lon, f_lat = fn(w_lon, w_lat)
        d_lon, d_lat = f_lon - p_lon, f_lat - p_lat
        if d_lon.size == 0 or max(np.abs(d_lon).max(), np.abs(d_lat).max()) < _TOL:
            break
        w_lon, w_lat = w_lon - d_lon, w_lat - d_lat
    # A preimage outside the box is not one: there the forward map is the identity. Where a
    # point also has an in-box preimage we prefer it, so forward-then-inverse is exact.
    ok = _box(w_lon, w_lat, _EDGE_SLACK)
    lon_a[near] = np.where(ok, np.clip(w_lon, _LON_MIN, _LON_MAX), p_lon)
    lat_a[near] = np.where(ok, np.clip(w_lat, _LAT_MIN, _LAT_MAX), p_lat)
    return _finish(lon_a, lat_a, scalar)


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
    """Tell whether points are in the rough box where the Chinese offsets apply.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray or bool
        True inside lon 72.004–137.8347, lat 0.8293–55.8271 (inclusive); False elsewhere and
        for NaN. A bool when given scalars.
    """
    lon_a, lat_a, scalar = _prepare(lon, lat)
    inside = _box(lon_a, lat_a)
    return bool(inside) if scalar else inside


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS-84 (GPS) coordinates to GCJ-02 (AMap, Tencent, Google China).

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees; scalars or anything numpy broadcasts.

    Returns
    -------
    tuple
        ``(lon, lat)`` as float arrays, or floats when given scalars. Points outside
        :func:`in_china` and NaN are returned unchanged.
    """
    return _forward(_gcj, lon, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 coordinates to WGS-84 by iterating the forward offset to 1e-10 degrees.

    Near the box edges the forward map is discontinuous: a point with a preimage in the box
    is mapped to it, any other is returned unchanged. Otherwise as :func:`wgs84_to_gcj02`.
    """
    return _inverse(_gcj, _gcj_guess, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 coordinates to BD-09 (Baidu); otherwise as :func:`wgs84_to_gcj02`."""
    return _forward(_bd, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert BD-09 coordinates to GCJ-02; iterative, otherwise as :func:`gcj02_to_wgs84`."""
    return _inverse(_bd, _bd_guess, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS-84 coordinates to BD-09; otherwise as :func:`wgs84_to_gcj02`.

    The box is tested on the WGS-84 point, so within a few hundred metres of its edge this
    can differ from chaining :func:`wgs84_to_gcj02` and :func:`gcj02_to_bd09`.
    """
    return _forward(_wgs_bd, lon, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert BD-09 coordinates to WGS-84; iterative, otherwise as :func:`gcj02_to_wgs84`."""
    return _inverse(_wgs_bd, _wgs_bd_guess, lon, lat)


_CONVERTERS: dict[tuple[str, str], Callable[[ArrayLike, ArrayLike], LonLat]] = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def convert(lon: ArrayLike, lat: ArrayLike, source: str, target: str) -> LonLat:
    """Convert coordinates between any two of "wgs84", "gcj02" and "bd09" (case-insensitive).

    Raises
    ------
    ValueError
        If `source` or `target` is not one of the three names.
    """
    src, tgt = source.lower(), target.lower()
    for name, key in ((source, src), (target, tgt)):
        if key not in ("wgs84", "gcj02", "bd09"):
            raise ValueError(f"unknown coordinate system '{name}'; use wgs84, gcj02 or bd09")
    if src == tgt:
        lon_a, lat_a, scalar = _prepare(lon, lat)
        return _finish(lon_a, lat_a, scalar)
    return _CONVERTERS[src, tgt](lon, lat)
