"""A square street lattice where exact ties are everywhere, plus a road no site reaches.

Shared by the tests that check a rewritten engine step against the straightforward one on
ties (``tests/test_best_two_nodes.py``, ``tests/test_narrow_sites.py``).
"""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import LineString

__all__ = ["UTM50", "tie_lattice"]

UTM50 = "EPSG:32650"


def tie_lattice(n: int = 6, step: float = 100.0) -> gpd.GeoDataFrame:
    """``n`` × ``n`` nodes ``step`` apart, each link a line, and a detached link far east."""
    lines = []
    for i in range(n):
        for j in range(n - 1):
            lines.append(LineString([(j * step, i * step), ((j + 1) * step, i * step)]))
            lines.append(LineString([(i * step, j * step), (i * step, (j + 1) * step)]))
    far = n * step + 5_000.0
    lines.append(LineString([(far, 0.0), (far + step, 0.0)]))  # no site reaches it
    return gpd.GeoDataFrame(geometry=lines, crs=UTM50)
