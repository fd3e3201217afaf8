"""The map budget: a city's ``map.html`` opens in a real browser in under 3 s, under 8 MB.

The pages are made by the installed command, as a user makes them: ``latcircle -q run
data/cities/wuhan.yaml --out <tmp>`` (:func:`make_wuhan_page`) and ``latcircle -q demo``
(:func:`make_demo_page`). Then one child task (:func:`open_task`) opens each page ``runs``
times in headless Debian Chromium, with the machinery of the browser tests
(``tests/cdn_replay.py``): every host name resolves to a loopback HTTPS server that serves
the CDN files (Leaflet and its plugins) from the same npm packages, tiles are a grey PNG, and
the page is opened unchanged from disk (``file://``).

Each run starts a fresh browser with a fresh, empty profile (so its HTTP and code caches are
cold; the assets are served ``no-store`` anyway, already unpacked in the server's memory, and
``map.html`` itself is in the OS page cache, just written). The browser's start is timed apart
and not counted. What counts is timed in the page, in seconds since navigation start
(``performance.now()``), by a script installed before the page's own
(:data:`cdn_replay.READY_HOOK`):

* ``open_s`` -- the headline: until the map's own layers have settled and the next frame has
  been rendered. *Settled* is the last change to the map's DOM outside the base-map tiles once
  the map is ready (Folium's ``fitBounds`` may still be zooming, with an animation, at the load
  event, and markercluster then re-clusters with one of its own), known after 0.5 s without any
  change or animation; the frame is an animation frame, then a task (which runs after that
  frame's paint);
* ``ready_s`` -- until the Folium map is first ready (:data:`cdn_replay.MAP_READY_JS`: load
  event fired, so every inline script has run; Leaflet loaded; the map object created with its
  view set; the layer control, which Folium adds after every layer, on the page; vector layers
  drawn), checked every 5 ms from the load event on;
* ``load_s`` / ``dcl_s`` -- until the end of the ``load`` / ``DOMContentLoaded`` event;
* ``tiles_s`` -- the last change among the stand-in base-map tiles (the load event when none
  came later).

``wall_s`` is the open seen from the benchmark's side: from just before
``driver.get(file://...)`` until WebDriver reports ``open_s`` recorded, WebDriver round trips
and the 0.5 s quiet wait included.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks import ROOT
from benchmarks._measure import run_process, summary
from benchmarks.wuhan import latcircle_command

#: Where the npm tarballs of the CDN assets are cached: the browser tests' cache (git-ignored).
NPM_CACHE = ROOT / "tests" / ".artifacts" / "npm"

#: Seconds one page may take to open before the run counts as failed.
OPEN_TIMEOUT_S = 120.0


def _cdn_replay() -> ModuleType:
    """Import ``tests/cdn_replay.py``, the browser machinery shared with the browser tests.

    ``tests/`` is not a package: pytest puts that folder on ``sys.path`` for the tests, so the
    child task does the same (appended, so it shadows nothing) rather than keeping a second
    copy of the server and the browser set-up here. Only child tasks call this; the parent
    process's ``sys.path`` is left alone.
    """
    folder = str(ROOT / "tests")
    if folder not in sys.path:
        sys.path.append(folder)
    import cdn_replay

    return cdn_replay


# --------------------------------------------------------------------------- the pages


def _latcircle(args: list[str], what: str, *, timeout_s: float) -> None:
    run = run_process([*latcircle_command(), "-q", *args], timeout_s=timeout_s)
    if run.returncode != 0:
        msg = f"{what} failed (exit {run.returncode}):\n{run.stderr_tail}"
        raise RuntimeError(msg)


def make_wuhan_page(config: Path, out: Path, *, timeout_s: float = 600.0) -> Path:
    """Run ``latcircle -q run config --out out``; return its ``map.html``."""
    _latcircle(["run", str(config), "--out", str(out)], "latcircle run", timeout_s=timeout_s)
    return out / "map.html"


def make_demo_page(folder: Path, *, timeout_s: float = 600.0) -> Path:
    """Run ``latcircle -q demo`` (as ``make demo`` does) into ``folder``; return its map."""
    _latcircle(
        ["demo", "--data", str(folder / "data"), "--out", str(folder / "out")],
        "latcircle demo",
        timeout_s=timeout_s,
    )
    return folder / "out" / "map.html"


# --------------------------------------------------------------------------- child tasks


def check_task() -> dict[str, Any]:
    """Child task: say what is missing to open a page (``missing``: a reason, or ``None``)."""
    import importlib.util

    missing = _cdn_replay().missing_tools("map benchmark")
    if missing is None and importlib.util.find_spec("selenium") is None:
        missing = "map benchmark needs selenium (pip install -e '.[test]')"
    return {"missing": missing}


#: Resolves (WebDriver's async script) once the ready hook has recorded the map open.
_AWAIT_OPEN = """
var done = arguments[arguments.length - 1];
(function check() {
  if (window.__lcReady) { done(window.__lcReady); } else { setTimeout(check, 5); }
})();
"""

#: What the page says about itself once open.
_PAGE_FACTS = """
var nav = performance.getEntriesByType('navigation')[0];
var div = document.querySelector('.folium-map');
var layers = 0;
window[div.id].eachLayer(function () { layers += 1; });
return {
  dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
  resources: performance.getEntriesByType('resource').length,
  layers: layers, interactive: document.querySelectorAll('.leaflet-interactive').length,
  zoom: window[div.id].getZoom()
};
"""


def _open_once(cr: ModuleType, port: int, page: Path) -> dict[str, Any]:
    """Open ``page`` in a freshly started browser with a fresh profile; return the timings."""
    from selenium.common.exceptions import TimeoutException

    profile = Path(tempfile.mkdtemp(prefix="latcircle-bench-chromium-"))
    try:
        t0 = time.perf_counter()
        driver = cr.start_browser(
            port, profile, hooks=(cr.HOOKS, cr.READY_HOOK), page_load_timeout=OPEN_TIMEOUT_S
        )
        start_s = time.perf_counter() - t0
        try:
            driver.set_script_timeout(OPEN_TIMEOUT_S)
            w0 = time.perf_counter()
            driver.get(page.resolve().as_uri())  # returns after the load event
            try:
                mark = driver.execute_async_script(_AWAIT_OPEN)
            except TimeoutException:
                state = driver.execute_script("return window.__lcOpen || null;")
                msg = f"{page} never settled in {OPEN_TIMEOUT_S:g} s (hook state: {state})"
                raise RuntimeError(msg) from None
            wall_s = time.perf_counter() - w0
            facts = driver.execute_script(_PAGE_FACTS)
            problems = cr.js_problems(driver)
            version = driver.capabilities.get("browserVersion")
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if problems:  # a page that threw may look "ready" without all of its layers
        msg = f"{page.name} logged JavaScript errors: {problems[:5]}"
        raise RuntimeError(msg)
    tiles = mark["tiles"] if mark["tiles"] is not None else facts["load"]
    return {
        "browser_start_s": start_s,
        "wall_s": wall_s,
        "open_s": mark["frame"] / 1000.0,
        "settled_s": mark["settled"] / 1000.0,
        "ready_s": mark["ready"] / 1000.0,
        "load_s": facts["load"] / 1000.0,
        "dcl_s": facts["dcl"] / 1000.0,
        "tiles_s": tiles / 1000.0,
        "resources": facts["resources"],
        "layers": facts["layers"],
        "interactive": facts["interactive"],
        "zoom": facts["zoom"],
        "chromium": version,
    }


def open_task(pages: dict[str, str], runs: int, cache: str) -> dict[str, Any]:
    """Child task: open every page ``runs`` times, each in a fresh browser.

    Parameters
    ----------
    pages
        Name -> path of a ``map.html``.
    runs
        Opens per page; the pages take turns, so a slow spell of the machine hits all.
    cache
        Folder of the npm tarballs.

    Returns
    -------
    dict
        ``unavailable`` (why nothing was measured) when an asset cannot be had; otherwise
        ``chromium`` (its version), ``runs``, ``assets`` (the CDN files served: ``files``,
        ``bytes``) and ``pages``: per page, ``bytes``, summaries of ``open_s``,
        ``settled_s``, ``ready_s``, ``load_s``, ``dcl_s``, ``tiles_s``, ``wall_s`` and
        ``browser_start_s`` (see the module docstring), the settled page's ``resources``,
        ``layers``, ``interactive`` (vector elements) and ``zoom``, and the raw ``runs``.
    """
    cr = _cdn_replay()
    store = cr.AssetStore(Path(cache), fetch=True)  # a benchmark may fetch; tests never
    paths = {name: Path(p) for name, p in pages.items()}
    try:
        for page in paths.values():  # unpacked before any timing: the server answers from memory
            cr.warm_assets(store, page)
    except cr.AssetError as exc:
        return {"unavailable": str(exc)}
    raw: dict[str, list[dict[str, Any]]] = {name: [] for name in paths}
    with (
        tempfile.TemporaryDirectory(prefix="latcircle-bench-certs-") as certs,
        cr.cdn_server(store, Path(certs)) as port,
    ):
        for _ in range(runs):
            for name, page in paths.items():
                raw[name].append(_open_once(cr, port, page))
    if store.unknown:
        msg = f"CDN URLs the asset server could not serve: {sorted(set(store.unknown))}"
        raise RuntimeError(msg)
    keys = (
        "open_s",
        "settled_s",
        "ready_s",
        "load_s",
        "dcl_s",
        "tiles_s",
        "wall_s",
        "browser_start_s",
    )
    out: dict[str, Any] = {}
    for name, page in paths.items():
        rows = raw[name]
        out[name] = {
            "bytes": page.stat().st_size,
            **{k: summary([r[k] for r in rows]) for k in keys},
            **{k: rows[-1][k] for k in ("resources", "layers", "interactive", "zoom")},
            "runs": rows,
        }
    chromium = next((r["chromium"] for rows in raw.values() for r in rows), None)
    # What a user's browser downloads from the CDNs on a first open (tiles aside).
    served = sorted(set(store.served))
    assets = {"files": len(served), "bytes": sum(len(store.get(u) or b"") for u in served)}
    return {"chromium": chromium, "runs": runs, "assets": assets, "pages": out}
