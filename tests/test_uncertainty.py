"""Uncertainty: quantiles and target probabilities against brute force, and bad input.

The brute force knows nothing of critical values: for every draw it re-solves the hand-built
metro (tests/handbuilt.py) with the drawn route factor, equipment latency and site offset
(the offset added to each site's device latency in the sites table) and takes the share the
run itself would report; quantiles are NumPy's inverted-CDF quantiles of those shares, the
probability of a target the fraction of draws meeting it. The draws are the seeded inputs
(``draws``); the exact one-parameter answers are checked against the hand formula and the
distribution's own quantiles.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import numpy as np
import pytest

from latcircle.analysis.metro import Metro, prepare, with_views
from latcircle.analysis.progress import meets
from latcircle.analysis.sensitivity import sensitivity, target_scenarios
from latcircle.analysis.uncertainty import QUANTILES, draws, resolve_distributions, uncertainty
from latcircle.cli import main
from latcircle.config import Distribution, UncertaintySpec
from latcircle.engine.latency import arc_matrix, attach_sites

from handbuilt import SITES, X0, Y0, people, write_city

TARGET = {"year": 2030, "share": 0.5, "basis": "population"}


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    keys = [(x, y) for x in (300.0, 950.0, 1500.0, 1950.0) for y in (0.0, 400.0, 800.0)]
    cfg = write_city(tmp_path_factory.mktemp("unc"), key_sites=keys, extra={"targets": [TARGET]})
    return prepare(cfg)


def brute_share(metro: Metro, *, r: float, e: float, offset: float) -> dict[str, float]:
    """Re-solve with these values (the offset added to every site's device latency)."""
    params = dataclasses.replace(metro.params, route_factor=r, equipment_us=e)
    sites = metro.inputs.sites.copy()
    sites["device_latency_us"] = sites["device_latency_us"] + offset
    att = attach_sites(
        metro.locator,
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(),
        params,
    )
    again = dataclasses.replace(
        metro,
        params=params,
        attachment=att,
        arcs=arc_matrix(metro.network, params),
        inputs=dataclasses.replace(metro.inputs, sites=sites),
    )
    sc = with_views(again).scenario()
    return {b: sc.share(b, threshold_ms=1.0) for b in metro.bases}


def _result(metro: Metro, spec: UncertaintySpec):
    sens = sensitivity(metro, target_scenarios(metro, metro.scenario()))
    return uncertainty(metro, sens, spec=spec)


def test_monte_carlo_equals_brute_force(hand: Metro) -> None:
    spec = UncertaintySpec(
        samples=150,
        seed=11,
        route_factor=Distribution(dist="uniform", low=1.5, high=2.5),
        equipment_us=Distribution(dist="triangular", low=50, mode=100, high=200),
        site_us=Distribution(dist="normal", mean=0, sd=10, low=-15, high=30),
    )
    res = _result(hand, spec)
    assert not res.exact and res.samples == 150
    d = draws(resolve_distributions(hand, spec), samples=150, seed=11)
    brute = [
        brute_share(hand, r=float(r), e=float(e), offset=float(o))
        for r, e, o in zip(d["route_factor"], d["equipment_us"], d["site_us"], strict=True)
    ]
    for basis in hand.bases:
        shares = np.array([b[basis] for b in brute])
        want = np.quantile(shares, QUANTILES, method="inverted_cdf")
        row = res.row(2030, basis)
        got = [row["share_p5"], row["share_p50"], row["share_p95"]]
        assert np.allclose(got, want, rtol=0, atol=1e-12), basis
        if basis == "population":
            assert row["p_meet"] == pytest.approx(np.mean(meets(shares, 0.5)), abs=1e-15)
    assert 0.0 < res.row(2030, "population")["p_meet"] < 1.0  # the case is not trivial


def test_monte_carlo_is_deterministic_and_seeded(hand: Metro) -> None:
    spec = UncertaintySpec(samples=300, seed=5)
    a, b = _result(hand, spec), _result(hand, spec)
    assert a.table.equals(b.table)
    c = _result(hand, UncertaintySpec(samples=300, seed=6))
    assert not a.table.equals(c.table)


def test_years_with_the_same_sites_draw_once(hand: Metro, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run (every site) and 2030 (every site too) share their critical values: one draw
    of shares per basis, not two, and the same rows; a memo serves a second run without any.

    2030's rows are checked against the brute force above; here every row of each way is
    checked against the draws made for every year and basis afresh.
    """
    import latcircle.analysis.uncertainty as unc_module
    from latcircle.analysis.memo import YearsMemo

    spec = UncertaintySpec(  # the brute force's distributions: p_meet strictly inside (0, 1)
        samples=150,
        seed=11,
        route_factor=Distribution(dist="uniform", low=1.5, high=2.5),
        equipment_us=Distribution(dist="triangular", low=50, mode=100, high=200),
        site_us=Distribution(dist="normal", mean=0, sd=10, low=-15, high=30),
    )
    hand = dataclasses.replace(hand, config=hand.config.model_copy(update={"uncertainty": spec}))
    sens = sensitivity(hand, target_scenarios(hand, hand.scenario()))
    assert {y for y, _ in sens.criticals} == {None, 2030}
    real, calls = unc_module._mc_shares, []

    def counted(*args: object) -> np.ndarray:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    def afresh(metro, sens, crit, drawn, *, kept, memo):  # type: ignore[no-untyped-def]
        return counted(metro, sens, crit, drawn)  # every year and basis drawn

    monkeypatch.setattr(unc_module, "_mc_shares", counted)
    once = uncertainty(hand, sens)
    assert len(calls) == len(hand.bases)
    memo = YearsMemo()
    memo.bind(hand)
    first = uncertainty(hand, sens, memo=memo)
    calls.clear()
    again = uncertainty(hand, sens, memo=memo)
    assert calls == [] and memo.count("shares") == len(hand.bases)
    monkeypatch.setattr(unc_module, "_shares_once", afresh)
    fresh = uncertainty(hand, sens)
    assert len(calls) == 2 * len(hand.bases)
    for result in (once, first, again):
        assert result.table.equals(fresh.table)
    assert not once.exact and 0.0 < once.row(2030, "population")["p_meet"] < 1.0


def test_draws_follow_their_distributions() -> None:
    from latcircle.analysis.uncertainty import Dist

    dists = {
        "route_factor": Dist("uniform", 1.0, 2.0),
        "equipment_us": Dist("triangular", 30.0, 200.0, mode=100.0),
        "site_us": Dist("normal", -10.0, 20.0, mean=0.0, sd=10.0),
        "leo_allowance_ms": Dist("table", 1.0, 3.0, values=(1.0, 3.0), weights=(0.25, 0.75)),
    }
    d = draws(dists, samples=200_000, seed=1)
    assert d["route_factor"].min() >= 1.0 and d["route_factor"].max() <= 2.0
    assert d["route_factor"].mean() == pytest.approx(1.5, abs=0.005)
    assert d["equipment_us"].mean() == pytest.approx((30 + 100 + 200) / 3, abs=0.5)
    assert d["site_us"].min() >= -10.0 and d["site_us"].max() <= 20.0
    assert set(np.unique(d["leo_allowance_ms"])) == {1.0, 3.0}
    assert np.mean(d["leo_allowance_ms"] == 3.0) == pytest.approx(0.75, abs=0.005)


def _hand_r_star(metro: Metro) -> tuple[np.ndarray, np.ndarray]:
    """Each population pixel's r* by the hand formula, and its people."""
    samples = metro.samples["population"]
    x, y = samples.coordinates()
    x, y = x - X0, y - Y0
    k = metro.params.k_us_per_m
    each = [(1000.0 - 100.0 - s["device"]) / (k * (np.abs(x - s["x"]) + np.abs(y))) for s in SITES]
    r_star = np.where(samples.location.has_access, np.maximum(*each), -np.inf)
    assert samples.total == pytest.approx(people().sum())
    return r_star, samples.weight


def test_exact_one_parameter_route_factor(hand: Metro) -> None:
    spec = UncertaintySpec(
        route_factor=Distribution(dist="uniform", low=1.5, high=2.5),
        equipment_us=Distribution(dist="fixed", value=100.0),
        site_us=Distribution(dist="fixed", value=0.0),
    )
    res = _result(hand, spec)
    assert res.exact and res.samples is None
    row = res.row(2030, "population")
    # P-quantile of the share = share at the route factor's (1 − P)-quantile: 2.45, 2.0, 1.55.
    for col, r in (("share_p5", 2.45), ("share_p50", 2.0), ("share_p95", 1.55)):
        brute = brute_share(hand, r=r, e=100.0, offset=0.0)["population"]
        assert row[col] == pytest.approx(brute, abs=1e-12), col
    # P(share ≥ 0.5) = P(r ≤ r_c), r_c the largest hand r* keeping half the people.
    r_star, w = _hand_r_star(hand)
    order = np.argsort(-r_star)
    kept = np.cumsum(w[order]) / w.sum()
    r_c = r_star[order][np.flatnonzero(kept >= 0.5)[0]]
    assert row["p_meet"] == pytest.approx((r_c - 1.5) / 1.0, abs=1e-12)


def test_exact_one_parameter_table_of_values(hand: Metro) -> None:
    spec = UncertaintySpec(
        route_factor=Distribution(dist="fixed", value=2.0),
        equipment_us=Distribution(dist="table", values=[60.0, 100.0, 180.0], weights=[1, 2, 1]),
        site_us=Distribution(dist="fixed", value=0.0),
    )
    res = _result(hand, spec)
    assert res.exact
    atoms = np.array(
        [brute_share(hand, r=2.0, e=e, offset=0.0)["population"] for e in (60, 100, 180)]
    )
    p = np.array([0.25, 0.5, 0.25])
    order = np.argsort(atoms)
    cum = np.cumsum(p[order])
    want = [atoms[order][np.flatnonzero(cum >= q - 1e-12)[0]] for q in QUANTILES]
    row = res.row(2030, "population")
    assert [row["share_p5"], row["share_p50"], row["share_p95"]] == pytest.approx(want, abs=1e-12)
    assert row["p_meet"] == pytest.approx(float(p[meets(atoms, 0.5)].sum()), abs=1e-15)


def test_exact_one_parameter_site_offset(hand: Metro) -> None:
    spec = UncertaintySpec(
        route_factor=Distribution(dist="fixed", value=2.0),
        equipment_us=Distribution(dist="fixed", value=100.0),
        site_us=Distribution(dist="uniform", low=-10.0, high=30.0),
    )
    row = _result(hand, spec).row(2030, "population")
    # 5 %, 50 %, 95 % of the share: the offset's 95 %, 50 %, 5 % points: 28, 10, -8 µs.
    for col, o in (("share_p5", 28.0), ("share_p50", 10.0), ("share_p95", -8.0)):
        brute = brute_share(hand, r=2.0, e=100.0, offset=o)["population"]
        assert row[col] == pytest.approx(brute, abs=1e-12), col


# --------------------------------------------------------------------------- bad input


BAD = [
    (
        "route_factor: {dist: uniform, low: 1.5, high: 1.2}",
        "impossible bounds: low 1.5 must be below high 1.2",
    ),
    ("equipment_us: {dist: uniform, low: .nan, high: 200}", "uncertainty.equipment_us.low"),
    (
        "equipment_us: {dist: triangular, low: -20, mode: 50, high: 100}",
        "negative latency",
    ),
    (
        "route_factor: {dist: normal, mean: 1.2, sd: 0.01, low: 3.0, high: 3.5}",
        "impossible bounds: [low 3, high 3.5] holds no mass",
    ),
    ("route_factor: {dist: triangular, low: 1.0, mode: 2.0, high: 1.5}", "mode 2 must lie within"),
    ("site_us: {dist: uniform, low: -50, high: 10}", "negative latency: an offset of -50"),
    ("equipment_us: {dist: table, values: [50, 100], weights: [1]}", "1 weights for 2 values"),
    ("samples: 10", "uncertainty.samples"),
]


@pytest.mark.parametrize(("section", "says"), BAD, ids=[b[1][:30] for b in BAD])
def test_bad_uncertainty_is_one_line_exit_2_nothing_written(
    make_tiny_city, tmp_path: Path, capsys, section: str, says: str
) -> None:
    extra = "uncertainty:\n" + textwrap.indent(section, "  ") + "\n"
    config = make_tiny_city("bad", extra_yaml=extra)
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(["run", str(config), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1, err
    assert err[0].startswith("latcircle: error: ") and "tiny.yaml" in err[0], err[0]
    assert says in err[0], err[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


# --------------------------------------------------------------------------- LEO tiers


def test_leo_tier_quantiles_equal_city_tiers_with_the_allowance_changed(
    make_tiny_city, monkeypatch
) -> None:
    """Exact in the allowance: each quantile is city_tiers run with that allowance."""
    from latcircle.analysis import city_tiers as ct
    from latcircle.analysis.leo import LEO_PRESETS
    from latcircle.config import load_config

    extra = textwrap.dedent("""\
        tiers: {leo: leo550, leo_budgets_ms: [10.0, 20.0], leo_basis: geometric}
        uncertainty:
          route_factor: {dist: fixed, value: 1.2}
          equipment_us: {dist: fixed, value: 100}
          site_us: {dist: fixed, value: 0}
          leo_allowance_ms: {dist: uniform, low: 1.0, high: 4.0}
        """)
    cfg = load_config(make_tiny_city("leo", extra_yaml=extra))
    metro = prepare(cfg)
    sc = metro.scenario()
    res = uncertainty(metro, sensitivity(metro, [sc]), scenario=sc)
    assert res.leo is not None and len(res.leo) == 2 * len(metro.bases)
    base = LEO_PRESETS["leo550"]
    for q_col, q in (("share_p5", 0.95), ("share_p50", 0.5), ("share_p95", 0.05)):
        allowance = 1.0 + q * 3.0
        changed = base.replace(processing_ms=allowance - base.handover_ms)
        monkeypatch.setitem(ct.LEO_PRESETS, "leo550", changed)
        table = ct.city_tiers(metro, sc, cfg.tiers).table
        for row in res.leo.itertuples():
            want = table[(table["basis"] == row.basis) & (table["tier"] == row.tier)]["share"]
            assert getattr(row, q_col) == pytest.approx(float(want.iloc[0]), abs=1e-12)
    # The shares move with the allowance: the case is not trivial.
    assert (res.leo["share_p5"] < res.leo["share_p95"]).any()


# --------------------------------------------------------------------------- a run's outputs


def test_a_run_writes_sensitivity_and_quantiles(tiny_city: Path, tmp_path: Path) -> None:
    import json

    import pandas as pd

    from latcircle.analysis.sensitivity import SENSITIVITY_COLUMNS
    from latcircle.config import load_config
    from latcircle.pipeline import run_city, write_progress

    out = tmp_path / "out"
    result = run_city(load_config(tiny_city), out=out, extra_outputs=[write_progress])
    sens = pd.read_csv(out / "sensitivity.csv")
    assert list(sens.columns) == SENSITIVITY_COLUMNS
    assert set(sens["parameter"]) == {"route_factor", "equipment_us"}
    # The run's own value reproduces the headline share exactly (sample by sample anchored).
    run_rows = sens[(sens["kind"] == "run") & sens["year"].isna()]
    for row in run_rows.itertuples():
        assert row.share == pytest.approx(result.headline[row.basis], abs=1e-12)
    cov = pd.read_csv(out / "coverage.csv")
    assert list(cov.columns[-3:]) == ["share_p5", "share_p50", "share_p95"]
    filled = cov["share_p50"].notna()
    assert (cov.loc[filled, "scope"] == "metro").all()
    assert (cov.loc[filled, "threshold_ms"] == 1.0).all() and filled.sum() == 3
    assert (cov.loc[filled, "share_p5"] <= cov.loc[filled, "share_p95"]).all()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["uncertainty"]["samples"] == 4000 and record["uncertainty"]["seed"] == 0
    assert record["sensitivity"]["latency_tif_band"] == 3
    progress = pd.read_csv(out / "progress.csv")
    judged = progress[progress["judged"] & (progress["year"] == progress["target_year"])]
    assert judged["p_meet"].notna().all() and len(judged) == 2
    assert progress.loc[~progress.index.isin(judged.index), "p_meet"].isna().all()


def test_monte_carlo_draws_on_the_run_values_count_the_samples_on_the_budget(
    hand: Metro,
) -> None:
    """Draws exactly at the run's r = 2 and E = 100 µs: pixels and key sites ON the budget.

    Table distributions draw exact values, so most draws here are the run's own parameters,
    at which the hand-built metro has samples exactly at 1 ms (pixel and key site at x = 950
    on the road: 100 + 20 + 880 µs from A). Each draw's share must count them, as a rerun at
    those values does (brute force) and as the hand formula does.
    """
    spec = UncertaintySpec(
        samples=100,
        seed=3,
        route_factor=Distribution(dist="table", values=[2.0, 2.5], weights=[3, 1]),
        equipment_us=Distribution(dist="table", values=[100.0, 140.0], weights=[3, 1]),
        site_us=Distribution(dist="fixed", value=0.0),
    )
    res = _result(hand, spec)
    assert not res.exact
    d = draws(resolve_distributions(hand, spec), samples=100, seed=3)
    at_run = (d["route_factor"] == 2.0) & (d["equipment_us"] == 100.0)
    assert at_run.mean() > 0.5  # the median draw is the run's own parameters
    pairs = list(zip(d["route_factor"].tolist(), d["equipment_us"].tolist(), strict=True))
    solved = {pair: brute_share(hand, r=pair[0], e=pair[1], offset=0.0) for pair in set(pairs)}
    brute = [solved[pair] for pair in pairs]
    # The hand formula at the run's values: L = 100 + S + 1 µs/m · (|x − x_s| + |y|).
    samples = hand.samples["population"]
    x, y = samples.coordinates()
    lat = np.min(
        [100.0 + s["device"] + np.abs(x - X0 - s["x"]) + np.abs(y - Y0) for s in SITES], axis=0
    )
    assert (lat == 1000.0).any()
    hand_share = float(samples.weight[lat <= 1000.0].sum() / samples.weight.sum())
    for basis in hand.bases:
        shares = np.array([b[basis] for b in brute])
        want = np.quantile(shares, QUANTILES, method="inverted_cdf")
        row = res.row(2030, basis)
        got = [row["share_p5"], row["share_p50"], row["share_p95"]]
        assert np.allclose(got, want, rtol=0, atol=1e-12), basis
    row = res.row(2030, "population")
    assert row["share_p50"] == pytest.approx(hand_share, abs=1e-12)
    assert row["share_p95"] == pytest.approx(hand_share, abs=1e-12)


def test_cdf_of_a_table_counts_the_atom_itself() -> None:
    """``P(X ≤ x)`` of a table of values: an atom exactly at ``x`` counts (by hand)."""
    from latcircle.analysis.uncertainty import Dist

    d = Dist("table", 1.0, 3.0, values=(1.0, 2.0, 3.0), weights=(0.25, 0.25, 0.5))
    assert d.cdf(0.5) == 0.0
    assert d.cdf(1.0) == 0.25  # exactly on the first atom
    assert d.cdf(1.5) == 0.25
    assert d.cdf(2.0) == 0.5  # exactly on the second
    assert d.cdf(3.0) == 1.0
