"""The map as a workbench, in headless Chromium with the network cut off.

On the demo metro (and Wuhan with the real data): the year slider set to 2024 redraws the
rings and prints the headline of a separate ``--year 2024`` run; ticking what-if builds
prints the shares ``--year 2024 --add-site LON,LAT ...`` computes (its headline and coverage
table, ``_with_sites``; one set of builds also against a whole such run); at 1366×768 no
control covers another (the legend and the panel fold and scroll); axe-core finds no WCAG
2 A/AA violation; the page requests nothing but base-map tiles (nothing at all with
``--basemap none``); Chinese words and names render (``tests/.artifacts/map-zh.png``).

axe-core is the npm package, unpacked by the same ``npm pack`` cache as the replayed CDN
files (``cdn_replay.AssetStore``); the test skips when it cannot be had.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pytest

import cdn_replay
from cdn_replay import js_problems, open_page, wait_for, wait_map_ready

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from latcircle.run import RunResult

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / ".artifacts"
AXE_URL = f"https://cdn.jsdelivr.net/npm/{cdn_replay.AXE_CORE}/axe.min.js"
#: Chinese names for the demo's districts (the demo itself has none).
LOCAL = {
    "North Hills": "北山区",
    "West Fields": "西田区",
    "Riverside Core": "滨江中心区",
    "East Gate": "东门区",
    "South Plain": "南原区",
}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser(offline_browser: WebDriver) -> WebDriver:
    """The session's offline Chromium (conftest), reset for each test."""
    return offline_browser


def _with_local_names(data: Path) -> None:
    """Give the demo's districts Chinese names (the ``name_local`` field) and the city one."""
    config = data / "demo.yaml"
    districts = next(p for p in data.iterdir() if p.stem == "districts")
    gdf = gpd.read_file(districts)
    gdf["name_local"] = [LOCAL[n] for n in gdf["name"]]
    gdf.to_file(districts)
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "name_local: 演示城市\n", encoding="utf-8")


#: The fewest Monte Carlo draws a config allows (the default is 4000). The shares checked here
#: do not depend on the draws, and they cost: with an added site (20 µs) beside the demo's
#: 2024 sites (350 µs), each what-if reference run takes every draw on every undecided sample
#: (``uncertainty._mc_lengths``), about 4 min of CPU at 4000 draws. The map and the reference
#: runs are made from this same config.
FEW_DRAWS = "uncertainty: {samples: 100}\n"


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, demo_inputs: Path, demo_metro: Any
) -> dict[str, object]:
    """The demo run, its maps (English, Chinese, no base map) and the 2024 reference runs.

    Local names and fewer draws change inputs: a private copy of the session's demo inputs
    (conftest), whose districts are read again into the session's prepared metro
    (``renamed_metro``: names and the config's draws are the only changes, so nothing else
    is prepared again).
    """
    from conftest import copy_demo_inputs, renamed_metro

    from latcircle.analysis.memo import YearsMemo
    from latcircle.pipeline import RunOptions, run_city, write_progress
    from latcircle.present.maps import map_pages

    folder = tmp_path_factory.mktemp("workbench-demo")
    config = copy_demo_inputs(demo_inputs, folder / "data")
    _with_local_names(folder / "data")
    with config.open("a", encoding="utf-8") as f:
        f.write(FEW_DRAWS)
    metro = renamed_metro(
        demo_metro,
        config,
        renamed={"districts": ["name_local"]},
        config_keys=["name_local", "uncertainty"],
    )
    # The memo keeps what the runs of this metro share whatever their year (the progress
    # years' scenarios and critical values): the year runs of the references take them from
    # it instead of solving them again (about 2.6 s of CPU less per reference, 2026-12-07).
    # What the tests check of a reference (headline, coverage, rings) is solved by that run.
    memo = YearsMemo()
    result = run_city(
        metro.config,
        out=folder / "out",
        metro=metro,
        extra_outputs=[write_progress],
        options=RunOptions(memo=memo),
    )
    # The three pages share the workbench's parts (slider years, what-if sets), computed once
    # (map_pages: each page the bytes write_map writes alone, tests/test_map_pages.py).
    texts = map_pages(
        result,
        result.out,
        {"en": {"lang": "en"}, "zh": {"lang": "zh"}, "none": {"lang": "en", "basemap": "none"}},
    )
    pages = {}
    for name, text in texts.items():
        pages[name] = result.out / f"map-{name}.html"
        pages[name].write_text(text, encoding="utf-8")
    return {"result": result, "pages": pages, "folder": folder, "memo": memo}


