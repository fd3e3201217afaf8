"""Sensitivity curves against full reruns, to the sample.

The curve (each sample covered while ``r ≤ r*`` / ``E ≤ E*``) must equal a full solve of the
metro with that route factor or equipment latency, sample by sample, at several values: a
round value, exactly a critical value (a target's, and a breakpoint's), and the float on each
side of it.

* On the hand-built metro (tests/handbuilt.py) every latency is an exact binary fraction:
  there the agreement is exact, and ``r*`` equals the hand formula
  ``max_s (1000 − E − S_s) / (k·(|x − x_s| + |y|))``.
* On the demo (sites of two device latencies: the serving site changes with ``r``) and on
  Wuhan (realdata) a full solve sums rounded per-edge latencies: a sample may then differ only
  where the rerun's latency lies within 1e-9 µs of the budget, and the test counts them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from latcircle.analysis.coverage import covered, share_of
from latcircle.analysis.metro import Metro, prepare, with_views
from latcircle.analysis.sensitivity import (
    E_GRID,
    R_GRID,
    Sensitivity,
    critical_table,
    sensitivity,
    sensitivity_table,
    target_scenarios,
)
from latcircle.config import load_config
from latcircle.engine.latency import arc_matrix, attach_sites

from handbuilt import SITES, X0, Y0, write_city

ROOT = Path(__file__).resolve().parents[1]
#: A rerun's latency this close to the budget may round to either side (see module doc).
ROUNDING_US = 1e-9


def rerun(metro: Metro, **changes: float) -> Metro:
    """The metro as `prepare` builds it with other model parameters (sites attached anew)."""
    params = dataclasses.replace(metro.params, **changes)
    sites = metro.inputs.sites
    att = attach_sites(
        metro.locator,
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(),
        params,
    )
    again = dataclasses.replace(
        metro, params=params, attachment=att, arcs=arc_matrix(metro.network, params)
    )
    return with_views(again)


def compare(metro: Metro, sens, year: int | None, parameter: str, value: float) -> int:
    """Assert the curve equals a rerun at ``value``; return how many samples differ.

    A sample may differ only when its critical value is ``value`` to within 1e-12 (relative):
    its exact latency is then the budget, and the rerun's floating-point sum decides.
    """
    scenario = rerun(metro, **{parameter: value}).scenario(year=year)
    budget = metro.config.budget_ms
    differ_total = 0
    for basis, ev in scenario.evaluations.items():
        crit = sens.get(year, basis)
        stars = crit.stars(parameter)
        got = covered(ev.latency_us, budget_ms=budget)
        want = value <= stars
        differ = got != want
        on_budget = np.abs(stars - value) <= 1e-12 * max(1.0, abs(value))
        assert not (differ & ~on_budget).any(), f"{parameter}={value!r} {basis}"
        assert np.all(np.abs(ev.latency_us[differ] - budget * 1000.0) <= ROUNDING_US)
        differ_total += int(differ.sum())
        # The curve's share is the rerun's share (the sums differ only in rounding).
        share = share_of(float(ev.samples.weight[got].sum()), ev.samples.total)
        if not differ.any():
            assert float(crit.share(parameter, value)) == pytest.approx(share, abs=1e-12)
    return differ_total


def values_around(critical: float, *rounds: float) -> list[float]:
    return [
        *rounds,
        critical,
        float(np.nextafter(critical, -np.inf)),
        float(np.nextafter(critical, np.inf)),
    ]


# --------------------------------------------------------------------------- hand-built


@pytest.fixture(scope="module")
def handbuilt(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    folder = tmp_path_factory.mktemp("hand")
    keys = [(x, y) for x in (300.0, 950.0, 1500.0, 1950.0) for y in (0.0, 400.0, 800.0)]
    cfg = write_city(
        folder,
        key_sites=keys,
        extra={"targets": [{"year": 2030, "share": 0.5, "basis": "population"}]},
    )
    return prepare(cfg)


def test_handbuilt_r_star_is_the_hand_formula(handbuilt: Metro) -> None:
    metro = handbuilt
    sc = metro.scenario()
    sens = sensitivity(metro, [sc])
    k = metro.params.k_us_per_m
    for basis, samples in metro.samples.items():
        crit = sens.get(None, basis)
        x, y = samples.coordinates()
        x, y = x - X0, y - Y0
        ok = samples.location.has_access
        each = [
            (1000.0 - 100.0 - s["device"]) / (k * (np.abs(x - s["x"]) + np.abs(y))) for s in SITES
        ]
        hand = np.where(ok, np.maximum(*each), -np.inf)
        assert np.allclose(crit.r_star[ok], hand[ok], rtol=1e-14, atol=0)
        assert np.all(np.isneginf(crit.r_star[~ok]))


@pytest.mark.parametrize("parameter", ["route_factor", "equipment_us"])
def test_handbuilt_curve_equals_reruns_exactly(handbuilt: Metro, parameter: str) -> None:
    metro = handbuilt
    sens = sensitivity(metro, [metro.scenario()])
    crit = sens.get(None, "population")
    critical = crit.critical(parameter, 0.5)
    # r = 2 is the run's own value, where samples sit exactly on the budget.
    rounds = (1.0, 1.37, 2.0, 2.5) if parameter == "route_factor" else (0.0, 100.0, 230.0, 500.0)
    values = values_around(critical, *rounds)
    breakpoints = crit.breakpoints(
        parameter, *((1.0, 3.0) if parameter == "route_factor" else (0.0, 500.0))
    )
    values += [float(breakpoints[len(breakpoints) // 2])]
    for value in rounds:  # away from any critical value, and r = 2: exact binary fractions
        assert compare(metro, sens, None, parameter, value) == 0
    for value in values[len(rounds) :]:  # on a critical value and one float either side
        compare(metro, sens, None, parameter, value)  # only samples exactly on the budget differ


def test_handbuilt_critical_value_is_where_the_target_is_lost(handbuilt: Metro) -> None:
    metro = handbuilt
    sens = sensitivity(metro, target_scenarios(metro, metro.scenario()))
    table = critical_table(sens, metro)
    assert list(table["parameter"]) == ["route_factor", "equipment_us"]
    for row in table.itertuples():
        field = row.parameter
        # Just below it (by 1e-12, beyond any rounding) the target is met, just above lost.
        below, above = row.critical * (1 - 1e-12), row.critical * (1 + 1e-12)
        met = rerun(metro, **{field: below}).scenario().share("population", threshold_ms=1.0)
        lost = rerun(metro, **{field: above}).scenario().share("population", threshold_ms=1.0)
        assert met >= 0.5 > lost, (field, met, lost)


# --------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo(demo_metro: Metro) -> Metro:
    """The demo (seed 7) prepared: the session's, read-only (conftest)."""
    return demo_metro


