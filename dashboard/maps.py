"""Folium maps for the pages, drawn with no internet: Leaflet and its plugins from Streamlit's
static folder, base-map tiles from a configurable intranet server or none, big layers aggregated
(heat, clusters, per-cell counts) and polygons simplified before they reach the browser."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from branca.colormap import ColorMap
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from geodata import local_metric_crs

MAX_ZOOM = 19  # without tiles Leaflet has no maxZoom, and a cluster layer then throws
TILES_ENV = "GRIDWATCH_TILES"  # e.g. http://tiles.intranet/{z}/{x}/{y}.png
TILES_ATTRIBUTION_ENV = "GRIDWATCH_TILES_ATTRIBUTION"
CLUSTER_ABOVE = 3_000  # point layers larger than this are clustered, not drawn one by one
COORD_GRID = 1e-6  # degrees (~0.1 m): coordinates are rounded to this before they are sent

BACKGROUND = "#0f1724"
COLOURS = {
    "grid": "#5aa9ff",
    "rental": "#f5c542",
    "group_rental": "#ff8a00",
    "overdue": "#ff4d4f",
    "site": "#c18cff",
    "device": "#4fd1c5",
    "police": "#3d8bff",
    "auxiliary": "#29c5f6",
    "volunteer": "#6ccf6e",
    "off_duty": "#6b7280",
    "incident": "#ff5a5f",
    "newest": "#ff2d2d",
    "repeat": "#ffa726",
    "checkin": "#00e5ff",
    "hotspot": "#ff3d00",
}
ZONE_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#86bcb6",
    "#d37295",
    "#a0cbe8",
    "#ffbe7d",
)
# Warm only, so that on the dark map a light haze of incidents does not read as water.
HEAT_GRADIENT = {0.25: "#3d1a5b", 0.5: "#a4286a", 0.75: "#f2545b", 1.0: "#ffd166"}
RAMP = ("#1d3557", "#2a6f97", "#3fa7a0", "#a7d46f", "#f6d743", "#f4762a", "#e63946")

# folium's resource names -> file under static/vendor/, or None for what no page uses
# (Bootstrap, Font Awesome and awesome-markers come from no PyPI package: no folium.Icon here).
_LOCAL_FILES: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "leaflet-heat.js": "heat/leaflet_heat.min.js",
    "bootstrap": None,
    "awesome_markers": None,
    "leaflet_css": "leaflet/leaflet.css",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}
# Every map carries all the scripts any layer needs, so that a layer sent later into a map that
# is already drawn (the wall's live layers) never needs a script the page has not loaded.
_MAP_JS = ("leaflet", "jquery", "markerclusterjs", "leaflet-heat.js")
_MAP_CSS = ("leaflet_css", "markerclustercss", "markerclusterdefaultcss")

_CSS = f"""
<style>
.leaflet-container {{ background: {BACKGROUND}; font-family: inherit; }}
.gw-legend {{ background: rgba(15,23,36,.88); color: #e6edf3; padding: 8px 10px;
  border-radius: 6px; font-size: 13px; line-height: 1.5; border: 1px solid #2b3a52; }}
.gw-legend b {{ display: block; margin-bottom: 2px; }}
.gw-legend i {{ display: inline-block; width: 12px; height: 12px; border-radius: 50%;
  margin-right: 6px; vertical-align: -1px; }}
.gw-legend i.sq {{ border-radius: 2px; }}
.gw-pulse {{ width: 64px; height: 64px; border-radius: 50%; border: 4px solid {COLOURS["newest"]};
  background: rgba(255,45,45,.25); animation: gw-pulse 1.4s ease-out infinite; }}
@keyframes gw-pulse {{ 0% {{ transform: scale(.35); opacity: 1; }}
  100% {{ transform: scale(1.5); opacity: 0; }} }}
.gw-label {{ background: rgba(15,23,36,.9); color: #fff; border: 1px solid #ff2d2d;
  font-size: 14px; font-weight: 600; }}
.leaflet-tooltip {{ font-size: 13px; }}
</style>
"""


def static_url(path: str) -> str:
    """Return the URL at which Streamlit serves ``static/vendor/<path>`` of the app."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{'/' + base if base else ''}/app/static/vendor/{path}"


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _local(links: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    local = []
    for name, url in links:
        if name not in _LOCAL_FILES:
            raise ValueError(
                f"no offline copy of {name} ({url}): add it to dashboard/assets.py "
                "and dashboard/maps.py, or do not use that folium class"
            )
        if _LOCAL_FILES[name] is not None:
            local.append((name, static_url(_LOCAL_FILES[name])))
    return local


def localise(element: Element) -> Element:
    """Point every script and style sheet of a map or layer at the locally served files.

    Set on each instance (folium's class-level lists are shared and left alone).

    Raises
    ------
    ValueError
        If an element needs a file there is no offline copy of, or is a branca colormap (whose
        legend makes streamlit-folium load d3 from the internet).
    """
    for item in _walk(element):
        if isinstance(item, ColorMap):
            raise ValueError("branca colormaps load d3 from the internet; use maps.legend")
        if isinstance(item, JSCSSMixin) and "default_js" not in vars(item):
            item.default_js = _local(type(item).default_js)
            item.default_css = _local(type(item).default_css)
    return element


class _Script(MacroElement):
    """A piece of JavaScript run after its map is created; ``{map}`` in it names the map."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this.code.replace('{map}', this._parent.get_name()) }}"
        "{% endmacro %}"
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Script"
        self.code = code


def tiles_url() -> str | None:
    """Return the base-map tile URL template from $GRIDWATCH_TILES, or None for no tiles."""
    return os.environ.get(TILES_ENV) or None


def new_map(bounds: Sequence[float], *, zoom_control: bool = True) -> folium.Map:
    """Return an empty offline map fitted to ``(minx, miny, maxx, maxy)`` in degrees."""
    minx, miny, maxx, maxy = bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=15,
        tiles=None,
        max_zoom=MAX_ZOOM,
        min_zoom=3,
        prefer_canvas=True,
        control_scale=True,
        zoom_control=zoom_control,
    )
    # folium gives max_zoom only to a tile layer: with none, the map itself must carry it.
    m.options["maxZoom"] = MAX_ZOOM
    m.default_js = [(name, static_url(_LOCAL_FILES[name])) for name in _MAP_JS]
    m.default_css = [(name, static_url(_LOCAL_FILES[name])) for name in _MAP_CSS]
    url = tiles_url()
    if url:
        folium.TileLayer(
            url,
            attr=os.environ.get(TILES_ATTRIBUTION_ENV) or "intranet tiles",
            max_zoom=MAX_ZOOM,
            max_native_zoom=18,
            name="tiles",
        ).add_to(m)
    m.get_root().header.add_child(Element(_CSS), name="gridwatch_css")
    # Leaflet guesses its marker image folder from its CSS, wrongly when the CSS comes late.
    image_path = json.dumps(static_url("leaflet/images/"))
    _Script(f"L.Icon.Default.imagePath = {image_path};").add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def display_shapes(frame: gpd.GeoDataFrame, *, tolerance_m: float = 2.0) -> gpd.GeoSeries:
    """Return the geometries in EPSG:4326, polygons simplified by ``tolerance_m`` metres."""
    geometry = frame.geometry.to_crs(4326)
    if len(frame) and not (geometry.geom_type == "Point").all() and tolerance_m > 0:
        metric = local_metric_crs(geometry)
        geometry = geometry.to_crs(metric).simplify(tolerance_m).to_crs(4326)
    return gpd.GeoSeries(
        shapely.set_precision(geometry.values, COORD_GRID), index=frame.index, crs=4326
    )


def _plain(values: pd.Series) -> list[object]:
    """Column values as JSON-ready Python objects (text for times, None for missing)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        text = values.dt.strftime("%Y-%m-%d %H:%M")
        return [None if pd.isna(v) else v for v in text]
    if pd.api.types.is_float_dtype(values):
        return [None if pd.isna(v) else round(float(v), 2) for v in values]
    return [
        None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
        for v in values.astype(object)
    ]


def feature_collection(
    frame: gpd.GeoDataFrame,
    *,
    properties: Sequence[str] = (),
    styles: pd.Series | Mapping[str, object] | None = None,
    tolerance_m: float = 2.0,
) -> dict[str, object]:
    """Return a compact GeoJSON FeatureCollection of a layer for the browser.

    ``styles`` is one Leaflet style for all features or a Series of styles aligned to the frame;
    it goes into each feature's ``style`` property, which folium's GeoJson applies.
    """
    shapes = display_shapes(frame, tolerance_m=tolerance_m)
    if len(shapes) and (shapes.geom_type == "Point").all():
        xy = np.round(shapely.get_coordinates(shapes.values), 6)
        geometries = [{"type": "Point", "coordinates": [x, y]} for x, y in xy.tolist()]
    else:
        geometries = [json.loads(text) for text in shapely.to_geojson(shapes.values)]
    columns = {name: _plain(frame[name]) for name in properties}
    if isinstance(styles, pd.Series):
        style_list = list(styles)
    else:
        style_list = [dict(styles or {})] * len(frame)
    features = []
    for k, geometry in enumerate(geometries):
        props = {name: values[k] for name, values in columns.items()}
        props["style"] = style_list[k]
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _tooltip(tooltip: Mapping[str, str] | None) -> folium.GeoJsonTooltip | None:
    if not tooltip:
        return None
    return folium.GeoJsonTooltip(
        fields=list(tooltip), aliases=list(tooltip.values()), localize=False, sticky=True
    )


def polygon_layer(
    frame: gpd.GeoDataFrame,
    *,
    name: str,
    styles: pd.Series | Mapping[str, object],
    tooltip: Mapping[str, str] | None = None,
    tolerance_m: float = 2.0,
    show: bool = True,
) -> folium.GeoJson:
    """Return polygons as one GeoJSON layer; ``tooltip`` maps column -> label."""
    data = feature_collection(
        frame, properties=list(tooltip or {}), styles=styles, tolerance_m=tolerance_m
    )
    return folium.GeoJson(data, name=name, tooltip=_tooltip(tooltip), show=show)


def point_layer(
    frame: gpd.GeoDataFrame,
    *,
    name: str,
    styles: pd.Series | Mapping[str, object],
    tooltip: Mapping[str, str] | None = None,
    show: bool = True,
) -> folium.Layer:
    """Return points as circle markers in one GeoJSON layer, or clustered when there are many.

    A style may set ``radius`` besides Leaflet's path options (``color``, ``fillColor``...).
    """
    if len(frame) > CLUSTER_ABOVE:
        colours = (
            styles.map(lambda s: s.get("fillColor", s.get("color")))
            if isinstance(styles, pd.Series)
            else pd.Series(styles.get("fillColor", styles.get("color")), index=frame.index)
        )
        return cluster_layer(frame, name=name, colours=colours, show=show)
    data = feature_collection(frame, properties=list(tooltip or {}), styles=styles)
    marker = folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.85)
    return folium.GeoJson(data, name=name, tooltip=_tooltip(tooltip), marker=marker, show=show)


def cluster_layer(
    frame: gpd.GeoDataFrame, *, name: str, colours: pd.Series, show: bool = True
) -> folium.plugins.FastMarkerCluster:
    """Return many points as a fast cluster layer: only coordinates and a colour reach the
    browser, and markers are made there."""
    xy = np.round(shapely.get_coordinates(frame.geometry.to_crs(4326).values), 6)
    rows = [[y, x, c] for (x, y), c in zip(xy.tolist(), colours.astype(str), strict=True)]
    callback = (
        "function (row) { return L.circleMarker(new L.LatLng(row[0], row[1]), "
        "{radius: 4, weight: 1, color: row[2], fillColor: row[2], fillOpacity: 0.85}); }"
    )
    return folium.plugins.FastMarkerCluster(
        rows,
        callback=callback,
        name=name,
        show=show,
        disableClusteringAtZoom=18,
        chunkedLoading=True,
    )


def heat_layer(
    frame: gpd.GeoDataFrame, *, name: str, show: bool = True, radius: int = 14
) -> folium.plugins.HeatMap:
    """Return points as a heat map: any number of incidents in one layer."""
    xy = np.round(shapely.get_coordinates(frame.geometry.to_crs(4326).values), 5)
    return folium.plugins.HeatMap(
        xy[:, ::-1].tolist(),
        name=name,
        show=show,
        radius=radius,
        blur=radius,
        min_opacity=0.1,
        max_zoom=MAX_ZOOM,
        gradient=HEAT_GRADIENT,
    )


def pulse_marker(point: shapely.Point, *, tooltip: str) -> folium.Marker:
    """Return a pulsing ring that lights up a place (the newest incident)."""
    icon = folium.DivIcon(
        html='<div class="gw-pulse"></div>',
        icon_size=(64, 64),
        icon_anchor=(32, 32),
        class_name="gw-pulse-icon",
    )
    return folium.Marker(
        [point.y, point.x],
        icon=icon,
        tooltip=folium.Tooltip(
            tooltip, permanent=True, direction="right", class_name="gw-label", offset=(28, 0)
        ),
    )


def ramp_colours(values: pd.Series, *, bins: int = len(RAMP)) -> tuple[pd.Series, list[float]]:
    """Return a colour per value from the sequential ramp (quantile classes) and the class
    edges, for choropleths of counts or scores."""
    finite = values.astype(float).fillna(0.0)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([finite.min(), finite.min() + 1.0])
    classes = np.clip(np.searchsorted(edges, finite, side="right") - 1, 0, len(edges) - 2)
    scale = np.linspace(0, len(RAMP) - 1, len(edges) - 1).round().astype(int)
    colours = pd.Series(np.array(RAMP)[scale[classes]], index=values.index)
    return colours, edges.tolist()


def legend(
    m: folium.Map,
    title: str,
    items: Sequence[tuple[str, str]],
    *,
    position: str = "bottomleft",
    square: bool = False,
) -> None:
    """Add a legend of ``(colour, label)`` items to a map, drawn by Leaflet itself."""
    shape = ' class="sq"' if square else ""
    rows = "".join(
        f'<div><i{shape} style="background:{colour}"></i>{label}</div>' for colour, label in items
    )
    html = json.dumps(f"<b>{title}</b>{rows}")
    code = (
        f"(function () {{ var c = L.control({{position: {json.dumps(position)}}}); "
        f"c.onAdd = function () {{ var d = L.DomUtil.create('div', 'gw-legend'); "
        f"d.innerHTML = {html}; return d; }}; c.addTo({{map}}); }})();"
    )
    _Script(code).add_to(m)


def zone_colour(index: int) -> str:
    """Return the colour of the ``index``-th patrol zone."""
    return ZONE_COLOURS[index % len(ZONE_COLOURS)]


def payload_bytes(m: folium.Map, *groups: folium.FeatureGroup) -> int:
    """Return the size of what streamlit-folium sends the browser for a map and live layers."""
    from streamlit_folium import _get_feature_group_string, _get_map_string

    m.get_root().render()
    size = len(_get_map_string(m).encode())
    for k, group in enumerate(groups):
        size += len(_get_feature_group_string(group, m, idx=k).encode())
    return size
