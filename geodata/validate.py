"""Checking a raw table against its layer schema: every row is accepted, repaired or rejected
with a reason, and the accepted rows become a clean GeoDataFrame in EPSG:4326."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import report as rc
from geodata.crs import (
    WGS84,
    SourceCRS,
    geometry_to_wgs84,
    local_metric_crs,
    parse_crs,
    to_wgs84_xy,
)
from geodata.read import RawTable
from geodata.report import LoadReport, RowIssue
from geodata.schemas import (
    BOOLEAN,
    DATE,
    DATETIME,
    DEFAULT_TIMEZONE,
    ID,
    INTEGER,
    LAT_ALIASES,
    LON_ALIASES,
    NUMBER,
    POINT,
    POLYGON,
    STRING,
    LayerSchema,
    describe_aliases,
    get_schema,
    match_columns,
    match_coordinates,
)
from geodata.values import as_text, parse_booleans, parse_numbers, parse_times
from geodata.zones import zone_shapes


class LayerError(ValueError):
    """A file that cannot be loaded as the layer asked for; one sentence for the user."""


# A finding's detail: one text for every row, or a function giving the text of each flagged row
# (called with their positions only, so that clean rows of a large file cost nothing).
Detail = str | Callable[[np.ndarray], Sequence[str]]


def _details(detail: Detail, rows: np.ndarray) -> list[str]:
    return [detail] * len(rows) if isinstance(detail, str) else list(detail(rows))


class _Verdicts:
    """The running verdict on each row: the first rejection wins, repairs accumulate."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)
        self.detail = np.full(n, "", dtype=object)
        self.repairs: list[tuple[int, str, str]] = []

    @property
    def alive(self) -> np.ndarray:
        return pd.isna(self.reason)

    def reject(self, mask: np.ndarray | pd.Series, reason: str, detail: Detail = "") -> None:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool) & self.alive)
        if len(rows):
            self.reason[rows] = reason
            self.detail[rows] = np.asarray(_details(detail, rows), dtype=object)

    def repair(self, mask: np.ndarray | pd.Series, reason: str, detail: Detail = "") -> None:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool) & self.alive)
        if len(rows):
            self.repairs += list(
                zip(rows, [reason] * len(rows), _details(detail, rows), strict=True)
            )

    def reject_row(self, row: int, reason: str, detail: str = "") -> None:
        if self.alive[row]:
            self.reason[row], self.detail[row] = reason, detail

    def repair_row(self, row: int, reason: str, detail: str = "") -> None:
        if self.alive[row]:
            self.repairs.append((row, reason, detail))


def _fmt(x: float, y: float) -> str:
    return f"({x:.6g}, {y:.6g})"


