"""The dashboard's offline web assets: Leaflet and its plugins copied from installed PyPI packages
into ``dashboard/static/vendor/``, which Streamlit serves itself, so no page needs a CDN.

Run ``python -m dashboard.assets`` once after ``pip install`` (``gridwatch serve`` does it when
files are missing). Nothing third-party is committed: the files come from the wheels of
``xstatic-leaflet``, ``xstatic-leaflet-markercluster``, ``xstatic-jquery`` and ``folium``.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

# target path under vendor/ -> (Python package holding the file, path inside its folder).
# xstatic packages keep their files under <package>/data.
ASSET_FILES: dict[str, tuple[str, str]] = {
    "leaflet/leaflet.js": ("xstatic.pkg.leaflet", "data/leaflet.js"),
    "leaflet/leaflet.css": ("xstatic.pkg.leaflet", "data/leaflet.css"),
    "leaflet/images/layers.png": ("xstatic.pkg.leaflet", "data/images/layers.png"),
    "leaflet/images/layers-2x.png": ("xstatic.pkg.leaflet", "data/images/layers-2x.png"),
    "leaflet/images/marker-icon.png": ("xstatic.pkg.leaflet", "data/images/marker-icon.png"),
    "leaflet/images/marker-icon-2x.png": ("xstatic.pkg.leaflet", "data/images/marker-icon-2x.png"),
    "leaflet/images/marker-shadow.png": ("xstatic.pkg.leaflet", "data/images/marker-shadow.png"),
    "markercluster/leaflet.markercluster.js": (
        "xstatic.pkg.leaflet_markercluster",
        "data/leaflet.markercluster.js",
    ),
    "markercluster/MarkerCluster.css": (
        "xstatic.pkg.leaflet_markercluster",
        "data/MarkerCluster.css",
    ),
    "markercluster/MarkerCluster.Default.css": (
        "xstatic.pkg.leaflet_markercluster",
        "data/MarkerCluster.Default.css",
    ),
    "jquery/jquery.min.js": ("xstatic.pkg.jquery", "data/jquery.min.js"),
    # folium's wheel ships the heat-map plugin it patched for Leaflet 1.9.
    "heat/leaflet_heat.min.js": ("folium", "templates/leaflet_heat.min.js"),
}

_PIP_NAMES = {
    "xstatic.pkg.leaflet": "xstatic-leaflet",
    "xstatic.pkg.leaflet_markercluster": "xstatic-leaflet-markercluster",
    "xstatic.pkg.jquery": "xstatic-jquery",
    "folium": "folium",
}


def missing_assets(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Return the asset files (paths under ``vendor/``) not yet in place."""
    return [name for name in ASSET_FILES if not (vendor_dir / name).is_file()]


def _source(package: str, inside: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ValueError(
            f"the Python package {_PIP_NAMES[package]} is not installed; "
            "run `pip install -r requirements.txt`"
        ) from None
    path = Path(module.__file__).resolve().parent / inside
    if not path.is_file():
        raise ValueError(f"{path}: not found in {_PIP_NAMES[package]}; reinstall that package")
    return path


def install_assets(vendor_dir: Path = VENDOR_DIR, *, force: bool = False) -> list[str]:
    """Copy the web assets from the installed packages into ``vendor_dir``.

    Files are copied, not linked: Streamlit's static serving refuses symlinks that leave its
    folder. Run this before Streamlit starts, since writing into the app's folder wakes its file
    watcher.

    Returns
    -------
    list[str]
        The files copied (paths under ``vendor/``); empty when all were there already.

    Raises
    ------
    ValueError
        If a package that ships the files is not installed.
    """
    todo = list(ASSET_FILES) if force else missing_assets(vendor_dir)
    for name in todo:
        target = vendor_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_source(*ASSET_FILES[name]), target)
    return todo


def main() -> int:
    """Install the assets (``python -m dashboard.assets [--force]``) and say what was done."""
    try:
        copied = install_assets(force="--force" in sys.argv[1:])
    except ValueError as error:
        print(f"dashboard assets: error: {error}", file=sys.stderr)
        return 2
    print(f"{VENDOR_DIR}: {len(copied)} files copied, {len(ASSET_FILES) - len(copied)} in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
