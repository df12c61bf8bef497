"""Plan (巡区规划): hotspot methods with their measured accuracy (PAI), today's and the proposed
patrol zones side by side, the figures and moved cells that justify the proposal, patrol windows
and check-in points, and the proposal as GeoPackage, GeoJSON and CSV."""

from __future__ import annotations

import logging

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, layers, maps, planning
from dashboard.i18n import t, t_or

MAP_HEIGHT = 460
METRIC_COLUMNS = (
    "cells",
    "workload",
    "deviation",
    "hotspot_cells",
    "repeat_places",
    "population",
    "rental_properties",
    "key_sites",
    "area_km2",
    "polsby_popper",
    "mean_distance_m",
    "contiguous",
)


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """A plain copy for st.dataframe (the rooms' attrs hold timestamps Arrow cannot store)."""
    out = pd.DataFrame(frame).copy()
    out.attrs = {}
    return out


def _localised(frame: pd.DataFrame) -> pd.DataFrame:
    """A room's table with its column names and ``kind`` values in the session's language."""
    out = _table(frame)
    if "kind" in out:
        out["kind"] = out["kind"].map(lambda v: t_or(f"kind_{v}", str(v)) if pd.notna(v) else "")
    return out.rename(columns={c: t_or(f"col_{c}", c) for c in out.columns})


def _method_label(method: str) -> str:
    return t_or(f"method_{method}", method)


def _not_available(error: Exception) -> None:
    if isinstance(error, planning.NotAvailable):
        st.info(t("analysis_missing", module=str(error)))
    elif isinstance(error, ValueError):  # the rooms' ValueErrors are one sentence for the user
        st.warning(t("plan_failed", error=error))
    else:
        logging.getLogger(__name__).exception("planning failed")
        st.warning(t("analysis_failed", what=type(error).__name__, error=error))