def clean_layer(
    raw: RawTable,
    kind: str,
    *,
    crs: str | SourceCRS | None = None,
    area: shapely.Geometry | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    cells: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Check every row of a raw table and return the clean layer with its load report.

    Parameters
    ----------
    raw
        The file as read by :func:`geodata.read.read_raw`.
    kind
        Layer kind, one of :data:`geodata.schemas.LAYER_KINDS`.
    crs
        The coordinates' CRS when the file states none or states it wrongly (a GeoJSON holding
        GCJ-02 coordinates): ``gcj02``, ``bd09``, ``EPSG:4490``...
    area
        Polygon(s) in EPSG:4326 of the jurisdiction; rows outside it are rejected.
    timezone
        Time zone of times written without an offset.
    cells
        Grid cells (with ``grid_id``): patrol zones given as a table of grid ids without
        geometry get the union of their cells as their polygon.

    Raises
    ------
    LayerError
        If a required column is missing, no coordinates are found, or the CRS is unknown.
    """
    schema = get_schema(kind)
    frame = raw.frame
    n = len(frame)
    report = LoadReport(source=raw.source, kind=kind, rows_in=n)
    verdicts = _Verdicts(n)
    headers = [str(c) for c in frame.columns]
    mapping = match_columns(headers, schema)
    report.columns = dict(mapping)
    _require_columns(schema, mapping, raw.source)

    source = _source_crs(raw, crs, mapping, report)
    geometry = _geometry(raw, schema, mapping, source, verdicts, report, cells)

    columns: dict[str, pd.Series] = {}
    for f in schema.fields:
        if f.type == ID and f.name not in mapping:
            columns[f.name] = pd.Series(
                [f"{kind}-{i + 1:06d}" for i in range(n)], index=frame.index, dtype="string"
            )
            report.notes.append(
                f"no id column ({describe_aliases(schema, f.name)}); ids made from record numbers"
            )
            continue
        values = (
            frame[mapping[f.name]] if f.name in mapping else pd.Series(pd.NA, index=frame.index)
        )
        columns[f.name] = _typed_column(
            f.name, f.type, f.required, values, verdicts, timezone, mapping.get(f.name, "")
        )

    if area is not None:
        _check_area(geometry, area, verdicts)
    _check_duplicate_ids(columns[schema.id_field], verdicts)
    if kind == "incidents":
        _check_duplicate_incidents(columns, geometry, verdicts)

    alive = verdicts.alive
    used = set(mapping.values()) | set(report.columns.get("_coordinates", "").split(","))
    extras = [h for h in headers if h not in used]
    data = {name: col[alive] for name, col in columns.items()}
    data.update({h: frame[h][alive] for h in extras})
    clean = gpd.GeoDataFrame(data, geometry=geometry[alive].values, crs=WGS84)
    if kind == "grid_cells" and len(clean):
        clean = _check_cell_overlaps(clean, np.flatnonzero(alive), verdicts, report)
    clean = clean.reset_index(drop=True)

    _fill_report(report, verdicts, frame)
    report.accepted = int(verdicts.alive.sum())
    return clean, report


def _require_columns(schema: LayerSchema, mapping: dict[str, str], source: str) -> None:
    missing = [f for f in schema.fields if f.required and f.type != ID and f.name not in mapping]
    if missing:
        f = missing[0]
        raise LayerError(
            f"{source}: no column for {f.name} as {schema.kind} needs it; accepted headers: "
            f"{', '.join(f.aliases)}"
        )


def _source_crs(
    raw: RawTable, crs: str | SourceCRS | None, mapping: dict[str, str], report: LoadReport
) -> SourceCRS:
    if crs is not None:
        source = crs if isinstance(crs, SourceCRS) else parse_crs(crs)
    elif raw.crs is not None:
        source = parse_crs(raw.crs)
    elif raw.geometry is not None:
        raise LayerError(
            f"{raw.source}: states no coordinate system; give one with --crs "
            "(e.g. EPSG:4326, EPSG:4490, gcj02, bd09)"
        )
    else:
        source = SourceCRS("", parse_crs("EPSG:4326").crs)  # decided from the values below
    report.source_crs = source.name
    return source


def _geometry(
    raw: RawTable,
    schema: LayerSchema,
    mapping: dict[str, str],
    source: SourceCRS,
    verdicts: _Verdicts,
    report: LoadReport,
    cells: gpd.GeoDataFrame | None = None,
) -> gpd.GeoSeries:
    """Build each row's geometry in EPSG:4326, rejecting or repairing bad coordinates."""
    if raw.geometry is not None:
        geoms = np.asarray(raw.geometry.array)
        return _check_shapes(geoms, schema, source, verdicts, raw.frame.index)
    coords = match_coordinates([str(c) for c in raw.frame.columns], set(mapping.values()))
    if not coords and schema.kind == "patrol_zones" and "grid_ids" in mapping:
        return _zones_from_cells(raw, mapping["grid_ids"], cells, verdicts, report)
    if not coords:
        raise LayerError(
            f"{raw.source}: no coordinate columns found; name them one of "
            f"{', '.join(LON_ALIASES[:6])} / {', '.join(LAT_ALIASES[:5])}, or give a WKT column"
        )
    report.columns["_coordinates"] = ",".join(coords.values())
    if "wkt" in coords:
        text = as_text(raw.frame[coords["wkt"]])
        geoms = shapely.from_wkt(text.fillna("").to_numpy(dtype=object), on_invalid="ignore")
        geoms = np.where(text.isna().to_numpy(), None, geoms)
        if not source.name:
            source = _assume_wgs84(source, geoms, raw.source, report)
        return _check_shapes(geoms, schema, source, verdicts, raw.frame.index)
    x, bad_x = parse_numbers(raw.frame[coords["lon"]])
    y, bad_y = parse_numbers(raw.frame[coords["lat"]])
    x, y = x.to_numpy(), y.to_numpy()
    lon_text, lat_text = raw.frame[coords["lon"]], raw.frame[coords["lat"]]
    verdicts.reject(
        bad_x | bad_y,
        rc.UNPARSEABLE_NUMBER,
        lambda rows: [
            f"{coords['lon']}={lon_text.iloc[i]!r}, {coords['lat']}={lat_text.iloc[i]!r}"
            for i in rows
        ],
    )
    verdicts.reject(np.isnan(x) | np.isnan(y), rc.MISSING_COORDINATES)
    if not source.name:
        points = shapely.points(np.where(np.isnan(x), 0, x), np.where(np.isnan(y), 0, y))
        source = _assume_wgs84(source, points[verdicts.alive], raw.source, report)
    lon, lat = _checked_points(x, y, source, verdicts)
    return gpd.GeoSeries(shapely.points(lon, lat), index=raw.frame.index, crs=WGS84)


