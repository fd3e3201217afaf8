"""Faults: a run killed at any stage leaves the previous outputs intact."""

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

from latcircle.config import load_config
from latcircle.pipeline import run_city

STAGES = ["load", "network", "locate", "dijkstra", "coverage", "isochrones"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class _Runs(NamedTuple):
    previous: Path  # a whole run of the tiny city, copied into each test's output folder
    before: dict[str, bytes]  # its files
    changed: Path  # a config computing otherwise (other thresholds)
    after: dict[str, bytes]  # the files of a whole run of ``changed``


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> _Runs:
    """The tiny city's run and the changed config's, made once for the module's twelve kills.

    Each test starts from its own copy of the previous run (the same bytes a run writes) and
    kills its own subprocess; only these two in-process runs (about 0.6 s of CPU each) are
    shared. Read-only: no test writes under this folder.
    """
    root = tmp_path_factory.mktemp("faults")
    previous, after = root / "previous", root / "after-run"
    run_city(load_config(_write_tiny_city(root / "before")), out=previous)
    changed = _write_tiny_city(root / "after", extra_yaml="thresholds_ms: [0.2, 1.0]\n")
    run_city(load_config(changed), out=after)
    return _Runs(previous, _snapshot(previous), changed, _snapshot(after))


def _previous_run_and_change(runs: _Runs, out: Path) -> tuple[dict[str, bytes], Path]:
    """Put a whole previous run into ``out``; return its outputs and a config computing otherwise.

    The changed config has other thresholds, so a run of it that completed would show.
    """
    shutil.copytree(runs.previous, out)
    assert _snapshot(out) == runs.before
    return runs.before, runs.changed


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_kill_after_stage_keeps_previous_outputs(runs: _Runs, tmp_path: Path, stage: str) -> None:
    out = tmp_path / "out"
    before, changed = _previous_run_and_change(runs, out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "latcircle", "-v", "run", str(changed), "--out", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if f"stage {stage}" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert _snapshot(out) == before


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.2, 1.6])
def test_kill_at_any_moment_never_leaves_a_mix(runs: _Runs, tmp_path: Path, delay: float) -> None:
    out = tmp_path / "out"
    before, changed = _previous_run_and_change(runs, out)
    after = runs.after
    proc = subprocess.Popen(
        [sys.executable, "-m", "latcircle", "-q", "run", str(changed), "--out", str(out)],
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    now = _snapshot(out)
    # Whole old outputs or whole new ones, never a mixture (run.json records timings).
    if now == before:
        return
    assert now.keys() == after.keys()
    for name in now:
        if name != "run.json":
            assert now[name] == after[name], name
