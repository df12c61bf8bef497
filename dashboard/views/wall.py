"""Wall (指挥大屏): the command room's live map. The last 24 h of incidents with the newest lit up,
repeat-alarm places, the nearest on-duty responders and the headline figures; it refreshes itself
without reloading the map, and a replay plays stored incidents forward so demo data looks alive."""

from __future__ import annotations

import time
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, layers, live, maps, style
from dashboard.i18n import t, t_or
from geodata.schemas import DEFAULT_TIMEZONE

REPLAY_SPAN = pd.Timedelta(days=3)
MAP_HEIGHT = {False: 820, True: 900}  # by kiosk mode: a full 1080-line screen
RECENT_ROWS = 8
REFRESH_OPTIONS = [2, 5, 10, 30, 60]  # seconds
REPEAT = {"radius_m": 50, "days": 30, "min_count": 3}
REPEAT_HISTORY = pd.Timedelta(days=365)  # how often a place usually calls, to judge a burst


def _restart_replay() -> None:
    st.session_state["wall_replay_t0"] = time.time()


@st.cache_data(show_spinner=False, max_entries=48)
def _repeat_places(path: str, version: int, until: pd.Timestamp) -> gpd.GeoDataFrame | None:
    """Unusual repeat-alarm places called in the 30 days up to ``until``, each judged against
    its place's year (cached per store version and hour)."""
    repeats = data.analysis("incidents.repeats")
    incidents = data.layer("incidents", Path(path))
    if repeats is None or incidents is None:
        return None
    year = data.between(incidents, until - REPEAT_HISTORY, until)
    places = repeats.repeat_places(year, **REPEAT)
    open_now = places["last_at"] >= until - pd.Timedelta(days=REPEAT["days"])
    return places[places["unusual"].to_numpy() & open_now.to_numpy()]


def _nearest(newest: gpd.GeoDataFrame | None, responders: gpd.GeoDataFrame) -> pd.DataFrame | None:
    nearest = data.analysis("incidents.nearest")
    if nearest is None or newest is None or not len(responders):
        return None
    return nearest.nearest_responders(newest, responders, k=3, on_duty_only=True)


def _base_map(as_of: pd.Timestamp) -> folium.Map:
    """The map's fixed part: grids, rental houses, key sites, devices, legend."""
    frames = [f for f in (cells, incidents, rentals) if len(f)]
    bounds = frames[0].total_bounds if frames else (120.158, 33.352, 120.169, 33.361)
    m = maps.new_map(bounds)
    layers.grid_cells_layer(cells).add_to(m)
    # At district scale the rental houses would bury the incidents: there they start hidden
    # (the layer control shows them).
    layers.rentals_layer(rentals, as_of=as_of, show=len(rentals) <= maps.CLUSTER_ABOVE).add_to(m)
    layers.key_sites_layer(sites).add_to(m)
    layers.devices_layer(devices, show=False).add_to(m)
    maps.legend(
        m,
        t("legend_title"),
        [
            (maps.COLOURS["newest"], t("layer_newest")),
            (maps.COLOURS["incident"], t("layer_incidents_24h")),
            (maps.COLOURS["repeat"], t("layer_repeat_places")),
            (maps.COLOURS["police"], t("kind_police")),
            (maps.COLOURS["auxiliary"], t("kind_auxiliary")),
            (maps.COLOURS["volunteer"], t("kind_volunteer")),
            (maps.COLOURS["site"], t("layer_key_sites")),
            (maps.COLOURS["rental"], t("layer_rental_properties")),
            (maps.COLOURS["group_rental"], t("layer_group_rentals")),
            (maps.COLOURS["overdue"], t("legend_overdue")),
        ],
    )
    return maps.localise(m)