def _assume_wgs84(source: SourceCRS, geoms: np.ndarray, path: str, report: LoadReport) -> SourceCRS:
    """A plain table states no CRS: take degrees as WGS-84 and say so; anything else is an error."""
    # Judge by the typical row, so that a few rows of garbage do not decide for the file.
    x = np.abs(shapely.get_x(shapely.point_on_surface(geoms[~shapely.is_missing(geoms)])))
    y = np.abs(shapely.get_y(shapely.point_on_surface(geoms[~shapely.is_missing(geoms)])))
    typical = max(np.nanmedian(x), np.nanmedian(y)) if len(x) else 0.0
    if typical > 180:
        raise LayerError(
            f"{path}: coordinates look projected (around {typical:.0f}) and the file "
            "states no coordinate system; give one with --crs EPSG:N"
        )
    report.source_crs = "EPSG:4326"
    report.notes.append(
        "the file states no coordinate system: coordinates taken as WGS-84 "
        "(EPSG:4326); give --crs gcj02 (AMap, Tencent) or bd09 (Baidu) if they "
        "come from a Chinese web map"
    )
    return parse_crs("EPSG:4326")


def _swapped(x: np.ndarray, y: np.ndarray, geographic: bool) -> np.ndarray:
    """Rows whose two coordinates were written the wrong way round.

    In degrees a latitude beyond ±90 with a longitude within it is certainly swapped. Otherwise a
    row counts as swapped when, read the other way round, it lands among the bulk of the rows
    (within five median distances of their median point) while as written it lies ten times
    farther out. This needs most rows to be right, as they are in real exports.
    """
    swapped = np.zeros(len(x), dtype=bool)
    if geographic:
        swapped |= (np.abs(y) > 90) & (np.abs(x) <= 90)
    ok = np.isfinite(x) & np.isfinite(y) & ~swapped
    if ok.sum() >= 3:
        mx, my = np.median(x[ok]), np.median(y[ok])
        dist = np.hypot(x - mx, y - my)
        dist_swapped = np.hypot(y - mx, x - my)
        spread = max(float(np.median(dist[ok])), 1e-9 * max(abs(mx), abs(my), 1.0))
        swapped |= (
            ok & (dist_swapped <= 5 * spread) & (dist > 10 * np.maximum(dist_swapped, spread))
        )
    return swapped


def _checked_points(
    x: np.ndarray, y: np.ndarray, source: SourceCRS, verdicts: _Verdicts
) -> tuple[np.ndarray, np.ndarray]:
    """Reject (0, 0), repair swaps, convert to WGS-84 and reject what lands nowhere."""
    verdicts.reject((x == 0) & (y == 0), rc.ZERO_COORDINATES)
    swap = _swapped(x, y, source.is_geographic) & verdicts.alive
    verdicts.repair(
        swap,
        rc.SWAPPED_LON_LAT,
        lambda rows: [f"{_fmt(x[i], y[i])} read as {_fmt(y[i], x[i])}" for i in rows],
    )
    x, y = np.where(swap, y, x), np.where(swap, x, y)
    lon, lat = to_wgs84_xy(x, y, source)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    verdicts.reject(
        bad,
        rc.COORDINATES_OUT_OF_RANGE,
        lambda rows: [f"{_fmt(x[i], y[i])} is not a place in {source.name}" for i in rows],
    )
    return np.where(bad, np.nan, lon), np.where(bad, np.nan, lat)


