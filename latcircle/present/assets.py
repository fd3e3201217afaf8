"""The map's scripts and styles: pinned, vendored, and inlined into ``map.html``.

``map.html`` needs Leaflet and four plugins. By default (``assets="inline"``) every one of
them is written *inside* the page, so the map opens with no network at all (offline, or
where foreign CDNs are slow or blocked). ``assets="cdn"`` keeps the small page that loads
them from jsDelivr instead.

Where the files come from
    A vendored copy under ``latcircle/present/assets/<package>@<version>/``, installed with
    latcircle (package data), taken unchanged from the npm packages the CDN URLs name
    (``npm pack <package>@<version>``) and, for the heat plugin, from the folium wheel
    (folium ships a copy patched for weights, Leaflet.heat PR #78). Each package's licence
    file sits beside its files and ``MANIFEST.json`` records package, version, source and
    SHA-256 of every file. Versions are pinned: never a moving branch such as ``folium@main``.
    A vendored copy (rather than a download cache) keeps runs offline and reproducible: the
    bytes inlined are the bytes in the wheel. ``make assets`` re-vendors them
    (:func:`vendor_assets`) after a version bump in :data:`PACKAGES`.

How they are inlined
    :func:`inline_assets` replaces each ``<script src>`` / ``<link rel=stylesheet>`` naming a
    pinned URL with the file's text; images a stylesheet refers to (Leaflet's layer icon,
    the measure tool's buttons) become ``data:`` URIs. A page that still names any other
    external script or style is an error: the page would not be self-contained.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from latcircle.errors import LatcircleError

__all__ = [
    "ASSET_DIR",
    "PACKAGES",
    "Asset",
    "AssetMode",
    "css_urls",
    "inline_assets",
    "js_urls",
    "vendor_assets",
    "verify_assets",
]

AssetMode = Literal["inline", "cdn"]

#: Where the vendored files live (package data).
ASSET_DIR = Path(__file__).parent / "assets"

_JSDELIVR = "https://cdn.jsdelivr.net"


@dataclass(frozen=True)
class Asset:
    """One script or stylesheet the map loads.

    Attributes
    ----------
    name
        Folium's name for the link (one per page).
    package
        ``<name>@<version>``, the vendored folder and the npm (or PyPI) package.
    path
        The file inside the package.
    url
        The pinned CDN URL naming that same file.
    """

    name: str
    package: str
    path: str
    url: str

    @property
    def file(self) -> Path:
        """The vendored file."""
        return ASSET_DIR / self.package / self.path


def _npm(name: str, package: str, path: str) -> Asset:
    return Asset(name, package, path, f"{_JSDELIVR}/npm/{package}/{path}")


#: Packages and versions, with the licence file of each (vendored beside its files).
PACKAGES: dict[str, dict[str, str]] = {
    "leaflet@1.9.4": {"source": "npm", "licence": "LICENSE"},
    "leaflet.markercluster@1.1.0": {"source": "npm", "licence": "MIT-LICENCE.txt"},
    "leaflet.fullscreen@3.0.0": {"source": "npm", "licence": "LICENSE"},
    "leaflet-measure@2.1.7": {"source": "npm", "licence": "LICENSE"},
    "folium@0.20.0": {"source": "pypi", "licence": "LICENSE.txt"},
}

LEAFLET_JS = _npm("leaflet", "leaflet@1.9.4", "dist/leaflet.js")
LEAFLET_CSS = _npm("leaflet_css", "leaflet@1.9.4", "dist/leaflet.css")
HEAT_JS = Asset(
    "leaflet-heat.js",
    "folium@0.20.0",
    "folium/templates/leaflet_heat.min.js",
    f"{_JSDELIVR}/gh/python-visualization/folium@v0.20.0/folium/templates/leaflet_heat.min.js",
)
CLUSTER_JS = _npm("markerclusterjs", "leaflet.markercluster@1.1.0", "dist/leaflet.markercluster.js")
CLUSTER_CSS = [
    _npm("markerclustercss", "leaflet.markercluster@1.1.0", "dist/MarkerCluster.css"),
    _npm(
        "markerclusterdefaultcss", "leaflet.markercluster@1.1.0", "dist/MarkerCluster.Default.css"
    ),
]
FULLSCREEN_JS = _npm("Control.Fullscreen.js", "leaflet.fullscreen@3.0.0", "Control.FullScreen.js")
FULLSCREEN_CSS = _npm(
    "Control.FullScreen.css", "leaflet.fullscreen@3.0.0", "Control.FullScreen.css"
)
MEASURE_JS = _npm("leaflet_measure_js", "leaflet-measure@2.1.7", "dist/leaflet-measure.min.js")
MEASURE_CSS = _npm("leaflet_measure_css", "leaflet-measure@2.1.7", "dist/leaflet-measure.css")

#: Files a stylesheet refers to (``url(...)``), vendored to be inlined as data URIs.
_EXTRA_FILES: dict[str, list[str]] = {
    "leaflet@1.9.4": [
        "dist/images/layers.png",
        "dist/images/layers-2x.png",
        "dist/images/marker-icon.png",
    ],
    "leaflet.fullscreen@3.0.0": ["icon-fullscreen.svg"],
    "leaflet-measure@2.1.7": [
        f"dist/images/{n}{s}.png"
        for n in ("cancel", "check", "focus", "rulers", "start", "trash")
        for s in ("", "_@2X")
    ],
}

_ALL = [LEAFLET_JS, LEAFLET_CSS, HEAT_JS, CLUSTER_JS, *CLUSTER_CSS, FULLSCREEN_JS, FULLSCREEN_CSS]
_ALL += [MEASURE_JS, MEASURE_CSS]
_BY_URL = {a.url: a for a in _ALL}


def js_urls(*assets: Asset) -> list[tuple[str, str]]:
    """Return folium's ``default_js`` entries ``(name, url)`` for the given assets."""
    return [(a.name, a.url) for a in assets]


