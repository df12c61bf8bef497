"""Tests for geodata.chinacoords: WGS-84 / GCJ-02 / BD-09 conversions."""

import numpy as np
import pytest
from pyproj import Geod

from geodata.chinacoords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
BOX = (72.004, 137.8347, 0.8293, 55.8271)  # lon min, lon max, lat min, lat max

# (forward, inverse, forward's source system, forward's target system)
PAIRS = [
    (wgs84_to_gcj02, gcj02_to_wgs84, "wgs84", "gcj02"),
    (gcj02_to_bd09, bd09_to_gcj02, "gcj02", "bd09"),
    (wgs84_to_bd09, bd09_to_wgs84, "wgs84", "bd09"),
]
FUNCTIONS = [f for pair in PAIRS for f in pair[:2]]
# Every round trip: forward then inverse, and inverse then forward.
ROUND_TRIPS = [(f, g) for f, g, *_ in PAIRS] + [(g, f) for f, g, *_ in PAIRS]


def _ids(trips):
    return [f"{a.__name__}-{b.__name__}" for a, b in trips]


def metres(lon1, lat1, lon2, lat2):
    """Geodesic distance on WGS-84, in metres."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# --- published reference values ----------------------------------------------------------------

# wandergis/coordtransform (the JavaScript original of coordTransform_py), README.md and
# test/app.js, input (116.404, 39.915):
#   bd09togcj02  [116.39762729119315, 39.90865673957631]   (one-step inverse)
#   gcj02tobd09  [116.41036949371029, 39.92133699351021]
#   wgs84togcj02 [116.41024449916938, 39.91640428150164]
#   gcj02towgs84 [116.39775550083061, 39.91359571849836]   (one-step inverse)
# wandergis/coordTransform_py, README.md "测试", input (128.543, 37.065):
#   gcj02_to_bd09 [128.54944656269413, 37.07113427883019]
#   bd09_to_gcj02 [128.5365893261212, 37.058754503281534]  (one-step inverse)
#   wgs84_to_gcj02 [128.54820547949757, 37.065651049489816]
#   gcj02_to_wgs84 [128.53779452050244, 37.06434895051018] (one-step inverse)
#   bd09_to_wgs84 [128.53136876750008, 37.0580926428705]   (one-step inverse)
#   wgs84_to_bd09 [128.55468192918485, 37.07168344938498]
# googollee/eviltransform, python/test.py, TESTS (lat/lng order there). Its TESTS_bd are left
# out: they come from a BD-09 variant with pi in place of x_pi and are ~40 m off the standard.
FORWARD_REFERENCES = [
    (wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    (gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    (gcj02_to_bd09, (128.543, 37.065), (128.54944656269413, 37.07113427883019)),
    (wgs84_to_gcj02, (128.543, 37.065), (128.54820547949757, 37.065651049489816)),
    (wgs84_to_bd09, (128.543, 37.065), (128.55468192918485, 37.07168344938498)),
    (wgs84_to_gcj02, (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    (wgs84_to_gcj02, (113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    (wgs84_to_gcj02, (116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]
# (inverse, its forward, input, the published one-step approximation)
INVERSE_REFERENCES = [
    (bd09_to_gcj02, gcj02_to_bd09, (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
    (gcj02_to_wgs84, wgs84_to_gcj02, (116.404, 39.915), (116.39775550083061, 39.91359571849836)),
    (bd09_to_gcj02, gcj02_to_bd09, (128.543, 37.065), (128.5365893261212, 37.058754503281534)),
    (gcj02_to_wgs84, wgs84_to_gcj02, (128.543, 37.065), (128.53779452050244, 37.06434895051018)),
    (bd09_to_wgs84, wgs84_to_bd09, (128.543, 37.065), (128.53136876750008, 37.0580926428705)),
]


@pytest.mark.parametrize(("func", "point", "expected"), FORWARD_REFERENCES)
def test_forward_matches_published_values(func, point, expected):
    """Forward formulas reproduce published outputs to 1e-9 degrees."""
    np.testing.assert_allclose(func(*point), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("inverse", "forward", "point", "one_step"), INVERSE_REFERENCES)
def test_inverse_is_exact_and_close_to_published_one_step(inverse, forward, point, one_step):
    """Inverses invert their forward exactly and sit near the published one-step values."""
    result = inverse(*point)
    np.testing.assert_allclose(forward(*result), point, rtol=0, atol=1e-9)
    # The published inverses are one-step approximations, off by a metre or two.
    assert metres(*result, *one_step) < 2.0


# --- magnitudes and the box --------------------------------------------------------------------


@pytest.mark.parametrize(
    "point", [(116.404, 39.915), (121.4737, 31.2304)], ids=["beijing", "shanghai"]
)
def test_offsets_have_the_known_size(point):
    """GCJ-02 is a few hundred metres off WGS-84 in big cities, BD-09 about a kilometre."""
    assert 266 <= metres(*point, *wgs84_to_gcj02(*point)) <= 606
    assert 900 <= metres(*point, *wgs84_to_bd09(*point)) <= 1400


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_identity_outside_china(func):
    """Chicago, London, Tokyo (east of the box) and Sydney come back unchanged."""
    lon = np.array([-87.65, -0.1276, 139.6917, 151.2093])
    lat = np.array([41.85, 51.5072, 35.6895, -33.8688])
    out_lon, out_lat = func(lon, lat)
    np.testing.assert_array_equal(out_lon, lon)
    np.testing.assert_array_equal(out_lat, lat)
    assert func(-87.65, 41.85) == (-87.65, 41.85)


def test_in_china_box():
    """The box is inclusive, NaN is outside, and scalars give a bool."""
    lon_min, lon_max, lat_min, lat_max = BOX
    lon = [116.4, lon_min, lon_max, 100.0, 100.0, lon_min - 1e-6, lon_max + 1e-6, 100.0, np.nan]
    lat = [39.9, 30.0, 30.0, lat_min, lat_max, 30.0, 30.0, lat_max + 1e-6, 30.0]
    expected = [True] * 5 + [False] * 4
    np.testing.assert_array_equal(in_china(lon, lat), expected)
    assert in_china(116.4, 39.9) is True
    assert in_china(-87.65, 41.85) is False


# --- round trips -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def china_sample():
    """100,000 seeded random points over lon 73-135, lat 18-54."""
    rng = np.random.default_rng(20240601)
    return rng.uniform(73, 135, 100_000), rng.uniform(18, 54, 100_000)


@pytest.mark.parametrize(("there", "back"), ROUND_TRIPS, ids=_ids(ROUND_TRIPS))
def test_round_trip_under_a_centimetre(china_sample, there, back):
    """Every round trip returns within 1 cm across China."""
    lon, lat = china_sample
    assert metres(lon, lat, *back(*there(lon, lat))).max() < 0.01


def _box_edges(inset):
    lon_min, lon_max, lat_min, lat_max = BOX
    lon_min, lon_max = lon_min + inset, lon_max - inset
    lat_min, lat_max = lat_min + inset, lat_max - inset
    t = np.linspace(0.0, 1.0, 501)
    lon_along, lat_along = lon_min + t * (lon_max - lon_min), lat_min + t * (lat_max - lat_min)
    lon = np.concatenate([np.full_like(t, lon_min), np.full_like(t, lon_max), lon_along, lon_along])
    lat = np.concatenate([lat_along, lat_along, np.full_like(t, lat_min), np.full_like(t, lat_max)])
    return lon, lat


@pytest.mark.parametrize(("there", "back"), ROUND_TRIPS[:3], ids=_ids(ROUND_TRIPS[:3]))
def test_round_trip_on_the_box_edges(there, back):
    """Forward then inverse is exact even for points exactly on the box edges."""
    # Half of these images fall outside the box, where the inverse must still find them.
    lon, lat = _box_edges(0.0)
    assert in_china(lon, lat).all()
    assert metres(lon, lat, *back(*there(lon, lat))).max() < 0.01


@pytest.mark.parametrize(("there", "back"), ROUND_TRIPS, ids=_ids(ROUND_TRIPS))
def test_round_trip_just_inside_the_box_edges(there, back):
    """Both directions round-trip 0.02 degrees inside the box edges."""
    # The offsets are under 0.011 degrees, so from 0.02 degrees in every point has a preimage
    # in the box; closer to the edge, the discontinuous maps leave gaps for inverse-first trips.
    lon, lat = _box_edges(0.02)
    assert metres(lon, lat, *back(*there(lon, lat))).max() < 0.01


# --- types, NaN and convert --------------------------------------------------------------------


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_scalars_give_floats_and_arrays_keep_their_shape(func):
    """Scalars give Python floats; array-likes broadcast to float64 arrays."""
    lon, lat = func(116.404, 39.915)
    assert type(lon) is float and type(lat) is float
    grid_lon, grid_lat = func(np.full((2, 3), 116.404), [39.915] * 3)
    assert grid_lon.shape == grid_lat.shape == (2, 3)
    assert grid_lon.dtype == grid_lat.dtype == np.float64
    np.testing.assert_array_equal(grid_lon, lon)
    np.testing.assert_array_equal(grid_lat, lat)


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_nan_in_gives_nan_out(func):
    """NaN stays NaN without disturbing its neighbours."""
    lon, lat = func([np.nan, 116.404, 116.404], [39.915, np.nan, 39.915])
    np.testing.assert_array_equal(np.isnan(lon), [True, False, False])
    np.testing.assert_array_equal(np.isnan(lat), [False, True, False])
    assert (lon[2], lat[2]) == func(116.404, 39.915)
    assert all(np.isnan(func(np.nan, np.nan)))


@pytest.mark.parametrize(
    ("forward", "inverse", "source", "target"), PAIRS, ids=[f"{p[2]}-{p[3]}" for p in PAIRS]
)
def test_convert_dispatches_case_insensitively(forward, inverse, source, target):
    """convert() picks the matching function whatever the case; same system is identity."""
    point = (116.404, 39.915)
    assert convert(*point, source.upper(), target.capitalize()) == forward(*point)
    assert convert(*point, target, source) == inverse(*point)
    assert convert(*point, source, source) == point


@pytest.mark.parametrize(
    ("source", "target", "bad"), [("utm", "wgs84", "utm"), ("wgs84", "WGS-84", "WGS-84")]
)
def test_convert_rejects_unknown_systems(source, target, bad):
    """Unknown names, as source or target, raise ValueError with the documented message."""
    message = f"unknown coordinate system '{bad}'; use wgs84, gcj02 or bd09"
    with pytest.raises(ValueError) as info:
        convert(116.404, 39.915, source, target)
    assert str(info.value) == message
