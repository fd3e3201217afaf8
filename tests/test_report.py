"""The city report and the national dashboard, on two tiny cities."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import _write_tiny_city

from latcircle.pipeline import national_rollup, run_config, write_progress
from latcircle.present.maps import write_map
from latcircle.present.report import write_dashboard, write_report
from latcircle.present.style import escape_text
from latcircle.run import RunResult

SITE_NAME = "<script>alert('site')</script>"


class _Refs(HTMLParser):
    """Collect every src/href of a page, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _city(folder: Path, city_id: str, *, name: str) -> Path:
    config = _write_tiny_city(folder, extra_yaml=f"id: {city_id}\nname: {name!r}\n")
    sites = pd.read_csv(folder / "sites.csv")
    sites.loc[0, "name"] = SITE_NAME
    sites.to_csv(folder / "sites.csv", index=False)
    return config


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult, Path]:
    """Two tiny cities run with progress, map and report, under one outputs/ folder."""
    root = tmp_path_factory.mktemp("report")
    steps = [write_progress, write_map, write_report]
    a = run_config(
        _city(root / "in-a", "tiny-a", name="Tiny A <b>&</b>"),
        out=root / "outputs" / "tiny-a",
        extra_outputs=steps,
    )
    b = run_config(
        _city(root / "in-b", "tiny-b", name="Tiny B"),
        out=root / "outputs" / "tiny-b",
        extra_outputs=steps,
    )
    return a, b, root / "outputs"


def test_report_is_self_contained(outputs: tuple[RunResult, RunResult, Path]) -> None:
    run = outputs[0]
    page = _parse(run.out / "report.html")
    assert "script" not in page.tags  # no script at all: nothing to run, nothing to fetch
    for ref in page.refs:
        assert ref.startswith("data:image/png;base64,") or not re.match(r"[a-z]+:", ref), ref
    images = [r for r in page.refs if r.startswith("data:image/png")]
    assert len(images) == 6  # progress, bands, curve, districts, fan, sensitivity
    for local in ("map.html", "coverage.csv", "progress.csv", "run.json"):
        assert local in page.refs and (run.out / local).exists()
    assert {p.name for p in (run.out / "figures").iterdir()} == {
        "bands.png",
        "curve.png",
        "districts.png",
        "progress.png",
        "fan.png",
        "sensitivity.png",
    }


def test_report_shows_every_section(outputs: tuple[RunResult, RunResult, Path]) -> None:
    run = outputs[0]
    text = " ".join(_parse(run.out / "report.html").text)
    for expected in (
        "Within 1 ms",
        "Synthetic city",
        "Hypothetical compute sites",
        "Progress toward the targets",
        "2027: 70%",
        "2028: 75%",
        "Districts within 1 ms",
        "West",
        "East",
        "Compute sites",
        "Largest uncovered clusters",
        "no access (build access)",
        "Model parameters",
        "Inputs",
    ):
        assert expected in text, expected
    share = run.headline["population"]
    assert f"{share:.1%}" in text
    progress = pd.read_csv(run.out / "progress.csv")
    judged = progress[progress["judged"]].sort_values("year")
    # Whole values, year by year (a substring search for "met" would find "metro"): the
    # status badges of the progress table, in year order, are the judged statuses.
    html = (run.out / "report.html").read_text(encoding="utf-8")
    section = html[html.index("Progress toward the targets") :]
    section = section[: section.index("</table>")]
    badges = re.findall(r"<span class='status'[^>]*>([^<]*)</span>", section)
    assert badges == list(judged["status"]), badges
    assert len(badges) > 0
    for year in judged["year"]:
        assert re.search(rf"<td[^>]*>{int(year)}</td>", section), year


def test_report_lists_every_model_parameter(outputs: tuple[RunResult, RunResult, Path]) -> None:
    run = outputs[0]
    text = " ".join(_parse(run.out / "report.html").text)
    params = dataclasses.asdict(run.metro.params)
    shown = {
        "k_us_per_m": f"{params['k_us_per_m'] * 1000:.4f} µs/km",
        "route_factor": f"route factor r {params['route_factor']:g}",
        "equipment_us": f"{params['equipment_us']:g} µs",
        "site_device_us": f"{params['site_device_us']:g} µs",
        "extra_us": "router + access extras",
        "max_drop_m": f"{params['max_drop_m']:g} m",
        "factor": "direction factor",
    }
    assert set(shown) == set(params), "a parameter is missing from the report"
    for value in shown.values():
        assert value in " ".join(text.split()), value


def test_report_escapes_names(outputs: tuple[RunResult, RunResult, Path]) -> None:
    run = outputs[0]
    html = (run.out / "report.html").read_text(encoding="utf-8")
    assert SITE_NAME not in html and "<b>&</b>" not in html
    assert escape_text(SITE_NAME) in html
    assert SITE_NAME in _parse(run.out / "report.html").text  # shown as text


