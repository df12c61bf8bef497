"""gridwatch's map layers, styled and labelled the same way on every page: grid cells, rental
houses, key sites, devices, responders, incidents, repeat-alarm places and patrol zones."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from dashboard import maps
from dashboard.i18n import t, t_or

COLOURS = maps.COLOURS


def _styles(frame: pd.DataFrame, **style: object) -> pd.Series:
    return pd.Series([dict(style)] * len(frame), index=frame.index, dtype=object)


def _labelled(frame: pd.DataFrame, column: str, prefix: str) -> pd.Series:
    """A code column shown in the session's language (kind police -> 民警)."""
    codes = frame[column].astype("string")
    labels = {code: t_or(f"{prefix}_{code}", str(code)) for code in codes.dropna().unique()}
    return codes.map(labels).fillna("")


def inspection_due(rentals: pd.DataFrame) -> pd.Series:
    """Return each rental house's next inspection date (last inspection + its interval)."""
    interval = pd.to_timedelta(
        rentals["inspection_interval_days"].astype("Float64").fillna(90).astype(float), unit="D"
    )
    return rentals["last_inspection"] + interval


def grid_cells_layer(
    cells: gpd.GeoDataFrame, *, name: str | None = None, selected: str | None = None
) -> folium.GeoJson:
    """Grid cell outlines with their names; ``selected`` (a grid_id) drawn bold."""
    styles = _styles(
        cells,
        color=COLOURS["grid"],
        weight=1.5,
        fillColor=COLOURS["grid"],
        fillOpacity=0.04,
        opacity=0.8,
    )
    if selected is not None:
        chosen = cells["grid_id"] == selected
        styles[chosen] = [
            dict(
                color="#ffffff", weight=4, fillColor=COLOURS["grid"], fillOpacity=0.12, opacity=1.0
            )
        ] * int(chosen.sum())
    shown = cells.assign(
        _label=cells["grid_id"].astype(str)
        + " "
        + cells.get("name", pd.Series("", index=cells.index)).fillna("").astype(str)
    )
    return maps.polygon_layer(
        shown, name=name or t("layer_grid_cells"), styles=styles, tooltip={"_label": t("col_grid")}
    )


def rentals_layer(
    rentals: gpd.GeoDataFrame, *, as_of: pd.Timestamp, show: bool = True
) -> folium.Layer:
    """Rental houses: overdue inspections red, group rentals orange and larger."""
    due = inspection_due(rentals)
    today = as_of.tz_localize(None).normalize()
    overdue = (due < today).fillna(False).to_numpy()
    group = rentals["group_rental"].fillna(False).astype(bool).to_numpy()
    colour = np.where(
        overdue, COLOURS["overdue"], np.where(group, COLOURS["group_rental"], COLOURS["rental"])
    )
    styles = pd.Series(
        [
            {
                "color": "#111827",
                "fillColor": c,
                "radius": 5 if g else 3.5,
                "weight": 1,
                "fillOpacity": 0.8,
            }
            for c, g in zip(colour, group, strict=True)
        ],
        index=rentals.index,
        dtype=object,
    )
    shown = rentals.assign(_group=np.where(group, t("yes"), t("no")), _due=due.dt.date.astype(str))
    return maps.point_layer(
        shown,
        name=t("layer_rental_properties"),
        styles=styles,
        show=show,
        tooltip={
            "address": t("col_address"),
            "tenants": t("col_tenants"),
            "_group": t("col_group_rental"),
            "_due": t("col_due"),
        },
    )


def key_sites_layer(sites: gpd.GeoDataFrame, *, show: bool = True) -> folium.Layer:
    """Key sites (hospitals, schools, nightlife...) in purple."""
    shown = sites.assign(_category=_labelled(sites, "category", "site"))
    tooltip = {"name": t("col_name"), "_category": t("col_category_site")}
    if (sites.geom_type == "Point").all():
        styles = _styles(
            sites,
            color="#1b1033",
            fillColor=COLOURS["site"],
            radius=7,
            weight=1.5,
            fillOpacity=0.95,
        )
        return maps.point_layer(
            shown, name=t("layer_key_sites"), styles=styles, tooltip=tooltip, show=show
        )
    styles = _styles(
        sites,
        color=COLOURS["site"],
        fillColor=COLOURS["site"],
        weight=2,
        fillOpacity=0.35,
        radius=7,
    )
    return maps.polygon_layer(
        shown, name=t("layer_key_sites"), styles=styles, tooltip=tooltip, show=show
    )


def devices_layer(devices: gpd.GeoDataFrame, *, show: bool = True) -> folium.Layer:
    """Cameras, checkpoints, alarm posts and loudspeakers as small teal dots."""
    shown = devices.assign(_kind=_labelled(devices, "kind", "kind"))
    styles = _styles(
        devices,
        color=COLOURS["device"],
        fillColor=COLOURS["device"],
        radius=2.5,
        weight=0,
        fillOpacity=0.8,
    )
    return maps.point_layer(
        shown,
        name=t("layer_devices"),
        styles=styles,
        show=show,
        tooltip={"name": t("col_name"), "_kind": t("col_kind")},
    )


