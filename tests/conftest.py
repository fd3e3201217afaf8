"""Shared fixtures: the real data folder, and a tiny city written to disk.

The tiny city is small enough to check by hand: a 10 km square metro in UTM 50N with a
1 km road grid over its western 6 km only (the east has no roads: *no access*), two
districts (west and east halves), two compute sites, a handful of key sites and a
population raster.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

UTM50 = "EPSG:32650"
#: South-west corner of the tiny city (UTM 50N, near Wuhan).
X0, Y0 = 230_000.0, 3_380_000.0


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data under ../shared/data; skips the test when it is absent."""
    if not (SHARED_DATA / "wuhan" / "roads_osm.parquet").exists():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the project)")
    return SHARED_DATA


def smallest_budget_ms(latency_us: float) -> float:
    """The smallest float budget in ms whose µs value (``× 1000.0``) reaches ``latency_us``.

    A sample exactly at it is covered (latency ≤ budget); at the next float below, not.
    """
    at = latency_us / 1000.0
    while at * 1000.0 < latency_us:
        at = float(np.nextafter(at, np.inf))
    while float(np.nextafter(at, 0.0)) * 1000.0 >= latency_us:
        at = float(np.nextafter(at, 0.0))
    return at


def to_lonlat(x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """UTM 50N metres to WGS84 lon/lat."""
    tr = pyproj.Transformer.from_crs(UTM50, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _write_tiny_city(
    folder: Path,
    *,
    sites: list[tuple[str, float, float, int]] | None = None,
    key_sites: list[tuple[str, float, float]] | None = None,
    extra_yaml: str = "",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    boundary = shapely.box(X0, Y0, X0 + 10_000, Y0 + 10_000)
    gpd.GeoDataFrame({"name": ["Tiny"]}, geometry=[boundary], crs=UTM50).to_file(
        folder / "boundary.gpkg", driver="GPKG"
    )
    halves = [
        shapely.box(X0, Y0, X0 + 5_000, Y0 + 10_000),
        shapely.box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 10_000),
    ]
    gpd.GeoDataFrame({"name": ["West", "East"]}, geometry=halves, crs=UTM50).to_file(
        folder / "districts.gpkg", driver="GPKG"
    )
    lines = []
    for i in range(7):  # x = 0..6 km, y = 0..10 km, 1 km blocks, split at intersections
        for j in range(10):
            lines.append(
                shapely.LineString(
                    [(X0 + i * 1000, Y0 + j * 1000), (X0 + i * 1000, Y0 + (j + 1) * 1000)]
                )
            )
    for j in range(11):
        for i in range(6):
            lines.append(
                shapely.LineString(
                    [(X0 + i * 1000, Y0 + j * 1000), (X0 + (i + 1) * 1000, Y0 + j * 1000)]
                )
            )
    gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=UTM50).to_file(
        folder / "roads.gpkg", driver="GPKG"
    )
    sites = (
        sites if sites is not None else [("A", 1000.0, 5000.0, 2024), ("B", 5000.0, 5000.0, 2027)]
    )
    lon, lat = to_lonlat(np.array([s[1] for s in sites]) + X0, np.array([s[2] for s in sites]) + Y0)
    rows = ["id,name,tier,online_year,device_latency_us,lon,lat"]
    rows += [
        f"{s[0]},Site {s[0]},large,{s[3]},20,{lo:.9f},{la:.9f}"
        for s, lo, la in zip(sites, lon, lat, strict=True)
    ]
    (folder / "sites.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    key_sites = (
        key_sites
        if key_sites is not None
        else [
            ("on road west", 2000.0, 3000.0),
            ("near road", 3500.0, 6000.0),
            ("far east", 9000.0, 5000.0),
            ("edge east", 6500.0, 2000.0),
        ]
    )
    lon, lat = to_lonlat(
        np.array([k[1] for k in key_sites]) + X0, np.array([k[2] for k in key_sites]) + Y0
    )
    rows = ["name,category,lon,lat"]
    rows += [
        f"{k[0]},campus,{lo:.9f},{la:.9f}" for k, lo, la in zip(key_sites, lon, lat, strict=True)
    ]
    (folder / "key_sites.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # Population: 500 m pixels, 100 people each over the whole square (4 x 4 per km²).
    people = np.full((20, 20), 100.0, dtype="float32")
    with rasterio.open(
        folder / "population.tif",
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs=UTM50,
        transform=Affine(500.0, 0, X0, 0, -500.0, Y0 + 10_000),
        nodata=-1,
    ) as dst:
        dst.write(people, 1)
    config = folder / "tiny.yaml"
    config.write_text(
        _override(
            textwrap.dedent("""\
        id: tiny
        name: Tiny test city (synthetic)
        synthetic: true
        boundary: boundary.gpkg
        districts: {path: districts.gpkg, name_field: name}
        network: {path: roads.gpkg, kind: road}
        sites: {path: sites.csv, lon: lon, lat: lat, hypothetical: true}
        population: {path: population.tif}
        key_sites: {path: key_sites.csv, name_field: name, category_field: category}
        grid: {cell_m: 250}
        """),
            extra_yaml,
        ),
        encoding="utf-8",
    )
    return config


def _override(base: str, extra: str) -> str:
    """The base config with ``extra`` appended, its top-level keys replacing the base's.

    A key given twice is bad input (latcircle refuses it, as YAML forbids it), so a variant
    replaces the base's one-line key instead of repeating it.
    """
    keys = {line.split(":", 1)[0] for line in extra.splitlines() if line[:1].isalpha()}
    kept = [line for line in base.splitlines() if line.split(":", 1)[0] not in keys]
    return "\n".join(kept) + "\n" + extra


@pytest.fixture
def tiny_city(tmp_path: Path) -> Path:
    """Path of the tiny city's config (files in a fresh temporary folder)."""
    return _write_tiny_city(tmp_path / "tiny")


@pytest.fixture
def make_tiny_city(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a tiny city variant: ``make_tiny_city(name, sites=..., ...)``."""

    def make(name: str = "tiny", **kw: object) -> Path:
        return _write_tiny_city(tmp_path / name, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled synthetic demo's inputs (seed 7, as ``make demo``), written once a session."""
    from latcircle.demo.generator import write_demo_city

    return write_demo_city(tmp_path_factory.mktemp("demo-inputs"), seed=7)
