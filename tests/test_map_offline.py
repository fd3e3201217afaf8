"""map.html in headless Chromium with the network cut off: no CDN replay, no tiles.

Every host name resolves to a loopback port where nothing listens (``--host-resolver-rules``),
so any request the page makes fails at once, as on a machine without a network. The
self-contained page (the default, ``--map-assets inline``) must still draw every layer, the
legend, the labels and the popups, with no JavaScript error; the only failed requests allowed
are the base map's own tiles. One screenshot per base map choice goes to
``tests/.artifacts/offline-map-<basemap>.png`` (paths printed); on real data, the Wuhan map
(rings, districts, heat scale) and the GCJ-02 landmark check on Amap tiles.

Skips with a reason when chromium or chromedriver are missing.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pyproj import Geod

import cdn_replay
from cdn_replay import js_problems, open_page, wait_for, wait_map_ready

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from latcircle.run import RunResult

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / ".artifacts"
BASEMAPS = ("osm", "amap", "tencent", "none")
_ANIMATING = ".leaflet-zoom-anim, .leaflet-pan-anim, .leaflet-cluster-anim"
TILE_HOSTS = {
    "osm": "tile.openstreetmap.org",
    "amap": "is.autonavi.com",
    "tencent": "map.gtimg.com",
    "none": None,
}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _write_maps(result: RunResult, basemaps: tuple[str, ...] = BASEMAPS) -> dict[str, Path]:
    """One page per base map beside the run, as ``write_map`` writes each (``map_pages``).

    English words, which the checks read (Wuhan's config would default to Chinese). The
    pages share the workbench's parts (slider years, what-if sets: the same for every base
    map), computed once instead of four times; ``test_map_pages.py`` shows each page is the
    very bytes ``write_map`` writes alone.
    """
    from latcircle.present.maps import map_pages

    pages = map_pages(result, result.out, {b: {"basemap": b, "lang": "en"} for b in basemaps})
    paths = {}
    for basemap, page in pages.items():
        paths[basemap] = result.out / f"map-{basemap}.html"
        paths[basemap].write_text(page, encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def demo_maps(tmp_path_factory: pytest.TempPathFactory, demo_run: RunResult) -> dict[str, Path]:
    """One map per base map beside a private copy of the session's whole demo run (conftest)."""
    from conftest import copy_run

    return _write_maps(copy_run(demo_run, tmp_path_factory.mktemp("offline-demo") / "out"))


def test_demo_osm_page_is_the_runs_own_map(demo_maps: dict[str, Path], demo_run: RunResult) -> None:
    """The demo has no local names: its default page is the English OpenStreetMap page.

    So the page written here beside the others must be the run's own ``map.html``, written
    by the pipeline's map step, byte for byte.
    """
    assert demo_maps["osm"].read_bytes() == (demo_run.out / "map.html").read_bytes()


#: Whether nothing on the page moves now and two animation frames later: no animation class
#: of Leaflet or markercluster on the map, and no CSS transition or animation running
#: (``document.getAnimations()``: Leaflet's zoom, its tile and popup fades and
#: markercluster's fade-in are CSS transitions). Asynchronous: it answers after the frames.
_STILL_JS = """
var done = arguments[arguments.length - 1];
function still() {
  return !document.querySelector(%s) && document.getAnimations().length === 0;
}
var now = still();
requestAnimationFrame(function () { requestAnimationFrame(function () {
  done(now && still()); }); });
""" % json.dumps(_ANIMATING)  # noqa: UP031


def _wait_still(driver: WebDriver, timeout: float = 20.0) -> None:
    """Wait until nothing on the page moves (:data:`_STILL_JS`), instead of a fixed sleep.

    Raises
    ------
    AssertionError
        When ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_async_script(_STILL_JS):
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the map's animations to end")


def _shot(driver: WebDriver, name: str) -> Path:
    # Let markercluster's fade-in (0.2 s) and Leaflet's zoom animation (0.25 s) finish: a
    # condition (nothing animating, two frames apart), not a fixed 0.6 s sleep.
    _wait_still(driver)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def _failed_requests_besides_tiles(driver: WebDriver, basemap: str) -> list[str]:
    """SEVERE console entries and JS errors, less the base map's own failed tiles."""
    host = TILE_HOSTS[basemap]
    return [p for p in js_problems(driver) if not (host and host in p)]


