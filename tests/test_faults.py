"""Faults: a run killed at any stage leaves the previous outputs intact.

The tiny city's two runs (the previous outputs, and the changed config's complete outputs
that a killed run may leave instead) are made once for the module; each test copies the
previous outputs to its own ``--out`` and kills its own ``latcircle`` child process there:
a child forked warm when a stage line says when (``tests/forked.py``), a fresh interpreter
when the moment is timed from its start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import _write_tiny_city
from forked import LATCIRCLE_MAIN, python_c

from latcircle.cli import main
from latcircle.config import load_config
from latcircle.pipeline import run_city

STAGES = ["load", "network", "locate", "dijkstra", "coverage", "isochrones"]


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (``None`` for a folder: ``figures/``)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


class _Runs(NamedTuple):
    """The previous run's folder and files, the changed config, and its complete files."""

    previous: Path
    before: dict[str, bytes | None]
    changed: Path
    after: dict[str, bytes | None]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> _Runs:
    """Run the tiny city, and a config computing otherwise (READ-ONLY: copy ``previous``).

    The changed config has other thresholds, so a run of it that completed would show. Its
    reference is written as the killed children write it (``latcircle -q run``: map and
    report too), so that a child that finished before its kill compares whole.
    """
    root = tmp_path_factory.mktemp("faults")
    previous = root / "previous"
    run_city(load_config(_write_tiny_city(root / "before")), out=previous)
    changed = _write_tiny_city(root / "after", extra_yaml="thresholds_ms: [0.2, 1.0]\n")
    assert main(["-q", "run", str(changed), "--out", str(root / "reference")]) == 0
    return _Runs(previous, _snapshot(previous), changed, _snapshot(root / "reference"))


def _previous_outputs(runs: _Runs, out: Path) -> None:
    """Put the previous run's outputs (every file, latcircle's marker included) at ``out``."""
    shutil.copytree(runs.previous, out)
    assert _snapshot(out) == runs.before


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_kill_after_stage_keeps_previous_outputs(runs: _Runs, tmp_path: Path, stage: str) -> None:
    out = tmp_path / "out"
    _previous_outputs(runs, out)
    # `latcircle -v run` in a child forked warm (tests/forked.py): the stage lines, not the
    # clock, say when to kill, so the interpreter's start-up adds nothing to the test.
    args = ["-v", "run", str(runs.changed), "--out", str(out)]
    with python_c(LATCIRCLE_MAIN, args, env={**os.environ, "COLUMNS": "200"}) as proc:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if f"stage {stage}" in line:
                proc.send_signal(signal.SIGKILL)
                break
        code = proc.wait(timeout=60)
    assert code == -signal.SIGKILL, "".join(seen)
    assert _snapshot(out) == runs.before


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.2, 1.6])
def test_kill_at_any_moment_never_leaves_a_mix(runs: _Runs, tmp_path: Path, delay: float) -> None:
    out = tmp_path / "out"
    _previous_outputs(runs, out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "latcircle", "-q", "run", str(runs.changed), "--out", str(out)],
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    now = _snapshot(out)
    # Whole old outputs or whole new ones, never a mixture (wall times differ by design).
    if now == runs.before:
        return
    assert now.keys() == runs.after.keys()
    for name in now:
        if name not in ("run.json", "timings.json"):
            assert now[name] == runs.after[name], name
