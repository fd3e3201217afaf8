"""The usual osmnx isochrone recipe against latcircle's field-plus-isochrones, same inputs.

The recipe is the approach of the osmnx isochrone example (``osmnx-examples`` notebook 13,
"isolines-isochrones", ``make_iso_polys``) that most users copy, run on the same Wuhan graph:

1. an osmnx graph (``ox.graph_from_gdfs``) of the very network latcircle builds (same nodes,
   same edges and geometries, ``length`` in metres), made undirected like latcircle's;
2. each compute site snapped to its nearest graph node (``ox.distance.nearest_nodes``);
3. per site and threshold, ``nx.ego_graph(G, node, radius=r, distance="length")``; the
   reached nodes as points buffered by ``node_buff`` = 50 m and the reached edges (their
   geometry, or a straight line) buffered by ``edge_buff`` = 25 m, all unioned -- the
   example's defaults, written here, not copied;
4. per threshold, the sites' polygons unioned, intersected with the metro boundary, and the
   population raster summed under it (``rasterio.mask``).

The threshold becomes a network radius with latcircle's own latency model, measured from the
nearest node: ``radius_m = (thr_us / factor − E − S_s − k·r·|s − node|) / (k·r)``. The
approximations are the recipe's, not latcircle's: the site enters at its nearest node rather
than its projection onto the nearest edge, a location counts when it lies within the 25/50 m
buffers of a reached edge/node (not within the 1,000 m max drop, and its drop costs nothing),
and a partly reached edge is either dropped or taken whole by ``ego_graph``.

The recipe is slow (minutes per site on the whole graph), so it is measured on a subset of
(site, threshold) pairs and extrapolated (see :func:`extrapolate`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks._measure import measure, summary

#: The example's buffers (metres).
EDGE_BUFF_M = 25.0
NODE_BUFF_M = 50.0


def _prepared(config: str) -> tuple[Any, Any]:
    from latcircle.analysis.metro import prepare
    from latcircle.config import load_config

    cfg = load_config(config)
    return cfg, prepare(cfg)


def _online_sites(cfg: Any, metro: Any) -> np.ndarray:
    return np.flatnonzero(metro.attachment.attached & metro.online(cfg.year))


# --------------------------------------------------------------------------- latcircle


def latcircle_task(config: str, runs: int) -> dict[str, Any]:
    """Child task: latcircle's field plus isochrones on the prepared metro, ``runs`` times.

    Timed: the scenario (one multi-source Dijkstra and the exact latency at every grid cell,
    population pixel and key site), the coverage table for every threshold (the recipe's
    population sums), and the cumulative bands polygonised and clipped to the metro.
    """
    from latcircle.analysis.coverage import coverage_table
    from latcircle.analysis.isochrones import bands

    cfg, metro = _prepared(config)
    walls, cpus, parts_all = [], [], []
    result: dict[str, Any] = {}
    for _ in range(runs):
        parts = {}
        with measure() as block:
            t0 = time.perf_counter()
            scenario = metro.scenario(year=cfg.year)
            parts["field_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            evs = [
                scenario.evaluations[b]
                for b in ("key_sites", "population", "area")
                if b in scenario.evaluations
            ]
            table = coverage_table(evs, thresholds_ms=cfg.thresholds_ms)
            parts["coverage_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            lat = scenario.evaluations["area"].latency_us
            raster = metro.grid.to_raster(np.where(np.isfinite(lat), lat, np.nan))
            band = bands(
                metro.grid,
                raster,
                thresholds_ms=cfg.thresholds_ms,
                boundary=metro.inputs.boundary,
                crs=metro.inputs.crs,
            )
            parts["isochrones_s"] = time.perf_counter() - t0
        walls.append(block.wall_s)
        cpus.append(block.cpu_s)
        parts_all.append(parts)
        pop = table[(table["basis"] == "population")].set_index("threshold_ms")
        result = {
            "band_km2": dict(zip(band["threshold_ms"].astype(str), band["area_km2"], strict=True)),
            "people": {str(k): float(v) for k, v in pop["covered"].items()},
        }
    return {
        "wall_s": summary(walls),
        "cpu_s": summary(cpus),
        "parts_median_s": {k: summary([p[k] for p in parts_all])["median"] for k in parts_all[0]},
        "sites": len(_online_sites(cfg, metro)),
        "thresholds_ms": list(cfg.thresholds_ms),
        "result": result,
    }


# --------------------------------------------------------------------------- the recipe


def _graph(metro: Any) -> Any:
    """The osmnx graph of latcircle's network: nodes with x/y, edges with length/geometry."""
    import geopandas as gpd
    import osmnx as ox
    import pandas as pd

    net, crs = metro.network, metro.inputs.crs
    nodes = gpd.GeoDataFrame(
        {"x": net.x, "y": net.y},
        geometry=gpd.points_from_xy(net.x, net.y),
        crs=crs,
        index=pd.Index(np.arange(net.n_nodes), name="osmid"),
    )
    # Parallel lines stay edges (issue 14): osmnx tells them apart by ``key``, 0, 1, … per
    # pair, and (going undirected) keeps them apart when their ``osmid`` differ: one per line.
    key = pd.DataFrame({"u": net.u, "v": net.v}).groupby(["u", "v"]).cumcount().to_numpy()
    edges = gpd.GeoDataFrame(
        {
            "u": net.u,
            "v": net.v,
            "key": key,
            "osmid": np.arange(net.n_edges),
            "length": net.length,
        },
        geometry=np.asarray(net.geometry),
        crs=crs,
    ).set_index(["u", "v", "key"])
    return ox.convert.to_undirected(ox.graph_from_gdfs(nodes, edges))


