"""Robust decisions on Wuhan: calibration of 10,000 measured pairs, protection (issue 24).

Run one part at a time (the machine is shared)::

    python -m benchmarks.robust calibrate [--pairs 10000]
    python -m benchmarks.robust protection [--links 50]

Each part prepares Wuhan once (not timed: every command pays it, and ``wuhan`` measures it),
then times the step itself in process (CPU = user + system of this process, beside wall),
and for calibration also the whole ``latcircle calibrate`` command as a fresh process
(``wait4``: its own CPU and peak RSS). Budgets (DESIGN §7): calibration of 10,000 pairs
<= 10 s CPU; protection with the top 50 links <= 10 s CPU.

The measurements are made up from the model at known parameters (route factor 1.25, 90 µs)
plus noise and 10 % outliers, between random population pixels of the metro and the
compute sites: the shape of a TWAMP campaign (probes towards the data centres).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from benchmarks import WUHAN_CONFIG
from benchmarks._measure import run_process

#: The sizes the budgets are stated for (issue 24, DESIGN §7).
BUDGET_PAIRS = 10_000
BUDGET_LINKS = 50


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _measurements(metro: Any, n: int, seed: int = 3) -> pd.DataFrame:
    from latcircle.engine.pairs import pair_paths

    rng = np.random.default_rng(seed)
    pop = metro.samples["population"]
    ok = np.flatnonzero(pop.location.has_access)
    pick = rng.choice(ok, n, replace=False)
    x, y = pop.x[pick], pop.y[pick]
    sites = metro.inputs.sites
    site = rng.integers(0, len(sites), n)
    # Lengths for the made-up truth, from the engine (not timed).
    loc = metro.locator.locate(
        np.r_[x, sites.geometry.x.to_numpy()],
        np.r_[y, sites.geometry.y.to_numpy()],
        max_drop_m=metro.params.max_drop_m,
    )
    k = metro.params.k_us_per_m
    paths = pair_paths(
        metro.network, metro.arcs, loc, np.arange(n), n + site, us_per_m=metro.params.us_per_m
    )
    total = paths.length_m + loc.drop[:n] + loc.drop[n + site]
    one_way = 90.0 + sites["device_latency_us"].to_numpy()[site] + k * 1.25 * total
    one_way = one_way + rng.normal(0, 5.0, n) + np.where(rng.random(n) < 0.1, 200.0, 0.0)
    to_wgs84 = pyproj.Transformer.from_crs(metro.inputs.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(x, y)
    reach = np.isfinite(one_way)
    return pd.DataFrame(
        {
            "a_lon": lon[reach],
            "a_lat": lat[reach],
            "b_site": sites["site_id"].to_numpy()[site][reach],
            "latency_us": one_way[reach],
            "kind": "one_way",
        }
    )


def bench_calibrate(pairs: int) -> dict[str, Any]:
    from latcircle.analysis.calibration import calibrate
    from latcircle.analysis.metro import prepare
    from latcircle.config import load_config
    from latcircle.inputs.measurements import read_measurements

    metro = prepare(load_config(WUHAN_CONFIG))
    df = _measurements(metro, pairs)
    with tempfile.TemporaryDirectory(prefix="latcircle-bench-cal-") as tmp:
        path = Path(tmp) / "measurements.csv"
        df.to_csv(path, index=False, float_format="%.8f")
        c0, w0 = _cpu(), time.perf_counter()
        table = read_measurements(path)
        cal = calibrate(metro, table, source=path)
        step = {"cpu_s": _cpu() - c0, "wall_s": time.perf_counter() - w0}
        script = Path(sys.executable).parent / "latcircle"
        cmd = [
            str(script),
            "-q",
            "calibrate",
            str(WUHAN_CONFIG),
            "--measurements",
            str(path),
            "--out",
            str(Path(tmp) / "out"),
        ]
        run = run_process(cmd, timeout_s=600)
        whole = {
            "cpu_s": run.user_s + run.sys_s,
            "wall_s": run.wall_s,
            "peak_rss_mb": run.peak_rss_mb,
            "returncode": run.returncode,
        }
    return {
        "pairs": len(df),
        "step": step,
        "whole_command": whole,
        "route_factor": cal.route_factor.record(),
        "equipment_us": cal.equipment_us.record(),
        "counts": cal.info["pairs"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.robust")
    parser.add_argument("part", choices=("calibrate", "protection"))
    parser.add_argument("--pairs", type=int, default=BUDGET_PAIRS)
    parser.add_argument("--links", type=int, default=BUDGET_LINKS)
    args = parser.parse_args(argv)
    if args.part == "calibrate":
        result = bench_calibrate(args.pairs)
    else:
        result = bench_protection(args.links)
    print(json.dumps(result, indent=2))
    return 0


def bench_protection(links: int) -> dict[str, Any]:
    """Site failure alone (every run), then with cable failure over the top ``links``."""
    from latcircle.analysis.metro import prepare
    from latcircle.analysis.protection import protection
    from latcircle.config import load_config

    cfg = load_config(WUHAN_CONFIG)
    metro = prepare(cfg)
    scenario = metro.scenario(year=cfg.year)
    c0, w0 = _cpu(), time.perf_counter()
    sites_only = protection(metro, scenario)
    site_step = {"cpu_s": _cpu() - c0, "wall_s": time.perf_counter() - w0}
    metro = dataclasses.replace(metro, config=cfg.with_protection(links))
    c0, w0 = _cpu(), time.perf_counter()
    found = protection(metro, scenario)
    both = {"cpu_s": _cpu() - c0, "wall_s": time.perf_counter() - w0}
    link_rows = found.table[found.table["kind"] == "link"]
    return {
        "links": len(found.links),
        "site_failure_only": site_step,
        "sites_and_links": both,
        "links_with_a_loss": int(link_rows.groupby("id")["lost"].max().gt(0).sum()),
        "worst_site": sites_only.worst,
    }


if __name__ == "__main__":
    sys.exit(main())
