"""Streamlit entry point. Until the dashboard issue lands this is a placeholder page that shows
what the store holds; the pages (wall display, my grid, planning, data) come with it."""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import streamlit as st

from geodata.schemas import SCHEMAS
from geodata.store import store_layers


def _store_path() -> str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    return parser.parse_known_args(sys.argv[1:])[0].store


st.set_page_config(page_title="gridwatch 网格警务", layout="wide")
store = _store_path()
st.title("gridwatch 网格警务一张图")
st.caption(f"数据库 store: {store}")
counts = store_layers(store)
st.table(pd.DataFrame({
    "图层 layer": list(counts),
    "名称": [SCHEMAS[k].label_zh if k in SCHEMAS else "" for k in counts],
    "记录数 rows": list(counts.values()),
}))
st.info("地图页面（指挥大屏、网格、巡区规划、数据导入）开发中。 "
        "The map pages (wall, my grid, plan, data) are being built.")
