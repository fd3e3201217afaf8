"""Data is text: hostile names in every data-derived field of every output (issue 11).

Each payload goes into every string a user's data or config can put on a page: the city's
name and local name, its notes, the sites' note, the population note, a target's source
(config); compute-site names and tiers (sites CSV); key-site names and categories (key
sites CSV); district names (districts GeoPackage). The whole ``latcircle run`` then runs
in-process and the test checks, independently of latcircle's own escaping code:

* nothing executed: the Jinja2 payload would create a canary folder (its path comes from
  an environment variable, so the payload needs no quotes, which folium's ``tojson`` would
  have mangled into a syntax error instead of an execution) and that folder never exists;
* every value is *shown as written*: it appears as a text node when the strings of
  ``map.html`` (decoded as JSON, then parsed as HTML, as the browser does with them) and
  ``report.html`` are parsed; markup in a payload that became markup would not be text;
* the figures render (matplotlib would raise on the bad mathtext in the payload);
* a real browser opens the map and every popup and fires no alert
  (``test_browser_no_alert``, skipped without Chromium).

Characters HTML cannot show (a NUL is dropped by the parser, other C0 controls are not
displayed) are shown as their Control Pictures symbols (U+2400 + code), C1 controls as
U+FFFD: :func:`shown`. The same run's terminal output (the summary names the city) holds
no control character but its own line breaks, the city's name shown as
:func:`shown_on_terminal` says (line breaks in data too become symbols), and drawing the
figures raises no warning (a missing glyph would: matplotlib names the raw character).
"""

from __future__ import annotations

import csv
import html.parser
import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import yaml
from conftest import _write_tiny_city

from latcircle.cli import main

#: The canary folder the Jinja2 payload tries to create (path from this variable).
CANARY_ENV = "LC_CANARY"

PAYLOADS = {
    "jinja_expr": "{{ lipsum.__globals__.os.mkdir(lipsum.__globals__.os.environ.LC_CANARY) }}",
    "jinja_quoted": "{{ lipsum.__globals__['os'].mkdir('canary-quoted') }}",
    "jinja_stmt": "{% 3",
    "jinja_block": "{% for x in range(2) %}X{% endfor %}{# c #}{{7*7}}",
    "html": "<img src=x onerror=alert(1)>",
    "script_close": "</script><script>alert(2)</script>",
    "js_literal": "${alert(3)}`;alert(4);//\\'\"",
    "mathtext": r"$x^2$ costs $\frac$ (100\$)",
    "control": "a\x00b\x1bc\x7f\x9bd\re",
    "unicode": "武汉 \u2028\u2029 \u202ertl é 😀 new\nline",
    "rich_markup": "[/bold][red]x[/red] [link=javascript:alert(5)]y[/link] %s %(x)s",
}


def shown(value: str, keep: str = "\t\n\r") -> str:
    """How a value must read on a page: C0 controls and DEL as Control Pictures, C1 as U+FFFD.

    ``keep``: the controls shown as themselves (a page's whitespace).
    """
    table = {c: chr(0x2400 + c) for c in range(32) if chr(c) not in keep}
    table[0x7F] = "\u2421"
    table.update({c: "\ufffd" for c in range(0x80, 0xA0)})
    return value.translate(table)


def shown_on_terminal(value: str) -> str:
    """How a value must read on the terminal: as on a page, and line breaks as symbols too."""
    return shown(value, keep="\t")


#: Characters the terminal output may hold: its own line breaks, printable text.
_TERMINAL_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _fields(payload: str) -> dict[str, str]:
    """One distinct value per field, so that each can be found on its own."""
    names = (
        "city",
        "city_local",
        "notes",
        "sites_note",
        "population_note",
        "target_source",
        "site_name",
        "site_tier",
        "key_name",
        "key_category",
        "district",
    )
    return {name: f"{payload} ~{name}~" for name in names}


def _hostile_city(folder: Path, values: dict[str, str]) -> Path:
    config = _write_tiny_city(folder)
    _rewrite_csv(folder / "sites.csv", {"name": values["site_name"], "tier": values["site_tier"]})
    _rewrite_csv(
        folder / "key_sites.csv", {"name": values["key_name"], "category": values["key_category"]}
    )
    districts = gpd.read_file(folder / "districts.gpkg")
    districts.loc[0, "name"] = values["district"]
    districts.to_file(folder / "districts.gpkg", driver="GPKG")
    # OGR cuts strings at a NUL: the district is named what the file now holds.
    values["district"] = gpd.read_file(folder / "districts.gpkg").loc[0, "name"]
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw.update(name=values["city"], name_local=values["city_local"], notes=values["notes"])
    raw["sites"]["note"] = values["sites_note"]
    raw["population"]["note"] = values["population_note"]
    raw["targets"] = [{"year": 2027, "share": 0.7, "source": values["target_source"]}]
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return config