def _reference(
    demo: dict, name: str, *, year: int | None, add: list, files: bool = True
) -> RunResult:
    """A separate run of ``--year`` and ``--add-site`` on the map's metro.

    With ``files=False`` it is computed and not written (``compute_run``, which ``run_city``
    runs before writing: the same headline and coverage table, about 1.4 s of CPU less).
    A run without added sites shares the fixture's :class:`YearsMemo` (the metro with
    sites added is another metro, which a memo refuses to serve).
    """
    from latcircle.pipeline import RunOptions, compute_run, run_city

    result: RunResult = demo["result"]  # type: ignore[assignment]
    cfg = result.metro.config.model_copy(update={"year": year})
    options = RunOptions(add_sites=add, progress=False, memo=None if add else demo["memo"])
    if not files:
        return compute_run(cfg, options, metro=result.metro)
    out = demo["folder"] / name  # type: ignore[operator]
    return run_city(cfg, out=out, metro=result.metro, options=options)


@dataclasses.dataclass(frozen=True)
class _Shares:
    """The headline and the coverage table of a run, as ``compute_run`` computes them."""

    headline: dict[str, float]
    coverage: pd.DataFrame


def _with_sites(demo: dict, year: int, add: list) -> _Shares:
    """The headline and coverage table of ``--year YEAR --add-site ...`` on the map's metro.

    The steps ``pipeline.compute_run`` takes for them: the sites added (``add_sites``), the
    scenario solved, ``coverage_table`` and ``Scenario.share`` at the budget; without the
    run's sensitivity and uncertainty stages (about 5 of its 6 s of CPU here), which
    neither reads. ``test_whatif_toggles_give_the_add_site_shares`` checks this against a
    whole ``compute_run`` (exactly) on one set of builds.
    """
    from latcircle.analysis.coverage import coverage_table
    from latcircle.analysis.plan import add_sites

    metro = demo["result"].metro
    cfg = metro.config.model_copy(update={"year": year})
    metro = add_sites(dataclasses.replace(metro, config=cfg), add)
    scenario = metro.scenario(year=year)
    table = coverage_table(
        [scenario.evaluations[b] for b in metro.bases],
        thresholds_ms=cfg.thresholds_ms,
        district_names=metro.district_names,
    )
    headline = {b: scenario.share(b, threshold_ms=cfg.budget_ms) for b in metro.bases}
    return _Shares(headline, table)


def _open(driver: WebDriver, page: Path, *, width: int = 1366, height: int = 900) -> float:
    """Open ``page`` at that size, wait for its map and workbench; return the load time."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    seconds = open_page(driver, page)
    wait_map_ready(driver)
    wait_for(driver, "return window.lcWorkbenchState !== undefined;")
    return seconds


def _unfold(driver: WebDriver) -> None:
    """Open the panel and the legend (folded by default on a short screen)."""
    driver.execute_script(
        "document.querySelectorAll('.lc-fold').forEach(function (b) {"
        "  if (b.getAttribute('aria-expanded') !== 'true') { b.click(); } });"
    )


def _set_year(driver: WebDriver, label: str) -> None:
    driver.execute_script(
        "var labels = JSON.parse(document.getElementById('lc-data').textContent).years"
        "  .map(function (y) { return y.label; });"
        "var i = document.getElementById('lc-year');"
        "i.value = labels.indexOf(arguments[0]); i.dispatchEvent(new Event('input'));",
        label,
    )


def _state(driver: WebDriver) -> dict:
    return driver.execute_script("return window.lcWorkbenchState;")


def _headline(driver: WebDriver) -> dict[str, str]:
    return driver.execute_script(
        "var out = {}; document.querySelectorAll('.lc-title-box .lc-share')"
        ".forEach(function (s) { out[s.getAttribute('data-basis')] = s.textContent; });"
        "return out;"
    )


def _ring_paths(driver: WebDriver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".map(function (p) { return p.getAttribute('d'); });"
    )


#: Each page's data document, read once (the pages are written once, by the fixture).
_DATA: dict[Path, dict] = {}


def _data(page: Path) -> dict:
    """The page's data document (a shared, read-only copy per page)."""
    import re

    if page not in _DATA:
        text = page.read_text(encoding="utf-8")
        m = re.search(r'<script type="application/json" id="lc-data">(.*?)</script>', text, re.S)
        assert m
        _DATA[page] = json.loads(m.group(1))
    return _DATA[page]


