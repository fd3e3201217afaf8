"""Invariants of the coverage table on small random metros built through the Python API.

* every share lies in [0, 1], and covered + no access + too far = total;
* raising a threshold never lowers a share;
* adding a site never lowers a share (per basis, metro and district);
* translating every input by the same (dx, dy) leaves every number unchanged.

The metros are random: a star-shaped boundary with a lake, a jittered road lattice over
part of it (the rest has no access) plus a detached road piece, random sites, key sites
and population points, and two districts split by a random vertical line. A steep
propagation delay (0.3 µs/m) makes the usual 0.25-1 ms thresholds cut through a metro a
few kilometres wide.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon

from latcircle.analysis.coverage import Samples, coverage_table, evaluate
from latcircle.config import LatencyModel
from latcircle.engine.grid import label_points, make_grid
from latcircle.engine.latency import attach_sites, solve
from latcircle.engine.locator import Locator
from latcircle.engine.network import build_network

UTM50 = "EPSG:32650"
THRESHOLDS_MS = [0.25, 0.5, 0.75, 1.0]
CELL_M = 150.0
KEY = ["scope", "name", "basis", "threshold_ms"]
PARAMS = LatencyModel(k_us_per_km=300.0, max_drop_m=320.0).resolved(network_kind="road")


@dataclass
class RandomMetro:
    """Inputs of one random metro, in metres."""

    boundary: Polygon
    districts: list[Polygon]
    lines: list[LineString]
    sites: np.ndarray
    site_us: np.ndarray
    key_xy: np.ndarray
    key_w: np.ndarray
    pop_xy: np.ndarray
    pop_w: np.ndarray

    def translated(self, dx: float, dy: float) -> RandomMetro:
        shift = np.array([dx, dy])

        def move(g):
            return shapely.transform(g, lambda c: c + shift)

        return RandomMetro(
            boundary=move(self.boundary),
            districts=[move(d) for d in self.districts],
            lines=[move(g) for g in self.lines],
            sites=self.sites + shift,
            site_us=self.site_us,
            key_xy=self.key_xy + shift,
            key_w=self.key_w,
            pop_xy=self.pop_xy + shift,
            pop_w=self.pop_w,
        )


def _random_metro(seed: int, n_sites: int) -> RandomMetro:
    rng = np.random.default_rng(seed)
    cx, cy = 500_000.0 + rng.uniform(-1, 1), 3_400_000.0 + rng.uniform(-1, 1)
    n = int(rng.integers(7, 14))
    # One angle in each of n equal sectors: no gap reaches 2·2π/7 < π, so the shell is star-
    # shaped about the centre, holds the disc within 1800·cos(2π/7) ≈ 1,120 m of it (and so
    # the lake, and a width over the 1,600 m the cut below needs). Angles drawn anywhere
    # could bunch in one side (seed 1884724: seven within 121–174°), a thin self-crossing
    # fan narrower than that cut.
    angles = (np.arange(n) + rng.uniform(0, 1, n)) * (2 * np.pi / n)
    radii = rng.uniform(1800, 3200, n)
    shell = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
    lake = np.array([[cx + 300, cy + 250], [cx + 900, cy + 310], [cx + 700, cy + 820]])
    lake += rng.uniform(-40, 40, lake.shape)
    boundary = Polygon(shell, [lake])
    if not boundary.is_valid:
        boundary = shapely.make_valid(Polygon(shell))
    xmin, ymin, xmax, ymax = boundary.bounds
    cut = rng.uniform(xmin + 800, xmax - 800)
    west = shapely.intersection(boundary, shapely.box(xmin - 1, ymin - 1, cut, ymax + 1))
    east = shapely.difference(boundary, west)
    # A jittered road lattice over the west part (east of it: no access), some links missing.
    spacing = rng.uniform(500, 900)
    xs = np.arange(xmin, min(xmax, cut + 600), spacing)
    ys = np.arange(ymin, ymax, spacing)
    node = {
        (i, j): (x + rng.uniform(-80, 80), y + rng.uniform(-80, 80))
        for i, x in enumerate(xs)
        for j, y in enumerate(ys)
    }
    lines = []
    for (i, j), p in node.items():
        for q in ((i + 1, j), (i, j + 1)):
            if q in node and rng.random() < 0.85:
                mid = (
                    (p[0] + node[q][0]) / 2 + rng.uniform(-60, 60),
                    (p[1] + node[q][1]) / 2 + rng.uniform(-60, 60),
                )
                lines.append(LineString([p, mid, node[q]]))
    # A detached piece of road far east (its own component).
    ex, ey = xmax - rng.uniform(200, 600), cy + rng.uniform(-500, 500)
    lines.append(LineString([(ex, ey), (ex - 300, ey + 200), (ex - 500, ey + 50)]))
    sites = np.column_stack([rng.uniform(xmin, xmax, n_sites), rng.uniform(ymin, ymax, n_sites)])
    n_key, n_pop = int(rng.integers(5, 40)), int(rng.integers(20, 200))
    return RandomMetro(
        boundary=boundary,
        districts=[west, east],
        lines=lines,
        sites=sites,
        site_us=rng.choice([0.0, 20.0, 80.0], n_sites),
        key_xy=np.column_stack([rng.uniform(xmin, xmax, n_key), rng.uniform(ymin, ymax, n_key)]),
        key_w=rng.choice([1.0, 1.0, 2.0, 0.5], n_key),
        pop_xy=np.column_stack([rng.uniform(xmin, xmax, n_pop), rng.uniform(ymin, ymax, n_pop)]),
        pop_w=rng.uniform(0, 500, n_pop),
    )


@dataclass
class Prepared:
    """A metro located once, solvable for any set of online sites."""

    network: object
    attachment: object
    samples: list[Samples]

    def table(self, online: np.ndarray, thresholds_ms: list[float] = THRESHOLDS_MS):
        lat_field = solve(self.network, self.attachment, PARAMS, online=online)
        evaluations = [evaluate(lat_field, s) for s in self.samples]
        return coverage_table(
            evaluations, thresholds_ms=thresholds_ms, district_names=["West", "East"]
        )


def _prepare(m: RandomMetro) -> Prepared:
    net = build_network(gpd.GeoDataFrame(geometry=m.lines, crs=UTM50))
    locator = Locator(net)
    att = attach_sites(locator, m.sites[:, 0], m.sites[:, 1], m.site_us, PARAMS)
    drop = PARAMS.max_drop_m
    grid = make_grid(m.boundary, cell_m=CELL_M, max_cells=1_000_000)
    gx, gy = grid.centres()
    area = Samples(
        basis="area",
        weight=np.full(len(gx), grid.cell_km2),
        location=locator.locate(gx, gy, max_drop_m=drop),
        district=grid.rasterize(m.districts)[grid.inside],
    )
    kx, ky = m.key_xy.T
    key = Samples(
        basis="key_sites",
        weight=m.key_w,
        location=locator.locate(kx, ky, max_drop_m=drop),
        district=label_points(kx, ky, m.districts),
    )
    inside = label_points(m.pop_xy[:, 0], m.pop_xy[:, 1], [m.boundary]) == 0
    px, py = m.pop_xy[inside].T
    pop = Samples(
        basis="population",
        weight=m.pop_w[inside],
        location=locator.locate(px, py, max_drop_m=drop),
        district=label_points(px, py, m.districts),
    )
    return Prepared(network=net, attachment=att, samples=[key, pop, area])


def _by_key(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index(KEY).sort_index()


seeds = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- bounds


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(1, 5), st.data())
def test_shares_in_unit_interval_and_parts_add_up(seed: int, n_sites: int, data) -> None:
    m = _random_metro(seed, n_sites)
    prepared = _prepare(m)
    online = np.array(data.draw(st.lists(st.booleans(), min_size=n_sites, max_size=n_sites)))
    thresholds = sorted(
        data.draw(st.lists(st.floats(0.05, 3.0), min_size=1, max_size=6, unique=True))
    )
    table = prepared.table(online, thresholds)
    share = table["share"].to_numpy(dtype=float)
    has_weight = table["total"] > 0
    assert np.isnan(share[~has_weight]).all()
    assert ((share[has_weight] >= 0) & (share[has_weight] <= 1)).all()
    for col in ("covered", "no_access", "unreachable", "too_far"):
        assert (table[col] >= 0).all()
    parts = table["covered"] + table["no_access"] + table["unreachable"] + table["too_far"]
    np.testing.assert_allclose(parts, table["total"], rtol=1e-12, atol=1e-9)
    # Share is covered over total, and the totals are the sample weights, by hand.
    np.testing.assert_allclose(
        share[has_weight], (table["covered"] / table["total"])[has_weight], rtol=1e-12
    )
    metro = table[table["scope"] == "metro"]
    for s in prepared.samples:
        rows = metro[metro["basis"] == s.basis]
        assert rows["total"].to_numpy() == pytest.approx(s.weight.sum())
        # No access is the weight beyond the max drop, whatever the threshold.
        assert rows["no_access"].to_numpy() == pytest.approx(
            s.weight[~np.isfinite(s.location.drop)].sum()
        )
    # The two districts tile the metro: their area adds up to the metro's.
    for thr in thresholds:
        rows = table[(table["basis"] == "area") & (table["threshold_ms"] == thr)]
        districts = rows[rows["scope"] == "district"]
        metro_row = rows[rows["scope"] == "metro"].iloc[0]
        assert districts["total"].sum() == pytest.approx(metro_row["total"])
        assert districts["covered"].sum() == pytest.approx(metro_row["covered"])


# --------------------------------------------------------------------------- monotonicity


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(1, 5), st.lists(st.floats(0.05, 3.0), min_size=2, max_size=8))
def test_raising_a_threshold_never_lowers_a_share(seed: int, n_sites: int, thr) -> None:
    prepared = _prepare(_random_metro(seed, n_sites))
    thresholds = sorted(set(thr))
    table = prepared.table(np.ones(n_sites, bool), thresholds)
    for _, rows in table.groupby(["scope", "name", "basis"]):
        rows = rows.sort_values("threshold_ms")
        assert (np.diff(rows["covered"].to_numpy()) >= 0).all()
        share = rows["share"].to_numpy(dtype=float)
        if np.isfinite(share).all():
            assert (np.diff(share) >= 0).all()
        assert (np.diff(rows["too_far"].to_numpy()) <= 1e-12).all()


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(2, 6), st.data())
def test_adding_a_site_never_lowers_a_share(seed: int, n_sites: int, data) -> None:
    prepared = _prepare(_random_metro(seed, n_sites))
    order = data.draw(st.permutations(range(n_sites)))
    online = np.zeros(n_sites, bool)
    before = _by_key(prepared.table(online))
    assert (before["covered"] == 0).all()  # no site: nothing is covered
    for s in order:
        online[s] = True
        after = _by_key(prepared.table(online))
        assert (after["covered"].to_numpy() >= before["covered"].to_numpy()).all(), f"site {s}"
        ok = np.isfinite(before["share"].to_numpy(dtype=float))
        assert (after["share"].to_numpy()[ok] >= before["share"].to_numpy()[ok]).all()
        # Access is a property of the locations, not of the sites.
        np.testing.assert_array_equal(after["no_access"], before["no_access"])
        before = after


# --------------------------------------------------------------------------- translation


@settings(max_examples=30, deadline=None)
@given(
    seeds,
    st.integers(1, 4),
    st.integers(-400_000, 400_000),
    st.integers(-2_000_000, 2_000_000),
)
def test_translation_leaves_every_share_unchanged(seed: int, n_sites: int, dx: int, dy: int):
    m = _random_metro(seed, n_sites)
    online = np.ones(n_sites, bool)
    here = _by_key(_prepare(m).table(online))
    there = _by_key(_prepare(m.translated(float(dx), float(dy))).table(online))
    assert here.index.equals(there.index)
    for col in ("covered", "no_access", "too_far", "total", "share"):
        np.testing.assert_allclose(
            there[col].to_numpy(dtype=float),
            here[col].to_numpy(dtype=float),
            rtol=1e-12,
            atol=1e-12,
            err_msg=col,
        )


# --------------------------------------------------------------------------- a city on disk


def test_every_subset_of_sites_on_the_tiny_city(make_tiny_city) -> None:
    from latcircle.analysis.metro import prepare
    from latcircle.config import load_config

    config: Path = make_tiny_city(
        "subsets",
        sites=[
            ("A", 1000.0, 5000.0, 2024),
            ("B", 5000.0, 5000.0, 2027),
            ("C", 3000.0, 1000.0, 2025),
            ("D", 5500.0, 9000.0, 2026),
        ],
    )
    metro = prepare(load_config(config))
    names = metro.district_names
    tables = {}
    for mask in itertools.product([False, True], repeat=4):
        scenario = metro.scenario(online=np.array(mask))
        tables[mask] = _by_key(
            coverage_table(
                list(scenario.evaluations.values()),
                thresholds_ms=[0.1, 0.12, 0.125, 0.13, 1.0],
                district_names=names,
            )
        )
    for small, big in itertools.product(tables, repeat=2):
        if all(b or not s for s, b in zip(small, big, strict=True)):  # small is a subset
            assert (
                tables[big]["covered"].to_numpy() >= tables[small]["covered"].to_numpy()
            ).all(), (small, big)
    for table in tables.values():
        share = table["share"].to_numpy(dtype=float)
        assert ((share >= 0) & (share <= 1)).all()
        parts = table["covered"] + table["no_access"] + table["unreachable"] + table["too_far"]
        np.testing.assert_allclose(parts, table["total"], rtol=1e-12, atol=1e-9)
    # Everything online reaches every place with access within 1 ms.
    full = tables[(True,) * 4].xs(1.0, level="threshold_ms")
    np.testing.assert_allclose(full["covered"] + full["no_access"], full["total"], rtol=1e-12)
