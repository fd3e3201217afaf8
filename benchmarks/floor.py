"""The floor: how far above a bare Dijkstra-plus-KD-tree latcircle's exact engine sits.

On the prepared Wuhan metro (same arcs, same online sites, same cells):

* **floor** -- ``scipy.sparse.csgraph.dijkstra(arcs, indices=site_nodes, min_only=True)``
  from each site's nearest *node*, plus one ``cKDTree`` (built over the node coordinates)
  ``query(k=1, distance_upper_bound=max_drop)`` from the cells, and a gather
  ``E + L(nearest node) + k·r·distance``. Nothing else: no projection onto edges, no site
  offsets, no serving site. It is what the answer costs at the very least. The same without
  ``distance_upper_bound`` (the plain ``query(k=1)``, cut at the max drop afterwards) is
  timed too: it is much slower, since a point far from the network then searches far.
* **engine** -- what latcircle does for the same cells: build the :class:`Locator` (KD-tree
  over edge pieces), locate every cell exactly on its nearest edge, one multi-source
  :func:`~latcircle.engine.latency.solve` (super-source, predecessors, serving sites), and evaluate
  the exact latency at every cell (:meth:`LatencyField.at`).

Both are timed on two sets of points: the area grid's cells (the headline), and every
sample latcircle locates in a run (grid cells, population pixels, key sites).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks._measure import measure, summary

#: The KD-tree options the floor may use; it gets the fastest (measured first, on the same
#: points), so the engine's own tuned tree is not compared with an untuned floor.
FLOOR_TREES: dict[str, dict[str, Any]] = {
    "scipy defaults": {},
    "sliding midpoint": {"balanced_tree": False, "compact_nodes": False},
    "sliding midpoint, leafsize 8": {"balanced_tree": False, "compact_nodes": False, "leafsize": 8},
    "sliding midpoint, leafsize 4": {"balanced_tree": False, "compact_nodes": False, "leafsize": 4},
    "balanced, leafsize 4": {"leafsize": 4},
}


def engine_floor_task(config: str, runs: int) -> dict[str, Any]:
    """Child task: time engine and floor ``runs`` times each on the prepared metro."""
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from latcircle.analysis.metro import prepare
    from latcircle.config import load_config
    from latcircle.engine.latency import solve
    from latcircle.engine.locator import Locator

    cfg = load_config(config)
    metro = prepare(cfg)
    net, params, att = metro.network, metro.params, metro.attachment
    online = metro.online(cfg.year)
    use = att.attached & online
    gx, gy = metro.grid.centres()
    sets = {"cells": (gx, gy)}
    xs, ys = [gx], [gy]
    if metro.inputs.population is not None:
        pop = metro.inputs.population
        from latcircle.engine.grid import label_points

        inside = label_points(pop.x, pop.y, [metro.inputs.boundary]) == 0
        xs.append(pop.x[inside])
        ys.append(pop.y[inside])
    if metro.inputs.key_sites is not None:
        ks = metro.inputs.key_sites
        xs.append(ks.geometry.x.to_numpy())
        ys.append(ks.geometry.y.to_numpy())
    sets["all_samples"] = (np.concatenate(xs), np.concatenate(ys))
    sx = metro.inputs.sites.geometry.x.to_numpy()[use]
    sy = metro.inputs.sites.geometry.y.to_numpy()[use]
    node_xy = np.column_stack([net.x, net.y])

    def engine(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        parts = {}
        t0 = time.perf_counter()
        locator = Locator(net)
        parts["locator_build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        loc = locator.locate(x, y, max_drop_m=params.max_drop_m)
        parts["locate_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        field = solve(net, att, params, online=online, arcs=metro.arcs)
        parts["solve_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        latency, _ = field.at(loc)
        parts["evaluate_s"] = time.perf_counter() - t0
        return latency, parts

    def floor(
        x: np.ndarray, y: np.ndarray, *, tree: str, bounded: bool = True
    ) -> tuple[np.ndarray, dict[str, float]]:
        parts = {}
        t0 = time.perf_counter()
        tree = cKDTree(node_xy, **FLOOR_TREES[tree])
        _, site_nodes = tree.query(np.column_stack([sx, sy]), k=1)
        upper = params.max_drop_m if bounded else np.inf
        d, i = tree.query(np.column_stack([x, y]), k=1, distance_upper_bound=upper, workers=-1)
        d[d > params.max_drop_m] = np.inf
        parts["kdtree_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        node_us = dijkstra(metro.arcs, directed=True, indices=site_nodes, min_only=True)
        parts["dijkstra_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ok = np.isfinite(d)
        latency = np.full(len(x), np.inf)
        latency[ok] = params.factor * (params.fixed_us + node_us[i[ok]] + params.us_per_m * d[ok])
        parts["gather_s"] = time.perf_counter() - t0
        return latency, parts

    out: dict[str, Any] = {"points": {k: len(v[0]) for k, v in sets.items()}, "sets": {}}
    budget_us = cfg.budget_ms * 1000.0
    # The floor's tree: the fastest of FLOOR_TREES on the grid cells (KD part only).
    gx_gy = sets["cells"]
    trial = {
        name: float(
            np.median([floor(*gx_gy, tree=name)[1]["kdtree_s"] for _ in range(max(3, runs))])
        )
        for name in FLOOR_TREES
    }
    best_tree = min(trial, key=trial.__getitem__)
    out["floor_tree"] = {"chosen": best_tree, "kdtree_median_s": trial}
    variants = {
        "engine": engine,
        "floor": lambda x, y: floor(x, y, tree=best_tree),
        "floor_unbounded": lambda x, y: floor(x, y, tree=best_tree, bounded=False),
    }
    for name, (x, y) in sets.items():
        rec: dict[str, Any] = {}
        for label, fn in variants.items():
            walls, cpus, peaks, parts_all = [], [], [], []
            latency = None
            for _ in range(runs):
                with measure() as block:
                    latency, parts = fn(x, y)
                walls.append(block.wall_s)
                cpus.append(block.cpu_s)
                peaks.append(block.peak_increment_mb)
                parts_all.append(parts)
            rec[label] = {
                "wall_s": summary(walls),
                "cpu_s": summary(cpus),
                "peak_increment_mb": summary(peaks),
                "parts_median_s": {
                    k: summary([p[k] for p in parts_all])["median"] for k in parts_all[0]
                },
                "share_within_budget": float(np.mean(latency <= budget_us)),
            }
            rec[f"_{label}_latency"] = latency
        e, f = rec.pop("_engine_latency"), rec.pop("_floor_latency")
        rec.pop("_floor_unbounded_latency")
        both = np.isfinite(e) & np.isfinite(f)
        rec["floor_error_us"] = {
            "median_abs": float(np.median(np.abs(e[both] - f[both]))) if both.any() else None,
            "p99_abs": float(np.percentile(np.abs(e[both] - f[both]), 99)) if both.any() else None,
            "disagree_within_budget": float(np.mean((e <= budget_us) != (f <= budget_us))),
        }
        out["sets"][name] = rec
    out["sites"] = int(use.sum())
    out["nodes"] = int(net.n_nodes)
    return out
