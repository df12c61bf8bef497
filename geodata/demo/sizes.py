"""Where, when and how big the demo is: its place and clock, its sizes, and the counts of
everything for the community, which scale with area."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..schemas import DEFAULT_TIMEZONE

# The demo's "now": incidents cover the year before it. Fixed so that output never depends on
# the real clock.
DEMO_NOW = pd.Timestamp("2026-11-01 08:00", tz=DEFAULT_TIMEZONE)
_NOW_MS = DEMO_NOW.tz_localize(None).value // 1_000_000  # Beijing wall-clock ms since epoch
CENTRE_LONLAT = (120.163, 33.357)  # Wanhu Xincun, Tinghu district, Yancheng
METRIC_CRS = "EPSG:32651"  # UTM zone 51N, where everything is built
OUTPUT_CRS = "EPSG:4326"
_DAY_MS, _HOUR_MS = 86_400_000, 3_600_000


@dataclass(frozen=True)
class _Size:
    nx: int  # blocks west-east
    ny: int  # blocks south-north
    merges: int  # pairs of adjacent blocks merged into one grid cell
    area_km2: float
    incidents: int  # incidents in the year, planted ones included
    zones: int
    place: str  # prefix of grid and zone names
    area_code: str  # administrative code leading each incident id


SIZES: dict[str, _Size] = {
    # 0.15 recorded incidents per resident a year, as Xuzhou's 110 (1.3M valid calls in 2017 for
    # ~8.8M people) and Hefei's (1.0M calls attended by officers in 2018 for ~8.1M people, 0.12).
    "community": _Size(4, 3, 1, 0.72, 2_250, 4, "万户新村", "320902"),
    "district": _Size(21, 20, 20, 20.0, 200_000, 14, "亭湖区", "320902"),
    "city": _Size(105, 80, 400, 400.0, 2_000_000, 40, "盐城市", "320900"),
}  # district and city are benchmark sizes, busier per resident than the community
_BASE_AREA_KM2 = 0.72  # counts below are for the community and scale with area
_POPULATION, _FLOATING = 15_000, 2_805
_RESIDENTS_PER_RENTAL = 25
_M2_PER_BUILDING = 4_800  # old six-storey blocks, ~100 residents each
_SITES = {
    "hospital": 1,
    "school": 2,
    "kindergarten": 3,
    "mall": 2,
    "nightlife": 3,
    "market": 2,
    "hotel": 4,
    "enterprise": 6,
    "bank": 3,
    "internet_cafe": 2,
}
_DEVICES = {"camera": 60, "alarm_post": 8, "loudspeaker": 6}  # checkpoints: by boundary length
_RESPONDERS = {"police": 6, "auxiliary": 14, "volunteer": 30}
_REPEAT_PLACES, _HOTSPOTS = 8, 4

# Columns of demo_truth, in order (its geometry last).
TRUTH_COLUMNS = (
    "truth_id",
    "kind",
    "pattern",
    "radius_m",
    "incidents",
    "address",
    "first_at",
    "last_at",
    "incident_ids",
)
