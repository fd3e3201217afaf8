"""Run one benchmark task in this (fresh) interpreter: ``python -m benchmarks._child``.

Usage: ``python -m benchmarks._child TASK ARGS.json RESULT.json``. The task's keyword
arguments are read from ``ARGS.json`` and its JSON-able result written to ``RESULT.json``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

#: Task name -> (module, function).
TASKS: dict[str, tuple[str, str]] = {
    "wuhan_stages": ("benchmarks.wuhan", "stages_task"),
    "engine_floor": ("benchmarks.floor", "engine_floor_task"),
    "recipe": ("benchmarks.recipe", "recipe_task"),
    "latcircle_field": ("benchmarks.recipe", "latcircle_task"),
    "scaling": ("benchmarks.scaling", "scaling_task"),
    "scaling_lattice": ("benchmarks.scaling", "lattice_task"),
    "map_check": ("benchmarks.browser", "check_task"),
    "map_open": ("benchmarks.browser", "open_task"),
    "plan": ("benchmarks.plan", "plan_task"),
    "plan_spacing": ("benchmarks.plan", "spacing_task"),
    "plan_command": ("benchmarks.plan", "command_task"),
    "national_sweep": ("benchmarks.national", "sweep_task"),
    "memory": ("benchmarks.memory", "memory_task"),
    "sensitivity": ("benchmarks.sensitivity", "sensitivity_task"),
    "robust_calibrate": ("benchmarks.robust", "bench_calibrate"),
    "robust_protection": ("benchmarks.robust", "bench_protection"),
}


def main(argv: list[str]) -> int:
    """Run the task named in ``argv`` and write its result; return the exit code."""
    if len(argv) != 3 or argv[0] not in TASKS:
        print(
            f"usage: python -m benchmarks._child {{{','.join(TASKS)}}} ARGS RESULT", file=sys.stderr
        )
        return 2
    task, args_path, result_path = argv
    # As in the `latcircle` command's own process (cli.main; nothing has imported numpy or
    # pyarrow yet): one OpenBLAS thread (its threads spin as numpy and scipy load), and
    # Arrow's memory from the C library's heap (the 1 M-node metro's peak 1,010 -> 993 MB
    # with it). Session round 15.
    from latcircle.system import arrow_system_pool, one_blas_thread

    one_blas_thread()
    arrow_system_pool()
    args = json.loads(Path(args_path).read_text())
    t0 = time.perf_counter()
    module, name = TASKS[task]
    result = getattr(importlib.import_module(module), name)(**args)
    result["child_wall_s"] = time.perf_counter() - t0
    Path(result_path).write_text(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
