"""Open latcircle's Folium pages in headless Chromium with the CDNs replayed on loopback.

``map.html`` is a Folium page: like any Folium map it loads Leaflet and its plugins from
public CDNs, and neither tests nor benchmarks reach the internet. So the browser resolves
*every* host name to a loopback HTTPS server (``--host-resolver-rules``, certificate errors
ignored) that serves the very files the CDN URLs name, unpacked from the same npm packages
at the same versions (``npm pack`` tarballs under ``tests/.artifacts/npm``), plus folium's
own copy of the heat plugin; map tiles get a plain grey PNG. Pages are opened unchanged from
disk (``file://``), exactly as a user opens them.

No test reaches a registry: ``make test`` fetches the tarballs once, before the tests
(``python tests/cdn_replay.py prefetch tests/.artifacts/npm``, the packages of
:func:`browser_packages`); in a test a tarball missing from the cache is an :class:`AssetError`
(the browser tests skip, naming the command). Only the map benchmark may fetch
(``AssetStore(cache, fetch=True)``).

Used by ``tests/test_browser.py`` and by the ``map`` benchmark (``benchmarks/browser.py``).
It needs no pytest (failures raise :class:`AssetError`) and imports selenium only when a
browser is started, so a caller can first ask :func:`missing_tools` what is missing::

    store = AssetStore(cache)
    with cdn_server(store, workdir) as port:
        driver = start_browser(port, profile_dir)
        warm_assets(store, page)
        open_page(driver, page)
        wait_map_ready(driver)
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

__all__ = [
    "AXE_CORE",
    "CHROMEDRIVER",
    "CHROMIUM",
    "HOOKS",
    "MAP_READY_JS",
    "READY_HOOK",
    "SETTLE_QUIET_MS",
    "TILE_HOSTS",
    "AssetError",
    "AssetStore",
    "browser_packages",
    "cdn_server",
    "grey_png",
    "js_problems",
    "make_certificate",
    "missing_tools",
    "open_page",
    "prefetch",
    "reset_browser",
    "start_browser",
    "wait_for",
    "wait_map_ready",
    "warm_assets",
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

#: axe-core, the accessibility checker the workbench browser test runs in the page.
AXE_CORE = "axe-core@4.10.2"

#: Hosts answered with the grey tile instead of an asset.
TILE_HOSTS = ("tile.openstreetmap.org",)


class AssetError(RuntimeError):
    """A CDN asset could not be obtained (``npm pack`` failed)."""


# --- prerequisites -------------------------------------------------------------------------


def missing_tools(what: str = "browser test") -> str | None:
    """Return why a page cannot be opened here (a sentence), ``None`` when it can.

    Checks Debian's chromium and chromedriver and ``openssl`` (the server's certificate); the
    CDN assets are the prefetched tarballs (:func:`prefetch`). Selenium is the caller's to
    check: the tests skip on it with pytest's own message.

    Parameters
    ----------
    what
        Who needs the tools, as the sentence names it.
    """
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        return (
            f"headless {what} needs Debian chromium and chromium-driver "
            f"(missing: {', '.join(missing)}; apt-get install chromium chromium-driver)"
        )
    if shutil.which("openssl") is None:
        return f"{what} needs `openssl` to serve the map's CDN assets locally"
    return None


def browser_packages() -> list[str]:
    """Return the npm packages the browser tests serve: the map's pinned ones and axe-core."""
    from latcircle.present.assets import PACKAGES

    return [p for p, v in PACKAGES.items() if v["source"] == "npm"] + [AXE_CORE]


def prefetch(cache: Path, packages: Sequence[str] | None = None) -> list[Path]:
    """Fetch the packages' tarballs into ``cache`` with ``npm pack`` (those not there yet).

    Parameters
    ----------
    cache
        The tarball folder (``tests/.artifacts/npm``), created.
    packages
        ``<name>@<version>`` each; :func:`browser_packages` when ``None``.

    Returns
    -------
    list of pathlib.Path
        The tarballs, in the packages' order.

    Raises
    ------
    AssetError
        When ``npm`` is missing or a package cannot be fetched.
    """
    store = AssetStore(cache, fetch=True)
    return [store.tarball(p) for p in (packages or browser_packages())]


# --- CDN assets from npm -------------------------------------------------------------------