def _zone_map(
    zones,
    colours: dict[str, str],
    *,
    name: str,
    key: str,
    checkpoints=None,
    moved: list[str] | None = None,
) -> None:
    m = maps.new_map(zones.total_bounds)
    layers.zones_layer(zones, name=name, colour_of=colours).add_to(m)
    if moved:
        chosen = cells[cells["grid_id"].astype(str).isin(moved)]
        maps.polygon_layer(
            chosen,
            name=t("plan_moved"),
            styles={"color": "#ffffff", "weight": 3, "dashArray": "6 4", "fillOpacity": 0},
            tooltip={"grid_id": t("col_grid")},
        ).add_to(m)
    if checkpoints is not None and len(checkpoints):
        styles = {
            "color": "#003b46",
            "fillColor": maps.COLOURS["checkin"],
            "radius": 7,
            "weight": 2,
            "fillOpacity": 1,
        }
        tooltip = {
            c: t("col_name") if c == "label" else t("col_zone")
            for c in ("label", "zone_id")
            if c in checkpoints
        }
        maps.point_layer(
            checkpoints, name=t("layer_checkin_points"), styles=styles, tooltip=tooltip
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    st_folium(
        maps.localise(m), key=key, height=MAP_HEIGHT, use_container_width=True, returned_objects=[]
    )


path = data.store_path()
version = data.store_version(path)
cells = data.layer("grid_cells")
incidents = data.layer("incidents")
if cells is None or incidents is None or not len(cells):
    st.info(t("layer_missing", layer=t("layer_grid_cells" if cells is None else "layer_incidents")))
    st.stop()
as_of = data.as_of(incidents)
area_km2 = float(cells.to_crs(cells.estimate_utm_crs()).area.sum() / 1e6)
st.caption(t("data_as_of", time=f"{as_of:%Y-%m-%d %H:%M}"))

# --- hotspot methods and their accuracy ---------------------------------------------------------
st.subheader(t("plan_methods"))
a, b, c = st.columns(3)
size_m = a.select_slider(
    t("plan_cell_size"),
    options=[50, 100, 150, 200, 250, 500],
    value=100 if area_km2 < 5 else 250,
    key="plan_size",
)
test_days = b.select_slider(
    t("plan_test_days"), options=[14, 28, 56, 91], value=28, key="plan_test_days"
)
area_share = c.select_slider(
    t("plan_area_share"),
    options=[0.01, 0.02, 0.05, 0.1],
    value=0.05 if area_km2 < 5 else 0.01,
    key="plan_share",
    format_func=lambda s: f"{s:.0%}",
)
evaluation = None
try:
    evaluation = planning.evaluate(
        str(path), version, float(size_m), int(test_days), float(area_share), as_of
    )
except Exception as error:  # shown on the page, not a crash of the page
    _not_available(error)

hotspot_module = data.analysis("incidents.hotspots")
if evaluation is not None and len(evaluation):
    options = list(evaluation["method"])
    pai = dict(zip(evaluation["method"], evaluation["pai"], strict=True))
elif hotspot_module is not None:
    options, pai = list(hotspot_module.METHODS), {}
else:
    options, pai = [], {}
method = None
if options:
    method = st.radio(
        t("plan_method"),
        options,
        horizontal=True,
        key="plan_method",
        format_func=lambda m: (
            t("plan_method_option", method=_method_label(m), pai=f"{pai[m]:.2f}")
            if m in pai
            else _method_label(m)
        ),
    )
if evaluation is not None and len(evaluation):
    shown = _table(evaluation[["method", "pai", "pei_star", "rri"]])
    shown["method"] = shown["method"].map(_method_label)
    st.dataframe(
        shown.rename(
            columns={
                "method": t("col_method"),
                "pai": t("col_pai"),
                "pei_star": t("col_pei"),
                "rri": t("col_rri"),
            }
        ).round(3),
        hide_index=True,
    )

if method is not None:
    try:
        scores = planning.hotspot_map(
            str(path), version, float(size_m), method, float(area_share), as_of
        )
    except Exception as error:  # shown on the page, not a crash of the page
        _not_available(error)
    else:
        st.markdown(f"**{t('plan_hotspot_map', method=_method_label(method))}**")
        m = maps.new_map(cells.total_bounds)
        layer, items = layers.values_layer(
            scores, scores["score"], name=t("col_score"), label=t("col_score"), id_column="cell_id"
        )
        layer.add_to(m)
        hot = scores[scores["hotspot"]]
        if len(hot):
            maps.polygon_layer(
                hot,
                name=t("layer_hotspots"),
                tolerance_m=0,
                styles={"color": maps.COLOURS["hotspot"], "weight": 3, "fillOpacity": 0},
            ).add_to(m)
        layers.grid_cells_layer(cells).add_to(m)
        maps.legend(
            m, t("col_score"), items + [(maps.COLOURS["hotspot"], t("layer_hotspots"))], square=True
        )
        st_folium(
            maps.localise(m),
            key=f"hotspot_map_{method}_{size_m}",
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=[],
        )

# --- patrol zones: today and proposed ------------------------------------------------------------
st.subheader(t("plan_zones"))
today = data.layer("patrol_zones")
zone_count = len(today) if today is not None and len(today) else 4
with st.form("plan_zone_form"):
    f1, f2, f3, f4 = st.columns(4)
    k = f1.number_input(
        t("plan_k"),
        min_value=1,
        max_value=max(1, len(cells)),
        value=min(zone_count, len(cells)),
        step=1,
        key="plan_k",
    )
    max_moves = f2.number_input(
        t("plan_max_moves"),
        min_value=0,
        max_value=len(cells),
        value=0,
        step=1,
        key="plan_max_moves",
        help=t("plan_max_moves_help"),
    )
    night_weight = f3.slider(t("plan_w_night"), 1.0, 3.0, 1.5, 0.1, key="plan_w_night")
    hotspot_weight = f4.slider(t("plan_w_hotspot"), 1.0, 3.0, 1.0, 0.1, key="plan_w_hotspot")
    st.form_submit_button(t("plan_compute"), type="primary")

result = None
if method is not None:
    try:
        with st.spinner(t("plan_computing")):
            result = planning.zone_plan(
                str(path),
                version,
                method=method,
                k=int(k),
                max_moves=int(max_moves) or None,
                night_weight=float(night_weight),
                hotspot_weight=float(hotspot_weight),
                as_of=as_of,
            )
    except Exception as error:  # shown on the page, not a crash of the page
        _not_available(error)
if result is None:
    st.stop()

proposal, plan = result.proposal, result.plan
for module in result.notes:
    st.caption(t("analysis_missing", module=module))
balance = proposal.balance
st.markdown(
    t(
        "plan_balance",
        deviation=f"{balance['max_deviation']:.1%}",
        cv=f"{balance['cv']:.1%}",
        tolerance=f"{balance['tolerance']:.0%}",
    )
    + ("" if balance["within_tolerance"] else f" — {balance.get('reason', '')}")
)
ids = sorted(
    set(result.zones["zone_id"].astype(str))
    | set(today["zone_id"].astype(str) if today is not None else [])
)
colours = {z: maps.zone_colour(i) for i, z in enumerate(ids)}
moves = proposal.moves
left, right = st.columns(2)
with left:
    st.markdown(f"**{t('plan_today')}**")
    if today is not None and len(today):
        _zone_map(today, colours, name=t("layer_zones_today"), key="zones_today")
    else:
        st.info(t("plan_no_zones"))
with right:
    st.markdown(f"**{t('plan_proposed')}**")
    _zone_map(
        result.zones,
        colours,
        name=t("layer_zones_proposed"),
        key="zones_proposed",
        checkpoints=plan.checkpoints,
        moved=list(moves["grid_id"].astype(str)),
    )

st.markdown(f"**{t('plan_metrics')}**")
metrics = _table(proposal.metrics[[c for c in METRIC_COLUMNS if c in proposal.metrics]])
metrics.columns = [t_or(f"metric_{c}", c) for c in metrics.columns]
st.dataframe(metrics.round(3))
if proposal.changes is not None:
    summary = _table(proposal.changes.summary)
    summary["metric"] = summary["metric"].map(lambda c: t_or(f"metric_{c}", c))
    st.dataframe(
        summary.rename(
            columns={
                "metric": t("col_metric"),
                "before": t("plan_today"),
                "after": t("plan_proposed"),
                "change": t("col_change"),
            }
        ),
        hide_index=True,
    )

st.markdown(f"**{t('plan_moved')}**")
if len(moves):
    st.dataframe(
        _table(moves).rename(
            columns={
                "grid_id": t("col_grid"),
                "from_zone": t("col_from_zone"),
                "to_zone": t("col_to_zone"),
                "workload": t("metric_workload"),
                "reason": t("col_reason"),
            }
        ),
        hide_index=True,
    )
else:
    st.write(t("plan_no_moves"))

w, p = st.columns(2)
with w:
    st.markdown(f"**{t('plan_windows')}**")
    if len(plan.windows):
        st.dataframe(_localised(plan.windows), hide_index=True)
    else:
        st.write(t("grid_no_rows"))
with p:
    st.markdown(f"**{t('plan_checkins')}**")
    points = plan.checkpoints
    if len(points):
        table = _table(points.drop(columns=points.geometry.name))
        table["lon"], table["lat"] = points.geometry.x.round(6), points.geometry.y.round(6)
        st.dataframe(_localised(table), hide_index=True)
    else:
        st.write(t("grid_no_rows"))

st.markdown(f"**{t('plan_downloads')}**")
files = planning.proposal_files(result)
d1, d2, d3 = st.columns(3)
d1.download_button(
    t("download_gpkg"),
    files["gpkg"],
    file_name="巡区建议.gpkg",
    mime="application/geopackage+sqlite3",
    key="download_gpkg",
    on_click="ignore",
)
d2.download_button(
    t("download_geojson"),
    files["geojson"],
    file_name="建议巡区.geojson",
    mime="application/geo+json",
    key="download_geojson",
    on_click="ignore",
)
d3.download_button(
    t("download_csv"),
    files["csv"],
    file_name="巡区指标.csv",
    mime="text/csv",
    key="download_csv",
    on_click="ignore",
)
