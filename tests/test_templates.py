"""The pages' templates: data only as variables, every variable escaped, none evaluated.

A name such as ``<script>{{7*7}}</script>{% raw %}`` must show on the city report and the
national dashboard as exactly those characters: no element made, no ``49`` computed, no
template block opened. Values are checked as the browser would read them (text nodes, with
character references decoded), against the payload written here, not against the code.
"""

from __future__ import annotations

import html.parser
from pathlib import Path

import jinja2
import pandas as pd
import pytest
import yaml
from conftest import _write_tiny_city

from latcircle.cli import main
from latcircle.present.dashboard import render_dashboard
from latcircle.present.templating import LabelCell, LinksCell, StatusCell, environment, render

PAYLOAD = "<script>{{7*7}}</script>{% raw %}"


class _Page(html.parser.HTMLParser):
    """Text nodes and element names of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [v for _, v in attrs if v]

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def _read(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def _assert_inert(page: str, expected_texts: int) -> _Page:
    """The payload is text ``expected_texts`` times or more; never markup, never evaluated."""
    parsed = _read(page)
    assert "script" not in parsed.tags
    shown = [t for t in parsed.texts if PAYLOAD in t]
    assert len(shown) >= expected_texts, shown
    # Not evaluated: the expression stays, its value never appears where the payload is.
    assert not any("<script>49</script>" in t for t in parsed.texts)
    # In the HTML source itself no brace survives, so no later template pass can read one.
    assert "{{" not in page and "{%" not in page
    return parsed


def _summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": [PAYLOAD],
            "run": [PAYLOAD],
            "name": [PAYLOAD],
            "outcome": ["failed"],
            "reason": [PAYLOAD],
            "synthetic": [False],
            "sites_hypothetical": [False],
            "in_totals": [True],
            "share_2027": [0.69],
            "target_2027": [0.70],
            "status_2027": ["behind"],
            "share_key_sites": [0.69],
        }
    )


def test_dashboard_shows_names_links_and_reasons_as_text() -> None:
    page = render_dashboard(_summary(), None, links={PAYLOAD: [(PAYLOAD, "a%3Cb%3E/report.html")]})
    parsed = _assert_inert(page, expected_texts=3)  # the metro, its link word, its flag
    # Exactly how escape_text writes it (one home of escaping): braces as references too.
    assert "&lt;script&gt;&#123;&#123;7*7&#125;&#125;&lt;/script&gt;&#123;% raw %&#125;" in page
    assert "a%3Cb%3E/report.html" in parsed.attrs
    assert f"failed: {PAYLOAD}" in parsed.texts


def test_city_report_shows_city_site_and_district_names_as_text(tmp_path: Path) -> None:
    config = _write_tiny_city(tmp_path / "city")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw.update(name=PAYLOAD, name_local=PAYLOAD, notes=PAYLOAD)
    raw["sites"]["note"] = PAYLOAD
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["-q", "run", str(config), "--out", str(out), "--no-map"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    parsed = _assert_inert(page, expected_texts=4)  # title, h1, local name, notes, ...
    assert f"{PAYLOAD}: 1 ms latency circle" in parsed.texts  # the <title>


def test_every_cell_kind_escapes_its_values() -> None:
    rows = [
        [
            PAYLOAD,
            StatusCell(PAYLOAD, "#888", f" {PAYLOAD}"),
            LinksCell([(PAYLOAD, PAYLOAD)]),
            LabelCell(PAYLOAD, [PAYLOAD]),
        ]
    ]
    table = render(
        "dashboard/by_year.html", by_year={"chart": None, "header": [PAYLOAD], "rows": rows}
    )
    parsed = _read(table)
    assert "script" not in parsed.tags and "{{" not in table
    # header, plain cell, status word and the text after it, link word, label, flag
    assert sum(t.count(PAYLOAD) for t in parsed.texts) == 7
    assert PAYLOAD in parsed.attrs  # the link's href, as an attribute value


def test_environment_escapes_and_refuses_an_unknown_variable() -> None:
    env = environment()
    assert callable(env.autoescape) and env.autoescape("report.html") is True
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        render("figure.html", png="AAAA")  # no alt given
    assert environment() is env  # built once