def _zones_from_cells(
    raw: RawTable,
    column: str,
    cells: gpd.GeoDataFrame | None,
    verdicts: _Verdicts,
    report: LoadReport,
) -> gpd.GeoSeries:
    """Patrol zones given by their grid ids: each zone's polygon from its grid cells."""
    if cells is None:
        raise LayerError(
            f"{raw.source}: the patrol zones have no geometry, only grid ids ({column}); give "
            "the grid cells to build them from (--cells, or ingest into a store holding them)"
        )
    shapes, empty, unknown = zone_shapes(raw.frame[column], cells)
    for problems, reason in ((empty, rc.MISSING_GEOMETRY), (unknown, rc.UNKNOWN_GRID_ID)):
        verdicts.reject(
            [p is not None for p in problems], reason, lambda rows, p=problems: [p[i] for i in rows]
        )
    report.notes.append(f"zone polygons built from the grid cells listed in {column}")
    return gpd.GeoSeries(shapes, index=raw.frame.index, crs=WGS84)


def _check_shapes(
    geoms: np.ndarray, schema: LayerSchema, source: SourceCRS, verdicts: _Verdicts, index: pd.Index
) -> gpd.GeoSeries:
    """Check file geometries: present, of the layer's type, valid (repaired where possible)."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    verdicts.reject(missing, rc.MISSING_GEOMETRY)
    type_ids = shapely.get_type_id(geoms)
    points = np.isin(type_ids, [0, 4])
    polygons = np.isin(type_ids, [3, 6])
    allowed = {POINT: points, POLYGON: polygons}.get(schema.geometry, points | polygons)
    names = np.asarray(shapely.geometry.base.GEOMETRY_TYPES + ["?"])[type_ids]
    verdicts.reject(
        ~allowed,
        rc.WRONG_GEOMETRY_TYPE,
        lambda rows: [f"{names[i]} where {schema.kind} needs {schema.geometry}" for i in rows],
    )
    multi_points = (type_ids == 4) & verdicts.alive
    if multi_points.any():  # exports often wrap single points as MultiPoint
        counts = shapely.get_num_geometries(geoms)
        verdicts.reject(
            multi_points & (counts > 1), rc.WRONG_GEOMETRY_TYPE, "MultiPoint of several points"
        )
        geoms = np.where(multi_points & (counts == 1), shapely.get_geometry(geoms, 0), geoms)
    invalid = ~shapely.is_valid(geoms) & verdicts.alive
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms)
        fixed = _make_valid_polygons(geoms[invalid])
        fixable = np.zeros(len(geoms), dtype=bool)
        fixable[invalid] = ~shapely.is_empty(fixed)
        verdicts.reject(invalid & ~fixable, rc.INVALID_GEOMETRY, lambda rows: reasons[rows])
        verdicts.repair(
            fixable,
            rc.INVALID_GEOMETRY,
            lambda rows: [f"{reasons[i]}; repaired with make_valid" for i in rows],
        )
        geoms = geoms.copy()
        geoms[invalid] = np.where(fixable[invalid], fixed, None)
    alive = verdicts.alive & points
    if alive.any():
        x, y = shapely.get_x(geoms[alive]), shapely.get_y(geoms[alive])
        full = _Verdicts(len(x))
        lon, lat = _checked_points(x, y, source, full)
        rows = np.flatnonzero(alive)
        for pos in np.flatnonzero(~full.alive):
            verdicts.reject_row(rows[pos], full.reason[pos], full.detail[pos])
        verdicts.repairs += [(rows[pos], r, d) for pos, r, d in full.repairs]
        geoms = geoms.copy()
        geoms[rows] = shapely.points(lon, lat)
    out = np.where(verdicts.alive, geoms, None)
    series = gpd.GeoSeries(out, index=index)
    shapes = verdicts.alive & ~points
    if shapes.any():
        series[shapes] = geometry_to_wgs84(series[shapes], source).values
    return series.set_crs(WGS84, allow_override=True)


def _make_valid_polygons(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid polygons, keeping only the polygonal part; empty where nothing is left."""
    fixed = shapely.make_valid(geoms)
    parts = [
        shapely.union_all([p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)])
        if shapely.get_type_id(g) == 7
        else g
        for g in fixed
    ]
    out = np.asarray(parts, dtype=object)
    keep = np.isin(shapely.get_type_id(out), [3, 6]) & (shapely.area(out) > 0)
    return np.where(keep, out, shapely.Polygon())


