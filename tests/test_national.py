"""The national roll-up: hand-made city outputs with known numbers, and real run outputs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from latcircle.analysis.progress import PROGRESS_COLUMNS
from latcircle.errors import InputError
from latcircle.output.files import write_csv
from latcircle.output.readback import find_city_dirs, read_city_outputs
from latcircle.pipeline import national_rollup

TARGETS = [
    {"year": 2027, "share": 0.70, "basis": "auto", "judged_on": "key_sites", "source": "Source A"},
    {"year": 2028, "share": 0.75, "basis": "auto", "judged_on": "key_sites", "source": "Source B"},
]


def progress_row(
    year: int,
    basis: str,
    covered: float,
    total: float,
    *,
    judged: bool,
    status: str = "",
    gap: float = 0.0,
    planned: float = float("nan"),
) -> dict[str, Any]:
    target_year = 2027 if year <= 2027 else 2028
    return {
        "year": year,
        "basis": basis,
        "unit": {"key_sites": "sites", "population": "people", "area": "km2"}[basis],
        "threshold_ms": 1.0,
        "sites_online": 3,
        "covered": covered,
        "total": total,
        "share": covered / total,
        "target_year": target_year,
        "target_share": 0.70 if target_year == 2027 else 0.75,
        "judged": judged,
        "planned_share": planned,
        "status": status,
        "gap": gap,
    }


def make_city(
    folder: Path,
    city: str,
    progress: list[dict[str, Any]],
    coverage: dict[str, tuple[float, float]],
    **run: Any,
) -> Path:
    """Write a city output folder: run.json, coverage.csv (1 ms rows), progress.csv."""
    folder.mkdir(parents=True)
    record = {
        "city": {
            "id": city,
            "name": city.title(),
            "synthetic": run.get("synthetic", False),
            "sites_hypothetical": run.get("hypothetical", False),
        },
        "scenario_year": run.get("scenario_year"),
    }
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    rows = [
        {
            "scope": "metro",
            "name": "metro",
            "basis": b,
            "unit": "",
            "threshold_ms": thr,
            "covered": cov * (thr / 1.0),
            "no_access": 0.0,
            "too_far": 0.0,
            "total": tot,
            "share": cov * (thr / 1.0) / tot,
        }
        for b, (cov, tot) in coverage.items()
        for thr in (0.5, 1.0)
    ]
    write_csv(pd.DataFrame(rows), folder / "coverage.csv")
    write_csv(pd.DataFrame(progress, columns=PROGRESS_COLUMNS), folder / "progress.csv")
    (folder / "progress.json").write_text(json.dumps({"targets": TARGETS}), encoding="utf-8")
    return folder


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """outputs/ with alpha (key sites), beta (population only), and things to skip."""
    root = tmp_path / "outputs"
    make_city(
        root / "alpha",
        "alpha",
        [
            progress_row(
                2026, "key_sites", 50, 100, judged=True, status="on track", gap=20, planned=0.72
            ),
            progress_row(2026, "population", 600_000, 1_000_000, judged=False),
            progress_row(2027, "key_sites", 72, 100, judged=True, status="met"),
            progress_row(2027, "population", 800_000, 1_000_000, judged=False),
            progress_row(2028, "key_sites", 72, 100, judged=True, status="behind", gap=3),
            progress_row(2028, "population", 800_000, 1_000_000, judged=False),
        ],
        {"key_sites": (72, 100), "population": (800_000, 1_000_000), "area": (100.0, 400.0)},
        hypothetical=True,
    )
    beta = make_city(
        root / "beta",
        "beta",
        [
            progress_row(
                2027, "population", 1_500_000, 3_000_000, judged=True, status="behind", gap=600_000
            ),
            progress_row(2028, "population", 2_400_000, 3_000_000, judged=True, status="met"),
        ],
        {"population": (2_400_000, 3_000_000), "area": (300.0, 600.0)},
        synthetic=True,
        scenario_year=2028,
    )
    write_csv(
        pd.DataFrame(
            {
                "year": [2028, 2028],
                "cause": ["too_far", "no_access"],
                "rank": [1, 1],
                "cells": [500, 100],
                "area_km2": [5.0, 1.0],
                "people": [250_000.0, 1_000.0],
                "key_sites": [float("nan")] * 2,
                "min_latency_us": [1200.0, float("nan")],
                "district": ["East", ""],
                "lon": [114.5, 114.1],
                "lat": [30.6, 30.4],
            }
        ),
        beta / "clusters.csv",
    )
    (root / "national").mkdir()
    (root / "national" / "summary.csv").write_text("old\n")
    (root / "national" / ".latcircle-run").write_text("")  # a previous run's, replaceable
    (root / ".alpha.tmp-abc").mkdir()
    (root / "README.md").write_text("notes\n")
    return root


def test_rollup_from_the_parent_folder(outputs: Path) -> None:
    result = national_rollup([outputs], out=outputs / "national")
    assert result.cities == ["alpha", "beta"]
    assert sorted(p.name for p, _ in result.skipped) == [".alpha.tmp-abc", "national"]
    for name in ("summary.csv", "progress.csv", "shortfalls.md"):
        assert (outputs / "national" / name).exists()
    summary = pd.read_csv(outputs / "national" / "summary.csv").set_index("city")
    assert summary.loc["alpha", "share_key_sites"] == pytest.approx(0.72)
    assert summary.loc["alpha", "population"] == 1_000_000
    assert summary.loc["alpha", "key_sites"] == 100
    assert pd.isna(summary.loc["beta", "share_key_sites"])
    assert summary.loc["beta", "share_area"] == pytest.approx(0.5)
    assert summary.loc["beta", "scenario_year"] == 2028
    assert list(summary["status_2027"]) == ["met", "behind"]
    assert list(summary["status_2028"]) == ["behind", "met"]
    assert list(summary["basis_2028"]) == ["key_sites", "population"]
    assert list(summary["gap_2027"]) == [0, 600_000]
    assert list(summary["gap_2028"]) == [3, 0]
    assert list(summary["share_2028"]) == pytest.approx([0.72, 0.8])


def test_national_progress_by_year(outputs: Path) -> None:
    progress = national_rollup(
        [outputs], out=outputs / "national", include_synthetic=True, include_hypothetical=True
    ).progress.set_index("year")
    assert list(progress.index) == [2026, 2027, 2028]
    assert list(progress["metros"]) == [1, 2, 2]
    assert list(progress["met"]) == [0, 1, 1]
    assert list(progress["on_track"]) == [1, 0, 0]
    assert list(progress["behind"]) == [0, 1, 1]
    assert list(progress["share_met"]) == [0.0, 0.5, 0.5]
    assert list(progress["target_share"]) == [0.70, 0.70, 0.75]
    # Judged shares weighted by population: (1 M x 0.72 + 3 M x 0.5) / 4 M in 2027.
    assert list(progress["share_pop_weighted"]) == pytest.approx([0.5, 0.555, 0.78])
    assert list(progress["population_share"]) == pytest.approx([0.6, 0.575, 0.8])
    assert list(progress["population_total"]) == [1_000_000, 4_000_000, 4_000_000]


def test_shortfalls_say_who_and_by_how_much(outputs: Path) -> None:
    text = national_rollup([outputs], out=outputs / "national").shortfalls
    assert text == (outputs / "national" / "shortfalls.md").read_text(encoding="utf-8")
    assert "## 2027 target: 70 % within 1 ms" in text
    assert "Source: Source A." in text
    assert (
        "**Beta**: 50 % of people within 1 ms by 2027 against 70 %, 20.0 points short: "
        "600,000 more people to cover." in text
    )
    assert (
        "**Alpha**: 72 % of key sites within 1 ms by 2028 against 75 %, 3.0 points short: "
        "3 more key sites to cover." in text
    )
    assert "Meet it: Alpha (72 % of key sites)." in text
    assert (
        "too far (build compute nearer): 5.0 km², 250,000 people, around 114.500 E, "
        "30.600 N (East)" in text
    )
    assert "**1 of 2 metros falls short:**" in text
    assert "Alpha [hypothetical sites]" in text and "Beta [synthetic]" in text
    assert "the national output folder itself" in text


def test_city_folders_given_one_by_one(outputs: Path) -> None:
    dirs = [outputs / "alpha", outputs / "beta", outputs / "national"]
    result = national_rollup(dirs, out=outputs / "national")
    assert result.cities == ["alpha", "beta"]
    assert [p.name for p, _ in result.skipped] == ["national"]


def test_rollup_is_deterministic(outputs: Path, tmp_path: Path) -> None:
    national_rollup([outputs], out=tmp_path / "n1")
    national_rollup([outputs / "beta", outputs / "alpha"], out=tmp_path / "n2")
    for name in ("summary.csv", "progress.csv"):
        assert (tmp_path / "n1" / name).read_bytes() == (tmp_path / "n2" / name).read_bytes()


def test_bad_run_json_names_the_file(outputs: Path) -> None:
    (outputs / "beta" / "run.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"beta/run\.json"):
        national_rollup([outputs], out=outputs / "national")
    # Nothing was replaced: the old national folder is intact.
    assert (outputs / "national" / "summary.csv").read_text() == "old\n"


def test_missing_progress_names_the_file(outputs: Path) -> None:
    (outputs / "alpha" / "progress.csv").unlink()
    with pytest.raises(InputError, match=r"alpha/progress\.csv: missing"):
        read_city_outputs(outputs / "alpha")


def test_missing_column_names_the_file_and_column(outputs: Path) -> None:
    path = outputs / "alpha" / "progress.csv"
    pd.read_csv(path).drop(columns="status").to_csv(path, index=False)
    with pytest.raises(InputError, match=r"alpha/progress\.csv: status: column missing"):
        national_rollup([outputs], out=outputs / "national")


def test_unknown_status_is_refused(outputs: Path) -> None:
    path = outputs / "alpha" / "progress.csv"
    table = pd.read_csv(path)
    table.loc[0, "status"] = "nearly"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match="unknown status 'nearly'"):
        read_city_outputs(outputs / "alpha")


def test_two_runs_of_a_city_named_apart_count_once(outputs: Path) -> None:
    import shutil

    shutil.copytree(outputs / "alpha", outputs / "alpha-2027")
    result = national_rollup(
        [outputs], out=outputs / "national", include_synthetic=True, include_hypothetical=True
    )
    assert result.cities == ["alpha", "alpha-2027", "beta"]
    summary = result.summary.set_index("run")
    assert list(summary["in_totals"]) == [True, False, True]
    assert summary.loc["alpha-2027", "totals_note"] == "another run of the same city is counted"
    # Counted once: the same totals as without the copy (2 metros in 2027, 1 M + 3 M people).
    by_year = result.progress.set_index("year")
    assert list(by_year["metros"]) == [1, 2, 2]
    assert list(by_year["population_total"]) == [1_000_000, 4_000_000, 4_000_000]


def test_same_city_under_the_same_folder_name_is_refused(outputs: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(outputs / "alpha", tmp_path / "elsewhere" / "alpha")
    with pytest.raises(InputError, match="same folder name"):
        national_rollup([outputs, tmp_path / "elsewhere"], out=outputs / "national")


def test_synthetic_and_hypothetical_runs_stay_out_of_the_totals(outputs: Path) -> None:
    """Alpha has hypothetical sites, Beta is synthetic: by default neither is counted."""
    result = national_rollup([outputs], out=outputs / "national")
    summary = result.summary.set_index("city")
    assert list(summary["in_totals"]) == [False, False]
    assert summary.loc["beta", "totals_note"].startswith("synthetic:")
    assert result.progress.empty
    assert "Not in the national totals" in result.shortfalls
    only_beta = national_rollup([outputs], out=outputs / "national", include_synthetic=True)
    by_year = only_beta.progress.set_index("year")
    assert list(by_year["metros"]) == [1, 1]  # 2027, 2028: Beta alone
    assert list(by_year["population_share"]) == pytest.approx([0.5, 0.8])


def test_a_folder_that_is_not_a_city_run_is_skipped(outputs: Path) -> None:
    other = outputs / "notes"
    other.mkdir()
    (other / "run.json").write_text('{"tool": "something else"}', encoding="utf-8")
    result = national_rollup([outputs], out=outputs / "national")
    reasons = dict((p.name, r) for p, r in result.skipped)
    assert reasons["notes"].startswith("not a city run") and "city.id" in reasons["notes"]
    assert result.cities == ["alpha", "beta"]


def test_nothing_to_roll_up(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no city outputs found"):
        find_city_dirs([tmp_path / "empty"])
    with pytest.raises(InputError, match="no such folder"):
        find_city_dirs([tmp_path / "missing"])


def test_rollup_of_real_runs(tmp_path: Path) -> None:
    """Two hand-built cities run through the pipeline with progress outputs."""
    from test_progress import PLAN, road_city

    from latcircle.pipeline import run_city, write_progress

    full = [{**s, "year": 2025} for s in PLAN] + [{"x": 9000.0, "year": 2028}]
    for city, sites in (("road", PLAN), ("full", full)):
        cfg = road_city(tmp_path / "in" / city, sites, city_id=city)
        run_city(cfg, out=tmp_path / "outputs" / city, extra_outputs=[write_progress])
    result = national_rollup([tmp_path / "outputs"], out=tmp_path / "outputs" / "national")
    summary = result.summary.set_index("city")
    assert list(summary.index) == ["full", "road"]
    assert summary.loc["road", "status_2027"] == "met"
    assert summary.loc["road", "status_2028"] == "behind"
    assert summary.loc["road", "gap_2028"] == 1.0
    assert summary.loc["full", "share_2028"] == pytest.approx(0.9)
    assert summary.loc["full", "status_2028"] == "met"
    assert "**Road**: 70 % of key sites within 1 ms by 2028 against 75 %" in result.shortfalls
    assert "1 more key site to cover" in result.shortfalls
    by_year = result.progress.set_index("year")
    assert list(by_year["met"]) == [1, 1, 2, 1]  # 2025-2028
    assert list(by_year["on_track"]) == [1, 1, 0, 0]


def test_national_chart_plots_the_pooled_share(outputs: Path) -> None:
    """The chart's line is the pooled share column, whatever other *share* columns hold."""
    from latcircle.analysis.national import POOLED_SHARE
    from latcircle.present.figures import national_chart

    progress = national_rollup(
        [outputs], out=outputs / "national", include_synthetic=True, include_hypothetical=True
    ).progress
    # Every other share column differs from the pooled one in every year: plotting any of
    # them (target_share, share_met, share_pop_weighted) cannot pass.
    others = [c for c in progress.columns if "share" in c and c != POOLED_SHARE]
    assert others and all(
        (progress[c].astype(float) != progress[POOLED_SHARE]).all() for c in others
    )
    fig = national_chart(progress)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == POOLED_SHARE]
    assert len(lines) == 1
    assert list(lines[0].get_ydata()) == pytest.approx([0.6, 0.575, 0.8])  # by hand above
    assert len(fig.axes[0].get_lines()) == 1  # the one line (targets are scatter stars)