def _live_groups(
    window: gpd.GeoDataFrame,
    week: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame | None,
    newest: gpd.GeoDataFrame | None,
    nearest: pd.DataFrame | None,
    now: pd.Timestamp,
) -> list[folium.FeatureGroup]:
    """The layers sent into the drawn map on every refresh."""
    heat = folium.FeatureGroup(name=t("layer_heat_7d"))
    if len(week):
        maps.heat_layer(week, name=t("layer_heat_7d")).add_to(heat)
    repeat = folium.FeatureGroup(name=t("layer_repeat_places"))
    if places is not None and len(places):
        layers.repeat_places_layer(places).add_to(repeat)
    recent = folium.FeatureGroup(name=t("layer_incidents_24h"))
    if len(window):
        layers.incidents_layer(window, now=now, name=t("layer_incidents_24h")).add_to(recent)
    forces = folium.FeatureGroup(name=t("layer_responders"))
    if len(responders):
        ids = [] if nearest is None else list(nearest["responder_id"])
        layers.responders_layer(responders, nearest=ids).add_to(forces)
    lit = folium.FeatureGroup(name=t("layer_newest"))
    if newest is not None:
        point = newest.geometry.iloc[0]
        where = responders.set_index("responder_id").geometry
        for _, row in (nearest if nearest is not None else pd.DataFrame()).iterrows():
            if row["responder_id"] in where.index:
                r = where.loc[row["responder_id"]]
                folium.PolyLine(
                    [[point.y, point.x], [r.y, r.x]],
                    color="#ffffff",
                    weight=2,
                    dash_array="6 6",
                    opacity=0.9,
                    tooltip=t("metres", m=f"{row['distance_m']:.0f}"),
                ).add_to(lit)
        label = f"{newest['reported_at'].iloc[0]:%H:%M} {newest['category'].iloc[0]}"
        maps.pulse_marker(point, tooltip=style.escape(label)).add_to(lit)
    groups = [heat, repeat, recent, forces, lit]
    for group in groups:
        maps.localise(group)
    return groups


def _figure(
    value: object, label: str, note: str = "", note_class: str = "", alert: bool = False
) -> str:
    return (
        f'<div class="gw-fig{" alert" if alert else ""}"><div class="v">{value}</div>'
        f'<div class="l">{label}</div><div class="d {note_class}">{note}</div></div>'
    )


def _table(title: str, rows: list[str], empty: str) -> str:
    body = f"<table>{''.join(rows)}</table>" if rows else f'<div class="muted">{empty}</div>'
    return f'<div class="gw-list"><div class="h">{title}</div>{body}</div>'


def _responder_row(r: pd.Series) -> str:
    kind = t_or(f"kind_{r['kind']}", str(r["kind"]))
    metres = t("metres", m=f"{float(r['distance_m']):.0f}")
    return (
        f"<tr><td>{style.escape(r['name'])}</td><td class='muted'>{style.escape(kind)}</td>"
        f"<td class='muted'>{style.escape(r['radio'])}</td><td class='n'>{metres}</td></tr>"
    )


def _incident_row(r: pd.Series) -> str:
    return (
        f"<tr><td class='n'>{r['reported_at']:%H:%M}</td>"
        f"<td>{style.escape(r['category'])}</td>"
        f"<td class='muted'>{style.escape(r['address'])}</td></tr>"
    )


def _panel(
    figures: live.WallFigures,
    window: gpd.GeoDataFrame,
    newest: gpd.GeoDataFrame | None,
    nearest: pd.DataFrame | None,
) -> str:
    """The right-hand column: big figures, the newest incident, nearest responders, recent."""
    change = figures.change
    trend = "" if change is None else ("up" if change > 0 else "down")
    repeat = "–" if figures.repeat_places is None else figures.repeat_places
    parts = [
        '<div class="gw-figs">',
        _figure(
            figures.last_24h,
            t("fig_last_24h"),
            t("fig_change", change=live.format_change(change)),
            trend,
        ),
        _figure(figures.same_hours_last_week, t("fig_last_week")),
        _figure(
            repeat,
            t("fig_repeat_places"),
            t("fig_repeat_window", days=REPEAT["days"], count=REPEAT["min_count"]),
            alert=bool(figures.repeat_places),
        ),
        "</div>",
    ]
    if newest is None:
        parts.append(_table(t("newest"), [], t("no_incidents_24h")))
    else:
        row = newest.iloc[0]
        parts.append(
            f'<div class="gw-card"><div class="h">{t("newest")}</div>'
            f'<div class="cat">{style.escape(row["category"])}</div>'
            f'<div class="addr">{style.escape(row["address"])}</div>'
            f'<div class="time">{row["reported_at"]:%Y-%m-%d %H:%M:%S}</div></div>'
        )
        if nearest is None:
            missing = t("analysis_missing", module="incidents.nearest")
            parts.append(_table(t("nearest_responders"), [], missing))
        else:
            rows = [_responder_row(r) for _, r in nearest.iterrows()]
            parts.append(_table(t("nearest_responders"), rows, t("no_responders")))
    rows = [_incident_row(r) for _, r in window.iloc[::-1].head(RECENT_ROWS).iterrows()]
    parts.append(_table(t("recent_incidents"), rows, t("no_incidents_24h")))
    return "".join(parts)


