"""Benchmarks for latcircle: ``python -m benchmarks`` (``make bench``) -> docs/performance.md.

Five studies, each measured in fresh child processes so that peak memory belongs to one
measurement only:

* :mod:`benchmarks.wuhan` -- the real Wuhan metro end to end (``latcircle run`` as a
  subprocess), and per stage (the same run in process, every stage timed with its peak RSS);
* :mod:`benchmarks.recipe` -- the usual osmnx isochrone recipe (``nx.ego_graph`` per site and
  threshold, reached edges and nodes buffered and unioned, clipped to the boundary, population
  summed under the polygons) against latcircle's field-plus-isochrones on identical inputs;
* :mod:`benchmarks.floor` -- the floor: a bare multi-source ``scipy`` Dijkstra plus one
  KD-tree pass over the same cells, against latcircle's exact engine;
* :mod:`benchmarks.scaling` -- synthetic metros from 10 k to 1 M nodes and 200 m to 25 m cells,
  with the log-log growth rate of time and memory;
* :mod:`benchmarks.browser` -- Wuhan's (and the demo's) ``map.html``: its size, and the time
  to open it in headless Chromium, with the CDN assets replayed on loopback.
* :mod:`benchmarks.baseline` -- the commit issue 23's budgets were set against, checked out
  and run on this host alternately with today's code: the budgets as host-free ratios.

Timings are never asserted in unit tests; this package only measures and reports.
"""

from __future__ import annotations

from pathlib import Path

#: The project root (``benchmarks/..``).
ROOT = Path(__file__).resolve().parents[1]

#: The shared real data (``../shared/data`` relative to the project root).
SHARED_DATA = ROOT.parent / "shared" / "data"

#: The Wuhan city config.
WUHAN_CONFIG = ROOT / "data" / "cities" / "wuhan.yaml"