def _iso_polygon(graph: Any, centre: int, radius_m: float) -> tuple[Any, dict[str, float]]:
    """One isochrone, the example's way: ego graph, buffered nodes and edges, unioned."""
    import geopandas as gpd
    import networkx as nx
    from shapely.geometry import LineString, Point

    times = {}
    t0 = time.perf_counter()
    sub = nx.ego_graph(graph, centre, radius=radius_m, distance="length")
    times["ego_graph_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    points = [Point((data["x"], data["y"])) for _, data in sub.nodes(data=True)]
    nodes_gdf = gpd.GeoDataFrame({"id": list(sub.nodes)}, geometry=points).set_index("id")
    lines = []
    for a, b in sub.edges():
        start, end = nodes_gdf.loc[a].geometry, nodes_gdf.loc[b].geometry
        lines.append(graph.get_edge_data(a, b)[0].get("geometry", LineString([start, end])))
    times["gdf_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    buffered = list(nodes_gdf.buffer(NODE_BUFF_M).geometry)
    buffered += list(gpd.GeoSeries(lines).buffer(EDGE_BUFF_M).geometry)
    times["buffer_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    polygon = gpd.GeoSeries(buffered).union_all()
    times["union_s"] = time.perf_counter() - t0
    times["nodes"] = float(sub.number_of_nodes())
    times["edges"] = float(sub.number_of_edges())
    return polygon, times


def _radii(
    metro: Any,
    sites: np.ndarray,
    site_nodes: np.ndarray,
    thresholds_ms: list[float],
) -> np.ndarray:
    """Network radius (m) per site and threshold, latcircle's model from the nearest node."""
    p, net = metro.params, metro.network
    sx = metro.inputs.sites.geometry.x.to_numpy()[sites]
    sy = metro.inputs.sites.geometry.y.to_numpy()[sites]
    device = metro.inputs.sites["device_latency_us"].to_numpy(dtype=float)[sites]
    snap = np.hypot(sx - net.x[site_nodes], sy - net.y[site_nodes])
    offset = device + p.us_per_m * snap
    thr = np.asarray(thresholds_ms, float)[None, :] * 1000.0 / p.factor
    return np.maximum((thr - p.fixed_us - offset[:, None]) / p.us_per_m, 0.0)


def _reach_sizes(metro: Any, site_nodes: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Nodes plus edges of each ego graph (what the recipe's work grows with), via scipy."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    net = metro.network
    n = net.n_nodes
    tail = np.concatenate([net.u, net.v])
    head = np.concatenate([net.v, net.u])
    w = np.concatenate([net.length, net.length])
    graph = csr_matrix((np.maximum(w, 1e-9), (tail, head)), shape=(n, n))
    dist = dijkstra(graph, directed=True, indices=site_nodes, limit=float(radii.max()))
    sizes = np.zeros(radii.shape)
    for i in range(radii.shape[0]):
        for j in range(radii.shape[1]):
            reached = dist[i] <= radii[i, j]
            sizes[i, j] = reached.sum() + (reached[net.u] & reached[net.v]).sum()
    return sizes


def recipe_task(config: str, pairs: list[list[int]]) -> dict[str, Any]:
    """Child task: the osmnx recipe on the ``pairs`` (site position, threshold position).

    Returns the setup times (graph, nearest nodes), per pair the recipe's times and ego-graph
    size, the ego-graph size of *every* pair (for extrapolation), and per threshold the
    post-processing times (union over the measured sites, clip, population sum).
    """
    import geopandas as gpd
    import osmnx as ox
    import rasterio
    import rasterio.mask
    import shapely

    cfg, metro = _prepared(config)
    sites = _online_sites(cfg, metro)
    thresholds = list(cfg.thresholds_ms)
    with measure() as graph_block:
        graph = _graph(metro)
    sx = metro.inputs.sites.geometry.x.to_numpy()[sites]
    sy = metro.inputs.sites.geometry.y.to_numpy()[sites]
    with measure() as snap_block:
        site_nodes = np.asarray(ox.distance.nearest_nodes(graph, sx, sy), dtype=np.int64)
    radii = _radii(metro, sites, site_nodes, thresholds)
    sizes = _reach_sizes(metro, site_nodes, radii)
    measured: list[dict[str, Any]] = []
    polygons: dict[int, list[Any]] = {}
    for i, j in pairs:
        with measure() as block:
            poly, times = _iso_polygon(graph, int(site_nodes[i]), float(radii[i, j]))
        measured.append(
            {
                "site": int(i),
                "threshold_ms": thresholds[j],
                "radius_m": float(radii[i, j]),
                "size": float(sizes[i, j]),
                "wall_s": block.wall_s,
                "cpu_s": block.cpu_s,
                "peak_rss_mb": block.peak_rss_mb,
                **times,
            }
        )
        polygons.setdefault(j, []).append(poly)
    post = []
    pop_path = metro.config.population.path if metro.config.population else None
    boundary = metro.inputs.boundary
    for j, polys in sorted(polygons.items()):
        rec: dict[str, Any] = {"threshold_ms": thresholds[j], "sites_measured": len(polys)}
        t0 = time.perf_counter()
        iso = shapely.union_all(polys)
        rec["union_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        clipped = shapely.intersection(iso, boundary)
        rec["clip_s"] = time.perf_counter() - t0
        rec["km2"] = clipped.area / 1e6
        if pop_path is not None:
            t0 = time.perf_counter()
            with rasterio.open(pop_path) as src:
                shape = gpd.GeoSeries([clipped], crs=metro.inputs.crs).to_crs(src.crs)
                data, _ = rasterio.mask.mask(src, list(shape), crop=True, filled=True)
                nodata = src.nodata
            values = data[0].astype(float)
            if nodata is not None:
                values[values == nodata] = 0.0
            rec["people"] = float(np.nansum(values))
            rec["zonal_s"] = time.perf_counter() - t0
        post.append(rec)
    return {
        "graph_build": graph_block.as_dict(),
        "nearest_nodes": snap_block.as_dict(),
        "graph_nodes": graph.number_of_nodes(),
        "graph_edges": graph.number_of_edges(),
        "sites": [str(s) for s in metro.inputs.sites["site_id"].to_numpy()[sites]],
        "thresholds_ms": thresholds,
        "radii_m": radii.tolist(),
        "sizes": sizes.tolist(),
        "measured": measured,
        "post": post,
    }


def choose_pairs(sizes_hint: int, thresholds: int, *, quick: bool) -> list[list[int]]:
    """The (site, threshold) positions measured: two sites, the smallest thresholds.

    Full: two sites at the two smallest thresholds (at 0.5 ms an ego graph already reaches
    the whole Wuhan graph, so larger thresholds cost the same). Quick: two sites at the
    smallest threshold.
    """
    sites = [0, min(1, sizes_hint - 1)]
    ths = [0] if quick else list(range(min(2, thresholds)))
    return [[s, t] for t in ths for s in dict.fromkeys(sites)]


def extrapolate(recipe: dict[str, Any]) -> dict[str, Any]:
    """Estimate the recipe's time for every (site, threshold) pair from the measured ones.

    The per-pair time is fitted as ``a + b·size`` (least squares over the measured pairs,
    ``size`` = nodes + edges of the ego graph, known exactly for every pair from one scipy
    Dijkstra), or ``b·size`` with a single distinct size; the per-threshold post-processing
    (union over sites, clip, population sum) is scaled linearly by sites / sites measured.
    """
    measured = recipe["measured"]
    x = np.array([m["size"] for m in measured])
    y = np.array([m["wall_s"] for m in measured])
    fit = "a + b·size (least squares)"
    if len(np.unique(x)) >= 2:
        b, a = np.polyfit(x, y, 1)
        if a < 0 or b < 0:  # a noisy fit: fall back to proportional
            a, b = 0.0, float(y.sum() / x.sum())
            fit = "b·size (the linear fit's intercept came out negative)"
    else:
        a, b = 0.0, float(y.sum() / x.sum())
        fit = "b·size (one distinct size measured)"
    sizes = np.asarray(recipe["sizes"])
    pairs_s = float((a + b * sizes).sum())
    n_sites = sizes.shape[0]
    post_s = 0.0
    per_threshold = {}
    for rec in recipe["post"]:
        scale = n_sites / rec["sites_measured"]
        t = (rec["union_s"] + rec["clip_s"]) * scale + rec.get("zonal_s", 0.0)
        per_threshold[rec["threshold_ms"]] = t
    missing = [t for t in recipe["thresholds_ms"] if t not in per_threshold]
    mean_post = float(np.mean(list(per_threshold.values()))) if per_threshold else 0.0
    post_s = sum(per_threshold.values()) + mean_post * len(missing)
    return {
        "fit": fit,
        "fit_a_s": float(a),
        "fit_b_s_per_element": float(b),
        "pairs": int(sizes.size),
        "pairs_measured": len(measured),
        "pairs_s": pairs_s,
        "post_s": post_s,
        "total_s": pairs_s + post_s,
        "measured_s": float(y.sum())
        + sum(r["union_s"] + r["clip_s"] + r.get("zonal_s", 0.0) for r in recipe["post"]),
    }