def _typed_column(
    name: str,
    type_: str,
    required: bool,
    values: pd.Series,
    verdicts: _Verdicts,
    timezone: str,
    header: str,
) -> pd.Series:
    """Read one column as its schema type; bad values reject the row if required, else blank."""

    def flag(bad: pd.Series, reason: str) -> None:
        if required:
            verdicts.reject(
                bad.to_numpy(), reason, lambda rows: [f"{header}={values.iloc[i]!r}" for i in rows]
            )
        else:
            verdicts.repair(
                bad.to_numpy(),
                reason,
                lambda rows: [f"{header}={values.iloc[i]!r}; left empty" for i in rows],
            )

    if type_ in (ID, STRING):
        out = as_text(values)
        if required:
            verdicts.reject(
                out.isna().to_numpy(),
                rc.MISSING_ID if type_ == ID else rc.MISSING_VALUE,
                f"{name} is empty",
            )
        return out
    if type_ in (INTEGER, NUMBER):
        numbers, bad = parse_numbers(values)
        flag(bad, rc.UNPARSEABLE_NUMBER)
        if type_ == INTEGER:
            return numbers.round().astype("Int64")
        return numbers
    if type_ == BOOLEAN:
        flags, bad = parse_booleans(values)
        flag(bad, rc.UNPARSEABLE_YES_NO)
        return flags
    times, bad = parse_times(values, timezone)
    flag(bad, rc.UNPARSEABLE_TIME)
    if required:
        verdicts.reject(times.isna().to_numpy(), rc.MISSING_VALUE, f"{name} is empty")
    if type_ == DATE:
        return times.dt.tz_localize(None).dt.normalize()
    assert type_ == DATETIME
    return times


def _check_area(geometry: gpd.GeoSeries, area: shapely.Geometry, verdicts: _Verdicts) -> None:
    shapely.prepare(area)
    geoms = np.asarray(geometry.array)
    alive = verdicts.alive & ~shapely.is_missing(geoms)
    inside = np.ones(len(geoms), dtype=bool)
    inside[alive] = shapely.intersects(area, geoms[alive])
    verdicts.reject(
        ~inside,
        rc.OUTSIDE_AREA,
        lambda rows: [
            f"{geoms[i].x:.6f}, {geoms[i].y:.6f}" if geoms[i].geom_type == "Point" else ""
            for i in rows
        ],
    )


def _check_duplicate_ids(ids: pd.Series, verdicts: _Verdicts) -> None:
    """Reject every later row carrying an id an earlier, accepted row already has."""
    values = ids.to_numpy(dtype=object)
    live = np.flatnonzero(verdicts.alive & ids.notna().to_numpy())
    live_ids = pd.Series(values[live])
    dup = live_ids.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first = dict(zip(live_ids[~dup], live[~dup] + 1, strict=True))
    mask = np.zeros(len(ids), dtype=bool)
    mask[live[dup]] = True
    verdicts.reject(
        mask,
        rc.DUPLICATE_ID,
        lambda rows: [f"id {values[i]} already in row {first[values[i]]}" for i in rows],
    )