def test_national_chart_refuses_a_table_without_the_pooled_share(outputs: Path) -> None:
    from latcircle.analysis.national import POOLED_SHARE
    from latcircle.present.figures import national_chart

    progress = national_rollup(
        [outputs], out=outputs / "national", include_synthetic=True, include_hypothetical=True
    ).progress
    with pytest.raises(KeyError, match=POOLED_SHARE):
        national_chart(progress.drop(columns=POOLED_SHARE))


def test_dashboard_renders_the_shortfalls_as_html(outputs: Path) -> None:
    from latcircle.pipeline import run_national

    (outputs / "alpha" / "run.json").write_text(
        (outputs / "alpha" / "run.json")
        .read_text(encoding="utf-8")
        .replace('"name": "Alpha"', '"name": "Alpha <script>alert(1)</script>"'),
        encoding="utf-8",
    )
    run_national([outputs], out=outputs / "national", include_hypothetical=True)
    page = (outputs / "national" / "index.html").read_text(encoding="utf-8")
    # Under the page's h2 "Shortfalls" (issue 25: headings in order), not a second h1.
    assert "<h3>Progress toward the 1 ms circle targets</h3>" in page
    assert "<strong>" in page and "<table>" in page  # bold and the by-year table rendered
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "**" not in page and "## " not in page


