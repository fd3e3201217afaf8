"""``python -m benchmarks`` (``make bench``): measure, then write ``docs/performance.md``.

Usage::

    python -m benchmarks [--quick] [--runs N] [--only SECTION ...] [--out PATH] [--json PATH]

Sections: ``wuhan`` (end to end and per stage), ``map`` (Wuhan's and the demo's ``map.html``
in headless Chromium), ``recipe`` (the osmnx recipe against latcircle), ``floor`` (engine
against a bare Dijkstra plus KD-tree), ``scaling`` (synthetic metros), ``national`` (many
metros: one process each against ``latcircle national`` with 1 and 2 Dask workers),
``sensitivity`` (the CPU sensitivity and uncertainty add to a Wuhan run), ``robust``
(calibration of 10,000 Wuhan pairs; protection with the top 50 links), ``baseline`` (issue
23's starting point, ``1a0e00c``, run here alternately with today's code). A section
that fails is reported as such in the document and the exit code is 1; a section that cannot
run here (no Wuhan data, no browser) says why and does not change the exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import ROOT, SHARED_DATA, WUHAN_CONFIG
from benchmarks._measure import (
    git_commit,
    load_average,
    machine,
    run_child,
    summary,
    versions,
)

SECTIONS = (
    "wuhan",
    "map",
    "recipe",
    "floor",
    "scaling",
    "plan",
    "national",
    "sensitivity",
    "robust",
    "baseline",
)

#: Sections that still measure something without the Wuhan data.
WITHOUT_WUHAN = ("map", "scaling", "national")


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _compile_bytecode() -> None:
    """Compile latcircle's bytecode, as a ``pip install`` does, before anything is measured.

    latcircle is installed editable and this machine sets ``PYTHONDONTWRITEBYTECODE=1``, so
    without it every measured process would compile every module from source again.
    """
    import compileall

    compileall.compile_dir(ROOT / "latcircle", quiet=1)


def _wuhan_available() -> str | None:
    """Return why the Wuhan sections cannot run, ``None`` when they can."""
    if not (SHARED_DATA / "wuhan" / "roads_osm.parquet").exists():
        return f"the real Wuhan data is not at {SHARED_DATA / 'wuhan'}"
    if not WUHAN_CONFIG.exists():
        return f"{WUHAN_CONFIG} is missing"
    return None


# --------------------------------------------------------------------------- sections


def bench_wuhan(runs: int) -> dict[str, Any]:
    """Whole runs as subprocesses, per-stage runs in process, then batch tasks."""
    from benchmarks.wuhan import batch_runs, stage_runs, whole_runs

    _log(f"wuhan: {runs} whole runs of `latcircle run`")
    whole = whole_runs(WUHAN_CONFIG, runs=runs)
    _log(f"wuhan: {runs} per-stage runs")
    staged = stage_runs(WUHAN_CONFIG, runs=runs)
    _log(f"wuhan: {runs} batch tasks (no map, no report) on a one-worker sweep")
    batch = batch_runs(WUHAN_CONFIG, runs=runs)
    names: list[str] = []
    for r in staged:
        names += [n for n in r["stages"] if n not in names]
    stage_names = list(dict.fromkeys(n for r in whole for n in r["stage_seconds"]))
    return {
        "whole": {
            "wall_s": summary([r["wall_s"] for r in whole]),
            "cpu_s": summary([r["cpu_s"] for r in whole]),
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in whole]),
            "stage_seconds": {
                n: summary([r["stage_seconds"].get(n) for r in whole]) for n in stage_names
            },
            "load_before": [r["load_before"] for r in whole],
        },
        "stages": {
            "per_stage": {
                n: {
                    k: summary([r["stages"][n][k] for r in staged if n in r["stages"]])
                    for k in ("wall_s", "cpu_s", "peak_rss_mb")
                }
                for n in names
            },
            "import_s": summary([r["import_s"] for r in staged]),
            "unstaged_s": summary([r["unstaged_s"] for r in staged]),
            "total_s": summary([r["total_s"] for r in staged]),
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in staged]),
        },
        "batch": {k: summary([r[k] for r in batch]) for k in ("cpu_s", "wall_s", "peak_rss_mb")}
        | {"worker_start_cpu_s": summary([r.get("worker_start_cpu_s") for r in batch])}
        | {"load_before": [r["load_before"] for r in batch]},
        "grid": staged[-1]["grid"],
        "network": staged[-1]["network"],
        "headline_share": staged[-1]["headline_share"],
    }


def bench_map(runs: int, *, quick: bool, wuhan_missing: str | None) -> dict[str, Any]:
    """Wuhan's and the demo's ``map.html``: size, and time to open in headless Chromium.

    At least 5 opens per page outside ``--quick`` (each takes a few seconds). Without the
    Wuhan data only the demo is measured; without a browser, nothing (the section says why).
    """
    from benchmarks.browser import NPM_CACHE, make_demo_page, make_wuhan_page

    runs = runs if quick else max(runs, 5)
    missing = run_child("map_check", {}, timeout_s=120).result["missing"]
    if missing:
        _log(f"map: skipped ({missing})")
        return {"error": f"skipped: {missing}"}
    skipped: dict[str, Any] = {}
    pages: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="latcircle-bench-map-") as tmp:
        if wuhan_missing:
            skipped["wuhan"] = {"error": f"skipped: {wuhan_missing}"}
        else:
            _log("map: `latcircle run` Wuhan for its map.html")
            pages["wuhan"] = str(make_wuhan_page(WUHAN_CONFIG, Path(tmp) / "wuhan"))
        _log("map: `latcircle demo` for its map.html")
        pages["demo"] = str(make_demo_page(Path(tmp) / "demo"))
        _log(f"map: opening {len(pages)} pages {runs} times each in headless Chromium")
        out = run_child(
            "map_open",
            {"pages": pages, "runs": runs, "cache": str(NPM_CACHE)},
            timeout_s=300 + 2 * 120 * runs * len(pages),
        ).result
    if "unavailable" in out:
        _log(f"map: skipped ({out['unavailable']})")
        return {"error": f"skipped: {out['unavailable']}"}
    out["pages"] = {**skipped, **out["pages"]}
    return out


def bench_recipe(runs: int, *, quick: bool) -> dict[str, Any]:
    """latcircle's field plus isochrones, then the osmnx recipe on a subset, extrapolated."""
    from benchmarks.recipe import choose_pairs, extrapolate

    _log(f"recipe: latcircle field + isochrones, {runs} runs")
    lat = run_child(
        "latcircle_field", {"config": str(WUHAN_CONFIG), "runs": runs}, timeout_s=1200
    ).result
    pairs = choose_pairs(lat["sites"], len(lat["thresholds_ms"]), quick=quick)
    _log(f"recipe: the osmnx recipe on {len(pairs)} (site, threshold) pairs (minutes)")
    rec = run_child("recipe", {"config": str(WUHAN_CONFIG), "pairs": pairs}, timeout_s=3600).result
    ex = extrapolate(rec)
    lat_s = lat["wall_s"]["median"]
    return {
        "latcircle": lat,
        "recipe": rec,
        "extrapolation": ex,
        "recipe_s": ex["total_s"],
        "latcircle_s": lat_s,
        "ratio": ex["total_s"] / lat_s,
    }


