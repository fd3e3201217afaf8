"""A worker's warm-up imports what a batch city imports (``national_run.warm_up``).

The national benchmark reports a city's task CPU apart from the worker's start; that split
is honest only while the warm-up imports every latcircle module a batch city needs. Run in a
fresh interpreter: warm up, run the tiny city as a national task, and list the latcircle
modules the task still imported (none may be left).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_SCRIPT = """
import json, sys
from latcircle.national_run import run_city_task, warm_up
warm_up()
before = set(sys.modules)
outcome = run_city_task(sys.argv[1], cities=sys.argv[2], force=True)
new = sorted(m for m in set(sys.modules) - before if m.startswith("latcircle"))
print(json.dumps({"status": outcome.status, "reason": outcome.reason, "new": new}))
"""


def test_warm_up_imports_every_latcircle_module_of_a_batch_city(
    tiny_city: Path, tmp_path: Path
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tiny_city), str(tmp_path / "cities")],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        cwd=tmp_path,  # not the repository: latcircle comes from the installed path
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "done", result["reason"]
    assert result["new"] == []
