"""A hand-built metro whose every latency is an exact binary fraction.

Used by the boundary, value and mutation tests. Coordinates are UTM 50N metres relative to
``(X0, Y0)``; both origins and every offset used here are integers far below 2**53, so every
coordinate difference the engine takes is exact.

The model is chosen so that the arithmetic is exact *and* every term matters:

* ``k = 0.5 µs/m`` and route factor ``r = 2``: ``k·r = 1 µs/m`` exactly, but dropping ``r``
  halves every fibre term (a dropped route factor changes which samples are covered);
* equipment ``E = 100 µs`` and each site's own device latency ``S`` (20 or 40 µs, from the
  sites file) are both integers, so a dropped term moves a sample across the budget.

The road is a straight line along ``y = 0`` from ``x = 0`` to ``x = 2000``, as four lines
meeting at nodes x = 640, 1280 and 1920 (so that paths go through Dijkstra). Lines of 640 m
and 80 m cut into 40 m locator pieces at fractions j/16 and j/2 of a line, and every sample
here sits 10 or 30 m into a piece: the locator's projections are exact too (checked by
``test_the_handbuilt_arithmetic_is_exact``). A sample at ``(x, y)`` with ``0 < x < 2000`` and
``|y| ≤ max drop`` projects perpendicularly onto it: ``q_p = (x, 0)``, drop ``|y|``. Its
latency from a site on the road at ``x_s`` is therefore, by hand::

    L = E + S + k·r·(|x − x_s| + |y|)
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import yaml
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

from latcircle.config import CityConfig, load_config

X0, Y0 = 500_000.0, 3_400_000.0
CRS = "EPSG:32650"

#: Exact model: k·r = 1 µs/m, E = 100 µs, max drop 1000 m (sites carry their own S).
K_US_PER_KM = 500.0
ROUTE_FACTOR = 2.0
EQUIPMENT_US = 100.0
MAX_DROP_M = 1000.0
US_PER_M = K_US_PER_KM / 1000.0 * ROUTE_FACTOR  # 1.0, exactly
MODEL = {
    "preset": "optical",
    "k_us_per_km": K_US_PER_KM,
    "route_factor": ROUTE_FACTOR,
    "equipment_us": EQUIPMENT_US,
    "site_device_us": 0.0,
    "max_drop_m": MAX_DROP_M,
}

#: The metro: 2 km × 1.1 km; 100 m cells (and population pixels) centred at
#: x = 50, 150, ..., 1950 and y = 0, 100, ..., 1000 (the top row exactly at the max drop).
BOUNDARY = (0.0, -50.0, 2000.0, 1050.0)
CELL_M = 100.0
ROAD_NODES_X = (0.0, 640.0, 1280.0, 1920.0, 2000.0)
ROAD = [[(a, 0.0), (b, 0.0)] for a, b in itertools.pairwise(ROAD_NODES_X)]
#: Two districts: West (x < 1000) and East (x > 1000); no cell centre lies on x = 1000.
DISTRICTS = {"West": (0.0, -50.0, 1000.0, 1050.0), "East": (1000.0, -50.0, 2000.0, 1050.0)}

#: Sites on the road: A at x = 70 (S = 20 µs), B at x = 1890 (S = 40 µs). A sample at
#: ``(x, y)`` is covered by A when ``|x − 70| + y ≤ 880`` and by B when
#: ``|x − 1890| + y ≤ 860``: both have samples exactly at the budget (x = 950, y = 0 for A;
#: x = 1950, y = 800 for B, and many more along the diagonals).
SITES: list[dict[str, Any]] = [
    {"id": "A", "name": "Alpha", "x": 70.0, "y": 0.0, "device": 20.0, "tier": "large"},
    {"id": "B", "name": "Bravo", "x": 1890.0, "y": 0.0, "device": 40.0, "tier": "medium"},
]


def cell_centres() -> tuple[np.ndarray, np.ndarray]:
    """Centres of the 100 m cells in raster (row-major, north first) order."""
    xmin, ymin, xmax, ymax = BOUNDARY
    cols = np.arange(xmin + CELL_M / 2, xmax, CELL_M)
    rows = np.arange(ymax - CELL_M / 2, ymin, -CELL_M)
    x, y = np.meshgrid(cols, rows)
    return x.ravel(), y.ravel()


def people() -> np.ndarray:
    """Distinct people per pixel (1, 2, 3, ...), so that each covered set has its own sum."""
    xmin, ymin, xmax, ymax = BOUNDARY
    rows = round((ymax - ymin) / CELL_M)
    cols = round((xmax - xmin) / CELL_M)
    return np.arange(1.0, rows * cols + 1.0).reshape(rows, cols)


def hand_latency(
    x: np.ndarray, y: np.ndarray, sites: list[dict[str, Any]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Latency (µs) and serving site index, by the formula in the module docstring.

    Only for samples projecting inside the road (0 < x < 2000) and within the max drop;
    ``inf`` and -1 beyond the max drop.
    """
    sites = SITES if sites is None else sites
    x, y = np.asarray(x, float), np.asarray(y, float)
    each = np.stack(
        [EQUIPMENT_US + s["device"] + US_PER_M * (np.abs(x - s["x"]) + np.abs(y)) for s in sites]
    )
    best = each.min(axis=0)
    site = each.argmin(axis=0)
    beyond = np.abs(y) > MAX_DROP_M
    return np.where(beyond, np.inf, best), np.where(beyond, -1, site)


