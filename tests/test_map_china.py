"""map.html for China and offline: GCJ-02 display shift, vendored assets, planner layers.

The display-shift reference is independent of latcircle: coordtransform's published pair
for its test point at Tiananmen (github.com/wandergis/coordtransform, ``test/app.js``:
``wgs84togcj02(116.404, 39.915) = [116.41024449916938, 39.91640428150164]``), i.e. where
Amap's GCJ-02 tiles draw that WGS84 position.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pyproj
import pytest
from pyproj import Geod

from latcircle.cli import main
from latcircle.present.assets import ASSET_DIR, PACKAGES, inline_assets, verify_assets
from latcircle.present.maps import build_map, render_map, write_map
from latcircle.present.style import share_colour
from latcircle.run import RunResult

GEOD = Geod(ellps="WGS84")
#: coordtransform's Tiananmen test point: WGS84, and its GCJ-02 (Amap) position.
LANDMARK_WGS = (116.404, 39.915)
LANDMARK_GCJ = (116.41024449916938, 39.91640428150164)


@pytest.fixture(scope="module")
def run(tiny_run: RunResult) -> RunResult:
    """The session's tiny-city run with progress (conftest; its exports are not read here)."""
    return tiny_run


def _key_rows(page: str) -> list[list]:
    decoder = json.JSONDecoder()
    rows = []
    for m in re.finditer(r"var data =", page):
        value, _ = decoder.raw_decode(page[m.end() :].lstrip())
        rows.extend(value)
    return rows


