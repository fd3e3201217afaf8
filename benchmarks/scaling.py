"""Scaling: synthetic metros from 10 k to 1 M network nodes, and from 200 m to 25 m cells.

A synthetic metro is a jittered street lattice (every node moved up to 30 % of the spacing,
8 % of the links removed, each link bent at its middle) inside a round metro of fixed size,
with 16 compute sites. Two sweeps:

* **network**: 10 k ... 1 M nodes on the same 60 km metro at 100 m cells (denser streets,
  the same 282 k cells), so time and memory grow with the network;
* **cells**: the 100 k-node metro at 200, 100, 50 and 25 m cells (70 k ... 4.5 M cells).

Each size's lattice is generated and written to a GeoPackage by one child process
(:func:`lattice_task`, not timed); a fresh child then runs the engine ``runs`` times as a
``latcircle run`` does, from the file: read the lines with latcircle's network reader, build
the network and let the lines' shapely objects go (the network keeps their coordinates), then
every further step timed (the locator and the arcs, attach the sites, lay the grid, locate
the cells, solve, evaluate, polygonise the bands). A last, separate pass under
``tracemalloc`` (from the network build on) gives the peak memory the engine allocates (numpy
arrays and Python objects; the KD-tree's own C++ nodes are not traced), and the process's
resident peak is read too: reading the file included, generating the lattice not.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from typing import Any

import numpy as np

from benchmarks._measure import peak_rss_mb, rss_mb, summary

#: Metro diameter (metres) of every synthetic metro.
EXTENT_M = 60_000.0
#: Compute sites per synthetic metro.
N_SITES = 16
#: Band thresholds (ms).
THRESHOLDS_MS = [0.25, 0.5, 0.75, 1.0]

NETWORK_SWEEP = [10_000, 30_000, 100_000, 300_000, 1_000_000]
NETWORK_SWEEP_QUICK = [10_000, 30_000, 100_000]
CELL_SWEEP = [200.0, 100.0, 50.0, 25.0]
CELL_SWEEP_QUICK = [200.0, 100.0, 50.0]
#: The network sweep's process peak (MB) and its resident memory once the lattice was
#: generated, by requested size, before the locator was built a block at a time: measured with
#: this benchmark (``scaling_task``, one run) at commit 84f9c1d on 2026-12-01, on the 2-core
#: machine (memory does not depend on its load). A record of the past, shown beside today's.
PEAK_BEFORE_BLOCKED_LOCATOR: dict[int, tuple[float, float]] = {
    100_000: (570.0, 187.0),
    300_000: (1070.0, 305.0),
    1_000_000: (2331.0, 720.0),
}
#: The network of the cell sweep, and the cells of the network sweep.
BASE_NODES = 100_000
BASE_CELL_M = 100.0


def synthetic_lines(n_nodes: int, *, seed: int = 1) -> tuple[Any, Any, np.ndarray]:
    """Return a jittered lattice street network, the metro disc and the site positions.

    Returns
    -------
    lines
        GeoDataFrame of LineStrings with ``u``/``v`` node ids, UTM 50N.
    boundary
        The metro polygon (a disc of diameter :data:`EXTENT_M`).
    sites
        ``(N_SITES, 2)`` site coordinates, off the network by a few metres.
    """
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    side = max(2, round(math.sqrt(n_nodes)))
    spacing = EXTENT_M / (side - 1)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = jj.ravel() * spacing + rng.uniform(-0.3, 0.3, side * side) * spacing
    y = ii.ravel() * spacing + rng.uniform(-0.3, 0.3, side * side) * spacing
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(len(u)) >= 0.08
    u, v = u[keep], v[keep]
    bend = rng.normal(0.0, 0.08 * spacing, (len(u), 2))
    mid = np.column_stack([(x[u] + x[v]) / 2, (y[u] + y[v]) / 2]) + bend
    coords = np.stack([np.column_stack([x[u], y[u]]), mid, np.column_stack([x[v], y[v]])], 1)
    lines = gpd.GeoDataFrame(
        {"u": u, "v": v}, geometry=shapely.linestrings(coords), crs="EPSG:32650"
    )
    boundary = metro_disc()
    angle = np.linspace(0, 2 * np.pi, N_SITES, endpoint=False)
    radius = EXTENT_M * np.where(np.arange(N_SITES) % 2 == 0, 0.15, 0.32)
    sites = np.column_stack(
        [
            EXTENT_M / 2 + radius * np.cos(angle) + rng.normal(0, 20, N_SITES),
            EXTENT_M / 2 + radius * np.sin(angle) + rng.normal(0, 20, N_SITES),
        ]
    )
    return lines, boundary, sites


def metro_disc() -> Any:
    """Return the synthetic metros' outline: a disc of diameter :data:`EXTENT_M`."""
    import shapely

    return shapely.Point(EXTENT_M / 2, EXTENT_M / 2).buffer(EXTENT_M / 2, quad_segs=64)


#: The lattice's file in the folder :func:`lattice_task` writes to.
LATTICE_FILE = "lines.gpkg"


def lattice_task(n_nodes: int, folder: str) -> dict[str, Any]:
    """Child task: write an ``n_nodes`` lattice's lines to ``folder``; return its sites."""
    from pathlib import Path

    lines, _, sites = synthetic_lines(n_nodes)
    path = Path(folder) / LATTICE_FILE
    lines.to_file(path, driver="GPKG", engine="pyogrio")
    return {"path": str(path), "sites": sites.tolist(), "lines": len(lines)}