def test_slider_2024_is_the_year_run(browser: WebDriver, demo: dict) -> None:
    from latcircle.output.readback import read_layers
    from latcircle.present.style import percent

    page = demo["pages"]["en"]
    _open(browser, page)
    data = _data(page)
    assert "2024" in [y["label"] for y in data["years"]]
    before = _ring_paths(browser)
    _set_year(browser, "2024")
    state = _state(browser)
    assert state["year"] == "2024"
    ref = _reference(demo, "year2024", year=2024, add=[])
    shown = _headline(browser)
    for basis, value in ref.headline.items():
        assert state["now"][basis]["share"][-1] == value  # the same sums: exact
        assert shown[basis] == percent(value), (basis, shown)
    # The rings drawn are the 2024 run's: other paths than before, the 2024 areas.
    assert _ring_paths(browser) != before
    year = next(y for y in data["years"] if y["label"] == "2024")
    areas = [r["area"] for r in data["shapes"][year["shape"]]["rings"]]
    assert areas == list(read_layers(ref.out)["rings"]["area_km2"])
    cov = ref.coverage.query("scope == 'district' and threshold_ms == 1.0")
    for row in cov.itertuples():
        i = data["districts"].index(row.name)
        got = state["now"][row.basis]["share"][i]
        assert (got is None and row.share != row.share) or got == row.share
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "workbench-2024.png"))
    assert [p for p in js_problems(browser) if "openstreetmap" not in p] == []


def test_whatif_toggles_give_the_add_site_shares(browser: WebDriver, demo: dict) -> None:
    from latcircle.present.style import percent

    page = demo["pages"]["en"]
    _open(browser, page)
    _set_year(browser, "2024")
    builds = _data(page)["builds"]
    assert len(builds) >= 4, builds
    for k, on in enumerate([[0], [1, 3], [0, 2, 3]]):
        browser.execute_script(
            "var on = arguments[0];"
            "document.querySelectorAll('.lc-build input').forEach(function (b, j) {"
            "  if (b.checked !== on.includes(j)) { b.click(); } });",
            on,
        )
        state = _state(browser)
        assert [j for j, v in enumerate(state["on"]) if v] == on
        added = [(float(builds[j]["lon"]), float(builds[j]["lat"]), None) for j in on]
        ref = _with_sites(demo, 2024, added)
        if k == 2:  # the reference is what a whole --add-site run computes, exactly
            run = _reference(demo, f"add{k}", year=2024, add=added, files=False)
            assert run.headline == ref.headline
            # Every column coverage_table makes (the run appends the uncertainty quantiles).
            pd.testing.assert_frame_equal(run.coverage[list(ref.coverage.columns)], ref.coverage)
        shown = _headline(browser)
        for basis, value in ref.headline.items():
            got = state["now"][basis]["share"][-1]
            assert got == pytest.approx(value, rel=1e-12), (on, basis)
            assert shown[basis] == percent(value), (on, basis, shown)
        cov = ref.coverage.query("scope == 'district' and threshold_ms == 1.0")
        data = _data(page)
        for row in cov.itertuples():
            got = state["now"][row.basis]["share"][data["districts"].index(row.name)]
            if row.share == row.share:
                assert got == pytest.approx(row.share, rel=1e-12), (on, row)
    browser.save_screenshot(str(ARTIFACTS / "workbench-whatif.png"))


def _overlaps(driver: WebDriver) -> tuple[list, list]:
    """Pairs of visible controls that overlap, and controls outside the viewport."""
    rects = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control'))"
        ".map(function (c) { var r = c.getBoundingClientRect();"
        "  return [c.className, r.left, r.top, r.right, r.bottom]; })"
        ".filter(function (r) { return r[3] > r[1] && r[4] > r[2]; });"
    )
    width, height = driver.execute_script("return [innerWidth, innerHeight];")
    pairs = [
        (a[0], b[0])
        for i, a in enumerate(rects)
        for b in rects[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]
    outside = [r[0] for r in rects if r[1] < 0 or r[2] < 0 or r[3] > width or r[4] > height]
    return pairs, outside


@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)])
def test_no_control_covered(browser: WebDriver, demo: dict, size: tuple[int, int]) -> None:
    _open(browser, demo["pages"]["en"], width=size[0], height=size[1])
    # The tile notice arrives with the first failed tile: the controls are checked with it.
    wait_for(browser, "return document.querySelector('.lc-tile-notice') !== null;")
    assert _overlaps(browser) == ([], [])
    # Unfolded, the panel and the legend scroll inside the room their corners leave.
    _unfold(browser)
    assert browser.execute_script(
        "return Array.from(document.querySelectorAll('.lc-fold'))"
        ".every(b => b.getAttribute('aria-expanded') === 'true');"
    )
    _set_year(browser, "2024")
    assert _overlaps(browser) == ([], [])
    browser.save_screenshot(str(ARTIFACTS / f"workbench-{size[0]}x{size[1]}-open.png"))


