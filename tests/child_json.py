"""Run a ``python -c`` child with some environment variables removed or set; read its JSON.

For the checks of what ``latcircle.cli.main()`` sets for its own process before the libraries
load (``tests/test_startup.py``: OpenBLAS's threads; ``tests/test_arrow_pool.py``: Arrow's
memory pool): each runs in a fresh process, since a library reads its setting once, as it
loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["child_json"]


def child_json(
    code: str, *args: str, unset: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run ``code`` with ``args``; return the JSON object its last line of stdout prints.

    ``unset`` names the variables taken out of this process's environment for the child,
    ``env`` those then set.
    """
    child_env = {k: v for k, v in os.environ.items() if k not in unset}
    child_env.update(env or {})
    run = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env,
    )
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return out
