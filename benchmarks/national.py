"""National sweeps: many metros one process each, against `latcircle national` on Dask.

``N`` generated metros (the demo generator, one seed each, at a given scale; ``1.0`` is the
demo's size, about 23 k nodes) are run three ways, each producing the same city tables:

* **sequential**: one ``latcircle run CONFIG --no-map --no-report`` process per city, one
  after the other (today's way, less the map and report, so that all three write the same);
* **national, 1 worker** and **national, 2 workers**: one ``latcircle national`` sweep on a
  ``LocalCluster`` of worker processes, every city rerun (``--force``).

Wall and CPU time (user + system of the whole process tree, from ``wait4``) are measured
around each; the sweeps also report each task's CPU and each worker's peak RSS. Then one
Wuhan-size city (the real Wuhan, when ``../shared/data`` is there) is run as a batch task
(no map, no report) and as a whole ``latcircle run`` with map and report, and 300 such
metros are projected from the batch task's time and the measured 2-worker speed-up.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import WUHAN_CONFIG
from benchmarks._measure import load_average, run_child, run_process

#: Metros in the sweep (`--metros` overrides it).
N_METROS = 50
N_METROS_QUICK = 6
#: Size of each metro against the demo's (1.0: ~23 k nodes, ~9,000 km²).
SCALE = 1.0
#: Metros projected.
PROJECTED_METROS = 300
#: Synthetic network sizes whose memory is broken down (benchmarks.memory).
MEMORY_NODES = (300_000, 1_000_000)
MEMORY_NODES_QUICK = (100_000, 300_000)


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def generate(folder: Path, n: int, scale: float) -> list[str]:
    """Write ``n`` demo metros of different seeds; return their configs."""
    from latcircle.demo.generator import write_demo_city

    return [
        str(write_demo_city(folder / f"m{i:02d}", seed=100 + i, scale=scale, city_id=f"m{i:02d}"))
        for i in range(n)
    ]


def sweep_task(
    configs: list[str], out: str, workers: int, cores_per_worker: int | None = None
) -> dict[str, Any]:
    """Run one national sweep in this process (a ``benchmarks._child`` task)."""
    from latcircle.national_run import run_many

    run = run_many(
        configs,
        out=Path(out) / "national",
        workers=workers,
        force=True,
        cores_per_worker=cores_per_worker,
    )
    per_worker: dict[str, float] = {}
    for c in run.cities:
        per_worker[c.worker] = max(per_worker.get(c.worker, 0.0), c.peak_rss_mb)
    return {
        "workers": run.workers,
        "wall_s": run.wall_s,
        "failed": [f"{c.config}: {c.reason}" for c in run.with_status("failed")],
        "task_cpu_s": [c.cpu_s for c in run.cities],
        "task_wall_s": [c.wall_s for c in run.cities],
        "peak_rss_mb_by_worker": sorted(per_worker.values()),
        "worker_start_cpu_s": list(run.worker_start_cpu_s),
    }


def _sequential(configs: list[str], out: Path) -> dict[str, Any]:
    wall = cpu = peak = 0.0
    for cfg in configs:
        cmd = [sys.executable, "-m", "latcircle", "-q", "run", cfg, "--no-map", "--no-report"]
        run = run_process([*cmd, "--out", str(out / Path(cfg).stem)], timeout_s=900)
        if run.returncode != 0:
            raise RuntimeError(f"latcircle run {cfg} failed:\n{run.stderr_tail}")
        wall, cpu, peak = wall + run.wall_s, cpu + run.cpu_s, max(peak, run.peak_rss_mb)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak}


def _sweep(
    configs: list[str], out: Path, workers: int, cores_per_worker: int | None = None
) -> dict[str, Any]:
    args = {"configs": configs, "out": str(out), "workers": workers}
    run = run_child(
        "national_sweep", {**args, "cores_per_worker": cores_per_worker}, timeout_s=3600
    )
    res = run.result
    if res["failed"]:
        raise RuntimeError("cities failed: " + "; ".join(res["failed"]))
    return {**res, "process_wall_s": run.wall_s, "cpu_s": run.cpu_s}


def _wuhan(out: Path) -> dict[str, Any]:
    """Wuhan as a batch task (1 worker) and as a whole run with map and report."""
    batch = _sweep([str(WUHAN_CONFIG)], out / "batch", 1, 1)  # one core, as in the projection
    cmd = [sys.executable, "-m", "latcircle", "-q", "run", str(WUHAN_CONFIG)]
    whole = run_process([*cmd, "--out", str(out / "whole")], timeout_s=900)
    if whole.returncode != 0:
        raise RuntimeError(f"latcircle run wuhan failed:\n{whole.stderr_tail}")
    return {
        "batch_task_cpu_s": batch["task_cpu_s"][0],
        "batch_task_wall_s": batch["task_wall_s"][0],
        "batch_peak_rss_mb": batch["peak_rss_mb_by_worker"][0],
        "whole_wall_s": whole.wall_s,
        "whole_cpu_s": whole.cpu_s,
        "whole_peak_rss_mb": whole.peak_rss_mb,
    }


def bench_national(*, quick: bool, n: int | None = None, scale: float = SCALE) -> dict[str, Any]:
    """Measure the three ways, the Wuhan-size city, and the projection."""
    n = n or (N_METROS_QUICK if quick else N_METROS)
    with tempfile.TemporaryDirectory(prefix="latcircle-bench-national-") as tmp:
        root = Path(tmp)
        _log(f"national: generating {n} metros at scale {scale:g}")
        configs = generate(root / "data", n, scale)
        res: dict[str, Any] = {"metros": n, "scale": scale, "load_before": load_average()}
        _log(f"national: {n} cities one process each")
        res["sequential"] = _sequential(configs, root / "seq")
        # One single-core worker against two: the per-core scaling of the sweep. Then the
        # defaults, nothing pinned (the engine's threads use every core of each worker).
        for key, w, cores in (
            ("workers_1", 1, 1),
            ("workers_2", 2, 1),
            ("workers_1_all", 1, None),
            ("workers_2_all", 2, None),
        ):
            _log(f"national: latcircle national, {w} worker(s), cores each: {cores or 'all'}")
            res[key] = _sweep(configs, root / key, w, cores)
        if WUHAN_CONFIG.exists() and _wuhan_data():
            _log("national: Wuhan as a batch task and as a whole run")
            res["wuhan"] = _wuhan(root / "wuhan")
        sizes = MEMORY_NODES_QUICK if quick else MEMORY_NODES
        res["memory"] = []
        for nodes in sizes:
            _log(f"national: memory of a {nodes:,}-node network")
            res["memory"].append(run_child("memory", {"n_nodes": nodes}, timeout_s=1200).result)
        res["load_after"] = load_average()
    return _derive(res)


def _wuhan_data() -> bool:
    from benchmarks import SHARED_DATA

    return (SHARED_DATA / "wuhan" / "roads_osm.parquet").exists()


def _derive(res: dict[str, Any]) -> dict[str, Any]:
    one, two = res["workers_1"], res["workers_2"]
    res["speedup_2v1"] = one["wall_s"] / two["wall_s"]
    res["efficiency_2"] = res["speedup_2v1"] / 2.0
    res["speedup_vs_sequential"] = res["sequential"]["wall_s"] / two["wall_s"]
    res["cpu_ratio_2v1"] = sum(two["task_cpu_s"]) / sum(one["task_cpu_s"])
    res["cpu_saving_vs_sequential"] = res["sequential"]["cpu_s"] / two["cpu_s"]
    w = res.get("wuhan")
    if w:
        per_city = w["batch_task_wall_s"]
        res["projection"] = {
            "metros": PROJECTED_METROS,
            "per_city_wall_s_1_worker": per_city,
            "wall_s_2_workers": PROJECTED_METROS * per_city / res["speedup_2v1"],
            "cpu_s": PROJECTED_METROS * w["batch_task_cpu_s"],
        }
    return res


# --------------------------------------------------------------------------- report


def render(r: dict[str, Any]) -> str:
    """Markdown for the national section."""
    if "error" in r:
        return f"Not measured: {r['error']}\n"
    n = r["metros"]
    seq, one, two = r["sequential"], r["workers_1"], r["workers_2"]
    lines = [
        f"{n} generated metros (demo generator, seeds 100-{99 + n}, scale {r['scale']:g}), "
        "each written as tables + GeoPackage + COG (no map, no report) three ways. CPU is "
        "user + system of the whole process tree. Load average before/after: "
        f"{_load(r['load_before'])} / {_load(r['load_after'])}.",
        "",
        "| way | wall s | CPU s | CPU s per city (task) | peak RSS MB per process/worker |",
        "|---|---|---|---|---|",
        f"| sequential, one `latcircle run` per city | {seq['wall_s']:.1f} | {seq['cpu_s']:.1f} "
        f"| {seq['cpu_s'] / n:.2f} (whole process) | {seq['peak_rss_mb']:.0f} |",
    ]
    ways = [("--workers 1`, one core", one), ("--workers 2`, one core each", two)]
    if "workers_1_all" in r:
        ways.append(("--workers 1`, not pinned (default)", r["workers_1_all"]))
    if "workers_2_all" in r:
        ways.append(("--workers 2`, not pinned (default)", r["workers_2_all"]))
    for label, s in ways:
        per_task = sum(s["task_cpu_s"]) / n
        rss = ", ".join(f"{m:.0f}" for m in s["peak_rss_mb_by_worker"])
        lines.append(
            f"| `latcircle national {label} | {s['process_wall_s']:.1f} "
            f"(sweep {s['wall_s']:.1f}) | {s['cpu_s']:.1f} | {per_task:.2f} | {rss} |"
        )
    lines += [
        "",
        f"2 workers against 1 (one core each): **{r['speedup_2v1']:.2f}×** wall (scaling "
        f"efficiency {r['efficiency_2']:.0%}; target ≥ 1.8×); CPU per city task "
        f"{r['cpu_ratio_2v1']:.2f}× that of one worker (contention). 2 workers against one "
        f"process per city: {r['speedup_vs_sequential']:.2f}× wall, and "
        f"{1 / r['cpu_saving_vs_sequential']:.2f}× its CPU (below 1: less).",
        "",
    ]
    w = r.get("wuhan")
    if w:
        from benchmarks.report import BATCH_TASK_CPU_S, WHOLE_RUN_CPU_S, WHOLE_RUN_MB

        p = r["projection"]
        lines += [
            "| Wuhan (82,902 nodes) | wall s | CPU s | peak RSS MB | target |",
            "|---|---|---|---|---|",
            f"| batch task, no map/report | {w['batch_task_wall_s']:.2f} | "
            f"{w['batch_task_cpu_s']:.2f} | {w['batch_peak_rss_mb']:.0f} | "
            f"≤ {BATCH_TASK_CPU_S:g} s CPU |",
            f"| whole `latcircle run`, map and report | {w['whole_wall_s']:.2f} | "
            f"{w['whole_cpu_s']:.2f} | {w['whole_peak_rss_mb']:.0f} | "
            f"≤ {WHOLE_RUN_CPU_S:g} s CPU, ≤ {WHOLE_RUN_MB:,.0f} MB |",
            "",
            f"Projected: {p['metros']} Wuhan-size metros on 2 workers in "
            f"**{p['wall_s_2_workers'] / 60:.1f} min** wall ({p['cpu_s'] / 60:.1f} CPU-min: "
            f"{p['metros']} × the batch task's {p['per_city_wall_s_1_worker']:.2f} s wall on one "
            f"single-core worker ÷ the measured {r['speedup_2v1']:.2f}× speed-up of two).",
            "",
        ]
    if r.get("memory"):
        from benchmarks.memory import render as render_memory

        lines += ["**Memory per million network nodes** (resident, after each step):", ""]
        lines += [render_memory(r["memory"])]
    return "\n".join(lines)


def _load(values: Any) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "n/a"
