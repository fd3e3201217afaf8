"""The Folium map and the static figures, on the tiny city with hostile names."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import _write_tiny_city

from latcircle.config import load_config
from latcircle.output.readback import read_layers
from latcircle.pipeline import run_config, write_progress
from latcircle.present.assets import inline_assets
from latcircle.present.figures import curve, png_bytes, write_figures
from latcircle.present.map.plugins import FastMarkerCluster, Fullscreen, HeatMap, MeasureControl
from latcircle.present.maps import build_map, render_map, write_map
from latcircle.present.style import data_attribution, escape_text
from latcircle.run import RunResult

#: Names that would run script if they reached the page as markup or as template text.
SITE_A = "<img src=x onerror=alert(1)>"
SITE_B = "`${alert(2)}` \\u0041 </script><script>alert(3)</script>"
KEY_SITE = "<b>bold</b>&${x}"
DISTRICT = "West <i>side</i> & 'quoted'"


def _hostile_city(folder: Path) -> Path:
    config = _write_tiny_city(
        folder,
        key_sites=[
            ("on road west", 2000.0, 3000.0),
            (KEY_SITE, 3500.0, 6000.0),
            ("far east", 9000.0, 5000.0),
            ("edge east", 6500.0, 2000.0),
        ],
    )
    sites = pd.read_csv(folder / "sites.csv")
    sites["name"] = [SITE_A, SITE_B]
    sites.to_csv(folder / "sites.csv", index=False)
    districts = gpd.read_file(folder / "districts.gpkg")
    districts["name"] = [DISTRICT, "East"]
    districts.to_file(folder / "districts.gpkg", driver="GPKG")
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The tiny city run with its progress tables and map (sites named like attacks)."""
    folder = tmp_path_factory.mktemp("maps")
    config = _hostile_city(folder / "city")
    return run_config(config, out=folder / "out", extra_outputs=[write_progress, write_map])


@pytest.fixture(scope="module")
def page(run: RunResult) -> str:
    return (run.out / "map.html").read_text(encoding="utf-8")


def _json_after(page: str, pattern: str) -> list:
    """Every JSON literal right after a match of the regular expression ``pattern``."""
    decoder = json.JSONDecoder()
    out = []
    for m in re.finditer(pattern, page):
        value, _ = decoder.raw_decode(page[m.end() :].lstrip())
        out.append(value)
    return out


# --- escaping ------------------------------------------------------------------------------


def test_escape_text_neutralises_html_and_template_literals() -> None:
    text = escape_text("<a href='x'>&`${y}`\\</a>")
    assert "<" not in text and ">" not in text and "'" not in text
    assert "`" not in text and "$" not in text and "\\" not in text
    assert escape_text(None) == "" and escape_text(float("nan")) == ""
    assert escape_text(2027) == "2027"


def test_no_data_text_reaches_the_page_as_markup(page: str) -> None:
    for raw in (
        SITE_A,
        "<img src=x",
        "</script><script>alert(3)",
        "${alert(2)}",
        "${x}",
        "<b>bold</b>",
        "<i>side</i>",
    ):
        assert raw not in page, raw


def test_popups_carry_escaped_names(page: str) -> None:
    (rows,) = _json_after(page, r"var rows =")
    titles = [r[3] for r in rows]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in t for t in titles)
    # Braces too: branca renders the page's script again as Jinja2 source (issue 11).
    assert any(
        "&#96;&#36;&#123;alert(2)&#125;&#96; &#92;u0041 &lt;/script&gt;" in t for t in titles
    )
    key_rows = [row for rows in _json_after(page, r"var data =") for row in rows]
    assert any(r[2] == "&lt;b&gt;bold&lt;/b&gt;&amp;&#36;&#123;x&#125;" for r in key_rows)


def _page_data(page: str) -> dict:
    """The page's data document (``<script type="application/json" id="lc-data">``)."""
    m = re.search(r'<script type="application/json" id="lc-data">(.*?)</script>', page, re.S)
    assert m, "no data document"
    return json.loads(m.group(1))