def _amap_pixel(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    """Global pixel of a GCJ-02 position in Amap's 256 px XYZ (Web Mercator) tile grid."""
    n = 256 * 2**zoom
    x = (lon + 180.0) / 360.0 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def _page_with_landmark(run: RunResult, basemap: str) -> str:
    from latcircle.output.readback import read_layers

    layers = read_layers(run.out)
    ks = layers["key_sites"].iloc[[0]].copy()
    x, y = pyproj.Transformer.from_crs(4326, ks.crs, always_xy=True).transform(*LANDMARK_WGS)
    ks["name"] = "Tiananmen test point"
    ks = ks.set_geometry(
        ks.geometry.translate(x - ks.geometry.x.iloc[0], y - ks.geometry.y.iloc[0])
    )
    layers["key_sites"] = ks
    return render_map(build_map(run, layers=layers, basemap=basemap))


def test_gcj02_shift_puts_landmark_on_its_amap_tile_position(run: RunResult) -> None:
    (row,) = [r for r in _key_rows(_page_with_landmark(run, "amap")) if r[2].startswith("Tian")]
    lat, lon = row[0], row[1]
    _, _, metres = GEOD.inv(lon, lat, *LANDMARK_GCJ)
    assert metres < 10.0, metres
    # On Amap's tiles at zoom 18 (0.46 m per pixel there), the same pixel within 10 m.
    px, py = _amap_pixel(lon, lat, 18)
    qx, qy = _amap_pixel(*LANDMARK_GCJ, 18)
    metres_per_px = 40075016.686 * math.cos(math.radians(LANDMARK_GCJ[1])) / (256 * 2**18)
    assert math.hypot(px - qx, py - qy) * metres_per_px < 10.0


def test_osm_basemap_keeps_wgs84_and_the_shift_is_hundreds_of_metres(run: RunResult) -> None:
    (row,) = [r for r in _key_rows(_page_with_landmark(run, "osm")) if r[2].startswith("Tian")]
    _, _, metres = GEOD.inv(row[1], row[0], *LANDMARK_WGS)
    assert metres < 2.0  # 5 decimals of a degree: about 1 m
    _, _, shift = GEOD.inv(*LANDMARK_WGS, *LANDMARK_GCJ)
    assert 300 < shift < 800  # the GCJ-02 offset in Beijing, ~570 m


def test_amap_shifts_every_overlay_and_credits_the_tiles(run: RunResult) -> None:
    osm = render_map(build_map(run, basemap="osm"))
    amap = render_map(build_map(run, basemap="amap"))
    # Credits reach the page as JSON strings (non-ASCII as \\u escapes).
    assert "autonavi.com" in amap and json.dumps("高德地图")[1:-1] in amap
    assert "autonavi" not in osm
    osm_rows, amap_rows = _key_rows(osm), _key_rows(amap)
    assert len(osm_rows) == len(amap_rows) > 0
    for a, b in zip(osm_rows, amap_rows, strict=True):
        _, _, metres = GEOD.inv(a[1], a[0], b[1], b[0])
        assert 300 < metres < 800  # Wuhan's GCJ-02 offset, ~350-600 m
    tencent = render_map(build_map(run, basemap="tencent"))
    assert "gtimg.com" in tencent and "{-y}" in tencent and json.dumps("腾讯地图")[1:-1] in tencent
    none = render_map(build_map(run, basemap="none"))
    assert "tile.openstreetmap.org" not in none and "L.tileLayer" not in none
    with pytest.raises(ValueError, match="unknown basemap"):
        build_map(run, basemap="google")


def test_inline_page_is_self_contained_and_cdn_page_pinned(run: RunResult, tmp_path: Path) -> None:
    (tmp_path / "isochrones.gpkg").write_bytes((run.out / "isochrones.gpkg").read_bytes())
    page = write_map(run, tmp_path).read_text(encoding="utf-8")
    assert not re.search(r'<script[^>]+src="', page)
    assert not re.search(r'<link[^>]+href="(?:https?:)?//', page)
    for package in PACKAGES:
        assert f"/* {package}/" in page, package
    cdn = write_map(run, tmp_path, assets="cdn").read_text(encoding="utf-8")
    urls = re.findall(r'(?:src|href)="(https://[^"]+)"', cdn)
    assert len(urls) == 10
    for url in urls:
        assert re.search(r"@v?\d+\.\d+\.\d+/", url), url  # a version, never a branch
        assert "@main" not in url and "@master" not in url
    assert inline_assets(cdn) == page
    assert verify_assets() == []
    for package, info in PACKAGES.items():  # each package's licence travels with it
        assert (ASSET_DIR / package / info["licence"]).stat().st_size > 500


@pytest.mark.parametrize(
    ("share", "label"),
    [
        (0.0, "< 50 %"),
        (0.4999999, "< 50 %"),
        (0.5, "50–70 %"),
        (0.6999999, "50–70 %"),
        (0.7, "70–75 %"),  # exactly at the 2027 target: meets it
        (0.75, "75–90 %"),  # exactly at the 2028 target
        (0.9, "≥ 90 %"),
        (1.0, "≥ 90 %"),
    ],
)
def test_district_share_classes_on_their_boundaries(share: float, label: str) -> None:
    from latcircle.present.style import SHARE_CLASSES

    colours = {lab: c for _, c, lab in SHARE_CLASSES}
    assert share_colour(share) == colours[label]


def test_district_share_unknown_is_grey() -> None:
    assert share_colour(float("nan")) == "#bdbdbd"


def test_district_labels_carry_the_share_as_text(run: RunResult) -> None:
    page = render_map(build_map(run))
    m = re.search(r'<script type="application/json" id="lc-data">(.*?)</script>', page, re.S)
    data = json.loads(m.group(1))
    year = data["years"][data["start"]]
    cov = run.coverage.query("scope == 'district' and basis == 'key_sites' and threshold_ms == 1")
    for r in cov.itertuples():
        i = data["districts"].index(r.name)
        assert year["covered"]["key_sites"][i] / year["total"]["key_sites"][i] == r.share
    assert len(data["labelPoints"]) == len(cov)
    # Set as text, never as markup.
    assert 'text.textContent = lcd.districts[i] + " · "' in page


def test_heat_scale_is_numbered_and_off_the_status_colours(run: RunResult) -> None:
    from latcircle.present.style import HEAT_GRADIENT, STATUS_COLOURS

    page = render_map(build_map(run))
    decoder = json.JSONDecoder()
    boxes = [
        decoder.raw_decode(page[m.end() :].lstrip())[0]
        for m in re.finditer(r"div\.innerHTML =", page)
    ]
    (scale,) = [b for b in boxes if "Uncovered people per 0.5 km cell" in b]
    ticks = [int(t.replace(",", "")) for t in re.findall(r"<span>([\d,]+)\+?</span>", scale)]
    # By hand: the tiny city's population is 100 people per 500 m pixel, aligned with the
    # 500 m heat cells, so every uncovered cell holds exactly 100 people.
    assert ticks == [0, 50, 100]
    heat = re.search(r'data-sec="heat">(.*?)</section>', scale).group(1)
    assert heat.endswith("+</span></div>")  # the top class is open-ended
    assert not set(HEAT_GRADIENT.values()) & set(STATUS_COLOURS.values())
    gradient = re.search(r'"gradient": (\{[^}]*\})', page)
    assert gradient and "rgba(102,37,6" in gradient.group(1)  # dark brown at the top


@pytest.mark.parametrize(
    "command", ["run", "demo", "city", "fetch", "progress", "national-rollup", "tiers"]
)
def test_help_shows_defaults_and_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "examples:\n  latcircle " in text
    if command in ("run", "demo", "city"):
        assert "(default: inline)" in text and "(default: osm)" in text


def test_unknown_export_is_an_input_error(tmp_path: Path) -> None:
    from latcircle.errors import InputError
    from latcircle.output.exports import write_exports

    with pytest.raises(InputError, match="--export: unknown format"):
        write_exports(tmp_path, ["shapefile"])
    assert not (tmp_path / "exports").exists()


def test_progress_bar_counts_stages_on_the_logs_console() -> None:
    import io
    import logging

    from rich.console import Console

    from latcircle.cli.options import stage_bar
    from latcircle.logs import setup_logging

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    setup_logging(1, console)
    on_start, stop = stage_bar(console, ["load", "network", "locate"], quiet=False)
    assert on_start is not None
    for name in ("load", "network", "locate"):
        on_start(name)
        logging.getLogger("latcircle").info("a log line during %s", name)
    console.print("")  # a refresh of the live bar
    stop()
    text = buffer.getvalue()
    assert "a log line during locate" in text  # logs and bar share the one console
    assert "2/3" in text and "stages" in text
    quiet, _ = stage_bar(console, ["load"], quiet=True)
    assert quiet is None
