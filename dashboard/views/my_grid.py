"""My grid (网格): one grid worker's area on a phone. Its map, rental houses by inspection due date
(overdue first, group rentals marked), key sites, the last 30 days' incidents with the caller's
phone masked, and repeat addresses; each list downloads as CSV."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, layers, maps
from dashboard.i18n import t, t_or
from geodata.privacy import mask_phones

DAYS = 30
MAP_HEIGHT = 420
HEAT_ABOVE = 1_500  # a grid's incidents shown as a heat map above this many


@st.cache_data(show_spinner=False, max_entries=32)
def _grid_of(path: str, version: int, kind: str, since: pd.Timestamp | None) -> pd.Series:
    """The grid cell each row of a layer falls in (incidents: only those after ``since``)."""
    assign = data.analysis("incidents.assign")
    frame, cells = data.layer(kind, Path(path)), data.layer("grid_cells", Path(path))
    if assign is None or frame is None or cells is None:
        return pd.Series(dtype="string")
    if since is not None:
        frame = frame[frame["reported_at"] > since]
    if not (frame.geom_type == "Point").all():  # key sites drawn as polygons
        frame = frame.set_geometry(frame.representative_point())
    return assign.assign_to_cells(frame, cells, id_column="grid_id")


def _csv(frame: pd.DataFrame) -> bytes:
    # utf-8-sig so that Excel on Chinese Windows opens the Chinese text correctly.
    return frame.to_csv(index=False).encode("utf-8-sig")


def _rental_list(rentals: gpd.GeoDataFrame, today: pd.Timestamp) -> pd.DataFrame:
    due = layers.inspection_due(rentals)
    overdue_days = (today - due).dt.days
    table = pd.DataFrame(
        {
            t("col_address"): rentals["address"],
            t("col_tenants"): rentals["tenants"],
            t("col_group_rental"): rentals["group_rental"]
            .fillna(False)
            .map({True: "★ " + t("yes"), False: ""}),
            t("col_last_inspection"): rentals["last_inspection"].dt.date,
            t("col_due"): due.dt.date,
            t("col_days_overdue"): overdue_days.where(overdue_days > 0).astype("Int64"),
            t("col_id"): rentals["property_id"],
        }
    )
    order = pd.DataFrame({"overdue": (overdue_days > 0).fillna(False), "due": due})
    order = order.sort_values(["overdue", "due"], ascending=[False, True], na_position="last")
    return table.loc[order.index].reset_index(drop=True)


def _incident_list(incidents: gpd.GeoDataFrame) -> pd.DataFrame:
    status = incidents["status"].astype("string")
    return (
        pd.DataFrame(
            {
                t("col_time"): incidents["reported_at"].dt.strftime("%Y-%m-%d %H:%M"),
                t("col_category"): incidents["category"],
                t("col_address"): incidents["address"],
                t("col_phone"): mask_phones(incidents["caller_phone"]),  # never the full number
                t("col_status"): status.map(
                    lambda s: t_or(f"status_{s}", str(s)) if pd.notna(s) else ""
                ),
                t("col_id"): incidents["incident_id"],
            }
        )
        .iloc[::-1]
        .reset_index(drop=True)
    )


path = data.store_path()
version = data.store_version(path)
cells = data.layer("grid_cells")
if cells is None or not len(cells):
    st.info(t("no_grids"))
    st.stop()
incidents, have_incidents = data.layer_or_empty("incidents")
rentals, _ = data.layer_or_empty("rental_properties")
sites, _ = data.layer_or_empty("key_sites")
as_of = data.as_of(incidents if have_incidents else None)
since = as_of - pd.Timedelta(days=DAYS)

names = dict(zip(cells["grid_id"].astype(str), cells["name"].fillna("").astype(str), strict=True))
data.seed_from_address("grid", sorted(names), sorted(names)[0])  # ?grid=G003
grid = st.selectbox(
    t("grid_choose"), sorted(names), format_func=lambda g: f"{g} {names[g]}", key="grid"
)
cell = cells[cells["grid_id"] == grid]
row = cell.iloc[0]
st.caption(
    t(
        "grid_summary",
        workers=row["grid_workers"] if pd.notna(row["grid_workers"]) else "–",
        population=row["population"] if pd.notna(row["population"]) else "–",
        floating=row["floating_population"] if pd.notna(row["floating_population"]) else "–",
    )
    + "　·　"
    + t("data_as_of", time=f"{as_of:%Y-%m-%d %H:%M}")
)

assign = data.analysis("incidents.assign")
if assign is None:
    st.info(t("analysis_missing", module="incidents.assign"))
recent = incidents[incidents["reported_at"] > since]
incident_grid = _grid_of(str(path), version, "incidents", since) if have_incidents else None
mine = (
    recent[(incident_grid == grid).fillna(False).to_numpy()]
    if incident_grid is not None and len(incident_grid) == len(recent)
    else recent.iloc[:0]
)
rental_grid = rentals["grid_id"].astype("string")
if rental_grid.isna().any() and len(rentals):  # rows without a grid id: by their place
    rental_grid = rental_grid.fillna(_grid_of(str(path), version, "rental_properties", None))
my_rentals = rentals[(rental_grid == grid).fillna(False).to_numpy()]
site_grid = _grid_of(str(path), version, "key_sites", None) if len(sites) else None
my_sites = (
    sites[(site_grid == grid).fillna(False).to_numpy()]
    if site_grid is not None and len(site_grid) == len(sites)
    else sites.iloc[:0]
)

# The map: the grid bold among its neighbours, its rentals, sites and recent incidents.
m = maps.new_map(cell.total_bounds)
layers.grid_cells_layer(cells, selected=grid).add_to(m)
if len(mine) > HEAT_ABOVE:
    maps.heat_layer(mine, name=t("layer_incidents_30d")).add_to(m)
elif len(mine):
    layers.incidents_layer(
        mine, now=as_of, name=t("layer_incidents_30d"), hours=24.0 * DAYS
    ).add_to(m)
layers.rentals_layer(my_rentals, as_of=as_of).add_to(m)
layers.key_sites_layer(my_sites).add_to(m)
maps.legend(
    m,
    t("legend_title"),
    [
        (maps.COLOURS["overdue"], t("legend_overdue")),
        (maps.COLOURS["group_rental"], t("layer_group_rentals")),
        (maps.COLOURS["rental"], t("layer_rental_properties")),
        (maps.COLOURS["site"], t("layer_key_sites")),
        (maps.COLOURS["incident"], t("layer_incidents_30d")),
    ],
    position="bottomright",
)
st_folium(
    maps.localise(m),
    key=f"grid_map_{grid}",
    height=MAP_HEIGHT,
    use_container_width=True,
    returned_objects=[],
)

rental_list = _rental_list(my_rentals, as_of.tz_localize(None).normalize())
incident_list = _incident_list(mine)
tab_rentals, tab_sites, tab_incidents, tab_repeats = st.tabs(
    [
        f"{t('layer_rental_properties')} {len(rental_list)}",
        f"{t('grid_sites')} {len(my_sites)}",
        f"{t('grid_incidents')} {len(incident_list)}",
        t("grid_repeats"),
    ]
)
with tab_rentals:
    overdue = int(rental_list[t("col_days_overdue")].notna().sum())
    groups = int((rental_list[t("col_group_rental")] != "").sum())
    st.markdown(f"**{t('grid_rentals')}** — {t('grid_overdue', n=overdue, groups=groups)}")
    st.dataframe(rental_list, hide_index=True)
    st.download_button(
        t("download_rentals"),
        _csv(rental_list),
        file_name=f"{grid}_出租房.csv",
        mime="text/csv",
        key="download_rentals",
        on_click="ignore",
    )
with tab_sites:
    st.dataframe(
        pd.DataFrame(
            {
                t("col_name"): my_sites["name"],
                t("col_category_site"): my_sites["category"].map(
                    lambda c: t_or(f"site_{c}", str(c)) if pd.notna(c) else ""
                ),
                t("col_address"): my_sites["address"],
            }
        ),
        hide_index=True,
    )
with tab_incidents:
    st.dataframe(incident_list, hide_index=True)
    st.download_button(
        t("download_incidents"),
        _csv(incident_list),
        file_name=f"{grid}_警情.csv",
        mime="text/csv",
        key="download_incidents",
        on_click="ignore",
    )
with tab_repeats:
    repeats = data.analysis("incidents.repeats")
    if repeats is None:
        st.info(t("analysis_missing", module="incidents.repeats"))
    else:
        addresses = data.guarded(
            "incidents.repeats", lambda: repeats.repeat_addresses(mine, days=DAYS, min_count=3)
        )
        if addresses is not None and len(addresses):
            st.dataframe(
                pd.DataFrame(
                    {
                        t("col_address"): addresses["address"],
                        t("col_incidents"): addresses["incidents"],
                        t("col_first"): addresses["first_at"].dt.strftime("%m-%d %H:%M"),
                        t("col_last"): addresses["last_at"].dt.strftime("%m-%d %H:%M"),
                        t("col_categories"): addresses["categories"],
                    }
                ),
                hide_index=True,
            )
        elif addresses is not None:
            st.write(t("grid_no_rows"))
