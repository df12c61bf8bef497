"""The dashboard in a real browser with no internet: every page draws its map from locally served
files, no request leaves the host, and the wall refreshes without reloading its map.

Runs `gridwatch serve` on the demo community and drives Debian's Chromium with Playwright; every
request to a host other than localhost is aborted and counted. Screenshots go to
test-artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
# Without the background-networking flags Chromium keeps calling outside hosts by itself.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"
# page -> its address; the wall is the default page, at the root.
PAGES = {"wall": "", "grid": "grid", "plan": "plan", "data": "data"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium "
        "(apt-get install -y chromium; .ci/run installs it)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """`gridwatch serve` on a fresh demo store, on a free localhost port."""
    from geodata.demo import make_demo
    from geodata.store import write_layers

    folder = tmp_path_factory.mktemp("serve")
    store = folder / "demo.gpkg"
    write_layers(store, make_demo("community", 0))
    port = _free_port()
    log = (folder / "serve.log").open("w")
    env = {
        **os.environ,
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dashboard.cli",
            "serve",
            "--store",
            str(store),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        f"gridwatch serve did not start:\n"
                        f"{(folder / 'serve.log').read_text()[-3000:]}"
                    )
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser_context():
    """A Chromium context that aborts and records every request to an outside host."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def route(route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS, headless=True
        )
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.route("**/*", route)
        yield context, outside
        context.close()
        browser.close()


def _map_frame(page, timeout_s: float = 90):
    """Wait for a Leaflet map in any frame of the page; return that frame and the map box."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                container = frame.query_selector(".leaflet-container")
            except Exception:  # a frame detached while we looked
                continue
            if container is not None and container.is_visible():
                box = container.bounding_box()
                # Drawn features: canvas or SVG paths inside the map pane.
                drawn = frame.query_selector(
                    ".leaflet-overlay-pane canvas, .leaflet-overlay-pane path"
                )
                if box and box["height"] > 0 and drawn is not None:
                    return frame, box
        page.wait_for_timeout(500)
    raise AssertionError("no Leaflet map drew in any frame")


def _open(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(SETTLED, timeout=90_000)


@pytest.mark.parametrize("name", PAGES)
def test_page_draws_its_map_with_no_outside_request(server, browser_context, name):
    context, outside = browser_context
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    before = len(outside)
    _open(page, f"{server}/{PAGES[name]}")
    frame, box = _map_frame(page)
    assert box["height"] > 200 and box["width"] > 200
    page.wait_for_timeout(1500)  # tiles would be requested now, if any were configured
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert outside[before:] == []
    assert errors == []  # no script failed, in the page or in its map
    if name == "wall":
        # The newest incident is lit up at its place.
        assert frame.query_selector(".gw-pulse") is not None
    page.close()


def test_wall_refreshes_without_reloading_its_map(server, browser_context):
    context, outside = browser_context
    page = context.new_page()
    _open(page, f"{server}/?kiosk=1&mode=replay&refresh=2")
    frame, _ = _map_frame(page)
    frame.evaluate("window.__gridwatch_probe = 42")
    clock = page.locator(".gw-bar .clock").inner_text()
    page.wait_for_timeout(6_000)  # refreshes every 2 s
    assert page.locator(".gw-bar .clock").inner_text() != clock  # the replay clock moved
    frame_now, _ = _map_frame(page, timeout_s=10)
    assert frame_now.evaluate("window.__gridwatch_probe") == 42  # same map, not reloaded
    assert frame_now.query_selector(".gw-pulse") is not None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wall-kiosk.png"))
    assert outside == []
    page.close()


def test_my_grid_fits_a_phone_screen(server, browser_context):
    context, outside = browser_context
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, f"{server}/grid")
    _, box = _map_frame(page)
    assert box["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone ({width} px)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-phone.png"), full_page=True)
    assert outside == []
    page.close()