def test_district_shares_in_the_page_are_the_coverage_table(page: str, run: RunResult) -> None:
    """Tooltips and labels are drawn from the data document: its shares are the table's."""
    data = _page_data(page)
    assert sorted(data["districts"]) == sorted([DISTRICT, "East"])  # raw: set as text
    year = data["years"][data["start"]]
    cov = run.coverage.query("scope == 'district' and threshold_ms == 1.0")
    for row in cov.itertuples():
        i = data["districts"].index(row.name)
        covered, total = year["covered"][row.basis][i], year["total"][row.basis][i]
        assert covered == row.covered and total == row.total  # the same sums, bit for bit
        if total > 0:
            assert covered / total == row.share
    metro = run.coverage.query("scope == 'metro' and threshold_ms == 1.0")
    for row in metro.itertuples():
        assert year["covered"][row.basis][-1] / year["total"][row.basis][-1] == row.share
    assert "textContent" in page and "bindTooltip(districtTip" in page


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed (syntax check)")
def test_every_inline_script_parses(page: str, tmp_path: Path) -> None:
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) >= 2
    for i, body in enumerate(scripts):
        path = tmp_path / f"s{i}.js"
        path.write_text(body, encoding="utf-8")
        done = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


# --- content -------------------------------------------------------------------------------


def test_map_has_every_layer_and_tool(run: RunResult) -> None:
    fmap = build_map(run)
    children = list(fmap._children.values())
    kinds = [type(c) for c in children]
    names = [getattr(c, "layer_name", "") for c in children]
    cfg = run.metro.config
    # Rings by default: the tightest band, then each range between two thresholds; a ring
    # with no area (nothing that close) is drawn as nothing, like an empty band.
    t = sorted(cfg.thresholds_ms)
    area = run.coverage[(run.coverage["scope"] == "metro") & (run.coverage["basis"] == "area")]
    within = dict(zip(area["threshold_ms"], area["covered"], strict=True))
    assert (f"Latency ≤ {t[0]:g} ms" in names) == (within[t[0]] > 0)
    for lower, upper in itertools.pairwise(t):
        has_area = within[upper] > within[lower]
        assert (f"Latency {lower:g}–{upper:g} ms" in names) == has_area, (lower, upper)
    cumulative = build_map(run, bands="cumulative")
    cumulative_names = [getattr(c, "layer_name", "") for c in cumulative._children.values()]
    for thr in cfg.thresholds_ms:
        assert (f"Latency ≤ {thr:g} ms" in cumulative_names) == (within[thr] > 0)
    assert {"Districts", "Metro boundary", "Uncovered population (heat)"} <= set(names)
    assert any(n.startswith("Compute sites") for n in names)
    assert any(n.startswith("Key sites: covered") for n in names)
    assert any(n.startswith("Key sites: no access") for n in names)
    for kind in (folium.LayerControl, Fullscreen, MeasureControl, HeatMap, FastMarkerCluster):
        assert any(issubclass(k, kind) for k in kinds), kind  # folium's, or a literal one


def test_labels_synthetic_and_hypothetical_and_credits(page: str) -> None:
    assert "SYNTHETIC" in page and "HYPOTHETICAL compute sites" in page
    assert "OpenStreetMap" in page  # tile credit, always
    assert "Synthetic data: every input is generated" in page


def test_data_attribution_from_config_notes(tmp_path: Path) -> None:
    config = _write_tiny_city(
        tmp_path / "real",
        extra_yaml=(
            "synthetic: false\nnotes: OSM roads as a proxy for ducts\n"
            "population: {path: population.tif, note: 'WorldPop 2020 100 m (CC BY 4.0)'}\n"
        ),
    )
    credits = data_attribution(load_config(config))
    assert "Roads and boundary: © OpenStreetMap contributors (ODbL)" in credits
    assert "Population: WorldPop (CC BY 4.0)" in credits


