"""The mutation check stays runnable: every mutant still applies to the source it targets.

``make mutate`` (``scripts/mutate.py``) runs each mutant against the fast tests; that takes
minutes and is not part of ``make test``. This test runs its ``--list`` mode, which applies
every mutant to a scratch copy without running tests, so that a refactor that moves the
mutated code fails here (update the mutant) instead of silently shrinking the check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_mutant_applies() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "mutate.py"), "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "STALE" not in proc.stdout
    lines = proc.stdout.splitlines()
    # The covered rule has one home (analysis.coverage.covered) and its mutant; each of its
    # callers (coverage table, status, site service, share, isochrones, layers, interconnect,
    # the map's heat layer) has a mutant that copies it with a strict <. The progress table
    # and the shortfall's clusters read the status codes (coverage.cause_codes, through
    # ``Evaluation.codes``), so they have no copy.
    budget = [line for line in lines if line.startswith("budget <= to <")]
    assert len(budget) == 1 and "latcircle/analysis/coverage.py:" in budget[0], budget
    callers = {line.split(" at ")[1].split(":")[0] for line in lines if "copied with <" in line}
    assert callers >= {
        f"latcircle/{m}.py"
        for m in (
            "analysis/coverage",
            "analysis/metro",
            "analysis/isochrones",
            "analysis/layers",
            "analysis/interconnect",
            "present/map/heat",
        )
    }, callers
    for kind in (
        "max-drop",
        "route factor",
        "device latency",
        "equipment",
        "district index",
        "site id",
        "serving site",
        "wrong basis",
        "interconnect",
        "online year",
        # the newer analyses (issue 24): each has mutants of its own
        "sensitivity:",
        "uncertainty:",
        "protection:",
        "calibration:",
        "plan margins:",
    ):
        assert any(kind in line for line in lines), kind