def test_report_without_progress_says_so(
    outputs: tuple[RunResult, RunResult, Path], tmp_path: Path
) -> None:
    # A run that carries no progress (the report takes it from the run, not the folder).
    run = dataclasses.replace(outputs[1], shortfall=None)
    (tmp_path / "isochrones.gpkg").write_bytes((run.out / "isochrones.gpkg").read_bytes())
    write_report(run, tmp_path)
    text = " ".join(_parse(tmp_path / "report.html").text)
    assert "Progress by year was not computed" in text
    assert "Not computed for this run" in text
    assert not (tmp_path / "figures" / "progress.png").exists()


def test_report_links_the_map_only_when_one_was_written(
    outputs: tuple[RunResult, RunResult, Path], tmp_path: Path
) -> None:
    # With the map step before it, the report links map.html; a batch run with a report and
    # no map (``latcircle national --reports``) gets no dead link, and says why.
    with_map = _parse(outputs[0].out / "report.html")
    assert "map.html" in with_map.refs
    assert (outputs[0].out / "map.html").exists()
    # A run that carries no progress (the report takes it from the run, not the folder).
    run = dataclasses.replace(outputs[1], shortfall=None)
    (tmp_path / "isochrones.gpkg").write_bytes((run.out / "isochrones.gpkg").read_bytes())
    write_report(run, tmp_path)
    parsed = _parse(tmp_path / "report.html")
    assert "map.html" not in parsed.refs
    assert "Interactive map: not written by this run" in " ".join(parsed.text)
    for ref in parsed.refs:  # every relative link it keeps is a file the run writes
        if not ref.startswith(("data:", "#", "http")):
            assert (run.out / ref).exists(), ref


def test_dashboard_links_every_city(outputs: tuple[RunResult, RunResult, Path]) -> None:
    _, _, root = outputs
    national = national_rollup(
        [root], out=root / "national", include_synthetic=True, include_hypothetical=True
    )
    page = write_dashboard(national.out)
    assert page == root / "national" / "index.html"
    parsed = _parse(page)
    text = " ".join(parsed.text)
    assert "Tiny A <b>&</b>" in text and "Tiny B" in text  # escaped, shown as text
    assert "<b>&</b>" not in page.read_text(encoding="utf-8")
    for city in ("tiny-a", "tiny-b"):
        for target in ("report.html", "map.html"):
            href = f"../{city}/{target}"
            assert href in parsed.refs
            assert (page.parent / href).resolve().exists()
    assert any(r.startswith("data:image/png;base64,") for r in parsed.refs)
    assert "script" not in parsed.tags
    for word in ("2027 target", "2028 target", "synthetic", "By year", "Shortfalls"):
        assert word in text, word


def test_cjk_font_found_even_when_the_font_cache_predates_it() -> None:
    """A font manager that has never seen the CJK fonts gains them from fontconfig."""
    import copy
    import shutil

    from matplotlib import font_manager

    from latcircle.present.figures import cjk_fonts

    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig (fc-list) is not installed")
    stale = copy.copy(font_manager.fontManager)
    stale.ttflist = [f for f in stale.ttflist if "CJK" not in f.name]  # the cache before
    if not any(name for name in cjk_fonts(font_manager.fontManager)):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert cjk_fonts(stale)  # found again through fc-list and addfont
    assert any("CJK" in f.name for f in stale.ttflist)


def test_missing_cjk_font_is_said_once_with_the_fix(monkeypatch, caplog) -> None:
    from latcircle.present import figures

    monkeypatch.setattr(figures, "_font_families", lambda: ["DejaVu Sans"])
    figures._warn_no_cjk_font.cache_clear()
    with caplog.at_level("WARNING", logger="latcircle.present.figures"):
        assert figures.check_cjk_font(["Wuhan"])  # nothing Chinese: nothing to say
        assert not figures.check_cjk_font(["武汉市", "江岸区"])
        assert not figures.check_cjk_font(["洪山区"])
    said = [r.getMessage() for r in caplog.records if "Chinese" in r.getMessage()]
    assert said == [figures.CJK_FONT_FIX] and "fonts-noto-cjk" in said[0]
    figures._warn_no_cjk_font.cache_clear()


def test_dashboard_links_quote_folder_names(tmp_path: Path) -> None:
    # A run folder's name is data: '#', '?', '%', a space or a quote in it must stay part of
    # the path (not start a fragment or a query, not end the attribute).
    from types import SimpleNamespace

    from latcircle.present.report import city_links

    national = tmp_path / "national"
    runs = [
        SimpleNamespace(folder=tmp_path / "a #1?%'x", city="a", run="a #1?%'x", pages=()),
        SimpleNamespace(folder=tmp_path / "b", city="b", run="b", pages=("map.html",)),
    ]
    links = city_links(national, runs)  # type: ignore[arg-type]
    assert links["a #1?%'x"] == [
        ("coverage.csv", "../a%20%231%3F%25%27x/coverage.csv"),
        ("progress.csv", "../a%20%231%3F%25%27x/progress.csv"),
    ]
    assert links["a"] == links["a #1?%'x"]
    assert links["b"] == [("map", "../b/map.html")]