def css_urls(*assets: Asset) -> list[tuple[str, str]]:
    """Return folium's ``default_css`` entries ``(name, url)`` for the given assets."""
    return [(a.name, a.url) for a in assets]


_SCRIPT = re.compile(r'<script src="(https?://[^"]+)"></script>')
_LINK = re.compile(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>')
_EXTERNAL = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]+"[^>]*>')
_CSS_URL = re.compile(r"url\((['\"]?)(?!data:|#|https?:)([^'\")]+)\1\)")
_MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


def inline_assets(page: str) -> str:
    """Return ``page`` with every pinned script and stylesheet written inside it.

    Parameters
    ----------
    page
        A rendered map page naming assets by their pinned URLs (:data:`PACKAGES`).

    Returns
    -------
    str
        The self-contained page.

    Raises
    ------
    LatcircleError
        When the page names an external script or style that is not vendored (a bug: the
        map would not open offline), or a vendored file is missing.
    """
    page = _SCRIPT.sub(lambda m: _script_tag(_asset(m.group(1))), page)
    page = _LINK.sub(lambda m: _style_tag(_asset(m.group(1))), page)
    left = _EXTERNAL.findall(page)
    if left:
        msg = f"map page still loads external assets: {left[:3]}"
        raise LatcircleError(msg)
    return page


def _asset(url: str) -> Asset:
    try:
        return _BY_URL[url]
    except KeyError:
        msg = f"map asset not vendored (latcircle.present.assets): {url}"
        raise LatcircleError(msg) from None


def _read(asset_file: Path) -> str:
    if not asset_file.exists():
        msg = f"vendored map asset missing: {asset_file} (reinstall latcircle or `make assets`)"
        raise LatcircleError(msg)
    return asset_file.read_text(encoding="utf-8")


