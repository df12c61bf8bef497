"""The Streamlit entry point: the shared sidebar (language, store) and the four pages.

Run it with ``gridwatch serve`` (which also puts the offline map files in place and passes the
Streamlit options), or ``streamlit run dashboard/app.py -- --store FILE.gpkg`` from the checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st
from streamlit import config

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the project.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from dashboard import data, style  # noqa: E402
from dashboard.assets import missing_assets  # noqa: E402
from dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGES, t  # noqa: E402

_VIEWS = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="gridwatch", layout="wide")

if "store" not in st.session_state:
    st.session_state["store"] = data.default_store()
data.seed_from_address("lang", list(LANGUAGES), DEFAULT_LANGUAGE)  # ?lang=en

with st.sidebar:
    st.segmented_control(
        t("language"), options=list(LANGUAGES), format_func=LANGUAGES.get, required=True, key="lang"
    )
    st.text_input(t("store"), key="store")

# The wall is the default page, at the root address (Streamlit answers "page not found" to the
# default page's own path): a kiosk browser opens http://host:8501/?kiosk=1.
pages = [
    st.Page(_VIEWS / "wall.py", title=t("page_wall"), default=True),
    st.Page(_VIEWS / "my_grid.py", title=t("page_grid"), url_path="grid"),
    st.Page(_VIEWS / "plan.py", title=t("page_plan"), url_path="plan"),
    st.Page(_VIEWS / "data_import.py", title=t("page_data"), url_path="data"),
]
page = st.navigation(pages)

style.base_css()
# (config.get_option, not st.get_option: AppTest patches only the former.)
if not config.get_option("server.enableStaticServing") and not config.get_option("global.appTest"):
    st.warning(t("static_off"))
elif missing_assets():
    st.warning(t("assets_missing"))
path = data.store_path()
if not path.exists():
    st.warning(t("store_missing", path=path))

page.run()
