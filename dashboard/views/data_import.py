"""Data (数据导入): upload a file, read its load report (accepted, rejected with reasons, repaired)
and a map of the accepted rows, then add them to the store in one all-or-nothing ingest."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, layers, maps
from dashboard.i18n import t, t_or
from geodata import LAYER_KINDS, LoadReport, read_layer
from geodata.privacy import mask_phones
from geodata.store import ingest

PREVIEW_ROWS = 50
MAP_HEIGHT = 420
FILE_TYPES = ["csv", "xlsx", "geojson", "json", "gpkg", "zip", "shp"]


@st.cache_data(show_spinner=False, max_entries=8)
def _load(
    content: bytes, name: str, kind: str, crs: str | None, store: str
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Read an uploaded file as a layer (cached by its content, so reruns do not reread it).
    Patrol zones given as grid ids are built from the store's grid cells."""
    cells = data.layer("grid_cells", Path(store)) if kind == "patrol_zones" else None
    with tempfile.TemporaryDirectory(prefix="gridwatch-upload-") as folder:
        path = Path(folder) / Path(name).name  # the reader tells formats by their suffix
        path.write_bytes(content)
        layer, report = read_layer(
            path, kind, crs=crs or None, cells=cells if cells is not None and len(cells) else None
        )
    report.source = name  # not the temporary path
    return layer, report


def _report_tables(report: LoadReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    findings = report.to_frame()
    outcome = findings["outcome"].map(lambda o: t_or(f"outcome_{o}", o))
    reason = findings["reason"].map(lambda r: t_or(f"reason_{r}", r))
    by_reason = (
        pd.DataFrame(
            {t("col_outcome"): outcome, t("col_reason"): reason, "code": findings["reason"]}
        )
        .value_counts()
        .rename(t("col_count"))
        .reset_index()
    )
    rows = pd.DataFrame(
        {
            t("col_row"): findings["row"],
            t("col_outcome"): outcome,
            t("col_reason"): reason,
            t("col_detail"): findings["detail"],
        }
    )
    return by_reason, rows


def _layer_map(frame: gpd.GeoDataFrame, kind: str, key: str) -> None:
    """Draw a layer on its own map: polygons as outlines, points one by one or as heat."""
    m = maps.new_map(frame.total_bounds)
    if kind in ("grid_cells", "patrol_zones") or not (frame.geom_type == "Point").all():
        styles = {"color": maps.COLOURS["grid"], "weight": 1.5, "fillOpacity": 0.1}
        maps.polygon_layer(frame, name=t(f"layer_{kind}"), styles=styles).add_to(m)
    elif len(frame) > maps.CLUSTER_ABOVE:
        maps.heat_layer(frame, name=t(f"layer_{kind}")).add_to(m)
    else:
        styles = {
            "color": "#0b1220",
            "fillColor": maps.COLOURS["incident"],
            "radius": 4,
            "weight": 1,
        }
        maps.point_layer(frame, name=t(f"layer_{kind}"), styles=styles).add_to(m)
    st_folium(
        maps.localise(m), key=key, height=MAP_HEIGHT, use_container_width=True, returned_objects=[]
    )


path = data.store_path()
st.markdown(t("data_intro"))
counts = data.layer_counts(path)
left, right = st.columns([1, 2])
with left:
    kind = st.selectbox(
        t("data_kind"),
        LAYER_KINDS,
        key="data_kind",
        format_func=lambda k: f"{t(f'layer_{k}')} ({k})",
    )
    crs = st.text_input(t("data_crs"), key="data_crs", help=t("data_crs_help")).strip()
    upload = st.file_uploader(t("data_file"), type=FILE_TYPES, key="data_file")
    st.markdown(f"**{t('data_store_contents')}** — `{path}`")
    st.dataframe(
        pd.DataFrame(
            {
                t("col_layer"): [t_or(f"layer_{name}", name) for name in counts],
                "layer": list(counts),
                t("col_rows"): list(counts.values()),
            }
        ),
        hide_index=True,
    )

with right:
    if "data_ingested" in st.session_state:
        st.success(st.session_state.pop("data_ingested"))
    if upload is None:
        # Before an upload: what the store holds, on a map.
        cells = data.layer("grid_cells", path)
        if cells is not None and len(cells):
            st.markdown(f"**{t('data_overview')}**")
            m = maps.new_map(cells.total_bounds)
            layers.grid_cells_layer(cells).add_to(m)
            incidents = data.layer("incidents", path)
            if incidents is not None and len(incidents):
                maps.heat_layer(incidents, name=t("layer_heat")).add_to(m)
            st_folium(
                maps.localise(m),
                key="store_map",
                height=MAP_HEIGHT,
                use_container_width=True,
                returned_objects=[],
            )
        st.stop()
    content = upload.getvalue()
    try:
        layer, report = _load(content, upload.name, kind, crs or None, str(path))
    except ValueError as error:  # ReadError and LayerError are ValueErrors
        st.error(t("data_failed", error=error))
        st.stop()

    st.markdown(f"**{t('data_report')}** — {upload.name}")
    a, b, c, d = st.columns(4)
    a.metric(t("data_rows_in"), report.rows_in)
    b.metric(t("data_accepted"), report.accepted)
    c.metric(t("data_rejected"), len(report.rejected))
    d.metric(t("data_repaired"), len(report.repaired))
    if report.source_crs or report.notes:
        st.caption(" · ".join([report.source_crs, *report.notes]).strip(" ·"))
    by_reason, rows = _report_tables(report)
    if len(rows):
        st.markdown(f"**{t('data_by_reason')}**")
        st.dataframe(by_reason, hide_index=True)
        st.markdown(f"**{t('data_findings')}**")
        st.dataframe(rows, hide_index=True, height=240)

    if not len(layer):
        st.warning(t("data_nothing_accepted"))
        st.stop()
    st.markdown(f"**{t('data_upload_map')}**")
    digest = hashlib.sha1(content).hexdigest()[:12]
    _layer_map(layer, kind, key=f"upload_map_{digest}")
    preview = layer.drop(columns=layer.geometry.name).head(PREVIEW_ROWS)
    if "caller_phone" in preview:
        preview = preview.assign(caller_phone=mask_phones(preview["caller_phone"]))
    st.markdown(f"**{t('data_preview', n=min(PREVIEW_ROWS, len(layer)))}**")
    st.dataframe(preview, hide_index=True, height=240)

    if st.button(t("data_ingest"), type="primary", key="data_ingest"):
        result = ingest(path, layer, report)
        data.clear_caches()
        # Rerun so that every table (the store's contents above) shows the new rows.
        st.session_state["data_ingested"] = t(
            "data_ingested",
            store=path.name,
            added=result.added,
            already=result.already_stored,
            quarantined=result.quarantined,
        )
        st.rerun()