def bench_floor(runs: int) -> dict[str, Any]:
    """Engine against the floor on the Wuhan cells (at least 5 runs: each takes ~1 s)."""
    runs = max(runs, 5)
    _log(f"floor: engine and floor, {runs} runs each")
    return run_child(
        "engine_floor", {"config": str(WUHAN_CONFIG), "runs": runs}, timeout_s=1800
    ).result


def bench_scaling(runs: int, *, quick: bool) -> dict[str, Any]:
    """Synthetic metros: the network sweep, then the cell sweep (each lattice from a file)."""
    from benchmarks import scaling

    nodes = scaling.NETWORK_SWEEP_QUICK if quick else scaling.NETWORK_SWEEP
    cells = scaling.CELL_SWEEP_QUICK if quick else scaling.CELL_SWEEP
    out: dict[str, Any] = {"runs": runs, "network": [], "cells": []}
    with tempfile.TemporaryDirectory(prefix="latcircle-lattice-") as tmp:
        lattices: dict[int, dict[str, Any]] = {}

        def run(n: int, cell_m: float) -> dict[str, Any]:
            if n not in lattices:
                folder = Path(tmp) / str(n)
                folder.mkdir()
                _log(f"scaling: writing the {n:,}-node lattice")
                lattices[n] = run_child(
                    "scaling_lattice", {"n_nodes": n, "folder": str(folder)}, timeout_s=1800
                ).result
            _log(f"scaling: {n:,} nodes at {cell_m:g} m")
            lattice = lattices[n]
            args = {"n_nodes": n, "cell_m": cell_m, "runs": runs}
            args |= {"lattice": lattice["path"], "sites": lattice["sites"]}
            return run_child("scaling", args, timeout_s=1800).result

        for n in nodes:
            out["network"].append(run(n, scaling.BASE_CELL_M))
        for c in cells:
            same = [
                r
                for r in out["network"]
                if r["requested_nodes"] == scaling.BASE_NODES and r["cell_m"] == c
            ]
            out["cells"].append(same[0] if same else run(scaling.BASE_NODES, c))
    out["cells"].sort(key=lambda r: -r["cell_m"])
    return out


