"""Sensitivity and uncertainty on Wuhan: the CPU they add to a run (budget: 1 s, DESIGN §7).

Usage::

    python -m benchmarks.sensitivity [--runs N] [--config data/cities/wuhan.yaml]

The metro is prepared and the run's scenario solved once (what every run does anyway). Then,
per run, CPU time (``time.process_time``) and wall time of:

* ``solve_years``: solving the progress years' scenarios (:func:`target_scenarios`). A run's
  progress table solves exactly these years anyway and now reuses them, so this part is **not**
  added by sensitivity and uncertainty; it is reported apart;
* ``added``: everything else the capability does in a run: critical values, the sensitivity
  table, critical values per target, quantiles and target probabilities (the config's
  distributions: Monte Carlo of ``samples`` draws when several parameters are uncertain),
  the quantile columns of ``coverage.csv`` and ``progress.csv``, the ``latency.tif`` band,
  ``run.json``'s sections, and writing ``sensitivity.csv``.

The CPU figures are of this process alone (no child processes are involved).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import WUHAN_CONFIG


def measure(config: Path, *, runs: int) -> dict[str, Any]:
    """Measure the added CPU of sensitivity and uncertainty on ``config``.

    Returns
    -------
    dict
        Median and all runs' ``added_cpu_s``, ``added_wall_s``, ``solve_years_cpu_s``, with
        the number of scenarios, samples and sensitivity rows.
    """
    from latcircle.analysis.coverage import coverage_table
    from latcircle.analysis.metro import prepare
    from latcircle.analysis.progress import progress_years
    from latcircle.analysis.robust import (
        Robustness,
        r_star_raster,
        robustness_record,
        with_coverage_quantiles,
        with_progress_quantiles,
    )
    from latcircle.analysis.sensitivity import (
        critical_table,
        sensitivity,
        sensitivity_table,
        target_scenarios,
    )
    from latcircle.analysis.uncertainty import uncertainty
    from latcircle.config import load_config
    from latcircle.output.files import write_csv

    cfg = load_config(config)
    metro = prepare(cfg)
    scenario = metro.scenario(year=cfg.year)
    coverage = coverage_table(
        [scenario.evaluations[b] for b in metro.bases],
        thresholds_ms=cfg.thresholds_ms,
        district_names=metro.district_names,
    )
    rows: list[dict[str, float]] = []
    info: dict[str, Any] = {}
    for _ in range(runs):
        c0 = time.process_time()
        scenarios = target_scenarios(metro, scenario)
        c1 = time.process_time()
        progress = progress_years(metro, scenarios)  # reuses every year: no solve
        c2, w2 = time.process_time(), time.perf_counter()
        sens = sensitivity(metro, scenarios)
        unc = uncertainty(metro, sens) if cfg.uncertainty.enabled else None
        robust = Robustness(
            scenarios=tuple(scenarios),
            sensitivity=sens,
            table=sensitivity_table(sens),
            critical=critical_table(sens, metro),
            uncertainty=unc,
        )
        with_coverage_quantiles(coverage, robust, budget_ms=cfg.budget_ms)
        with_progress_quantiles(progress, robust)
        r_star_raster(metro, robust)
        json.dumps(robustness_record(robust, metro))
        with tempfile.TemporaryDirectory() as tmp:
            write_csv(robust.table, Path(tmp) / "sensitivity.csv")
        c3, w3 = time.process_time(), time.perf_counter()
        rows.append(
            {
                "solve_years_cpu_s": c1 - c0,
                "progress_reusing_cpu_s": c2 - c1,
                "added_cpu_s": c3 - c2,
                "added_wall_s": w3 - w2,
            }
        )
        info = {
            "scenarios": len(scenarios),
            "samples": {b: len(s.weight) for b, s in metro.samples.items()},
            "sensitivity_rows": len(robust.table),
            "uncertainty": None if unc is None else unc.method,
        }
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return {"config": str(config), "runs": rows, "median": med, **info}


def sensitivity_task(config: str, runs: int) -> dict[str, Any]:
    """Child task (``benchmarks._child``): :func:`measure` on ``config``."""
    return measure(Path(config), runs=runs)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sensitivity")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--config", type=Path, default=WUHAN_CONFIG)
    args = parser.parse_args(argv)
    result = measure(args.config, runs=args.runs)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
