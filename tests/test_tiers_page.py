"""The national tiers' page: offline in headless Chromium, data stays text, figures match tables.

Chromium resolves every host to a closed loopback port (the session's ``offline_browser``,
conftest): the page must open with no network at all, as the vendored Leaflet is inlined.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from latcircle.analysis.leo import LEO_PRESETS
from latcircle.analysis.tiers import national_tiers
from latcircle.inputs.backbone import Backbone, geodesic_m
from latcircle.present.tiers_page import TIER_CLASSES, city_classes, write_tiers_page

import cdn_replay

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CERNET = SHARED_DATA / "backbone" / "Cernet.graphml"
XSS = "<img src=x onerror=window.__pwned=1>"


def _line(n: int) -> Backbone:
    lon = np.arange(n, dtype=float)
    lat = np.zeros(n)
    u, v = np.arange(n - 1), np.arange(1, n)
    return Backbone(
        "line",
        tuple(f"n{i}" for i in range(n)),
        lon,
        lat,
        u,
        v,
        geodesic_m(lon[u], lat[u], lon[v], lat[v]),
    )


def _small_result(tmp_path: Path, hostile: str = XSS) -> Path:
    bb = _line(3)
    sites = pd.DataFrame({"id": ["h"], "name": [XSS], "kind": ["hub"], "lon": [0.0], "lat": [0.0]})
    cities = pd.DataFrame(
        {
            "adcode": ["1", "2", "3"],
            "name": [hostile, "on the line", "far"],
            "lon": [1.0, 2.0, 9.0],
            "lat": [0.5, 0.0, 0.0],
        }
    )
    res = national_tiers(bb, sites, cities, leo=LEO_PRESETS["leo550"])
    res.summary["title"] = XSS
    return write_tiers_page(res, bb, tmp_path)


def test_classes_cover_every_city_once() -> None:
    cities = pd.DataFrame(
        {
            "terrestrial_access": [True, True, True, False, False, False],
            "in_hub_tier": [True, True, False, False, False, False],
            "in_regional_tier": [True, False, False, False, False, False],
            "leo_meets_app_tier": [False, False, False, True, False, False],
            "leo_meets_hub_tier": [False, False, False, True, True, False],
        }
    )
    assert city_classes(cities).tolist() == list(TIER_CLASSES)


def test_page_is_self_contained_and_data_is_inert(tmp_path: Path) -> None:
    page = _small_result(tmp_path).read_text(encoding="utf-8")
    assert "<script src=" not in page  # Leaflet is inlined
    assert 'rel="stylesheet" href=' not in page
    assert XSS not in page  # neither in the tables nor in the JSON block
    assert "&lt;img src=x onerror=window.__pwned=1&gt;" in page


class _Scripts(HTMLParser):
    """Every script element of a page as the HTML parser sees it: attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


#: Text that would end the data block and run a script, a JavaScript line break (U+2028,
#: U+2029: line terminators inside pre-2019 JavaScript strings), an HTML comment opener, a
#: quote, an ampersand entity and Jinja2 syntax.
HOSTILE = "</script><script>window.__pwned=1</script>\u2028\u2029<!--'&amp;{{ 7*7 }}\"'"


def test_hostile_name_stays_in_the_json_block(tmp_path: Path) -> None:
    html = _small_result(tmp_path, HOSTILE).read_text(encoding="utf-8")
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    blocks = [text for attrs, text in parser.scripts if attrs.get("id") == "tiers-data"]
    assert len(blocks) == 1
    # The page's scripts are the data block, the inlined Leaflet and the page's own: no
    # script element came out of the data.
    assert [a.get("type") for a, _ in parser.scripts].count("application/json") == 1
    assert not any("__pwned" in text for _, text in parser.scripts if text is not blocks[0])
    # What JSON.parse reads (the element's text, as the parser saw it) gives the name back.
    data = json.loads(blocks[0])
    assert data["cities"]["name"][0] == HOSTILE
    for raw in ("<", ">", "&", "'", "\u2028", "\u2029"):
        assert raw not in blocks[0], raw


@pytest.mark.browser
def test_small_page_opens_offline(offline_browser: WebDriver, tmp_path: Path) -> None:
    page = _small_result(tmp_path)
    cdn_replay.open_page(offline_browser, page)
    cdn_replay.wait_for(offline_browser, "return window.tiersReady === true;")
    assert cdn_replay.js_problems(offline_browser) == []
    assert offline_browser.execute_script("return window.__pwned === undefined;")
    n = offline_browser.execute_script(
        "var n = 0; window.tiersMap.eachLayer(function (l) {"
        " if (l instanceof L.CircleMarker && !(l instanceof L.Circle)) { n++; } });"
        " return n;"
    )
    assert n == 3 + 1  # three cities and the hub
    assert XSS in offline_browser.execute_script("return document.title;")


@pytest.mark.browser
@pytest.mark.realdata
@pytest.mark.skipif(not CERNET.exists(), reason=f"real backbone data not found at {CERNET}")
def test_national_page_on_chinanet_and_cernet_opens_offline(
    offline_browser: WebDriver, national_tiers: Path
) -> None:
    # The session's ``latcircle -q tiers`` on both backbones with --plan (conftest; the
    # command as a process is test_tiers.py's): read-only, the browser only opens its page.
    out = national_tiers
    cities = pd.read_csv(out / "cities.csv", dtype={"adcode": str})
    cdn_replay.open_page(offline_browser, out / "tiers.html")
    cdn_replay.wait_for(offline_browser, "return window.tiersReady === true;")
    assert cdn_replay.js_problems(offline_browser) == []
    shown = offline_browser.execute_script(
        "var d = JSON.parse(document.getElementById('tiers-data').textContent);"
        "var c = {}; d.cities.cls.forEach(function (k) { c[k] = (c[k] || 0) + 1; }); return c;"
    )
    want = pd.Series(city_classes(cities)).value_counts().to_dict()
    assert shown == want
    assert sum(shown.values()) == len(cities) == 370
    summary = json.loads((out / "summary.json").read_text())
    assert (
        shown.get("no access, not reached", 0)
        + shown.get("no access, LEO within 20 ms", 0)
        + shown.get("no access, LEO within 10 ms", 0)
        == summary["no_terrestrial_access"]["cities"]
    )


@pytest.mark.browser
def test_hostile_name_is_inert_in_the_browser(offline_browser: WebDriver, tmp_path: Path) -> None:
    cdn_replay.open_page(offline_browser, _small_result(tmp_path, HOSTILE))
    cdn_replay.wait_for(offline_browser, "return window.tiersReady === true;")
    assert cdn_replay.js_problems(offline_browser) == []
    assert offline_browser.execute_script("return window.__pwned === undefined;")
    name = offline_browser.execute_script(
        "return JSON.parse(document.getElementById('tiers-data').textContent).cities.name[0];"
    )
    assert name == HOSTILE