@pytest.fixture(scope="module")
def demo_sens(demo: Metro) -> Sensitivity:
    """The demo's critical values, every progress year: made once for the module's tests.

    Each test reruns the metro itself (the reference); this, the thing checked, is the same
    computation for all of them (about 1 s of CPU each).
    """
    return sensitivity(demo, target_scenarios(demo, demo.scenario()))


@pytest.mark.slow
@pytest.mark.parametrize("parameter", ["route_factor", "equipment_us"])
@pytest.mark.parametrize(("year", "target"), [(2027, 0.70), (2028, 0.75)])
def test_demo_curve_equals_reruns(
    demo: Metro, demo_sens: Sensitivity, parameter: str, year: int, target: float
) -> None:
    metro, sens = demo, demo_sens
    # 2027: every online site at 350 µs (from the run's field); 2028 adds a 20 µs site, so
    # the serving site changes with r (route lengths per device latency).
    assert len(sens.get(year, "key_sites").group_us) == (1 if year == 2027 else 2)
    critical = sens.get(year, "key_sites").critical(parameter, target)
    assert np.isfinite(critical)
    rounds = (1.0, 1.5) if parameter == "route_factor" else (0.0, 250.0)
    for value in rounds:
        assert compare(metro, sens, year, parameter, value) == 0
    for value in values_around(critical):
        compare(metro, sens, year, parameter, value)  # only samples exactly on the budget differ


