"""Print pip constraints pinning every direct dependency to its lowest supported version.

The floors are the ``>=`` bounds in pyproject.toml (their one home); this turns each into
``==``, as osmnx's CI job on minimum versions does. Transitive dependencies stay free.
Usage: ``python .ci/lowest_constraints.py [EXTRA ...] > lowest.txt``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_FLOOR = re.compile(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def main(extras: list[str]) -> int:
    """Print one ``name==floor`` line per direct dependency of the package and ``extras``."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    for spec in specs:
        m = _FLOOR.match(spec)
        if m:
            print(f"{m.group(1)}=={m.group(2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
