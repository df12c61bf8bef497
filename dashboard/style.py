"""Page styles: the command-room wall (dark, no chrome, figures readable across a room) and small
fixes for narrow phone screens."""

from __future__ import annotations

import html

import streamlit as st

_BASE = """
<style>
/* Phones (390 px): less padding so the map and tables get the width. */
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding: 3.5rem 0.6rem 2rem 0.6rem; }
}
</style>
"""

_WALL = """
<style>
[data-testid="stHeader"] { background: transparent; height: 2rem; }
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
footer, #MainMenu { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.4rem 1.2rem 0 1.2rem; max-width: 100%; }
.stApp { background: #070d18; }
/* A refresh must not dim what is on screen. */
[data-stale="true"], .stale-element { opacity: 1 !important; transition: none !important; }
.gw-bar { display: flex; align-items: baseline; justify-content: space-between;
  border-bottom: 2px solid #1f3b63; padding: 0 0 4px 0; margin-bottom: 8px; }
.gw-bar .title { font-size: 34px; font-weight: 700; color: #e8f1ff; letter-spacing: 2px; }
.gw-bar .clock { font-size: 30px; font-variant-numeric: tabular-nums; color: #9cc4ff; }
.gw-badge { font-size: 18px; padding: 2px 10px; border-radius: 4px; margin-left: 12px;
  vertical-align: 4px; }
.gw-badge.live { background: #0f5132; color: #75f0a8; }
.gw-badge.replay { background: #5c3b00; color: #ffcf70; }
.gw-figs { display: grid; grid-template-columns: 1fr; gap: 10px; }
.gw-fig { background: #0f1b2e; border: 1px solid #1f3b63; border-radius: 8px;
  padding: 8px 14px; }
.gw-fig .v { font-size: 64px; line-height: 1.05; font-weight: 800; color: #ffffff;
  font-variant-numeric: tabular-nums; }
.gw-fig .l { font-size: 20px; color: #9cb3d1; }
.gw-fig .d { font-size: 18px; color: #9cb3d1; }
.gw-fig .d.up { color: #ff7b7b; } .gw-fig .d.down { color: #6fe3a1; }
.gw-fig.alert .v { color: #ffb74d; }
.gw-card { background: #1a0f14; border: 2px solid #ff2d2d; border-radius: 8px;
  padding: 8px 14px; margin-top: 10px; color: #ffe3e3; }
.gw-card .h { font-size: 18px; color: #ff8a8a; }
.gw-card .cat { font-size: 32px; font-weight: 800; color: #ffffff; }
.gw-card .addr { font-size: 20px; }
.gw-card .time { font-size: 18px; color: #ffbdbd; font-variant-numeric: tabular-nums; }
.gw-list { margin-top: 10px; background: #0f1b2e; border: 1px solid #1f3b63;
  border-radius: 8px; padding: 6px 14px; color: #dbe7f7; }
.gw-list .h { font-size: 18px; color: #9cb3d1; margin-bottom: 2px; }
.gw-list table { width: 100%; border-collapse: collapse; font-size: 18px; }
.gw-list td { padding: 2px 4px; border: none; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; max-width: 14em; }
.gw-list td.n { text-align: right; font-variant-numeric: tabular-nums; color: #ffffff;
  font-weight: 700; }
.gw-list .muted { color: #7d8ea8; }
</style>
"""

_KIOSK = """
<style>
[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
</style>
"""


def base_css() -> None:
    """Add the styles every page shares."""
    st.html(_BASE)


def wall_css(*, kiosk: bool) -> None:
    """Add the wall's dark command-room styles; in kiosk mode hide the sidebar too."""
    st.html(_WALL + (_KIOSK if kiosk else ""))


def escape(value: object) -> str:
    """Return a value as HTML-safe text (data from files goes into the wall's HTML)."""
    return html.escape("" if value is None else str(value))
