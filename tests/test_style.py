"""present/style.py: the one percentage formatter and the one escaper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latcircle.present.style import escape_text, percent


@pytest.mark.parametrize(
    ("value", "kw", "expected"),
    [
        (0.6944, {}, "69.4%"),
        (0.7, {}, "70.0%"),
        (0.7, {"digits": 0}, "70%"),
        (0.7, {"plain": True}, "70 %"),
        (0.6944, {"plain": True}, "69.4 %"),
        (0.001, {"plain": True}, "0.1 %"),
        (1.0, {"plain": True}, "100 %"),
        (0.0, {}, "0.0%"),
        (0.75, {"digits": 0, "plain": True}, "75 %"),
        (float("nan"), {}, "n/a"),
        (None, {"missing": "no data"}, "no data"),
        (pd.NA, {"plain": True}, "n/a"),
    ],
)
def test_percent_by_hand(value: object, kw: dict[str, object], expected: str) -> None:
    assert percent(value, **kw) == expected  # type: ignore[arg-type]


def test_plain_percent_matches_the_markdown_rule_it_replaced() -> None:
    # Independent reference: how shortfalls.md printed shares before the formatter was shared.
    def old(v: float) -> str:
        text = f"{100.0 * v:.1f}"
        return (text[:-2] if text.endswith(".0") else text) + " %"

    rng = np.random.default_rng(12)
    values = [*rng.random(2000), 0.0, 1.0, 0.7, 0.75, 0.695, 0.0005, 0.9995]
    assert [percent(v, plain=True) for v in values] == [old(v) for v in values]
    # And the page style is Python's own percent format.
    assert [percent(v) for v in values] == [f"{v:.1%}" for v in values]


def test_escape_text_keeps_data_inert() -> None:
    # Braces too: branca renders generated scripts a second time as Jinja2 source.
    assert escape_text("<b>${x}`\\") == "&lt;b&gt;&#36;&#123;x&#125;&#96;&#92;"
    assert escape_text("{{ 7*7 }}{% if %}") == "&#123;&#123; 7*7 &#125;&#125;&#123;% if %&#125;"
    # Controls as their Control Pictures (NUL U+2400, ESC U+241B, DEL U+2421); tab, newline
    # and carriage return kept; a lone surrogate as U+FFFD.
    assert escape_text("a\x00b\x1b\x7f\t\n\r") == "a\u2400b\u241b\u2421\t\n\r"
    assert escape_text("x\ud800y") == "x\ufffdy"
    assert escape_text(None) == "" and escape_text(float("nan")) == ""


def test_band_colours_equal_matplotlibs_colour_map() -> None:
    # band_colours reproduces matplotlib's YlGnBu_r without importing it (batch runs).
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from latcircle.present.style import _ylgnbu_r, band_colours

    cmap = colormaps["YlGnBu_r"]
    for x in np.linspace(0.0, 1.0, 4097):  # every LUT entry, its edges included
        assert _ylgnbu_r(float(x)) == to_hex(cmap(float(x))), x
    for n in (1, 2, 4, 7):
        values = [0.25 * (i + 1) for i in range(n)]
        want = (
            [to_hex(cmap(0.35))]
            if n == 1
            else [to_hex(cmap(0.1 + 0.65 * i / (n - 1))) for i in range(n)]
        )
        assert list(band_colours(values).values()) == want


def test_script_json_keeps_template_syntax_out_and_the_value_in() -> None:
    import json

    import jinja2

    from latcircle.present.style import script_json

    value = [[1.5, 2, "{{ 7*7 }} {% x %} <b> & 'q' \"d\" \\ }"], {"k{": "v}"}, None, True]
    text = script_json(value)
    assert json.loads(text) == value  # the same value, for JSON and JavaScript alike
    for token in ("{{", "{%", "}}", "%}", "<", ">", "&", "'"):
        assert token not in text.replace('{"k', "").replace('"}', "")
    # A second template pass (as branca's) leaves it as it is.
    assert jinja2.Environment().from_string(text).render() == text


@pytest.mark.parametrize(
    "name",
    [
        "[Click](https://evil.example) **x**",
        "a|b",
        "<https://x.y>",
        "a\\*b* &amp; ~~s~~ ![i](x)",
        "Wu_han_ `c`",
        "<script>alert(1)</script>",
        "line1\n# heading",
    ],
)
def test_markdown_text_renders_as_written(name: str) -> None:
    # shortfalls.md is rendered into index.html: data must be text there, also in a table.
    import html.parser

    from latcircle.present.report import markdown_html
    from latcircle.present.style import markdown_text

    md = markdown_text(name)
    page = markdown_html(f"- {md}\n\n| city |\n|---|\n| {md} |\n")

    class Texts(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.tags: list[str] = []
            self.data: list[str] = []

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.tags.append(tag)

        def handle_data(self, data: str) -> None:
            if data.strip():
                self.data.append(data)

    parsed = Texts()
    parsed.feed(page)
    shown = " ".join(name.splitlines())
    assert parsed.data == [shown, "city", shown]
    assert set(parsed.tags) <= {"ul", "li", "table", "thead", "tr", "th", "tbody", "td"}
