"""The nearest responders to an incident (police, auxiliaries, 万家卫士 volunteers), for dispatch
from the wall display."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geodata.crs import WGS84, local_metric_crs

__all__ = ["nearest_responders"]

_COLUMNS = ["responder_id", "name", "kind", "radio", "distance_m"]
_BRUTE_FORCE = 5_000_000  # incident × responder pairs below which every distance is computed


def nearest_responders(
    incident: shapely.Point | gpd.GeoDataFrame,
    responders: gpd.GeoDataFrame,
    *,
    k: int = 3,
    on_duty_only: bool = True,
) -> pd.DataFrame:
    """
    Find the ``k`` responders nearest to an incident, as the crow flies.

    Parameters
    ----------
    incident
        A point (EPSG:4326), or incidents as a GeoDataFrame: one row gives the same result as its
        point; several give ``k`` rows for each, with their ``incident_id`` first.
    responders
        The ``responders`` layer: ``responder_id``, ``name``, ``kind``, ``radio``, ``on_duty``.
    k
        How many to return (fewer if fewer are available).
    on_duty_only
        Leave out responders not on duty (``on_duty`` false or unknown).

    Returns
    -------
    pandas.DataFrame
        ``responder_id``, ``name``, ``kind``, ``radio``, ``distance_m`` (metres, measured in the
        local UTM zone), plus ``last_seen`` when the layer has it; nearest first, distances equal
        to the centimetre in the layer's order (the KD-tree used for very many pairs breaks ties
        its own way).

    Raises
    ------
    ValueError
        If ``k`` is not a positive whole number, the incident is not a point, or a column needed
        is missing.
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, not {k!r}")
    places, labels = _incident_points(incident)
    if responders.crs is None:
        raise ValueError("the responders have no coordinate system; set one (e.g. .set_crs(4326))")
    missing = [c for c in ("responder_id", "on_duty") if c not in responders.columns]
    if on_duty_only and missing:
        raise ValueError(
            f"the responders have no {missing[-1]!r} column; load them with "
            "geodata.read_layer(..., 'responders') or pass on_duty_only=False"
        )
    if "responder_id" not in responders.columns:
        raise ValueError("the responders have no 'responder_id' column")
    pool = responders
    if on_duty_only:
        pool = responders[responders["on_duty"].astype("boolean").fillna(False).to_numpy(bool)]
    geoms = gpd.GeoSeries(pool.geometry).to_crs(WGS84)
    pool = pool[~(geoms.isna() | geoms.is_empty).to_numpy()]
    extra = ["last_seen"] if "last_seen" in responders.columns else []
    if pool.empty:
        empty = pd.DataFrame({c: pd.Series(dtype="string") for c in _COLUMNS[:4]})
        empty["distance_m"] = pd.Series(dtype=float)
        return _with_labels(empty, labels, np.empty(0, dtype=np.int64))

    metric = local_metric_crs(
        gpd.GeoSeries(
            np.concatenate([places, np.asarray(gpd.GeoSeries(pool.geometry).to_crs(WGS84).array)]),
            crs=WGS84,
        )
    )
    here = shapely.get_coordinates(gpd.GeoSeries(places, crs=WGS84).to_crs(metric).array)
    there = shapely.get_coordinates(gpd.GeoSeries(pool.geometry).to_crs(metric).array)
    take = min(int(k), len(there))
    if len(here) * len(there) <= _BRUTE_FORCE:
        dist = np.hypot(here[:, None, 0] - there[None, :, 0], here[:, None, 1] - there[None, :, 1])
        # Distances equal to the centimetre are ties, and ties keep the layer's order.
        key = np.round(dist * 100).astype(np.int64) * len(there) + np.arange(len(there))
        nearest = np.argsort(key, axis=1)[:, :take]
        distance = np.take_along_axis(dist, nearest, axis=1)
    else:
        distance, nearest = cKDTree(there).query(here, k=take)
        distance, nearest = distance.reshape(len(here), take), nearest.reshape(len(here), take)
    rows = nearest.ravel()
    out = pd.DataFrame(
        {
            c: (
                pool[c].astype("string").to_numpy()[rows]
                if c in pool.columns
                else pd.array([pd.NA] * len(rows), dtype="string")
            )
            for c in _COLUMNS[:4]
        }
    )
    out = out.astype("string")
    out["distance_m"] = distance.ravel().round(1)
    for c in extra:
        out[c] = pool[c].to_numpy()[rows]
    return _with_labels(out, labels, np.repeat(np.arange(len(here)), take))


def _incident_points(incident: shapely.Point | gpd.GeoDataFrame) -> tuple[np.ndarray, list | None]:
    """The incident points in EPSG:4326, and their ids when several were given."""
    if isinstance(incident, shapely.Geometry):
        geoms, labels = np.array([incident], dtype=object), None
    elif isinstance(incident, gpd.GeoDataFrame | gpd.GeoSeries):
        if incident.crs is None:
            raise ValueError("the incident has no coordinate system; set one (e.g. .set_crs(4326))")
        geoms = np.asarray(gpd.GeoSeries(incident.geometry).to_crs(WGS84).array)
        ids = (
            incident["incident_id"]
            if isinstance(incident, gpd.GeoDataFrame) and "incident_id" in incident.columns
            else incident.index.to_series()
        )
        labels = list(ids.astype(str)) if len(geoms) > 1 else None
    else:
        raise ValueError(
            f"incident must be a shapely Point or a GeoDataFrame, not {type(incident).__name__}"
        )
    if len(geoms) == 0:
        raise ValueError("no incident given")
    if (shapely.get_type_id(geoms) != shapely.GeometryType.POINT).any() or shapely.is_empty(
        geoms
    ).any():
        raise ValueError("the incident must be a point with coordinates")
    return geoms, labels


def _with_labels(out: pd.DataFrame, labels: list | None, which: np.ndarray) -> pd.DataFrame:
    if labels is not None:
        out.insert(
            0, "incident_id", pd.array(np.asarray(labels, dtype=object)[which], dtype="string")
        )
    return out.reset_index(drop=True)
