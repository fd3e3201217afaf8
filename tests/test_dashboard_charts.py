"""The national dashboard: its charts (inline SVG), headings in order, data kept inert."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from latcircle.cli import main
from latcircle.present.dashboard import distribution_chart, include_note, share_chart
from latcircle.present.report import markdown_html, render_dashboard

EVIL = "<script>alert(1)</script>"


class _Outline(HTMLParser):
    """Headings (level, text), svg elements and script elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.svgs: list[dict[str, str | None]] = []
        self.scripts = 0
        self._level: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._level = int(tag[1])
            self.headings.append((self._level, ""))
        elif tag == "svg":
            self.svgs.append(dict(attrs))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._level = None

    def handle_data(self, data: str) -> None:
        if self._level is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def _outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


def _in_order(headings: list[tuple[int, str]]) -> bool:
    """One h1 first; each heading at most one level deeper than the one before."""
    levels = [lv for lv, _ in headings]
    return (
        levels[:1] == [1]
        and levels.count(1) == 1
        and all(b <= a + 1 for a, b in itertools.pairwise(levels))
    )


def _summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": ["a", "b", "c", "d"],
            "run": ["a", "b", "c", "d"],
            "name": [EVIL, "武汉", "Plain", "Full"],
            "synthetic": [True, False, False, False],
            "sites_hypothetical": [False, False, False, False],
            "in_totals": [False, True, True, True],
            # On the bin edge (0.70 exactly), inside, and at 100 %.
            "share_2027": [0.65, 0.70, 0.75, 1.0],
            "target_2027": [0.70, 0.70, 0.70, 0.70],
            "status_2027": ["behind", "met", "met", "met"],
            "share_2028": [0.65, 0.70, 0.75, 1.0],
            "target_2028": [0.75, 0.75, 0.75, 0.75],
            "status_2028": ["behind", "on track", "met", "met"],
            "share_key_sites": [0.65, 0.7, 0.75, 1.0],
        }
    )


def test_checker_flags_a_skipped_level() -> None:
    assert _in_order([(1, ""), (2, ""), (3, ""), (2, ""), (3, "")])
    assert not _in_order([(1, ""), (3, "")])
    assert not _in_order([(2, ""), (1, "")])
    assert not _in_order([(1, ""), (2, ""), (1, "")])


def test_dashboard_headings_charts_and_inert_data() -> None:
    shortfalls = f"# Progress\n\n## 2027 target\n\n{EVIL} falls short.\n"
    page = render_dashboard(_summary(), None, links={}, shortfalls=shortfalls)
    outline = _outline(page)
    assert _in_order(outline.headings), outline.headings
    titles = [t for _, t in outline.headings]
    assert {"Charts", "Share by metro against the targets", "Distribution of the shares"} <= set(
        titles
    )
    assert (3, "Progress") in outline.headings and (4, "2027 target") in outline.headings
    charts = [s for s in outline.svgs if s.get("role") == "img"]
    assert len(charts) == 2 and all(s.get("aria-label") for s in charts)
    assert outline.scripts == 0  # the city name's <script> never became an element
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "https://" not in page.split("<main>")[1].split("Shortfalls")[0]  # no network


def test_share_bars_by_hand() -> None:
    svg = share_chart(_summary())
    assert svg is not None
    # Plot 560 px wide from x=220: 75 % is 420 px, 100 % is 560 px; the target tick at 70 %
    # sits at x = 220 + 392 = 612 and at 75 % at 640.
    assert "width='420.0'" in svg and "width='560.0'" in svg
    assert "x1='612.0'" in svg and "x1='640.0'" in svg
    assert "75.0% met" in svg and "70.0% on track" in svg
    assert EVIL not in svg


def test_distribution_bins_by_hand() -> None:
    svg = distribution_chart(_summary())
    assert svg is not None
    # 0.65 -> 60-70; 0.70 (on the edge) and 0.75 -> 70-80; 1.0 -> the last bin, 90-100.
    assert "60–70 %: 1 run(s)" in svg and "70–80 %: 2 run(s)" in svg
    assert "90–100 %: 1 run(s)" in svg and "80–90 %: 0 run(s)" in svg


def test_include_note_says_which_switch() -> None:
    summary = _summary()
    note = include_note(summary)
    assert "<b>3 of 4</b>" in note and "--include-synthetic</code> counts them" in note
    assert "hypothetical" not in note  # none here: nothing to say
    summary.loc[0, "in_totals"] = True
    assert "are counted (<code>--include-synthetic</code> was given)" in include_note(summary)


def test_markdown_headings_placed_under_the_page() -> None:
    html = markdown_html("# A\n\n## B\n\n###### F\n", top_level=3)
    assert "<h3>A</h3>" in html and "<h4>B</h4>" in html and "<h6>F</h6>" in html
    assert markdown_html("# A\n") == "<h1>A</h1>\n"  # the default is unchanged


@pytest.mark.slow
def test_rollup_page_in_order_with_charts(tmp_path: Path) -> None:
    from conftest import _write_tiny_city

    config = _write_tiny_city(tmp_path / "city")
    out = tmp_path / "outputs"
    assert (
        main(["-q", "run", "--no-map", "--no-report", "--out", str(out / "tiny"), str(config)]) == 0
    )
    assert main(["-q", "national-rollup", str(out), "--out", str(out / "national")]) == 0
    page = (out / "national" / "index.html").read_text(encoding="utf-8")
    outline = _outline(page)
    assert _in_order(outline.headings), outline.headings
    assert len([s for s in outline.svgs if s.get("role") == "img"]) == 3  # with progress
    assert "<code>latcircle national-rollup --include-synthetic</code>" in page


def test_long_labels_are_cut_to_the_column() -> None:
    from latcircle.present.dashboard import _fit

    assert _fit("Wuhan") == "Wuhan"
    assert _fit("x" * 34) == "x" * 34  # exactly the width: kept whole
    assert _fit("x" * 35) == "x" * 34 + "…"
    assert _fit("武" * 17) == "武" * 17 and _fit("武" * 18) == "武" * 17 + "…"
