"""Where the pages get their data: the store chosen in the sidebar, its layers cached per file
version, and the analysis rooms (incidents, grid) imported only when they are there."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard.cli.load_commands import DEFAULT_STORE
from geodata.schemas import DEFAULT_TIMEZONE
from geodata.store import read_store, store_layers

STORE_ENV = "GRIDWATCH_STORE"
_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")


def default_store() -> str:
    """Return the store the app opens on: ``--store`` after ``--``, else $GRIDWATCH_STORE, else
    the demo store in ``~/.gridwatch``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store")
    given = parser.parse_known_args(sys.argv[1:])[0].store
    return given or os.environ.get(STORE_ENV) or str(DEFAULT_STORE)


def seed_from_address(key: str, allowed: list[str], default: str) -> None:
    """Give the widget ``key`` its first value from the address (``?key=value``) if allowed.

    So a kiosk browser or a grid worker's bookmark opens the page as wanted (``?lang=en``,
    ``?mode=replay``, ``?grid=G003``); later changes are the widget's own.
    """
    if key not in st.session_state:
        wanted = st.query_params.get(key, default)
        st.session_state[key] = wanted if wanted in allowed else default


def store_path() -> Path:
    """Return the store chosen in the sidebar."""
    return Path(st.session_state.get("store") or default_store()).expanduser()


def store_version(path: Path) -> int:
    """Return a number that changes whenever the store file is rewritten (0 if it is absent).

    Every write replaces the file by a rename, so its modification time is a version.
    """
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@st.cache_data(show_spinner=False, max_entries=16)
def _layer_counts(path: str, version: int) -> dict[str, int]:
    return store_layers(path)


def layer_counts(path: Path | None = None) -> dict[str, int]:
    """Return the store's layers and their row counts."""
    path = path or store_path()
    return _layer_counts(str(path), store_version(path))


# Layers are cached as shared resources, not with st.cache_data: they are only ever read (every
# function that takes them returns new objects), and unpickling a copy of 200,000 incidents on
# every rerun costs 0.3 s (measured), which the wall would pay on each refresh.
@st.cache_resource(show_spinner=False, max_entries=24)
def _layer(path: str, kind: str, version: int) -> gpd.GeoDataFrame:
    return read_store(path, kind)


def layer(kind: str, path: Path | None = None) -> gpd.GeoDataFrame | None:
    """Return a layer of the store, or None when the store does not hold it."""
    path = path or store_path()
    version = store_version(path)
    if kind not in _layer_counts(str(path), version):
        return None
    return _layer(str(path), kind, version)


def clear_caches() -> None:
    """Forget cached layers and results (after an ingest)."""
    st.cache_data.clear()
    st.cache_resource.clear()


def as_of(incidents: gpd.GeoDataFrame | None) -> pd.Timestamp:
    """Return the time the pages count back from: now, or the newest incident when the data
    stops earlier (a demo or an old export), so that "last 30 days" still shows data."""
    now = pd.Timestamp.now(tz=DEFAULT_TIMEZONE)
    if incidents is None or not len(incidents):
        return now
    newest = incidents["reported_at"].max()
    return min(now, newest + pd.Timedelta(minutes=1)).tz_convert(DEFAULT_TIMEZONE)


def between(
    incidents: gpd.GeoDataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> gpd.GeoDataFrame:
    """Return the incidents reported in ``(start, end]``, oldest first."""
    times = incidents["reported_at"]
    return incidents[(times > start) & (times <= end)].sort_values("reported_at")


_ROOMS = ("geodata", "incidents", "grid")


def analysis(module: str) -> ModuleType | None:
    """Import an analysis module (``incidents.repeats``, ``grid``...), or None while it is not
    written yet; an error inside an existing module is raised, not hidden."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        # A module of the project's own rooms still being written: say so on the page.
        if error.name and error.name.split(".")[0] in _ROOMS:
            return None
        raise


def guarded(what: str, call: Callable[[], _T]) -> _T | None:
    """Run one analysis step; if it fails, say so on the page and in the log, and go on.

    A wall display must keep showing everything else when one analysis breaks on odd data.
    """
    from dashboard.i18n import t

    try:
        return call()
    except Exception as error:  # the page goes on; the traceback goes to the server log
        _LOG.exception("%s failed", what)
        st.warning(t("analysis_failed", what=what, error=error))
        return None


def place_name(cells: gpd.GeoDataFrame | None) -> str:
    """Return the area's name, from its grid cells' names (万户新村第1网格 -> 万户新村)."""
    if cells is None or not len(cells) or "name" not in cells:
        return "gridwatch"
    names = cells["name"].dropna().astype(str)
    if not len(names):
        return "gridwatch"
    prefix = os.path.commonprefix(list(names))
    prefix = prefix.split("第")[0].strip() if "第" in prefix else prefix.strip()
    return prefix or "gridwatch"


def empty_layer(kind: str) -> gpd.GeoDataFrame:
    """Return a layer with no rows but its schema's columns and types, for a missing layer."""
    from geodata.schemas import get_schema
    from geodata.store import restore_types

    schema = get_schema(kind)
    frame = gpd.GeoDataFrame(
        {name: pd.Series([], dtype=object) for name in schema.columns},
        geometry=gpd.GeoSeries([], crs=4326),
    )
    return restore_types(frame, kind)


def layer_or_empty(kind: str, path: Path | None = None) -> tuple[gpd.GeoDataFrame, bool]:
    """Return a layer (or an empty one of its schema) and whether the store holds it."""
    frame = layer(kind, path)
    return (frame, True) if frame is not None else (empty_layer(kind), False)