@pytest.mark.slow
def test_demo_sensitivity_csv_is_exact_at_its_grid(demo: Metro, demo_sens: Sensitivity) -> None:
    metro, sens = demo, demo_sens
    table = sensitivity_table(sens)
    assert set(table["kind"]) == {"grid", "breakpoint", "run"}
    rows = table[(table["year"] == 2027) & (table["basis"] == "population")]
    grid_r = rows[(rows["parameter"] == "route_factor") & (rows["kind"] == "grid")]
    assert np.array_equal(grid_r["value"].to_numpy(), R_GRID)
    grid_e = rows[(rows["parameter"] == "equipment_us") & (rows["kind"] == "grid")]
    assert np.array_equal(grid_e["value"].to_numpy(), E_GRID)
    # Non-increasing in each parameter; share_above ≤ share; a breakpoint steps.
    for _, part in rows.groupby("parameter"):
        part = part.sort_values("value", kind="stable")
        assert np.all(np.diff(part["share"].to_numpy()) <= 1e-15)
        assert np.all(part["share_above"] <= part["share"] + 1e-15)
    steps = rows[rows["kind"] == "breakpoint"]
    assert len(steps) and np.all(steps["share_above"] < steps["share"])
    # A grid row against a rerun at that very value.
    r = 1.37
    share = rerun(metro, route_factor=r).scenario(year=2027).share("population", threshold_ms=1.0)
    csv = grid_r[np.isclose(grid_r["value"], r, atol=0)]["share"].iloc[0]
    assert csv == pytest.approx(share, abs=1e-12)


# --------------------------------------------------------------------------- Wuhan


@pytest.mark.realdata
@pytest.mark.slow
def test_wuhan_curve_equals_reruns(shared_data: Path) -> None:
    metro = prepare(load_config(ROOT / "data" / "cities" / "wuhan.yaml"))
    sens = sensitivity(metro, target_scenarios(metro, metro.scenario()))
    for parameter, rounds in (("route_factor", (1.0, 1.6, 3.0)), ("equipment_us", (0.0, 300.0))):
        critical = sens.get(2027, "key_sites").critical(parameter, 0.70)
        assert np.isfinite(critical)
        for value in rounds:
            assert compare(metro, sens, 2027, parameter, value) == 0
        for value in values_around(critical):
            compare(metro, sens, 2027, parameter, value)


# --------------------------------------------------------------------------- node device latency


@pytest.fixture(scope="module")
def otn_metro(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    """A 4 km fibre with an OTN node (30 µs) at 3 km; E = 965 µs so that r matters."""
    import networkx as nx
    import osmnx as ox
    from conftest import X0 as TX0
    from conftest import Y0 as TY0
    from conftest import _write_tiny_city, to_lonlat

    folder = tmp_path_factory.mktemp("otn")
    city = _write_tiny_city(folder / "tiny")
    xs = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]) + TX0
    lon, lat = to_lonlat(xs, np.full(5, 5000.0 + TY0))
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(5):
        graph.add_node(
            i + 1, x=float(lon[i]), y=float(lat[i]), device_latency_us=30.0 if i == 2 else 0.0
        )
    for i in range(4):
        graph.add_edge(i + 1, i + 2, key=0, highway="fibre")
        graph.add_edge(i + 2, i + 1, key=0, highway="fibre")
    ox.save_graphml(graph, folder / "fibre.graphml")
    text = city.read_text(encoding="utf-8").replace(
        "network: {path: roads.gpkg, kind: road}",
        f"network: {{path: {folder / 'fibre.graphml'}, kind: fibre, "
        "node_latency_field: device_latency_us}",
    )
    (city.parent / "otn.yaml").write_text(
        text + "model: {equipment_us: 965}\ntargets: [{year: 2030, share: 0.01, basis: area}]\n",
        encoding="utf-8",
    )
    (city.parent / "sites.csv").write_text(
        "id,lon,lat,device_latency_us\n" + f"A,{lon[0]:.9f},{lat[0]:.9f},20\n", encoding="utf-8"
    )
    return prepare(load_config(city.parent / "otn.yaml"))