def read_lattice(path: str) -> Any:
    """Read a lattice's lines as a run reads its network: latcircle's reader, local CRS."""
    import pyproj

    from latcircle.config import NetworkInput
    from latcircle.inputs.lines import _read_network

    spec = NetworkInput(path=path, kind="road")  # type: ignore[arg-type]
    lines, _ = _read_network(spec, pyproj.CRS.from_epsg(32650), [], {})
    return lines


def _engine(
    path: str, boundary: Any, sites: np.ndarray, cell_m: float, *, trace: bool = False
) -> dict[str, Any]:
    """Run the engine once on a synthetic metro read from ``path``; seconds per step, counts.

    ``trace``: start ``tracemalloc`` once the lines are read (the caller stops it).
    """
    import pyproj

    from latcircle.analysis.isochrones import bands
    from latcircle.config import LatencyModel
    from latcircle.engine.grid import make_grid
    from latcircle.engine.latency import arc_matrix, attach_sites, solve
    from latcircle.engine.locator import Locator
    from latcircle.engine.network import build_network, line_table
    from latcircle.system import release_memory

    params = LatencyModel().resolved(network_kind="road")
    steps: dict[str, float] = {}

    def step(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        steps[name] = time.perf_counter() - t0
        return out

    release_memory()  # each run starts as in a fresh process: no earlier run's heap kept
    lines = step("read", read_lattice, path)
    if trace:
        tracemalloc.start()
    # As a run does (analysis.metro.prepare): the lines' shapely objects are let go once
    # their coordinates are taken, before the network is built.
    t0 = time.perf_counter()
    table = line_table(lines)
    del lines
    net = build_network(table)
    del table
    release_memory(collect=False)  # as analysis.metro.prepare does after the build
    steps["network"] = time.perf_counter() - t0
    locator = step("locator", Locator, net)
    arcs = step("arcs", arc_matrix, net, params)
    release_memory(collect=False)  # as analysis.metro.prepare does after the arcs
    att = step(
        "attach",
        attach_sites,
        locator,
        sites[:, 0],
        sites[:, 1],
        np.full(len(sites), params.site_device_us),
        params,
    )
    grid = step("grid", make_grid, boundary, cell_m=cell_m, max_cells=200_000_000)
    cx, cy = grid.centres()
    loc = step("locate", locator.locate, cx, cy, max_drop_m=params.max_drop_m)
    field = step("solve", solve, net, att, params, arcs=arcs)
    latency, _ = step("evaluate", field.at, loc)

    def isochrones() -> Any:
        raster = grid.to_raster(np.where(np.isfinite(latency), latency, np.nan))
        return bands(
            grid,
            raster,
            thresholds_ms=THRESHOLDS_MS,
            boundary=boundary,
            crs=pyproj.CRS.from_epsg(32650),
        )

    step("isochrones", isochrones)
    return {
        "steps": steps,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "pieces": locator.n_pieces,
        "cells": int(grid.n_inside),
        "share_1ms": float(np.mean(latency <= 1000.0)),
    }


def _import_engine() -> None:
    """Import what a run reads and runs with, so that the base size includes the imports."""
    import pyogrio  # noqa: F401

    import latcircle.analysis.isochrones
    import latcircle.engine.grid
    import latcircle.engine.latency
    import latcircle.engine.locator
    import latcircle.engine.network
    import latcircle.inputs.lines  # noqa: F401


def scaling_task(
    n_nodes: int, cell_m: float, runs: int, lattice: str, sites: list[list[float]]
) -> dict[str, Any]:
    """Child task: ``runs`` timed engine runs and one traced run on one synthetic metro.

    ``lattice`` is the lines' file written by :func:`lattice_task`, ``sites`` its sites.
    """
    boundary, site_xy = metro_disc(), np.asarray(sites, dtype=float)
    _import_engine()
    base_rss = rss_mb()  # latcircle imported, the lines still on file
    timings = [_engine(lattice, boundary, site_xy, cell_m)]
    # A run's peak is the first run's, in this fresh process as in a `latcircle run`; later
    # runs start on the heap earlier ones leave behind (kept apart, for the record).
    first_peak_rss = peak_rss_mb()
    timings += [_engine(lattice, boundary, site_xy, cell_m) for _ in range(runs - 1)]
    all_runs_peak_rss = peak_rss_mb()
    _engine(lattice, boundary, site_xy, cell_m, trace=True)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    names = list(timings[0]["steps"])
    # The engine's time leaves out reading the file (its own column).
    totals = [sum(v for k, v in t["steps"].items() if k != "read") for t in timings]
    first = timings[0]
    return {
        "requested_nodes": n_nodes,
        "cell_m": cell_m,
        "nodes": first["nodes"],
        "edges": first["edges"],
        "pieces": first["pieces"],
        "cells": first["cells"],
        "share_1ms": first["share_1ms"],
        "total_s": summary(totals),
        "steps_median_s": {k: summary([t["steps"][k] for t in timings])["median"] for k in names},
        "traced_peak_mb": traced_peak / 1024.0 / 1024.0,
        "rss_before_mb": base_rss,
        "process_peak_rss_mb": first_peak_rss,
        "process_peak_all_runs_mb": all_runs_peak_rss,
    }


def growth_exponent(sizes: list[float], values: list[float]) -> float:
    """Return the least-squares slope of log(value) against log(size)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float))
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(x[ok], y[ok], 1)[0])