path = data.store_path()
cells, _ = data.layer_or_empty("grid_cells")
incidents, have_incidents = data.layer_or_empty("incidents")
rentals, _ = data.layer_or_empty("rental_properties")
sites, _ = data.layer_or_empty("key_sites")
devices, _ = data.layer_or_empty("devices")
responders, _ = data.layer_or_empty("responders")

kiosk = st.query_params.get("kiosk", "") in ("1", "true", "yes")
style.wall_css(kiosk=kiosk)
as_of = data.as_of(incidents)
is_current = pd.Timestamp.now(tz=DEFAULT_TIMEZONE) - as_of < live.WINDOW

data.seed_from_address("refresh", [str(s) for s in REFRESH_OPTIONS], "5")  # ?refresh=2
st.session_state["refresh"] = int(st.session_state["refresh"])
data.seed_from_address("mode", ["live", "replay"], "live" if is_current else "replay")
with st.sidebar:
    mode = st.segmented_control(
        t("wall_mode"),
        ["live", "replay"],
        required=True,
        format_func=lambda m: t(f"mode_{m}"),
        key="mode",
        on_change=_restart_replay,
    )
    speed = st.select_slider(
        t("replay_speed"),
        options=[1, 2, 5, 10, 20, 60],
        value=10,
        key="speed",
        on_change=_restart_replay,
    )
    refresh = st.select_slider(t("refresh_seconds"), options=REFRESH_OPTIONS, key="refresh")
    st.caption(t("kiosk_hint"))
if "wall_replay_t0" not in st.session_state:
    _restart_replay()
if not have_incidents:
    st.info(t("layer_missing", layer=t("layer_incidents")))


@st.fragment(run_every=refresh)
def _screen() -> None:
    """Everything that changes with time; reruns alone every ``refresh`` seconds."""
    if mode == "replay":
        now = live.replay_time(
            as_of - REPLAY_SPAN,
            as_of,
            elapsed_s=time.time() - st.session_state["wall_replay_t0"],
            minutes_per_second=float(speed),
        )
        badge = f'<span class="gw-badge replay">{t("mode_replay")}</span>'
    else:
        now = pd.Timestamp.now(tz=DEFAULT_TIMEZONE)
        badge = f'<span class="gw-badge live">{t("mode_live")}</span>'
    window = data.between(incidents, now - live.WINDOW, now)
    week = data.between(incidents, now - pd.Timedelta(days=7), now)
    places = (
        data.guarded(
            "incidents.repeats",
            lambda: _repeat_places(str(path), data.store_version(path), now.floor("h")),
        )
        if have_incidents
        else None
    )
    figures = live.wall_figures(
        incidents, now, repeat_places=None if places is None else len(places)
    )
    newest = window.iloc[[-1]] if len(window) else None
    nearest = data.guarded("incidents.nearest", lambda: _nearest(newest, responders))

    title = style.escape(t("wall_title", place=data.place_name(cells)))
    st.html(
        f'<div class="gw-bar"><div class="title">{title}{badge}</div>'
        f'<div class="clock">{now:%Y-%m-%d %H:%M:%S}</div></div>'
    )
    left, right = st.columns([3, 1.1], gap="small")
    with left:
        st_folium(
            _base_map(as_of),
            key="wall_map",
            height=MAP_HEIGHT[kiosk],
            use_container_width=True,
            feature_group_to_add=_live_groups(window, week, places, newest, nearest, now),
            layer_control=folium.LayerControl(collapsed=True),
            returned_objects=[],
        )
    with right:
        st.html(_panel(figures, window, newest, nearest))


_screen()