# --------------------------------------------------------------------------- dashboard links


class _RowLinks(HTMLParser):
    """Every href of a page, and the hrefs and text of each table row."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.rows: list[tuple[list[str], list[str]]] = []  # (text, hrefs) per <tr>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append(([], []))
        for key, value in attrs:
            if key in ("href", "src"):
                self.hrefs.append(value or "")
                if key == "href" and self.rows:
                    self.rows[-1][1].append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.rows.append(([], []))  # what follows a table is in no row of it

    def handle_data(self, data: str) -> None:
        if self.rows:
            self.rows[-1][0].append(data)


def _gamma(root: Path, folder: str = "gamma", **run: Any) -> Path:
    """A real city with known sites: 75 of 100 key sites within 1 ms (exactly 75 %)."""
    return make_city(
        root / folder,
        "gamma",
        [
            progress_row(2027, "key_sites", 75, 100, judged=True, status="met"),
            progress_row(2028, "key_sites", 75, 100, judged=True, status="met"),
        ],
        {"key_sites": (75, 100)},
        **run,
    )


def test_dashboard_links_only_files_that_exist(outputs: Path) -> None:
    """Alpha has a report and a map, Beta a report only, Gamma neither (a national sweep)."""
    from latcircle.pipeline import run_national
    from latcircle.present.report import write_dashboard

    _gamma(outputs)
    for folder, pages in (("alpha", ("report.html", "map.html")), ("beta", ("report.html",))):
        for page in pages:
            (outputs / folder / page).write_text(f"<title>{folder}</title>\n", encoding="utf-8")
    result = run_national([outputs], out=outputs / "national")
    assert [c.pages for c in result.runs] == [("report.html", "map.html"), ("report.html",), ()]
    national = outputs / "national"
    html = (national / "index.html").read_text(encoding="utf-8")
    parsed = _RowLinks()
    parsed.feed(html)
    rows = {text[0].strip(): hrefs for text, hrefs in parsed.rows if text and hrefs}
    # Exactly the files each folder holds; the tables when it holds no page.
    assert rows == {
        "Alpha": ["../alpha/report.html", "../alpha/map.html"],
        "Beta": ["../beta/report.html"],
        "Gamma": ["../gamma/coverage.csv", "../gamma/progress.csv"],
    }
    relative = [h for h in parsed.hrefs if not h.startswith("data:")]
    assert sorted(relative) == sorted(h for hrefs in rows.values() for h in hrefs)
    for href in relative:
        assert (national / href).is_file(), href
    # Links of the form the dashboard always wrote, words escaped as text.
    assert "<a href='../alpha/report.html'>report</a> · <a href='../alpha/map.html'>map</a>" in html
    assert "<a href='../gamma/coverage.csv'>coverage.csv</a>" in html
    # Written alone later (the national folder's siblings read back): the same bytes.
    first = (national / "index.html").read_bytes()
    write_dashboard(national)
    assert (national / "index.html").read_bytes() == first


def test_dashboard_drops_a_link_when_the_page_is_gone(outputs: Path) -> None:
    """Whether a page exists is decided when the folder is read, not when it was run."""
    from latcircle.pipeline import run_national

    (outputs / "alpha" / "report.html").write_text("<title>alpha</title>\n", encoding="utf-8")
    run_national([outputs], out=outputs / "national")
    assert "../alpha/report.html" in (outputs / "national" / "index.html").read_text("utf-8")
    (outputs / "alpha" / "report.html").unlink()
    run_national([outputs], out=outputs / "national")
    html = (outputs / "national" / "index.html").read_text(encoding="utf-8")
    assert "alpha/report.html" not in html
    assert "<a href='../alpha/coverage.csv'>" in html and "<a href='../beta/coverage.csv'>" in html


# --------------------------------------------------------------------------- CAICT headline


def test_headline_counts_every_city_with_key_sites_and_says_which_are_flagged(
    outputs: Path,
) -> None:
    """headline.csv as the sweep writes it, recounted by hand.

    Alpha: hypothetical sites, 72 of 100 key sites. Beta: synthetic, no key sites (not
    counted). Gamma: real, 75 of 100 (exactly 75 %). Delta: synthetic, 3 of 10.
    """
    from latcircle.national_run import CityOutcome, _rollup

    _gamma(outputs)
    make_city(
        outputs / "delta",
        "delta",
        [progress_row(2027, "key_sites", 3, 10, judged=True, status="behind", gap=4)],
        {"key_sites": (3, 10)},
        synthetic=True,
    )
    names = ("alpha", "beta", "delta", "gamma")
    done = [
        CityOutcome(config=Path(f"{c}.yaml"), status="done", city=c, out=outputs / c) for c in names
    ]
    _rollup(done, out=outputs / "national")
    head = pd.read_csv(outputs / "national" / "headline.csv")
    assert list(head.columns) == ["measure", "value", "of", "share", "of_what"]
    assert list(head["measure"]) == [
        "cities_key_sites_ge_70pct",
        "cities_key_sites_ge_75pct",
        "key_sites_covered",
        "cities_synthetic",
        "cities_sites_hypothetical",
        "cities_asked",
        "cities_run",
        "cities_up_to_date",
        "cities_failed",
    ]
    # 0.72 and 0.75 reach 70 %; 0.75 alone (exactly at it) 75 %; pooled 72 + 75 + 3 of 210;
    # of the three cities counted, Delta is synthetic, Alpha has hypothetical sites; the
    # four cities asked all ran.
    assert list(head["value"]) == [2, 1, 150, 1, 1, 4, 4, 0, 0]
    assert list(head["of"]) == [3, 3, 210, 3, 3, 4, 4, 4, 4]
    # write_csv keeps 6 decimals.
    assert list(head["share"]) == pytest.approx(
        [2 / 3, 1 / 3, 5 / 7, 1 / 3, 1 / 3, 1, 1, 0, 0], abs=5e-7
    )
    # The denominator in words: Beta has outputs but no key sites.
    cities = (
        "cities with outputs and key sites (3 of 4 with outputs; 4 asked, 0 failed: no outputs)"
    )
    assert (
        list(head["of_what"])
        == [cities, cities, "key sites of those cities, pooled"]
        + [cities] * 2
        + ["cities asked"] * 4
    )


def test_headline_counts_a_city_once(outputs: Path) -> None:
    """Of two runs of a city, the one in the national totals is counted (else the first)."""
    from latcircle.analysis.national import caict_headline

    _gamma(outputs)
    # A second run of Alpha with known sites: it is the run in the national totals.
    make_city(
        outputs / "alpha-2027",
        "alpha",
        [progress_row(2027, "key_sites", 10, 100, judged=True, status="behind", gap=60)],
        {"key_sites": (10, 100)},
    )
    result = national_rollup([outputs], out=outputs / "national")
    assert [(c.run, c.in_totals) for c in result.runs] == [
        ("alpha", False),
        ("alpha-2027", True),
        ("beta", False),
        ("gamma", True),
    ]
    head = caict_headline(result.runs).set_index("measure")
    # Alpha by its counted run (10 of 100) and Gamma (75 of 100): two cities, not three.
    assert head["of"].tolist() == [2, 2, 200, 2, 2]
    assert head["value"].tolist() == [1, 1, 85, 0, 0]
    # Hypothetical sites counted: Alpha's first run is the one in the totals (72 of 100).
    both = national_rollup([outputs], out=outputs / "national", include_hypothetical=True)
    assert [c.in_totals for c in both.runs][:2] == [True, False]
    head = caict_headline(both.runs).set_index("measure")
    assert head["of"].tolist() == [2, 2, 200, 2, 2]
    assert head["value"].tolist() == [2, 1, 147, 0, 1]
    # Neither run of Alpha in the totals (one hypothetical, one synthetic): the first by
    # folder name, Alpha's 72 of 100 again.
    record = outputs / "alpha-2027" / "run.json"
    record.write_text(
        record.read_text(encoding="utf-8").replace('"synthetic": false', '"synthetic": true'),
        encoding="utf-8",
    )
    neither = national_rollup([outputs], out=outputs / "national")
    assert [c.in_totals for c in neither.runs][:2] == [False, False]
    head = caict_headline(neither.runs).set_index("measure")
    assert head["of"].tolist() == [2, 2, 200, 2, 2]
    assert head["value"].tolist() == [2, 1, 147, 0, 1]