def _overlays(driver: WebDriver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'.leaflet-control-layers-overlays label')).map(l => l.textContent.trim());"
    )


def _toggle(driver: WebDriver, prefix: str) -> None:
    driver.execute_script(
        "var labels = document.querySelectorAll('.leaflet-control-layers-overlays label');"
        "for (var l of labels) { if (l.textContent.trim().startsWith(arguments[0])) {"
        "  l.querySelector('input').click(); } }",
        prefix,
    )


def _check_map(driver: WebDriver, page: Path, basemap: str, *, opened: bool = False) -> None:
    """Check the page's layers, legend, requests and a popup (``opened``: already loaded)."""
    if not opened:
        open_page(driver, page)
    wait_map_ready(driver)
    overlays = _overlays(driver)
    for expected in (
        "Latency ≤ 0.25 ms",  # rings with no area (0.75-1 ms on these maps) are not drawn
        "Districts: ",
        "District labels (share)",
        "Metro boundary",
        "Compute sites",
        "Key sites: covered",
        "Uncovered population (heat)",
    ):
        assert any(o.startswith(expected) for o in overlays), (expected, overlays)
    driver.execute_script(  # the legend folds on a short screen: open it to read it
        "document.querySelectorAll('.lc-fold').forEach(function (b) {"
        "  if (b.getAttribute('aria-expanded') !== 'true') { b.click(); } });"
    )
    # Sections of layers switched off (the district fill) are hidden, not absent.
    legend = driver.execute_script("return document.querySelector('.lc-legend').textContent;")
    for expected in ("0.75–1 ms", "no access", "too far", "70–75 %"):
        assert expected in legend, (expected, legend)
    heat = driver.find_element("css selector", ".lc-heat").text
    assert re.search(r"Uncovered people per 0\.5 km cell\s+0\s+[\d,]+\s+[\d,]+\+", heat), heat
    assert driver.find_elements("css selector", "canvas.leaflet-heatmap-layer")
    assert len(driver.find_elements("css selector", ".lc-label")) >= 2
    assert driver.find_elements("css selector", ".lc-cluster, .lc-key-icon")
    # Leaflet from the page itself, not from a CDN: nothing but tiles was requested.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name);"
    )
    host = TILE_HOSTS[basemap]
    assert all(host and host in r for r in resources), resources
    if host:
        notice = wait_for(
            driver,
            "var n = document.querySelector('.lc-tile-notice'); return n && n.textContent;",
        )
        assert "plain background" in notice
    else:
        assert not driver.find_elements("css selector", ".leaflet-tile-pane img")
    attribution = driver.find_element("css selector", ".leaflet-control-attribution").text
    if basemap == "amap":
        assert "高德地图" in attribution and "GCJ-02" in attribution
    if basemap == "tencent":
        assert "腾讯地图" in attribution
    # A site popup, in every base map.
    icons = driver.find_elements("css selector", ".lc-site-icon")
    assert len(icons) >= 2
    driver.execute_script("arguments[0].click();", icons[-1])
    popup = wait_for(
        driver, "var p = document.querySelector('.leaflet-popup-content');return p && p.innerText;"
    )
    assert "Tier" in popup and "People within" in popup
    driver.execute_script("document.querySelector('.leaflet-popup-close-button').click();")
    assert driver.execute_script("return window.__alerts;") == []
    assert _failed_requests_besides_tiles(driver, basemap) == []


@pytest.mark.parametrize("basemap", BASEMAPS)
def test_demo_map_offline(
    offline_browser: WebDriver, demo_maps: dict[str, Path], basemap: str
) -> None:
    page = demo_maps[basemap]
    _check_map(offline_browser, page, basemap)
    shot = _shot(offline_browser, f"offline-map-{basemap}.png")
    assert shot.stat().st_size > 10_000
    print(f"{page.name}: {page.stat().st_size / 1e6:.2f} MB")