def _rewrite_csv(path: Path, first_row: dict[str, str]) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0].update(first_row)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


class _Text(html.parser.HTMLParser):
    """Text nodes of an HTML document or fragment (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def text_nodes(markup: str) -> list[str]:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return parser.texts


#: A JSON string literal on one line (folium writes each data array on one line).
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def map_texts(page: str) -> list[str]:
    """Text the browser would show from the map's data: JSON strings parsed as HTML."""
    out = []
    for literal in _JSON_STRING.findall(page):
        try:
            value = json.loads(literal)
        except json.JSONDecodeError:
            continue
        out.extend(text_nodes(value))
    return out


#: Where each field must be shown (the map shows no notes; the report no key sites).
_ON_MAP = ("city", "city_local", "site_name", "site_tier", "key_name", "key_category", "district")
_ON_REPORT = (
    "city",
    "city_local",
    "notes",
    "sites_note",
    "population_note",
    "target_source",
    "site_name",
    "site_tier",
    "district",
)


@pytest.fixture
def hostile_run(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> tuple[dict[str, str], Path, Path, int, str, list[str]]:
    payload = PAYLOADS[request.param]
    canary = tmp_path / "canary"
    monkeypatch.setenv(CANARY_ENV, str(canary))
    monkeypatch.chdir(tmp_path)  # where the quoted payload would create "canary-quoted"
    values = _fields(payload)
    config = _hostile_city(tmp_path / "city", values)
    out = tmp_path / "out"
    # Not quiet: the terminal summary (rich) shows the city's name too.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["run", str(config), "--out", str(out)])
    printed = capfd.readouterr()
    return values, out, canary, code, printed.out + printed.err, [str(w.message) for w in caught]


@pytest.mark.parametrize("hostile_run", sorted(PAYLOADS), indirect=True)
def test_payload_is_text_everywhere(
    hostile_run: tuple[dict[str, str], Path, Path, int, str, list[str]],
) -> None:
    values, out, canary, code, printed, warned = hostile_run
    assert code == 0
    assert _TERMINAL_CONTROL.findall(printed) == []
    assert shown_on_terminal(values["city"]) in printed
    # A warning is a log line in the command (latcircle.logs.warnings_logged): on neither.
    assert [w for w in warned if "Glyph" in w] == [] and "Glyph" not in printed
    assert not canary.exists() and not (canary.parent / "canary-quoted").exists()
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "\x00" not in page
    on_map = map_texts(page)
    for field in _ON_MAP:
        assert any(shown(values[field]) in t for t in on_map), (field, values[field])
    on_report = text_nodes((out / "report.html").read_text(encoding="utf-8"))
    for field in _ON_REPORT:
        # A page's CR reads as LF (HTML's input stream, as read_text's newlines do).
        expected = shown(values[field]).replace("\r\n", "\n").replace("\r", "\n")
        assert any(expected in t for t in on_report), (field, values[field])
    figures = sorted((out / "figures").glob("*.png"))
    assert figures and all(p.read_bytes().startswith(b"\x89PNG") for p in figures)


def test_figure_text_is_literal() -> None:
    """Mathtext in a name is drawn as written: the title keeps its dollars, parse_math off."""
    import pandas as pd

    from latcircle.present.figures import district_bars, png_bytes

    name = r"$\frac$ and $x^2$"
    coverage = pd.DataFrame(
        {
            "scope": ["district", "district"],
            "name": [name, "plain"],
            "basis": ["area", "area"],
            "threshold_ms": [1.0, 1.0],
            "covered": [1.0, 2.0],
            "total": [2.0, 2.0],
            "share": [0.5, 1.0],
            "no_access": [1.0, 0.0],
            "too_far": [0.0, 0.0],
            "unit": ["km²", "km²"],
        }
    )
    fig = district_bars(coverage, threshold_ms=1.0, title=name)
    assert png_bytes(fig).startswith(b"\x89PNG")  # bad mathtext would raise here
    texts = [t for t in fig.findobj(lambda o: hasattr(o, "get_text")) if t.get_text() == name]
    assert texts and not any(t._parse_math for t in texts)


def test_plan_curve_and_section_text_is_literal() -> None:
    """The plan's curve (titled with the city's name) and report section show names as written.

    ``$x^{$`` is malformed mathtext: parsed, it raises when the PNG is drawn (``latcircle
    plan`` exited 1 for such a city name before the curve figure took the text rules).
    """
    import pandas as pd

    from latcircle.present.figures import png_bytes
    from latcircle.present.plan import curve_figure, plan_section

    name = "a$x^{$ {{ 7*7 }} <b>"
    curve = pd.DataFrame(
        {"limit": ["cost"], "year": [2027], "basis": ["area"], "builds": [1], "cost": [1.0]}
    ).assign(share=[0.5])
    fig = curve_figure(curve, title=name)
    assert png_bytes(fig).startswith(b"\x89PNG")
    title = fig.axes[0].title
    assert title.get_text() == name and not title._parse_math
    plan = pd.DataFrame(
        {"year": [2027], "build_id": ["B1"], "kind": ["site"], "name": [name]}
    ).assign(cost=[1.0], cumulative_share=[0.5])
    section = plan_section(plan, {"basis": "area", "cost": 1.0, "solver": name})
    assert "a&#36;x^&#123;&#36; &#123;&#123; 7*7 &#125;&#125; &lt;b&gt;" in section
    assert "{{" not in section and "<b>" not in section


# --- a real browser: every popup and tooltip rendered, no alert -----------------------------

#: Renders the content of every popup and tooltip of the map (cluster members included, as
#: Leaflet would when opened) into the page, and returns their text.
_RENDER_ALL_JS = """
var div = document.querySelector('.folium-map');
var map = window[div.id];
var out = [];
function show(content, layer) {
  if (typeof content === 'function') { content = content(layer); }
  if (content === undefined || content === null) { return; }
  var box = document.createElement('div');
  if (typeof content === 'string') { box.innerHTML = content; } else { box.appendChild(content); }
  document.body.appendChild(box);
  out.push(box.textContent);
}
function bound(layer) {
  var found = [];
  if (layer.getPopup && layer.getPopup()) { found.push(layer.getPopup().getContent()); }
  if (layer.getTooltip && layer.getTooltip()) { found.push(layer.getTooltip().getContent()); }
  return found;
}
// A group's popup or tooltip (folium's GeoJsonTooltip) is shown for each of its members.
function walk(layer, inherited) {
  var contents = inherited.concat(bound(layer));
  if (layer.getLayers) {
    layer.getLayers().forEach(function (child) { walk(child, contents); });
  } else {
    contents.forEach(function (c) { show(c, layer); });
  }
}
map.eachLayer(function (layer) { walk(layer, []); });
document.querySelectorAll('.leaflet-control').forEach(function (c) { out.push(c.textContent); });
return out;
"""


#: The console entry of an OpenStreetMap tile the offline browser could not load.
_FAILED_TILE = re.compile(
    r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png"
    r" - Failed to load resource: net::ERR_CONNECTION_REFUSED"
)


@pytest.mark.browser
def test_browser_no_alert(
    offline_browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All payloads at once in every field: the map opens, every popup shows, nothing fires.

    The session's offline Chromium (conftest): the page is the self-contained default
    (``--map-assets inline``), so it needs no network; its base-map tiles fail to load, the
    only failed requests allowed.
    """
    import cdn_replay

    driver = offline_browser
    canary = tmp_path / "canary"
    monkeypatch.setenv(CANARY_ENV, str(canary))
    monkeypatch.chdir(tmp_path)
    payload = " | ".join(v for k, v in sorted(PAYLOADS.items()) if k != "control")
    values = _fields(payload)
    config = _hostile_city(tmp_path / "city", values)
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "-q"]) == 0
    page = tmp_path / "out" / "map.html"
    cdn_replay.open_page(driver, page)
    cdn_replay.wait_map_ready(driver)
    icons = driver.find_elements("css selector", ".lc-site-icon")
    driver.execute_script("arguments[0].click();", icons[0])  # a real popup, too
    texts = driver.execute_script(_RENDER_ALL_JS)
    time.sleep(0.5)  # an onerror handler fires after the image fails to load
    alerts = driver.execute_script("return window.__alerts;")
    problems = cdn_replay.js_problems(driver)
    assert alerts == []
    # Nothing but the base map's own tiles failed, each refused (no network here).
    assert [p for p in problems if not _FAILED_TILE.fullmatch(p)] == []
    assert not canary.exists()
    # textContent keeps the text as written (newlines included): every field is there.
    for field in _ON_MAP:
        assert any(values[field] in t for t in texts), (field, texts)