def responders_layer(responders: gpd.GeoDataFrame, *, nearest: Sequence[str] = ()) -> folium.Layer:
    """Responders by kind; those off duty grey, the nearest to the newest incident ringed."""
    on_duty = responders["on_duty"].fillna(False).astype(bool).to_numpy()
    kinds = responders["kind"].astype(str).to_numpy()
    near = responders["responder_id"].isin(list(nearest)).to_numpy()
    styles = pd.Series(
        [
            {
                "color": "#ffffff" if n else "#0b1220",
                "weight": 3 if n else 1,
                "fillColor": COLOURS.get(k, COLOURS["police"]) if d else COLOURS["off_duty"],
                "radius": 9 if n else 5,
                "fillOpacity": 0.95 if d else 0.5,
            }
            for k, d, n in zip(kinds, on_duty, near, strict=True)
        ],
        index=responders.index,
        dtype=object,
    )
    shown = responders.assign(_kind=_labelled(responders, "kind", "kind"))
    return maps.point_layer(
        shown,
        name=t("layer_responders"),
        styles=styles,
        tooltip={"name": t("col_name"), "_kind": t("col_kind"), "radio": t("col_radio")},
    )


def incidents_layer(
    incidents: gpd.GeoDataFrame,
    *,
    now: pd.Timestamp,
    name: str,
    hours: float = 24.0,
    show: bool = True,
) -> folium.Layer:
    """Incidents as red dots, the older ones fainter; no caller data on the map."""
    age = ((now - incidents["reported_at"]).dt.total_seconds() / 3600.0).to_numpy()
    fade = np.clip(1.0 - age / hours, 0.25, 1.0)
    styles = pd.Series(
        [
            {
                "color": "#ffffff",
                "fillColor": COLOURS["incident"],
                "radius": 8,
                "weight": 1.5,
                "fillOpacity": round(float(f), 2),
                "opacity": round(float(f), 2),
            }
            for f in fade
        ],
        index=incidents.index,
        dtype=object,
    )
    shown = incidents.assign(_time=incidents["reported_at"].dt.strftime("%m-%d %H:%M"))
    return maps.point_layer(
        shown,
        name=name,
        styles=styles,
        show=show,
        tooltip={
            "_time": t("col_time"),
            "category": t("col_category"),
            "address": t("col_address"),
        },
    )


def repeat_places_layer(places: gpd.GeoDataFrame) -> folium.Layer:
    """Repeat-alarm places as orange rings sized by their number of alarms."""
    counts = places["incidents"].astype(float).to_numpy()
    styles = pd.Series(
        [
            {
                "color": COLOURS["repeat"],
                "weight": 3,
                "fillColor": COLOURS["repeat"],
                "fillOpacity": 0.15,
                "radius": float(min(8 + 2 * c, 28)),
            }
            for c in counts
        ],
        index=places.index,
        dtype=object,
    )
    tooltip = {"incidents": t("col_incidents")}
    for column, label in (("address", "col_address"), ("categories", "col_categories")):
        if column in places:
            tooltip[column] = t(label)
    return maps.point_layer(places, name=t("layer_repeat_places"), styles=styles, tooltip=tooltip)


def zones_layer(
    zones: gpd.GeoDataFrame,
    *,
    name: str,
    id_column: str = "zone_id",
    colour_of: dict[str, str] | None = None,
) -> folium.GeoJson:
    """Patrol zones, one colour each (``colour_of`` keeps colours equal between two maps)."""
    ids = zones[id_column].astype(str)
    colour_of = colour_of or {z: maps.zone_colour(k) for k, z in enumerate(sorted(ids.unique()))}
    styles = pd.Series(
        [
            {
                "color": colour_of.get(z, "#999999"),
                "weight": 2.5,
                "fillColor": colour_of.get(z, "#999999"),
                "fillOpacity": 0.35,
            }
            for z in ids
        ],
        index=zones.index,
        dtype=object,
    )
    tooltip = {id_column: t("col_zone")}
    if "name" in zones:
        tooltip["name"] = t("col_name")
    return maps.polygon_layer(zones, name=name, styles=styles, tooltip=tooltip)


def values_layer(
    cells: gpd.GeoDataFrame, values: pd.Series, *, name: str, label: str, id_column: str
) -> tuple[folium.GeoJson, list[tuple[str, str]]]:
    """Cells coloured by a value (counts, scores) and the legend items for it."""
    colours, edges = maps.ramp_colours(values)
    styles = pd.Series(
        [{"color": c, "weight": 0.5, "fillColor": c, "fillOpacity": 0.6} for c in colours],
        index=cells.index,
        dtype=object,
    )
    shown = cells.assign(_value=values.astype(float).round(2))
    layer = maps.polygon_layer(
        shown,
        name=name,
        styles=styles,
        tolerance_m=0,
        tooltip={id_column: t("col_id"), "_value": label},
    )
    classes = len(edges) - 1
    scale = np.linspace(0, len(maps.RAMP) - 1, classes).round().astype(int)
    digits = ",.0f" if max(abs(e) for e in edges) >= 100 else ".2g"
    items = [
        (maps.RAMP[scale[k]], f"{edges[k]:{digits}} – {edges[k + 1]:{digits}}")
        for k in range(classes)
    ]
    return layer, items