def test_demo_map_offline_year_control_and_districts(
    offline_browser: WebDriver, demo_maps: dict[str, Path]
) -> None:
    open_page(offline_browser, demo_maps["osm"])
    wait_map_ready(offline_browser)
    years = offline_browser.find_elements("css selector", "#lc-year")
    if years:  # the demo's sites carry online years: the slider fades the later ones
        counts = []
        for end in ("0", "i.max"):
            text = offline_browser.execute_script(
                f"var i = document.getElementById('lc-year'); i.value = {end};"
                "i.dispatchEvent(new Event('input'));"
                "return document.querySelector('.lc-online').textContent;"
            )
            counts.append(int(text.rsplit(":", 1)[1]))
        assert counts[0] <= counts[1]
    _toggle(offline_browser, "Districts: ")
    wait_for(offline_browser, "return document.querySelectorAll('path.leaflet-interactive').length")
    _shot(offline_browser, "offline-map-districts.png")
    assert js_problems(offline_browser) == [] or all(
        "tile.openstreetmap.org" in p for p in js_problems(offline_browser)
    )


def test_vendored_assets_are_the_files_the_cdn_urls_name(tmp_path: Path) -> None:
    """Byte for byte what ``npm pack`` (or the folium wheel) holds at the pinned version."""
    from latcircle.present import assets

    if shutil.which("npm") is None:
        pytest.skip("npm not installed: cannot fetch the packages to compare")
    store = cdn_replay.AssetStore(ARTIFACTS / "npm")
    for asset in assets._ALL:
        try:
            served = store.get(asset.url)
        except cdn_replay.AssetError as exc:
            pytest.skip(str(exc))
        assert served == asset.file.read_bytes(), asset.url


# --- Wuhan (real data) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def wuhan(tmp_path_factory: pytest.TempPathFactory, wuhan_run: RunResult) -> dict[str, Path]:
    """The maps the Wuhan tests open (OpenStreetMap, Amap) beside a private copy of its run."""
    from conftest import copy_run

    run = copy_run(wuhan_run, tmp_path_factory.mktemp("wuhan-offline") / "wuhan")
    return _write_maps(run, ("osm", "amap"))


@pytest.mark.realdata
def test_wuhan_map_offline(offline_browser: WebDriver, wuhan: dict[str, Path]) -> None:
    page = wuhan["osm"]
    size_mb = page.stat().st_size / 1e6
    # One load, checked as it is (the load times are the map benchmark's to measure).
    seconds = open_page(offline_browser, page)
    print(f"wuhan map.html (inline): {size_mb:.2f} MB, load {seconds:.2f} s")
    _check_map(offline_browser, page, "osm", opened=True)
    _shot(offline_browser, "wuhan-offline-rings.png")
    _toggle(offline_browser, "Districts: ")
    _shot(offline_browser, "wuhan-offline-districts.png")
    assert size_mb < 8.0
    _check_map(offline_browser, wuhan["amap"], "amap")
    _shot(offline_browser, "wuhan-offline-amap.png")


@pytest.mark.realdata
def test_wuhan_landmark_on_amap_position(wuhan: dict[str, Path], shared_data: Path) -> None:
    """Tianhe airport T2 as Amap places it (the Weibo POI file's own GCJ-02 position).

    latcircle reads the POIs as GCJ-02, converts them to WGS84 for the analysis, and shifts
    them back for Amap tiles: the marker must land where Amap's own data has it.
    """
    name = "Wuhan Tianhe Airport T2 terminal"
    with (shared_data / "wuhan" / "key_sites_weibo.csv").open(encoding="utf-8") as fh:
        (src,) = [r for r in csv.DictReader(fh) if r["Name_POI.1"].strip() == name]
    page = wuhan["amap"].read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    rows = [
        row
        for m in re.finditer(r"var data =", page)
        for row in decoder.raw_decode(page[m.end() :].lstrip())[0]
    ]
    (row,) = [r for r in rows if r[2].strip() == name]
    _, _, metres = Geod(ellps="WGS84").inv(
        row[1], row[0], float(src["Longitude"]), float(src["Latitude"])
    )
    print(f"{name}: {metres:.2f} m from its Amap position")
    assert metres < 10.0
