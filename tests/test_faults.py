"""Faults: a run killed at any stage leaves the previous outputs intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from latcircle.config import load_config
from latcircle.pipeline import run_city

STAGES = ["load", "network", "locate", "dijkstra", "coverage", "isochrones"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _previous_run_and_change(make_tiny_city, out: Path) -> tuple[dict[str, bytes], Path]:
    """Run the tiny city into ``out``; return its outputs and a config computing otherwise.

    The changed config has other thresholds, so a run of it that completed would show.
    """
    run_city(load_config(make_tiny_city("before")), out=out)
    changed = make_tiny_city("after", extra_yaml="thresholds_ms: [0.2, 1.0]\n")
    return _snapshot(out), changed


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_kill_after_stage_keeps_previous_outputs(
    make_tiny_city, tmp_path: Path, stage: str
) -> None:
    out = tmp_path / "out"
    before, changed = _previous_run_and_change(make_tiny_city, out)
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
def test_kill_at_any_moment_never_leaves_a_mix(
    make_tiny_city, tmp_path: Path, delay: float
) -> None:
    out = tmp_path / "out"
    before, changed = _previous_run_and_change(make_tiny_city, out)
    after_dir = tmp_path / "reference"
    run_city(load_config(changed), out=after_dir)
    after = _snapshot(after_dir)
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