def _check_duplicate_incidents(
    columns: dict[str, pd.Series], geometry: gpd.GeoSeries, verdicts: _Verdicts
) -> None:
    """The same call exported twice under two ids: same time, place, category and caller.

    Only rows with a caller phone count: without one, two reports of the same kind at the same
    place and time may well be two incidents (date-only exports have many such).
    """
    alive = verdicts.alive & columns["caller_phone"].notna().to_numpy()
    key = pd.DataFrame(
        {
            "t": columns["reported_at"],
            "x": shapely.get_x(np.asarray(geometry.array)).round(6),
            "y": shapely.get_y(np.asarray(geometry.array)).round(6),
            "c": columns["category"].fillna(""),
            "p": columns["caller_phone"].fillna(""),
        }
    )[alive]
    dup = key.duplicated(keep="first")
    if not dup.any():
        return
    first = (
        key.reset_index()
        .groupby(["t", "x", "y", "c", "p"], dropna=False)["index"]
        .transform("first")
    )
    first.index = key.index
    mask = np.zeros(len(alive), dtype=bool)
    mask[key.index[dup]] = True
    first_of = first.to_numpy()
    position = {i: p for p, i in enumerate(key.index)}
    verdicts.reject(
        mask,
        rc.DUPLICATE_RECORD,
        lambda rows: [f"same call as row {int(first_of[position[i]]) + 1}" for i in rows],
    )


def _check_cell_overlaps(
    cells: gpd.GeoDataFrame, rows: np.ndarray, verdicts: _Verdicts, report: LoadReport
) -> gpd.GeoDataFrame:
    """Cut overlaps between grid cells (the earlier row keeps the overlap) and report gaps."""
    metric = local_metric_crs(cells)
    shapes = np.asarray(cells.geometry.to_crs(metric).array).copy()
    ids = cells["grid_id"].to_numpy()
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    pairs = left < right
    keep = np.ones(len(shapes), dtype=bool)
    for i, j in zip(left[pairs], right[pairs], strict=True):
        if not keep[i] or not keep[j]:
            continue
        overlap = shapely.area(shapely.intersection(shapes[i], shapes[j]))
        if overlap < 1.0:  # under a square metre is digitising noise, not a claim on land
            continue
        shapes[j] = shapely.difference(shapes[j], shapes[i])
        other = f"{ids[i]} (row {rows[i] + 1})"
        if shapely.area(shapes[j]) < 1.0:
            keep[j] = False
            verdicts.reject_row(rows[j], rc.OVERLAPS_OTHER_CELL, f"lies entirely inside {other}")
        else:
            verdicts.repair_row(
                rows[j],
                rc.OVERLAPS_OTHER_CELL,
                f"overlapped {other} by {overlap:.0f} m²; the overlap stays with {ids[i]}",
            )
    shapes = shapely.make_valid(shapes)
    cells = cells[keep].copy()
    cells.geometry = gpd.GeoSeries(shapes[keep], crs=metric, index=cells.index).to_crs(WGS84)
    union = shapely.union_all(shapes[keep])
    for poly in shapely.get_parts(union):
        for ring in poly.interiors:
            gap = shapely.Polygon(ring)
            if gap.area < 1.0:
                continue
            near = tree.query(gap.buffer(0.5), predicate="intersects")
            where = gpd.GeoSeries([gap.representative_point()], crs=metric).to_crs(WGS84).iloc[0]
            report.warnings.append(
                RowIssue(
                    None,
                    rc.GAP_BETWEEN_CELLS,
                    f"gap of {gap.area:.0f} m² at ({where.x:.6f}, {where.y:.6f}) between "
                    f"{', '.join(sorted(str(ids[k]) for k in near))}",
                )
            )
    return cells


def _fill_report(report: LoadReport, verdicts: _Verdicts, frame: pd.DataFrame) -> None:
    rejected = np.flatnonzero(~verdicts.alive)
    report.rejected = [
        RowIssue(int(i) + 1, str(verdicts.reason[i]), str(verdicts.detail[i])) for i in rejected
    ]
    alive = verdicts.alive
    report.repaired = sorted(
        (RowIssue(int(i) + 1, r, str(d)) for i, r, d in verdicts.repairs if alive[i]),
        key=lambda issue: (issue.row, issue.reason),
    )
    records = frame.iloc[rejected]
    report.rejected_records = pd.DataFrame(
        {
            "row": rejected + 1,
            "reason": verdicts.reason[rejected].astype(str),
            "detail": verdicts.detail[rejected].astype(str),
            "record": [
                json.dumps(
                    {k: (None if pd.isna(v) else str(v)) for k, v in rec.items()},
                    ensure_ascii=False,
                )
                for rec in records.to_dict("records")
            ],
        }
    )