def test_render_is_byte_identical(run: RunResult, page: str) -> None:
    again = inline_assets(render_map(build_map(run)))  # write_map inlines by default
    assert again == page
    assert not re.search(r"[0-9a-f]{32}", page), "a random folium id survived"


def test_display_simplification_leaves_the_gpkg_exact(run: RunResult, tmp_path: Path) -> None:
    layers = read_layers(run.out)
    before = layers["bands"].geometry.to_numpy().copy()
    shutil.copy(run.out / "isochrones.gpkg", tmp_path / "isochrones.gpkg")
    write_map(run, tmp_path, simplify_m=400.0)
    after = read_layers(tmp_path)["bands"].geometry.to_numpy()
    assert all(a.equals_exact(b, 0) for a, b in zip(before, after, strict=True))
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    features = [f for fc in _json_after(page, r"geo_json_\d+_add\(") for f in fc["features"]]
    assert features  # an empty ring has none: the others must still be checked
    for feature in features:
        coords = json.dumps(feature["geometry"]["coordinates"])
        decimals = [len(x) for x in re.findall(r"\.(\d+)", coords)]
        assert max(decimals) <= 5


def test_heat_is_uncovered_population_only(run: RunResult, page: str) -> None:
    (points,) = _json_after(page, r"L\.heatLayer\(")
    lon = np.array([p[1] for p in points])
    weight = np.array([p[2] for p in points])
    assert len(points) > 0 and (weight > 0).all() and weight.max() <= 1.0
    # The tiny city's roads cover its western 6 km only: what is uncovered lies east.
    west, south, east, north = run.metro.inputs.boundary.bounds
    centre = gpd.GeoSeries.from_xy(
        [(west + east) / 2], [(south + north) / 2], crs=run.metro.inputs.crs
    )
    mid_lon = centre.to_crs(4326).x.iloc[0]
    assert (lon > mid_lon).mean() > 0.9


# --- figures -------------------------------------------------------------------------------


def test_curve_is_the_exact_share_at_every_budget(run: RunResult) -> None:
    budgets = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0])
    for basis, ev in run.scenario.evaluations.items():
        expected = [run.scenario.share(basis, threshold_ms=b) for b in budgets]
        np.testing.assert_allclose(curve(ev, budgets), expected, rtol=0, atol=1e-12)
        shares = curve(ev, np.linspace(0, 2, 50))
        assert (np.diff(shares) >= 0).all()


def test_figures_are_written_and_stable(run: RunResult, tmp_path: Path) -> None:
    shutil.copy(run.out / "isochrones.gpkg", tmp_path / "isochrones.gpkg")
    shutil.copy(run.out / "progress.csv", tmp_path / "progress.csv")
    first = write_figures(run, tmp_path)
    assert set(first) == {"bands", "curve", "districts", "progress", "sensitivity", "fan"}
    data = {k: p.read_bytes() for k, p in first.items()}
    for blob in data.values():
        assert blob.startswith(b"\x89PNG")
    second = write_figures(run, tmp_path)
    assert {k: p.read_bytes() for k, p in second.items()} == data


def test_png_bytes_carry_no_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Renders at two different build times (SOURCE_DATE_EPOCH, a day apart) are identical.

    Comparing two renders made in the same second proves nothing; a different epoch is
    what a timestamp would show. The plain matplotlib render (control) carries the
    software tag this function strips, so the check below can fail.
    """
    import io

    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    renders = []
    for epoch in ("1000000000", "1000086400"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        renders.append(png_bytes(fig))
    assert renders[0] == renders[1]
    for chunk in (b"tIME", b"Software", b"Creation Time", b"matplotlib version"):
        assert chunk not in renders[0], chunk
    plain = io.BytesIO()
    fig.savefig(plain, format="png")
    assert b"Software" in plain.getvalue()
