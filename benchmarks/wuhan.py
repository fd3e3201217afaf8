"""Wuhan end to end: ``latcircle run`` as a subprocess, and the same run stage by stage.

* :func:`whole_runs` runs the installed ``latcircle run data/cities/wuhan.yaml`` in a fresh
  process per run and records wall time (around the process, imports included), CPU time and
  peak RSS (``wait4``), plus the per-stage seconds the run writes to ``timings.json``.
* :func:`stages_task` (a child task) runs the very same command in process, through
  ``latcircle.cli.main``, with every ``StageTimer`` stage wrapped so that each stage also
  reports its CPU time and its exact peak RSS. Whatever stages the pipeline has (``maps``,
  ``report`` ... as they are added) are reported as they come.
* :func:`batch_runs` runs Wuhan as a national batch task (no map, no report): one
  ``latcircle national`` sweep of Wuhan alone on one single-core Dask worker, exactly as the
  ``national`` section's Wuhan batch task (:func:`benchmarks.national.sweep_task`), once per
  run in a fresh child process; the task's own CPU, wall and peak RSS are recorded, and
  apart from them the CPU of the worker's start (``national_run.warm_up``: the imports each
  worker pays once, before its first city; since session round 11 they include the modules
  the first task used to import itself).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._measure import (
    load_average,
    peak_rss_mb,
    reset_peak,
    rss_mb,
    run_child,
    run_process,
)


def latcircle_command() -> list[str]:
    """Return the command that runs latcircle: the console script beside this Python."""
    script = Path(sys.executable).parent / "latcircle"
    return [str(script)] if script.exists() else [sys.executable, "-m", "latcircle"]


def whole_runs(config: Path, *, runs: int, timeout_s: float = 600.0) -> list[dict[str, Any]]:
    """Run ``latcircle -q run config`` ``runs`` times, each in a fresh process.

    Returns
    -------
    list of dict
        Per run: ``wall_s``, ``cpu_s``, ``peak_rss_mb``, ``stage_seconds`` (from timings.json),
        ``load_before`` (1-minute load average just before the run).
    """
    out = []
    for _ in range(runs):
        tmp = Path(tempfile.mkdtemp(prefix="latcircle-bench-run-"))
        try:
            load = load_average()[0]
            run = run_process(
                [*latcircle_command(), "-q", "run", str(config), "--out", str(tmp / "out")],
                timeout_s=timeout_s,
            )
            if run.returncode != 0:
                msg = f"latcircle run failed (exit {run.returncode}):\n{run.stderr_tail}"
                raise RuntimeError(msg)
            record = json.loads((tmp / "out" / "timings.json").read_text())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out.append(
            {
                "wall_s": run.wall_s,
                "cpu_s": run.cpu_s,
                "peak_rss_mb": run.peak_rss_mb,
                "stage_seconds": record.get("stage_seconds", {}),
                "load_before": load,
            }
        )
    return out


def stage_runs(config: Path, *, runs: int, timeout_s: float = 600.0) -> list[dict[str, Any]]:
    """Run :func:`stages_task` ``runs`` times, each in a fresh child process."""
    return [
        run_child("wuhan_stages", {"config": str(config)}, timeout_s=timeout_s).result
        for _ in range(runs)
    ]


def batch_runs(config: Path, *, runs: int, timeout_s: float = 900.0) -> list[dict[str, Any]]:
    """Run ``config`` as a national batch task ``runs`` times, each in a fresh child process.

    The task is what ``latcircle national`` runs per city (``run_city_task``: no map, no
    report), on a one-worker, one-core ``LocalCluster``, as the ``national`` section measures
    it once.

    The worker imports what a city needs when it starts (``national_run.warm_up``, once per
    worker, before its first city): that is not in the task's CPU, and is reported beside it
    as ``worker_start_cpu_s`` (before session round 11 the first task paid part of it).

    Returns
    -------
    list of dict
        Per run: ``cpu_s`` and ``wall_s`` of the task (as the sweep reports them: the
        worker's CPU and wall time inside the task), ``peak_rss_mb`` (the worker's peak),
        ``worker_start_cpu_s`` (the worker's warm-up CPU), ``load_before``.
    """
    out = []
    for _ in range(runs):
        tmp = Path(tempfile.mkdtemp(prefix="latcircle-bench-batch-"))
        try:
            load = load_average()[0]
            args = {"configs": [str(config)], "out": str(tmp), "workers": 1}
            res = run_child(
                "national_sweep", {**args, "cores_per_worker": 1}, timeout_s=timeout_s
            ).result
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if res["failed"]:
            raise RuntimeError("batch task failed: " + "; ".join(res["failed"]))
        out.append(
            {
                "cpu_s": res["task_cpu_s"][0],
                "wall_s": res["task_wall_s"][0],
                "peak_rss_mb": res["peak_rss_mb_by_worker"][0],
                "worker_start_cpu_s": (res.get("worker_start_cpu_s") or [0.0])[0],
                "load_before": load,
            }
        )
    return out


# --------------------------------------------------------------------------- child task


class _StageRecorder:
    """Wraps ``StageTimer.stage`` to add CPU time and exact peak RSS to every stage.

    The high-water mark is reset when a stage starts; a stage that opens inside another
    first folds the current mark into every open stage, so nesting loses no peak.
    """

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self._open: list[str] = []
        self.exact = True

    def _fold(self) -> None:
        peak = peak_rss_mb()
        for name in self._open:
            rec = self.stages[name]
            rec["peak_rss_mb"] = max(rec["peak_rss_mb"], peak)

    @contextlib.contextmanager
    def wrap(self, name: str, inner: contextlib.AbstractContextManager[None]) -> Iterator[None]:
        rec = self.stages.setdefault(
            name, {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0, "start_rss_mb": rss_mb()}
        )
        self._fold()
        self.exact &= reset_peak()
        self._open.append(name)
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            with inner:
                yield
        finally:
            rec["wall_s"] += time.perf_counter() - w0
            rec["cpu_s"] += time.process_time() - c0
            self._fold()
            self._open.remove(name)


def stages_task(config: str) -> dict[str, Any]:
    """Child task: run ``latcircle -q run config`` in process, every stage measured.

    Returns
    -------
    dict
        ``import_s`` (importing latcircle's CLI and pipeline), ``stages`` (per stage: wall,
        CPU, peak RSS, RSS at start), ``total_s`` (the whole ``main`` call), ``unstaged_s``
        (time outside every stage: config, summary, run.json, the output swap),
        ``peak_rss_mb`` (the process's peak), ``stage_seconds`` (as timings.json has them).
    """
    from latcircle.system import collector_paused

    t0 = time.perf_counter()
    with collector_paused():  # timed import, as the CLI does (cli.running.run_and_report)
        import latcircle.analysis.metro
        import latcircle.cli
        import latcircle.pipeline

    import_s = time.perf_counter() - t0
    recorder = _StageRecorder()
    original = latcircle.analysis.metro.StageTimer.stage

    def stage(self: Any, name: str) -> contextlib.AbstractContextManager[None]:
        return recorder.wrap(name, original(self, name))

    latcircle.analysis.metro.StageTimer.stage = stage  # type: ignore[method-assign]
    tmp = Path(tempfile.mkdtemp(prefix="latcircle-bench-stages-"))
    try:
        w0 = time.perf_counter()
        code = latcircle.cli.main(["-q", "run", config, "--out", str(tmp / "out")])
        total = time.perf_counter() - w0
        if code != 0:
            msg = f"latcircle run exited {code}"
            raise RuntimeError(msg)
        record = json.loads((tmp / "out" / "run.json").read_text())
        record |= json.loads((tmp / "out" / "timings.json").read_text())
    finally:
        latcircle.analysis.metro.StageTimer.stage = original  # type: ignore[method-assign]
        shutil.rmtree(tmp, ignore_errors=True)
    staged = sum(rec["wall_s"] for rec in recorder.stages.values())
    return {
        "import_s": import_s,
        "stages": recorder.stages,
        "total_s": total,
        "unstaged_s": max(total - staged, 0.0),
        "peak_exact": recorder.exact,
        "peak_rss_mb": peak_rss_mb()
        if not recorder.exact
        else max([rec["peak_rss_mb"] for rec in recorder.stages.values()] or [0.0]),
        "stage_seconds": record.get("stage_seconds", {}),
        "grid": record.get("grid", {}),
        "network": record.get("network", {}),
        "headline_share": record.get("headline_share", {}),
    }
