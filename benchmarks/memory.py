"""Where a large network's memory goes: resident memory step by step, and by structure.

On a synthetic lattice metro (:func:`benchmarks.scaling.synthetic_lines`) of ``n`` nodes,
in a fresh child process, the resident set is read after each step of the engine's set-up
(the line features as shapely objects, the network's arrays, the locator, the arc matrix)
and the bytes of every array each structure holds are summed, so that the growth of a run
with its network can be put down to its parts, per million nodes.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np

from benchmarks._measure import rss_mb
from latcircle import system

MB = 1024.0 * 1024.0


def _arrays_mb(obj: Any) -> dict[str, float]:
    """Megabytes held by each numpy array attribute of ``obj`` (slots or ``__dict__``).

    An array that is a view holds its base's memory: the base is counted once, under the
    first attribute that reaches it (a view of an array already counted adds nothing).
    """
    names = list(getattr(obj, "__slots__", ())) + list(getattr(obj, "__dict__", {}))
    out, seen = {}, set()
    for name in names:
        value = getattr(obj, name, None)
        if not isinstance(value, np.ndarray) or value.dtype == object:
            continue
        root = value
        while isinstance(root.base, np.ndarray):
            root = root.base
        if id(root) not in seen:
            seen.add(id(root))
            out[name] = root.nbytes / MB
    return out


def _settle() -> None:
    """Collect, then hand freed heap back to the OS, so that RSS shows what is still held.

    Without it glibc keeps the freed temporaries of a step (its mmap threshold rises after
    the first large free, so later large arrays come from the heap and stay resident).
    """
    system.release_memory()  # not glibc: RSS then includes freed memory


def memory_task(n_nodes: int) -> dict[str, Any]:
    """Child task: the resident memory of each set-up step on an ``n_nodes`` lattice."""

    from benchmarks.scaling import synthetic_lines
    from latcircle.config import LatencyModel
    from latcircle.engine.latency import arc_matrix
    from latcircle.engine.locator import Locator
    from latcircle.engine.network import build_network

    _settle()
    steps: dict[str, float] = {}
    base = rss_mb()
    lines, _, _ = synthetic_lines(n_nodes)
    _settle()
    steps["line features (GeoDataFrame of shapely LineStrings)"] = rss_mb() - base
    mark = rss_mb()
    net = build_network(lines)
    _settle()
    steps["network arrays"] = rss_mb() - mark
    mark = rss_mb()
    tracemalloc.start()
    locator = Locator(net)
    held, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    _settle()
    steps["locator (pieces + KD-tree + near raster)"] = rss_mb() - mark
    mark = rss_mb()
    arcs = arc_matrix(net, LatencyModel().resolved(network_kind="road"))
    _settle()
    steps["arc matrix"] = rss_mb() - mark
    n_coords = int(net.geometry.num_coordinates().sum())
    tree = locator._tree
    tree_mb = (tree.data.nbytes + tree.indices.nbytes) / MB
    return {
        "requested_nodes": n_nodes,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "pieces": locator.n_pieces,
        "coordinates": n_coords,
        "steps_mb": steps,
        "locator_build_traced_peak_mb": build_peak / MB,
        "locator_build_traced_held_mb": held / MB,
        "total_mb": sum(steps.values()),
        "network_arrays_mb": {
            **_arrays_mb(net),
            **{f"geometry.{k}": v for k, v in _arrays_mb(net.geometry).items()},
        },
        "locator_arrays_mb": _arrays_mb(locator),
        "locator_near_mb": sum(_arrays_mb(locator._near).values()),
        "kdtree_data_indices_mb": tree_mb,
        "arcs_mb": (arcs.data.nbytes + arcs.indices.nbytes + arcs.indptr.nbytes) / MB,
        "geometry_coords_mb": n_coords * 16 / MB,
    }


def render(results: list[dict[str, Any]]) -> str:
    """Markdown: memory per million nodes, by step and by structure."""
    if not results:
        return "Not measured.\n"
    lines = [
        "| nodes | edges | locator pieces | "
        + " | ".join(results[0]["steps_mb"])
        + " | total MB | MB per million nodes |",
        "|" + "---|" * (5 + len(results[0]["steps_mb"])),
    ]
    for r in results:
        per_m = r["total_mb"] / (r["nodes"] / 1e6)
        cells = " | ".join(f"{v:,.0f}" for v in r["steps_mb"].values())
        lines.append(
            f"| {r['nodes']:,} | {r['edges']:,} | {r['pieces']:,} | {cells} | "
            f"{r['total_mb']:,.0f} | {per_m:,.0f} |"
        )
    big = results[-1]
    parts = ", ".join(
        f"`{k}` {v:,.0f}"
        for k, v in sorted(big["locator_arrays_mb"].items(), key=lambda kv: -kv[1])
    )
    lines += [
        "",
        f"At {big['nodes']:,} nodes: the locator's per-piece arrays ({parts} MB; "
        f"{big['pieces']:,} pieces of ≤ 40 m), its KD-tree data and indices "
        f"{big['kdtree_data_indices_mb']:,.0f} MB, the network's numeric arrays "
        f"{sum(big['network_arrays_mb'].values()):,.0f} MB, the arc matrix "
        f"{big['arcs_mb']:,.0f} MB; the line coordinates themselves are only "
        f"{big['geometry_coords_mb']:,.0f} MB, the rest of the line features' step is the "
        "shapely/GEOS objects around them. Building the locator allocates "
        f"{big['locator_build_traced_peak_mb']:,.0f} MB at its peak (numpy, traced) to keep "
        f"{big['locator_build_traced_held_mb']:,.0f} MB: the pieces' arrays and one "
        "block's segments and temporaries (the pieces are cut a block of whole lines at a "
        "time; no array over every segment is held).",
        "",
    ]
    return "\n".join(lines)
