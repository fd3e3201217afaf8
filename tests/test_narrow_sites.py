"""Serving sites made in a narrow integer type: the same values as narrowing afterwards.

Session round 15 (sensitivity and years; issue 23): the progress years' serving sites, held
in the smallest integer type that fits (``Metro.scenarios(..., narrow_sites=True)``), are
now made in it (``LatencyField.at(..., site_dtype=...)``) instead of as an ``int64`` array
of every sample then converted. Checked against the independent way (``int64``, then
``astype``), bit for bit, on a street lattice full of exact ties (points equally near two or
four edges, symmetric sites, sites on one edge), points without access, a piece of network
no site reaches, every point with access; and on the demo's years against each year solved
alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tie_lattice import tie_lattice

from latcircle.config import LatencyModel
from latcircle.engine.latency import attach_sites, solve
from latcircle.engine.locator import Locator
from latcircle.engine.network import build_network


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
@pytest.mark.parametrize(
    "sites",
    [
        [[100.0, 0.0], [0.0, 100.0], [250.0, 250.0]],  # mirrored: ties at nodes and points
        [[120.0, 200.0], [180.0, 200.0], [300.0, 300.0], [430.0, -30.0]],  # one edge, a node
        [[9_000.0, 9_000.0]],  # beyond the max drop: no site online, every site -1
    ],
)
def test_site_dtype_is_int64_narrowed(sites: list[list[float]], dtype: Any) -> None:
    net = build_network(tie_lattice())
    locator = Locator(net)
    params = LatencyModel(preset="optical", max_drop_m=200.0).resolved(network_kind="road")
    xy = np.array(sites)
    att = attach_sites(locator, xy[:, 0], xy[:, 1], np.full(len(xy), 20.0), params)
    field = solve(net, att, params)
    g = np.arange(0.0, 500.0 + 1e-9, 25.0)
    x, y = np.meshgrid(g, g)
    loc = locator.locate(
        np.r_[x.ravel(), -5_000.0, 6_050.0], np.r_[y.ravel(), -5_000.0, 10.0], max_drop_m=200.0
    )
    assert len(loc.tie_point) > 0 and not loc.has_access.all()
    for part in (loc, loc.take(np.flatnonzero(loc.has_access))):  # some, then all with access
        want_lat, want_site = field.at(part)
        got_lat, got_site = field.at(part, site_dtype=np.dtype(dtype))
        assert got_lat.tobytes() == want_lat.tobytes()
        assert got_site.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got_site, want_site)
        assert got_site.tobytes() == want_site.astype(dtype).tobytes()
    if len(field.sites) == 0:
        assert (field.at(loc, site_dtype=np.dtype(np.int8))[1] == -1).all()


def test_demo_years_narrow_equal_each_year_alone(demo_metro: Any) -> None:
    from latcircle.analysis.progress import year_range

    metro = demo_metro
    years = [*year_range(metro), 2020]  # 2020: no site online yet
    narrow = metro.scenarios(years, narrow_sites=True)
    dtype = np.min_scalar_type(-max(len(metro.inputs.sites), 1))
    for year, sc in zip(years, narrow, strict=True):
        alone = metro.scenario(year=year)
        for basis, ev in alone.evaluations.items():
            got = sc.evaluations[basis]
            assert got.latency_us.tobytes() == ev.latency_us.tobytes(), (year, basis)
            assert got.site.dtype == dtype
            assert got.site.tobytes() == ev.site.astype(dtype).tobytes(), (year, basis)