def _script_tag(asset: Asset) -> str:
    # "</script" inside a script would end it early; "<\/" means the same in any JS string.
    text = _read(asset.file).replace("</script", "<\\/script")
    return f"<script>/* {asset.package}/{asset.path} */\n{text}\n</script>"


def _style_tag(asset: Asset) -> str:
    text = _read(asset.file).replace("</style", "<\\/style")
    base = asset.file.parent

    def data_uri(m: re.Match[str]) -> str:
        target = (base / m.group(2)).resolve()
        media = _MEDIA_TYPES.get(target.suffix.lower())
        if media is None or not target.is_file():
            return m.group(0)  # e.g. IE's VML behaviour: nothing a browser loads
        return f"url(data:{media};base64,{base64.b64encode(target.read_bytes()).decode()})"

    return f"<style>/* {asset.package}/{asset.path} */\n{_CSS_URL.sub(data_uri, text)}\n</style>"


# --- vendoring ---------------------------------------------------------------------------


def _files_of(package: str) -> list[str]:
    files = [a.path for a in _ALL if a.package == package]
    files += _EXTRA_FILES.get(package, [])
    files.append(PACKAGES[package]["licence"])
    return sorted(set(files))


def vendor_assets(dest: Path = ASSET_DIR) -> Path:
    """Copy every asset from its package into ``dest`` and write ``MANIFEST.json``.

    npm packages come from ``npm pack <package>@<version>`` (needs ``npm`` and the
    registry); folium's heat plugin from the installed folium, which must be the pinned
    version. Run by ``make assets`` after changing :data:`PACKAGES`.

    Parameters
    ----------
    dest
        The asset folder (replaced package by package).

    Returns
    -------
    pathlib.Path
        The manifest written.
    """
    manifest = []
    with tempfile.TemporaryDirectory() as work:
        for package, info in PACKAGES.items():
            root = _package_root(package, info["source"], Path(work))
            target = dest / package
            shutil.rmtree(target, ignore_errors=True)
            for rel in _files_of(package):
                src = root / rel
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target / rel)
                manifest.append(_manifest_row(package, info["source"], rel, target / rel))
    path = dest / "MANIFEST.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


def _package_root(package: str, source: str, work: Path) -> Path:
    name, version = package.rsplit("@", 1)
    if source == "pypi":
        import importlib.metadata

        dist = importlib.metadata.distribution(name)
        if dist.version != version:
            msg = f"installed {name} is {dist.version}, assets pin {version}"
            raise LatcircleError(msg)
        root = work / package
        root.mkdir()
        site = Path(str(dist.locate_file("")))
        shutil.copytree(site / name, root / name)
        licence = next(p for p in dist.files or [] if p.name == PACKAGES[package]["licence"])
        shutil.copyfile(str(dist.locate_file(licence)), root / PACKAGES[package]["licence"])
        return root
    done = subprocess.run(
        ["npm", "pack", package, "--pack-destination", str(work), "--silent"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    tarball = work / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        tar.extractall(work / package, filter="data")
    return work / package / "package"


def _manifest_row(package: str, source: str, rel: str, file: Path) -> dict[str, str]:
    return {
        "package": package,
        "source": source,
        "file": rel,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
    }


def verify_assets(folder: Path = ASSET_DIR) -> list[str]:
    """Return the vendored files whose SHA-256 differs from ``MANIFEST.json`` (or missing).

    Parameters
    ----------
    folder
        The asset folder.

    Returns
    -------
    list of str
        ``<package>/<file>`` of each bad file; empty when all match.
    """
    rows = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    bad = []
    for row in rows:
        file = folder / row["package"] / row["file"]
        if not file.exists() or hashlib.sha256(file.read_bytes()).hexdigest() != row["sha256"]:
            bad.append(f"{row['package']}/{row['file']}")
    return bad


if __name__ == "__main__":  # pragma: no cover - `make assets`
    print(vendor_assets())