def bench_plan(runs: int, *, quick: bool) -> dict[str, Any]:
    """The planner on Wuhan at 250 / 1,000 / 4,000 candidates (benchmarks/plan.py)."""
    from benchmarks.plan import bench_plan as run

    _log("plan: Wuhan planner, candidate sweep")
    return run(runs, quick=quick)


def bench_national(*, quick: bool, n: int | None, scale: float) -> dict[str, Any]:
    """N metros one process each, then `latcircle national` with 1 and 2 workers."""
    from benchmarks.national import bench_national as measure

    return measure(quick=quick, n=n, scale=scale)


def bench_sensitivity(runs: int) -> dict[str, Any]:
    """Sensitivity and uncertainty on Wuhan: the CPU they add to a run (benchmarks/sensitivity)."""
    _log(f"sensitivity: Wuhan, {runs} run(s) of the added steps")
    return run_child(
        "sensitivity", {"config": str(WUHAN_CONFIG), "runs": runs}, timeout_s=1800
    ).result


def bench_robust() -> dict[str, Any]:
    """Calibration of 10,000 Wuhan pairs, then protection with the top 50 links (robust.py)."""
    from benchmarks.robust import BUDGET_LINKS, BUDGET_PAIRS

    _log(f"robust: calibration of {BUDGET_PAIRS:,} Wuhan pairs (step and whole command)")
    cal = run_child("robust_calibrate", {"pairs": BUDGET_PAIRS}, timeout_s=1800).result
    _log(f"robust: protection, site failure then the top {BUDGET_LINKS} links")
    prot = run_child("robust_protection", {"links": BUDGET_LINKS}, timeout_s=1800).result
    return {"calibrate": cal, "protection": prot}


def bench_baseline(runs: int) -> dict[str, Any]:
    """Issue 23's starting point and today's code, alternately on this host (baseline.py)."""
    from benchmarks.baseline import REFERENCE, baseline_runs

    _log(f"baseline: {REFERENCE} and today's code, {runs} alternate run(s) of each command")
    return baseline_runs(runs)


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark latcircle and write docs/performance.md.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="single runs, smaller sweeps, fewer recipe pairs (a few minutes)",
    )
    p.add_argument(
        "--runs", type=int, default=None, help="runs per timing (default 3, or 1 with --quick)"
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        metavar="SECTION",
        help=f"sections to run, of {', '.join(SECTIONS)}",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "performance.md",
        help="where to write the report (default docs/performance.md)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    p.add_argument(
        "--previous",
        default=None,
        metavar="COMMIT",
        help="the commit whose docs/performance.md holds the sections not run here",
    )
    p.add_argument(
        "--metros", type=int, default=None, help="metros in the national sweep (default 12)"
    )
    p.add_argument(
        "--metro-scale",
        type=float,
        default=1.0,
        help="size of the national sweep's metros against the demo's (default 1.0)",
    )
    p.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure nothing: re-render the report from a --json file",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report; return the exit code."""
    from benchmarks.report import render

    args = _parser().parse_args(argv)
    if args.render is not None:
        args.out.write_text(render(json.loads(args.render.read_text())), encoding="utf-8")
        _log(f"wrote {args.out} from {args.render}")
        return 0
    runs = args.runs or (1 if args.quick else 3)
    if runs < 1:
        print("--runs must be at least 1", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    res: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions(),
        "load_start": load_average(),
        "quick": args.quick,
        "runs": runs,
        "previous": args.previous,
    }
    _compile_bytecode()
    missing = _wuhan_available()
    jobs: dict[str, Callable[[], dict[str, Any]]] = {
        "wuhan": lambda: bench_wuhan(runs),
        "map": lambda: bench_map(runs, quick=args.quick, wuhan_missing=missing),
        "recipe": lambda: bench_recipe(runs, quick=args.quick),
        "floor": lambda: bench_floor(runs),
        "scaling": lambda: bench_scaling(runs, quick=args.quick),
        "plan": lambda: bench_plan(runs, quick=args.quick),
        "national": lambda: bench_national(quick=args.quick, n=args.metros, scale=args.metro_scale),
        "sensitivity": lambda: bench_sensitivity(runs),
        "robust": bench_robust,
        "baseline": lambda: bench_baseline(runs),
    }
    failed = False
    for name in SECTIONS:
        if name not in args.only:
            continue
        if missing and name not in WITHOUT_WUHAN:
            res[name] = {"error": f"skipped: {missing}"}
            _log(f"{name}: skipped ({missing})")
            continue
        try:
            res[name] = jobs[name]()
        except Exception as exc:
            failed = True
            _log(f"{name}: FAILED\n{traceback.format_exc()}")
            res[name] = {"error": f"{type(exc).__name__}: {str(exc)[-1500:]}"}
    res["load_end"] = load_average()
    res["bench_s"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(res), encoding="utf-8")
    _log(f"wrote {args.out} ({res['bench_s'] / 60:.1f} min)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=float))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
