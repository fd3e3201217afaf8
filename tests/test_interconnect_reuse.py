"""The interconnect table from protection's single-site fields is the table solved afresh.

Session round 13: the protection stage solves every online site alone
(:func:`latcircle.engine.latency.solve_each`); ``interconnect.csv`` solved the large and
medium sites again, one Dijkstra each. A site whose super-source arcs are the same in both
graphs (same nodes, same weights bit for bit: :func:`site_source_arcs`) now takes its
distances from protection's field. The reference is :func:`interconnect_table` solving every
site itself (the way ``tests/test_values.py`` checks against a split-graph brute force).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis import interconnect as ic
from latcircle.analysis.interconnect import interconnect_sites, interconnect_table, pair_latency
from latcircle.analysis.protection import protection
from latcircle.engine.latency import site_source_arcs, solve_each


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = ic.dijkstra

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(ic, "dijkstra", counted)
    return calls


def test_protection_table_is_the_solved_table(
    demo_metro: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = demo_metro.scenario(year=None)
    want = interconnect_table(demo_metro, year=scenario.year)
    assert len(want) >= 3 and want["reachable"].any()
    calls = _counting(monkeypatch)
    assert protection(demo_metro, scenario).interconnect is None  # not asked
    got = protection(demo_metro, scenario, interconnect=True).interconnect
    assert got is not None
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert calls == []  # every demo interconnect site read from its field: no Dijkstra


def test_a_site_entering_otherwise_is_solved_again(
    demo_metro: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = demo_metro.view(None)
    idx = interconnect_sites(demo_metro, year=None)
    fields = {
        int(s): f.node_us
        for s, f in zip(
            idx,
            solve_each(view.network, view.attachment, demo_metro.params, sites=idx),
            strict=True,
        )
    }
    known = {
        s: (u, site_source_arcs(view.network, view.attachment, demo_metro.params, s))
        for s, u in fields.items()
    }
    first = int(idx[0])
    node, w = known[first][1]
    # One weight an ulp off: not the graph the field was solved on, so not reused.
    known[first] = (fields[first], (node, np.nextafter(w, np.inf)))
    kw = {"us_per_m": demo_metro.params.us_per_m, "fixed_us": demo_metro.params.equipment_us}
    want = pair_latency(view.network, view.attachment, view.arcs, idx, **kw)
    calls = _counting(monkeypatch)
    got = pair_latency(view.network, view.attachment, view.arcs, idx, known=known, **kw)
    assert got.tobytes() == want.tobytes()
    assert calls == [1]  # the one site solved, the others read
    # A wrong field with the right arcs would be read as it is: the check is on the arcs.
    known[first] = (fields[first] + 1.0, (node, w))
    bent = pair_latency(view.network, view.attachment, view.arcs, idx, known=known, **kw)
    assert not np.array_equal(bent, want)