def _axe_source() -> str:
    if cdn_replay.missing_tools("axe-core"):
        pytest.skip(cdn_replay.missing_tools("axe-core"))
    store = cdn_replay.AssetStore(ARTIFACTS / "npm")
    try:
        body = store.get(AXE_URL)
    except cdn_replay.AssetError as exc:
        pytest.skip(f"axe-core not available: {exc}")
    if not body:
        pytest.skip("axe-core not available")
    return body.decode("utf-8")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_axe_finds_no_wcag_a_aa_violation(browser: WebDriver, demo: dict, lang: str) -> None:
    source = _axe_source()
    _open(browser, demo["pages"][lang])
    _unfold(browser)
    browser.execute_script(source)
    browser.set_script_timeout(120)
    result = browser.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})"
        ".then(function (r) { done(r.violations.map(function (v) {"
        "  return [v.id, v.impact, v.nodes.slice(0, 3).map(function (n) {"
        "    return n.target.join(' '); })]; })); })"
        ".catch(function (e) { done([['error', String(e), []]]); });"
    )
    print(f"axe ({lang}): {len(result)} violation(s)")
    assert result == [], json.dumps(result, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("name", ["en", "none"])
def test_no_request_but_tiles(browser: WebDriver, demo: dict, name: str) -> None:
    _open(browser, demo["pages"][name])
    _set_year(browser, "2024")
    browser.execute_script("document.querySelector('.lc-build input').click();")
    time.sleep(0.5)
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name);"
    )
    if name == "none":
        assert resources == []
    else:
        assert resources and all("tile.openstreetmap.org" in r for r in resources), resources


def test_chinese_words_and_names_render(browser: WebDriver, demo: dict) -> None:
    page = demo["pages"]["zh"]
    _open(browser, page)
    _unfold(browser)
    assert browser.execute_script("return document.documentElement.lang;") == "zh-Hans"
    assert browser.title.startswith("演示城市")
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('.lc-label div')).map(d => d.textContent);"
    )
    assert {lab.split(" · ")[0] for lab in labels} == set(LOCAL.values())
    legend = browser.find_element("css selector", ".lc-legend").text
    assert "到最近站点的单向时延" in legend and "无接入" in legend
    title = browser.find_element("css selector", ".lc-title-box").text
    assert "重点场所权重" in title and "个标记" in title
    # Glyphs, not tofu: a CJK label is about as wide as its characters at 11 px.
    width = browser.execute_script(
        "return document.querySelector('.lc-label div').getBoundingClientRect().width;"
    )
    assert width > 40
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "map-zh.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


# --- Wuhan (real data) --------------------------------------------------------------------


@pytest.mark.realdata
def test_wuhan_workbench(browser: WebDriver, wuhan_run: RunResult) -> None:
    from latcircle.pipeline import RunOptions, compute_run
    from latcircle.present.style import percent

    # The session's Wuhan run (conftest): its map.html is the default map of a whole run.
    result = wuhan_run
    cfg = result.metro.config
    page = result.out / "map.html"
    size_mb = page.stat().st_size / 1e6
    seconds = _open(browser, page)  # one load (the load times are the map benchmark's)
    print(f"wuhan map.html: {size_mb:.2f} MB, load {seconds:.2f} s")
    assert size_mb <= 8.0
    _set_year(browser, "2024")
    # The 2024 run computed, not written: the headline run_city writes (compute_run).
    ref = compute_run(
        cfg.model_copy(update={"year": 2024}), RunOptions(progress=False), metro=result.metro
    )
    state, shown = _state(browser), _headline(browser)
    for basis, value in ref.headline.items():
        assert state["now"][basis]["share"][-1] == value
        assert shown[basis] == percent(value)
    browser.save_screenshot(str(ARTIFACTS / "wuhan-workbench-2024.png"))
