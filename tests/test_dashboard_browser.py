"""The national dashboard in headless Chromium, with every host name unresolvable.

The page must draw its three charts from inline SVG with no request at all, and a city name
written as markup must stay text (no element made, no script run). A screenshot goes to
``tests/.artifacts/dashboard.png``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from latcircle.cli import main

from cdn_replay import CHROMEDRIVER, CHROMIUM

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / ".artifacts"
EVIL = '<img src=x onerror="window.__xss=1">'

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("headless Chromium and chromedriver are needed (apt-get install chromium)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1366,768",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no host name resolves: no network
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import _write_tiny_city

    folder = tmp_path_factory.mktemp("dash")
    config = _write_tiny_city(folder / "city")
    out = folder / "outputs"
    argv = ["-q", "run", "--no-map", "--no-report", "--out", str(out / "tiny"), str(config)]
    assert main(argv) == 0
    record = json.loads((out / "tiny" / "run.json").read_text(encoding="utf-8"))
    record["city"]["name"] = EVIL
    (out / "tiny" / "run.json").write_text(json.dumps(record), encoding="utf-8")
    assert main(["-q", "national-rollup", str(out), "--out", str(out / "national")]) == 0
    return out / "national" / "index.html"


def test_dashboard_charts_draw_offline(browser: WebDriver, dashboard: Path) -> None:
    page = dashboard.read_text(encoding="utf-8")
    assert EVIL not in page  # written as text, in the table and in the charts
    assert page.count("&lt;img src=x onerror=") >= 3
    browser.get(dashboard.as_uri())
    charts = browser.execute_script(
        "return [...document.querySelectorAll('svg[role=img]')].map(s => {"
        "  const r = s.getBoundingClientRect();"
        "  return [s.getAttribute('aria-label'), r.width, r.height, s.querySelectorAll("
        "  'rect,polyline').length]; });"
    )
    assert len(charts) == 3, charts
    assert all(w > 300 and h > 50 and marks > 0 for _, w, h, marks in charts), charts
    assert browser.execute_script("return window.__xss === undefined;")
    assert browser.execute_script("return document.querySelectorAll('main img').length;") == 0
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert resources == []  # no request at all: every chart is inline
    levels = browser.execute_script(
        "return [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]);"
    )
    assert levels[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(levels))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