def write_city(
    folder: Path,
    *,
    key_sites: list[tuple[float, float]],
    sites: list[dict[str, Any]] | None = None,
    roads: list[list[tuple[float, float]]] | None = None,
    extra: dict[str, Any] | None = None,
) -> CityConfig:
    """Write the hand-built city's files and load its config.

    Parameters
    ----------
    folder
        Where to write.
    key_sites
        Key site positions relative to ``(X0, Y0)``; :func:`next_x` and :func:`next_y` give
        offsets that land exactly one ulp beyond a value.
    sites
        Compute sites (default :data:`SITES`).
    roads
        Network lines relative to ``(X0, Y0)`` (default :data:`ROAD`).
    extra
        Further top-level config keys.
    """
    folder.mkdir(parents=True, exist_ok=True)
    xmin, ymin, xmax, ymax = BOUNDARY
    gpd.GeoDataFrame(
        {"name": ["city"]}, geometry=[box(X0 + xmin, Y0 + ymin, X0 + xmax, Y0 + ymax)], crs=CRS
    ).to_file(folder / "boundary.gpkg", layer="boundary")
    names = list(DISTRICTS)
    polys = [box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in DISTRICTS.values()]
    gpd.GeoDataFrame({"name": names}, geometry=polys, crs=CRS).to_file(
        folder / "districts.gpkg", layer="districts"
    )
    lines = [LineString([(X0 + x, Y0 + y) for x, y in line]) for line in roads or ROAD]
    gpd.GeoDataFrame({"kind": ["fibre"] * len(lines)}, geometry=lines, crs=CRS).to_file(
        folder / "network.gpkg", layer="network"
    )
    sites = SITES if sites is None else sites
    pd.DataFrame(
        {
            "id": [s["id"] for s in sites],
            "name": [s.get("name", s["id"]) for s in sites],
            "tier": [s.get("tier", "large") for s in sites],
            "online_year": [s.get("year", "") for s in sites],
            "device_latency_us": [s["device"] for s in sites],
            "x": [repr(X0 + s["x"]) for s in sites],
            "y": [repr(Y0 + s["y"]) for s in sites],
        }
    ).to_csv(folder / "sites.csv", index=False)
    # repr() keeps every digit: a key site one ulp beyond a boundary stays there.
    pd.DataFrame(
        {
            "name": [f"K{i + 1}" for i in range(len(key_sites))],
            "x": [repr(X0 + x) for x, _ in key_sites],
            "y": [repr(Y0 + y) for _, y in key_sites],
        }
    ).to_csv(folder / "key_sites.csv", index=False)
    pop = people()
    with rasterio.open(
        folder / "population.tif",
        "w",
        driver="GTiff",
        width=pop.shape[1],
        height=pop.shape[0],
        count=1,
        dtype="float64",
        crs=CRS,
        transform=from_origin(X0 + xmin, Y0 + ymax, CELL_M, CELL_M),
    ) as dst:
        dst.write(pop, 1)
    cfg: dict[str, Any] = {
        "id": "handbuilt",
        "name": "Hand-built (synthetic)",
        "synthetic": True,
        "boundary": {"path": "boundary.gpkg"},
        "districts": {"path": "districts.gpkg", "name_field": "name"},
        "network": {"path": "network.gpkg", "kind": "fibre"},
        "sites": {"path": "sites.csv", "crs": CRS, "lon": "x", "lat": "y", "hypothetical": True},
        "key_sites": {
            "path": "key_sites.csv",
            "crs": CRS,
            "lon": "x",
            "lat": "y",
            "category_field": None,
        },
        "population": {"path": "population.tif"},
        "model": MODEL,
        "thresholds_ms": [0.5, 1.0],
        "budget_ms": 1.0,
        "grid": {"cell_m": CELL_M},
    }
    cfg.update(extra or {})
    path = folder / "handbuilt.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return load_config(path)


def next_x(value: float) -> float:
    """Offset ``d`` such that ``X0 + d`` is the next float above ``X0 + value``.

    The offset is exact (both floats are within a factor of two of each other), so the
    coordinate written to the file is that very float: one ulp beyond, the smallest step
    the data can carry.
    """
    return float(np.nextafter(X0 + value, np.inf) - X0)


def next_y(value: float) -> float:
    """Offset ``d`` such that ``Y0 + d`` is the next float above ``Y0 + value``."""
    return float(np.nextafter(Y0 + value, np.inf) - Y0)