def test_node_device_latency_curve_is_resolved_on_the_grid(otn_metro: Metro) -> None:
    metro = otn_metro
    assert metro.network.node_device_us.any()
    sens = sensitivity(metro, target_scenarios(metro, metro.scenario()))
    assert "re-solved" in sens.method
    crit = sens.get(None, "area")
    assert not crit.r_exact and crit.lengths is None
    r_values = crit.r_star[np.isfinite(crit.r_star)]
    assert len(np.unique(r_values)) > 2  # r matters here
    for r in (1.0, 1.3, 1.77, 2.0):  # grid values: exact there
        assert compare(metro, sens, None, "route_factor", r) == 0
    critical = crit.critical("equipment_us", 0.01)
    for e in (900.0, 950.0, 975.0):
        assert compare(metro, sens, None, "equipment_us", e) == 0
    for e in values_around(critical):
        compare(metro, sens, None, "equipment_us", e)
    table = sensitivity_table(sens)
    rows = table[(table["parameter"] == "route_factor") & table["year"].isna()]
    assert set(rows["kind"]) == {"grid", "run"}  # no breakpoints: r* is only known on the grid


def test_node_device_latency_monte_carlo_rounds_r_up_to_the_grid(otn_metro: Metro) -> None:
    from latcircle.analysis.uncertainty import QUANTILES, draws, resolve_distributions, uncertainty
    from latcircle.config import Distribution, UncertaintySpec

    metro = otn_metro
    spec = UncertaintySpec(
        samples=100,
        seed=4,
        route_factor=Distribution(dist="uniform", low=1.0, high=1.9),
        equipment_us=Distribution(dist="triangular", low=940, mode=965, high=980),
        site_us=Distribution(dist="fixed", value=0.0),
    )
    sens = sensitivity(metro, target_scenarios(metro, metro.scenario()))
    res = uncertainty(metro, sens, spec=spec)
    d = draws(resolve_distributions(metro, spec), samples=100, seed=4)
    shares = []
    for r, e in zip(d["route_factor"], d["equipment_us"], strict=True):
        r_up = float(R_GRID[np.searchsorted(R_GRID, r, side="left")])  # conservative
        shares.append(
            rerun(metro, route_factor=r_up, equipment_us=float(e))
            .scenario()
            .share("area", threshold_ms=1.0)
        )
    want = np.quantile(np.array(shares), QUANTILES, method="inverted_cdf")
    row = res.row(None, "area")
    got = [row["share_p5"], row["share_p50"], row["share_p95"]]
    assert np.allclose(got, want, rtol=0, atol=1e-12)
    assert want[0] < want[2]  # the case is not trivial


def test_the_rerun_helper_is_a_full_prepare(handbuilt: Metro) -> None:
    """``rerun`` (sites attached anew) gives exactly what a fresh ``prepare`` gives."""
    from handbuilt import MODEL

    value = 1.37
    fresh = prepare(load_config(handbuilt.config.source, model={**MODEL, "route_factor": value}))
    again = rerun(handbuilt, route_factor=value)
    for basis in handbuilt.bases:
        a = fresh.scenario().evaluations[basis].latency_us
        b = again.scenario().evaluations[basis].latency_us
        assert np.array_equal(a, b), basis


def test_node_device_latency_samples_on_the_budget_keep_their_e_star(otn_metro: Metro) -> None:
    """With per-node device latency, a cell exactly on the budget is covered at the run's E.

    The budget is set to one cell's own latency (a value that round-trips through ms), so
    that cell lies exactly on it; the share at the run's own equipment latency must then be
    the run's share, which counts it (latency ≤ budget).
    """
    lat = otn_metro.scenario().evaluations["area"].latency_us
    finite = np.unique(lat[np.isfinite(lat)])
    on = next(v for v in finite[len(finite) // 2 :] if (v / 1000.0) * 1000.0 == v)
    assert otn_metro.params.factor == 1.0 and otn_metro.params.extra_us == 0.0
    cfg = otn_metro.config.model_copy(update={"budget_ms": float(on / 1000.0)})
    metro = dataclasses.replace(otn_metro, config=cfg)
    scenario = metro.scenario()
    ev = scenario.evaluations["area"]
    assert (ev.latency_us == on).sum() >= 1  # samples exactly on the budget
    sens = sensitivity(metro, target_scenarios(metro, scenario))
    crit = sens.get(None, "area")
    assert crit.lengths is None  # the re-solved path (per-node device latency)
    w = ev.samples.weight
    want = float(w[ev.latency_us <= on].sum() / w.sum())
    got = float(crit.share("equipment_us", metro.params.equipment_us))
    assert got == pytest.approx(want, rel=1e-12)