class AssetStore:
    """Files named by CDN URLs, taken from the npm packages the URLs point into.

    ``cdn.jsdelivr.net/npm/<pkg>@<v>/<path>``, ``cdn.jsdelivr.net/gh/<owner>/<pkg>@<v>/<path>``
    and ``cdnjs.cloudflare.com/ajax/libs/<pkg>/<v>/<file>`` map to ``<pkg>@<v>`` on npm;
    folium's heat plugin (``.../folium/templates/...``) comes from the installed folium. A
    minified name missing from a package falls back to its unminified twin (same code).

    Parameters
    ----------
    cache
        Folder of the ``npm pack`` tarballs (created); a tarball found there is used.
    fetch
        Whether a tarball missing from ``cache`` is fetched with ``npm pack`` (prefetching and
        the map benchmark); in tests it is an :class:`AssetError` instead.
    """

    def __init__(self, cache: Path, *, fetch: bool = False) -> None:
        self.cache = cache
        self.fetch = fetch
        cache.mkdir(parents=True, exist_ok=True)
        #: CDN URLs asked for and not served (nothing in the package, or npm failed).
        self.unknown: list[str] = []
        #: URLs served, in order.
        self.served: list[str] = []
        self._memo: dict[str, bytes | None] = {}
        #: When true, every CDN request fails, as it would for a user without internet.
        self.offline = False

    def get(self, url: str) -> bytes | None:
        """Return the file a CDN URL names, or ``None`` (kept in memory once read).

        Raises
        ------
        AssetError
            When the package cannot be fetched with ``npm pack``.
        """
        if url not in self._memo:
            self._memo[url] = self._read(url)
        return self._memo[url]

    def _read(self, url: str) -> bytes | None:
        parts = urlsplit(url)
        path = parts.path
        if "/folium/templates/" in path:
            import folium

            local = Path(folium.__file__).parent / "templates" / path.rsplit("/", 1)[1]
            return local.read_bytes() if local.exists() else None
        spec = self._npm_spec(parts.netloc, path)
        if spec is None:
            return None
        package, inner = spec
        return self._member(package, inner)

    @staticmethod
    def _npm_spec(host: str, path: str) -> tuple[str, list[str]] | None:
        if host == "cdn.jsdelivr.net":
            m = re.match(r"^/npm/((?:@[^/]+/)?[^/@]+@[^/]+)/(.+)$", path)
            if m:
                return m.group(1), [m.group(2)]
            m = re.match(r"^/gh/[^/]+/([^/@]+@[^/]+)/(.+)$", path)
            if m:
                return m.group(1), [m.group(2)]
        if host == "cdnjs.cloudflare.com":
            m = re.match(r"^/ajax/libs/([^/]+)/([^/]+)/(.+)$", path)
            if m:
                name = m.group(1).lower()
                return f"{name}@{m.group(2)}", [f"dist/{m.group(3)}", m.group(3)]
        return None

    def _member(self, package: str, inner: list[str]) -> bytes | None:
        with tarfile.open(self.tarball(package)) as tar:
            names = set(tar.getnames())
            for candidate in inner:
                for name in (candidate, candidate.replace(".min.", ".")):
                    if f"package/{name}" in names:
                        data = tar.extractfile(f"package/{name}")
                        return data.read() if data is not None else None
        return None

    def tarball(self, package: str) -> Path:
        """Return the package's tarball in the cache, fetching it only when allowed.

        Raises
        ------
        AssetError
            When it is not in the cache and fetching is off, or ``npm pack`` fails.
        """
        stem = package.lstrip("@").replace("/", "-").replace("@", "-")
        found = sorted(self.cache.glob(f"{stem}*.tgz"))
        if found:
            return found[0]
        if not self.fetch:
            raise AssetError(
                f"{package} is not in {self.cache}: `make test` fetches the browser tests' "
                f"packages first (python tests/cdn_replay.py prefetch {self.cache})"
            )
        if shutil.which("npm") is None:
            raise AssetError(f"npm is needed to fetch {package} (apt-get install npm)")
        done = subprocess.run(
            ["npm", "pack", package, "--pack-destination", str(self.cache), "--silent"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise AssetError(f"npm pack {package} failed: {done.stderr.strip()[:300]}")
        name = done.stdout.strip().splitlines()[-1]
        return self.cache / name


def warm_assets(store: AssetStore, page: Path) -> None:
    """Unpack every asset the page names first, so load times measure the page itself.

    Raises
    ------
    AssetError
        When a package cannot be fetched.
    """
    html = page.read_text(encoding="utf-8")
    for url in re.findall(r'(?:src|href)="(https://[^"]+)"', html):
        store.get(url)


def grey_png() -> bytes:
    """Return a 256 x 256 plain light-grey PNG: a stand-in map tile."""
    raw = b"".join(b"\x00" + b"\xe8\xe8\xe8" * 256 for _ in range(256))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (256).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# --- the loopback HTTPS server -------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    store: AssetStore
    tile = grey_png()

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        url = f"https://{host}{self.path}"
        if host.endswith(TILE_HOSTS):
            return self._send(200, self.tile, "image/png")
        try:
            body = None if self.store.offline else self.store.get(url)
        except AssetError:  # listed as unknown, so the caller's check names the URL
            body = None
        if body is None:
            if "cdn" in host:
                self.store.unknown.append(url)
            return self._send(404, b"not served in tests", "text/plain")
        self.store.served.append(url)
        kinds = {
            "js": "application/javascript",
            "css": "text/css",
            "png": "image/png",
            "svg": "image/svg+xml",
        }
        ctype = kinds.get(self.path.rsplit(".", 1)[-1], "application/octet-stream")
        return self._send(200, body, ctype)

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")  # each page load asks again
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that quits while a tile is on its way closes the socket: not an error.
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            return
        super().handle_error(request, client_address)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a one-day self-signed certificate and its key; return ``(cert, key)``.

    The browser ignores certificate errors, so any subject will do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=latcircle-test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@contextlib.contextmanager
def cdn_server(store: AssetStore, certs: Path) -> Iterator[int]:
    """Serve ``store`` over HTTPS on a free loopback port (a daemon thread); yield the port.

    Parameters
    ----------
    store
        The assets to serve.
    certs
        Folder for the server's certificate and key (written here).
    """
    cert, key = make_certificate(certs)
    handler = type("Handler", (_Handler,), {"store": store})
    server = _Server(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- the browser ---------------------------------------------------------------------------

#: Installed before any page script: records errors and alerts instead of blocking on them.
HOOKS = """
window.__errors = [];
window.__alerts = [];
window.addEventListener('error', function (e) {
  if (e.target && e.target !== window) { return; }  // resource errors are checked elsewhere
  window.__errors.push(String(e.message) + ' @' + e.filename + ':' + e.lineno);
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__errors.push('unhandled rejection: ' + String(e.reason));
});
window.alert = function (m) { window.__alerts.push(String(m)); };
"""

#: A JavaScript expression, true once a Folium map is there: the load event has fired (so
#: every inline script has run), Leaflet is loaded, the map object exists with its view set,
#: the layer control is on the page (Folium adds it after every layer) and vector layers are
#: drawn (``.leaflet-interactive``, what the tests wait for).
MAP_READY_JS = """(function () {
  if (document.readyState !== 'complete' || typeof L === 'undefined') { return false; }
  var div = document.querySelector('.folium-map');
  var map = div && window[div.id];
  return !!(map && map instanceof L.Map && map._loaded
            && document.querySelector('.leaflet-control-layers')
            && document.querySelector('.leaflet-interactive'));
})()"""

#: Classes Leaflet (zoom, pan) and Leaflet.markercluster put on the map pane while animating.
_ANIMATING = ".leaflet-zoom-anim, .leaflet-pan-anim, .leaflet-cluster-anim"

#: Quiet time (ms) after which a map whose DOM stopped changing counts as settled: longer than
#: Leaflet's 250 ms zoom animation and markercluster's 200 ms, which may follow each other.
SETTLE_QUIET_MS = 500

#: Installed before any page script: times the opening of a Folium map inside the page, in ms
#: since navigation start (``performance.now()``), so that no WebDriver round trip counts. From
#: the load event on it checks every 5 ms, and a ``MutationObserver`` watches the map
#: container. When done it sets ``window.__lcReady``:
#:
#: * ``ready`` -- when :data:`MAP_READY_JS` first held;
#: * ``settled`` -- when the map's own layers reached their final state: the last change to the
#:   map's DOM outside the base-map tiles, or ``ready`` if later (Folium's ``fitBounds`` may
#:   start a zoom animation that is still running at the load event, and markercluster then
#:   re-clusters with an animation of its own); known once no animation class is on the map
#:   and nothing has changed for :data:`SETTLE_QUIET_MS`;
#: * ``frame`` -- when the first frame after ``settled`` had been rendered (an animation frame,
#:   then a task, which runs after that frame's paint): the map is on screen;
#: * ``tiles`` -- the last change among the base-map tiles after the load event (``null`` if
#:   none): tiles come from a tile server, not from the page, so ``settled`` does not wait
#:   for them, but they too must be quiet for :data:`SETTLE_QUIET_MS` before it is set.
#:
#: ``window.__lcOpen`` holds the progress (for a diagnosis when the map never settles);
#: ``window.__lcReady`` stays unset on a page without a Folium map.
READY_HOOK = """
window.addEventListener('load', function () {
  var div = document.querySelector('.folium-map');
  if (!div) { return; }  // not a map: nothing to wait for
  var s = window.__lcOpen = {load: performance.now(), ready: null, last: null, frame: null,
                             tiles: null, done: null, seq: 0, polls: 0, frames: 0};
  function stamp() {  // note when the frame after the latest change has been rendered
    var mine = ++s.seq;
    s.frame = null;
    requestAnimationFrame(function () {
      s.frames += 1;
      setTimeout(function () { if (mine === s.seq) { s.frame = performance.now(); } }, 0);
    });
  }
  new MutationObserver(function (records) {
    var now = performance.now(), own = false;
    records.forEach(function (r) {
      var el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest('.leaflet-tile-pane')) { s.tiles = now; } else { own = true; }
    });
    if (own && s.ready !== null) { s.last = now; stamp(); }
  }).observe(div, {childList: true, subtree: true, attributes: true, characterData: true});
  (function poll() {
    var now = performance.now();
    s.polls += 1;
    if (s.ready === null && %s) {
      s.ready = s.last = now;
      stamp();
    }
    if (s.ready !== null && s.frame !== null && now - s.last >= %d
        && now - (s.tiles || 0) >= %d && !div.querySelector(%s)) {
      s.done = now;
      window.__lcReady = {ready: s.ready, settled: s.last, frame: s.frame, tiles: s.tiles};
    } else if (now - s.load < 120000) {
      setTimeout(poll, 5);
    }
  })();
});
""" % (MAP_READY_JS, SETTLE_QUIET_MS, SETTLE_QUIET_MS, json.dumps(_ANIMATING))  # noqa: UP031


def start_browser(
    port: int, profile: Path, *, hooks: Sequence[str] = (HOOKS,), page_load_timeout: float = 60
) -> WebDriver:
    """Start headless Chromium (through chromedriver) with every host on the asset server.

    Parameters
    ----------
    port
        The loopback port of :func:`cdn_server`.
    profile
        An empty folder for the browser profile (``--user-data-dir``): a fresh profile has
        empty HTTP and code caches.
    hooks
        Scripts run in every new document before the page's own (:data:`HOOKS`,
        :data:`READY_HOOK`).
    page_load_timeout
        Seconds ``driver.get`` may wait for a page's load event.

    Returns
    -------
    WebDriver
        The driver; the caller quits it.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1366,900",
        "--ignore-certificate-errors",
        f"--user-data-dir={profile}",
        # Every host name resolves to the loopback asset server: nothing leaves the machine.
        f"--host-resolver-rules=MAP * 127.0.0.1:{port}, EXCLUDE localhost",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(page_load_timeout)
        for source in hooks:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
    except BaseException:
        driver.quit()
        raise
    return driver


def reset_browser(driver: WebDriver, window: dict[str, int]) -> None:
    """Give a browser shared by several tests the state it started with.

    A blank page, the window size it started with (``driver.get_window_size()`` then), no
    device emulation (``Emulation.setDeviceMetricsOverride``), the default script timeout
    (30 s) and no pending browser log entries; the hooks of :func:`start_browser` stay.
    """
    driver.get("about:blank")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.set_window_size(window["width"], window["height"])
    driver.set_script_timeout(30)
    driver.get_log("browser")


def open_page(driver: WebDriver, path: Path) -> float:
    """Open a file, wait for the load event; return the load time in seconds.

    The load time is the browser's own: navigation start to the end of the load event.
    """
    driver.get_log("browser")  # drop earlier entries
    driver.get(path.resolve().as_uri())
    timing = driver.execute_script(
        "var t = performance.getEntriesByType('navigation')[0];"
        "return [t.startTime, t.loadEventEnd];"
    )
    return (timing[1] - timing[0]) / 1000.0


def js_problems(driver: WebDriver) -> list[str]:
    """Return JavaScript errors from the page hooks and SEVERE browser log entries."""
    out = list(driver.execute_script("return window.__errors || [];"))
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            out.append(entry["message"])
    return out


def wait_for(driver: WebDriver, script: str, timeout: float = 20.0) -> Any:
    """Run ``script`` every 0.1 s until it returns something true; return that.

    Raises
    ------
    AssertionError
        When ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def wait_map_ready(driver: WebDriver, timeout: float = 60.0) -> None:
    """Wait until the open page's Folium map is ready (:data:`MAP_READY_JS`).

    Raises
    ------
    AssertionError
        When ``timeout`` seconds pass first.
    """
    wait_for(driver, f"return {MAP_READY_JS};", timeout)


if __name__ == "__main__":
    # python tests/cdn_replay.py prefetch DIR: the install step of `make test` (Makefile).
    if len(sys.argv) != 3 or sys.argv[1] != "prefetch":
        sys.exit("usage: python tests/cdn_replay.py prefetch DIR")
    if shutil.which("npm") is None:
        print("cdn_replay: npm not found: the browser tests will skip", file=sys.stderr)
        sys.exit(0)
    try:
        fetched = prefetch(Path(sys.argv[2]))
    except AssetError as exc:
        print(f"cdn_replay: {exc}: the browser tests will skip", file=sys.stderr)
        sys.exit(0)
    print(f"cdn_replay: {len(fetched)} npm packages in {sys.argv[2]}", file=sys.stderr)
