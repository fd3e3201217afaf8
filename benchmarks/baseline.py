"""Issue 23's starting point measured again on this host, alternately with today's code.

Issue 23 set its Wuhan budgets against the code of its day: the whole run took "5.4–6.5 s"
of CPU and "661–750 MB" (the issue's words), and the budget is ≤ 3.5 s and ≤ 600 MB. CPU
seconds depend on the host (the same commit took 4.1 s on one 2-CPU host and 5.2 s on
another, rounds 18 and 19), so a figure measured here says little against a figure measured
there. This section checks out the commit those figures describe, :data:`REFERENCE`, in a
temporary ``git worktree`` and runs the very same commands with it and with today's code,
one after the other, in fresh processes, on the same data:

* ``latcircle -q run data/cities/wuhan.yaml`` (map and report): the whole run;
* the same with ``--no-map --no-report``: the batch task's work, but as a process of its own
  (imports included), so an indication for the batch budget, not the batch task itself.

What it gives is the ratio today ÷ then on one host, which does not depend on the host, and
so the budget carried over to this host: the issue asks for 3.5 s where the reference took
5.4–6.5 s, a ratio of 0.54–0.65. Per stage, the run's own ``timings.json`` (wall seconds)
says where each second went before and after. Today's run does more than the reference's
(sensitivity, protection, two more figures, the causes raster): those stages are listed as
new, not hidden.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import ROOT, SHARED_DATA
from benchmarks._measure import load_average, run_process, summary

#: The commit issue 23's "today" figures describe: ``main`` when the issue was filed (the last
#: commit of 2026-12-05's wave, "Review: dashboard hrefs quote folder names as URL paths").
REFERENCE = "1a0e00c"

#: Issue 23's figures for :data:`REFERENCE` on the host it was measured on (the issue's text):
#: the Wuhan whole run's CPU seconds and peak memory (MB), lowest and highest.
ISSUE_REFERENCE_CPU_S = (5.4, 6.5)
ISSUE_REFERENCE_MB = (661.0, 750.0)
#: Issue 23's figure for Wuhan as a national batch task then (CPU seconds; budget ≤ 2 s).
ISSUE_BATCH_CPU_S = 3.7

#: The config, relative to a checkout (the same file at both commits).
CONFIG = Path("data") / "cities" / "wuhan.yaml"

#: The two commands, as arguments after ``latcircle -q run <config>``.
COMMANDS: dict[str, list[str]] = {"whole": [], "no_map_no_report": ["--no-map", "--no-report"]}


@contextlib.contextmanager
def reference_checkout(commit: str = REFERENCE) -> Iterator[Path]:
    """Check ``commit`` out in a temporary worktree; yield its root; remove it afterwards.

    The config's data paths (``../../../shared/data``) resolve through a link beside the
    worktree to the shared data; the worktree's modules are compiled first, as the bench
    compiles today's.
    """
    tmp = Path(tempfile.mkdtemp(prefix="latcircle-bench-reference-"))
    tree = tmp / "checkout"
    try:
        _git("worktree", "add", "--detach", str(tree), commit)
        (tmp / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
        compileall.compile_dir(tree / "latcircle", quiet=1)
        yield tree
    finally:
        # Nothing to remove when the add failed; neither step may hide the error in flight.
        with contextlib.suppress(RuntimeError):
            _git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(RuntimeError):
            _git("worktree", "prune")


def _git(*args: str) -> None:
    """Run git in the project; a failure raises with git's own words (a shallow clone lacks
    :data:`REFERENCE`: ``git fetch --unshallow``)."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        msg = f"git {' '.join(args)}: {done.stderr.strip()}"
        raise RuntimeError(msg)


def _run(checkout: Path, extra: list[str], *, timeout_s: float) -> dict[str, Any]:
    """One run of ``python -m latcircle -q run`` with the code of ``checkout``.

    ``-m`` puts the working directory first on ``sys.path``, so the process imports the
    ``latcircle`` package of ``checkout`` (today's or the reference's) with the same Python
    and libraries.
    """
    tmp = Path(tempfile.mkdtemp(prefix="latcircle-bench-baseline-"))
    try:
        load = load_average()[0]
        cmd = [sys.executable, "-m", "latcircle", "-q", "run", str(CONFIG), "--out", str(tmp)]
        run = run_process([*cmd, *extra], timeout_s=timeout_s, cwd=checkout)
        if run.returncode != 0:
            msg = f"{checkout}: latcircle run failed (exit {run.returncode}):\n{run.stderr_tail}"
            raise RuntimeError(msg)
        stages = json.loads((tmp / "timings.json").read_text()).get("stage_seconds", {})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "cpu_s": run.cpu_s,
        "wall_s": run.wall_s,
        "peak_rss_mb": run.peak_rss_mb,
        "stage_seconds": stages,
        "load_before": load,
    }


def baseline_runs(runs: int, *, timeout_s: float = 900.0) -> dict[str, Any]:
    """Run each command ``runs`` times with the reference's code and today's, alternately.

    Returns
    -------
    dict
        ``reference`` (the commit), ``issue`` (its figures in issue 23), and per command
        (:data:`COMMANDS`) ``reference`` and ``today``: CPU, wall and peak summaries, stage
        wall-second medians and the load before each run.
    """
    out: dict[str, Any] = {
        "reference": REFERENCE,
        "issue": {"cpu_s": list(ISSUE_REFERENCE_CPU_S), "peak_rss_mb": list(ISSUE_REFERENCE_MB)},
        "commands": {},
    }
    with reference_checkout() as tree:
        sides: dict[str, Path] = {"reference": tree, "today": ROOT}
        raw: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {side: [] for side in sides} for name in COMMANDS
        }
        for _ in range(runs):
            for name, extra in COMMANDS.items():
                for side, checkout in sides.items():  # alternately: load drifts alike
                    raw[name][side].append(_run(checkout, extra, timeout_s=timeout_s))
    for name, by_side in raw.items():
        out["commands"][name] = {side: _summarise(records) for side, records in by_side.items()}
    return out


def _summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    stages = list(dict.fromkeys(s for r in records for s in r["stage_seconds"]))
    return {
        "cpu_s": summary([r["cpu_s"] for r in records]),
        "wall_s": summary([r["wall_s"] for r in records]),
        "peak_rss_mb": summary([r["peak_rss_mb"] for r in records]),
        "stage_seconds": {
            s: summary([r["stage_seconds"][s] for r in records if s in r["stage_seconds"]])
            for s in stages
        },
        "load_before": [r["load_before"] for r in records],
    }
