"""Plans with margins (issue 24 §5): --margin, --at-route-factor, --confidence, --protect.

References are independent of the code under test: hand-computed quantiles, a fresh
``prepare`` of a config carrying the parameters (closed loop), brute force over every subset
for the multicover, and one engine solve per site for the protected share.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, resited_metro

from latcircle.analysis.metro import Metro, prepare
from latcircle.analysis.plan import Goal, goals_from
from latcircle.analysis.plan.margins import (
    Parameters,
    at_parameters,
    pessimistic_parameters,
    plan_with_margins,
    with_margin,
)
from latcircle.analysis.plan.network import SPUR_TABLE_COLUMNS, planned_metro
from latcircle.analysis.plan.protect import COVERS, multicover, protected_share
from latcircle.analysis.plan.sites import _read_back, _sites_gdf
from latcircle.cli import main
from latcircle.config import CityConfig, load_config
from latcircle.errors import InputError
from latcircle.output.plan import write_plan


@pytest.fixture(scope="module")
def demo(demo_metro: Metro) -> Metro:
    """The demo (seed 7, default scale) prepared: the session's, read-only (conftest)."""
    return demo_metro


def _with_plan(cfg: CityConfig, plan_dir: Path, params: Parameters | None = None) -> CityConfig:
    """The config running the plan's files, at ``params`` when given (a fresh config)."""
    sites = {"path": str(plan_dir / "sites-planned.csv"), "lon": "lon", "lat": "lat"}
    out = load_config(Path(cfg.source), sites={**sites, "crs": "wgs84", "hypothetical": True})
    net = out.network.model_copy(update={"additions": plan_dir / "network-planned.gpkg"})
    out = out.model_copy(update={"network": net})
    if params is not None:
        model = out.model.model_copy(
            update={"route_factor": params.route_factor, "equipment_us": params.equipment_us}
        )
        out = out.model_copy(update={"model": model})
    return out


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--margin", "-1"], "--margin"),
        (["--margin", "nan"], "--margin"),
        (["--confidence", "0"], "--confidence"),
        (["--confidence", "1"], "--confidence"),
        (["--confidence", "1.5"], "--confidence"),
        (["--confidence", "nan"], "--confidence"),
        (["--at-route-factor", "0.99"], "--at-route-factor"),
        (["--at-route-factor", "1.2", "--confidence", "0.9"], "--at-route-factor"),
    ],
)
def test_bad_margin_options_one_line_exit_2_before_loading(
    args: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The config does not exist: the options are refused before anything is read.
    out = tmp_path / "plan"
    code = main(["plan", str(tmp_path / "missing.yaml"), "--out", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and field in err
    assert not out.exists()


def test_boundary_values_are_accepted() -> None:
    from latcircle.analysis.plan.margins import check_margin_options

    check_margin_options(margin_pp=0.0, at_route_factor=1.0, confidence=None)  # exactly at
    check_margin_options(margin_pp=None, at_route_factor=None, confidence=0.5)


# --------------------------------------------------------------------------- --margin


def test_margin_raises_each_goal_and_refuses_over_100() -> None:
    goals = [Goal(2027, 0.70, "population"), Goal(2028, 0.75, "population")]
    up = with_margin(goals, 2.5, source="x")
    assert [g.share for g in up] == [pytest.approx(0.725), pytest.approx(0.775)]
    assert with_margin(goals, 0.0, source="x") == goals
    assert with_margin([Goal(2028, 0.95, "area")], 5.0, source="x")[0].share == pytest.approx(1.0)
    with pytest.raises(InputError, match="over 100 %"):
        with_margin([Goal(2028, 0.96, "area")], 5.0, source="x")


def test_margin_on_the_demo_is_hand_checkable(demo: Metro) -> None:
    # The demo's 2027 baseline on key sites: existing sites only.
    base = demo.scenario(year=2027).share("key_sites", threshold_ms=demo.config.budget_ms)
    assert 0.60 < base < 0.70  # 67.95 %: meets 60 %, not 60 % + 10 points
    goals = goals_from(demo, target=0.60, year=2027, basis="key_sites")
    plain = plan_with_margins(demo, goals)
    assert plain.table.empty and plain.cost == 0.0  # nothing to build for 60 %
    raised = plan_with_margins(demo, goals, margin_pp=10.0)
    assert [g.share for g in raised.goals] == [pytest.approx(0.70)]
    assert raised.cost > 0 and raised.planned_share[2027] >= 0.70
    row = raised.targets.iloc[0]
    assert row["target"] == pytest.approx(0.60) and row["planned_for"] == pytest.approx(0.70)
    assert row["margin_pp"] == pytest.approx(10.0)


# --------------------------------------------------------------------------- parameters


def test_at_parameters_equals_a_fresh_prepare(half_demo_metro: Metro) -> None:
    # The demo at half its default scale (seed 7, the session's ``half_demo_metro``): the same
    # kinds of inputs and samples, a prepare of about 1.2 s of CPU instead of a 4.2 s one (the
    # size is not what is checked).
    demo = half_demo_metro
    params = Parameters(route_factor=1.5, equipment_us=170.0, how="test")
    moved = at_parameters(demo, params)
    model = demo.config.model.model_copy(update={"route_factor": 1.5, "equipment_us": 170.0})
    fresh = prepare(demo.config.model_copy(update={"model": model}))
    assert moved.params == fresh.params
    for year in (2027, 2028):
        for basis in ("key_sites", "population", "area"):
            a = moved.scenario(year=year).evaluations[basis].latency_us
            b = fresh.scenario(year=year).evaluations[basis].latency_us
            np.testing.assert_array_equal(a, b)


def test_pessimistic_parameters_are_the_hand_computed_quantiles(demo: Metro) -> None:
    # Default distributions (docs/uncertainty.md): r ~ triangular(1.0, 1.2, 1.6) on roads,
    # E ~ triangular(30, 100, 200) µs, site offset ~ triangular(-S/2, 0, S), S the smallest
    # site device latency. Above the mode a triangular's Q-quantile is
    # high - sqrt((1 - Q)(high - low)(high - mode)).
    q = 0.9
    s = float(np.nanmin(demo.inputs.sites["device_latency_us"].to_numpy(float)))
    r = 1.6 - math.sqrt(0.1 * 0.6 * 0.4)
    e = 200 - math.sqrt(0.1 * 170 * 100)
    lo, hi = -s / 2, s
    d = hi - math.sqrt((1 - q) * (hi - lo) * hi)
    p = pessimistic_parameters(demo, q)
    assert p.route_factor == pytest.approx(r, rel=1e-12)
    assert p.equipment_us == pytest.approx(e + d, rel=1e-12)
    assert p.confidence == q


def test_confidence_plan_holds_at_the_pessimistic_parameters_closed_loop(
    demo: Metro, tmp_path: Path
) -> None:
    goals = goals_from(demo, target=0.72, year=2027, basis="key_sites")
    plan = plan_with_margins(demo, goals, confidence=0.9)
    p = pessimistic_parameters(demo, 0.9)
    assert plan.parameters["route_factor"] == p.route_factor
    write_plan(plan, tmp_path)
    # The plan brings a site forward and builds no network (resited_metro checks that its
    # network file adds no spur): the run of its files is the shared demo's network and
    # located samples with the files' sites read and attached at the parameters
    # (resited_metro, checked against prepare in tests/test_renamed_metro.py).
    rerun = resited_metro(demo, _with_plan(demo.config, tmp_path, p))
    got = rerun.scenario(year=2027).share("key_sites", threshold_ms=demo.config.budget_ms)
    assert got == plan.planned_share[2027] and got >= 0.72
    # At the run's own parameters (never more pessimistic) the plan meets it too.
    nominal = resited_metro(demo, _with_plan(demo.config, tmp_path))
    share = nominal.scenario(year=2027).share("key_sites", threshold_ms=demo.config.budget_ms)
    row = plan.targets.iloc[0]
    assert row["share"] == pytest.approx(share, abs=1e-12) and share >= got
    assert row["share_p5"] <= row["share_p50"] <= row["share_p95"]
    assert 0.0 <= row["p_meet"] <= 1.0


# --------------------------------------------------------------------------- --protect


def _brute_force(cover, have, weight, need, cost, allowed, max_builds=None):
    """The cheapest nested plan by enumeration: every subset per stage (tiny instances)."""
    nb, best = len(cost), (math.inf, None)
    subsets = [
        np.array([j in s for j in range(nb)])
        for k in range(nb + 1)
        for s in itertools.combinations(range(nb), k)
    ]
    for chain in itertools.product(subsets, repeat=len(cover)):
        if any((chain[t] & ~chain[t + 1]).any() for t in range(len(chain) - 1)):
            continue
        if max_builds is not None and chain[-1].sum() > max_builds:
            continue
        ok = True
        for t, x in enumerate(chain):
            if (x & ~allowed[t]).any():
                ok = False
                break
            count = have[t] + cover[t][:, x].sum(axis=1)
            got = weight[(count >= COVERS) & (have[t] < COVERS)].sum()
            if got < need[t] - 1e-9:
                ok = False
                break
        c = float(cost[chain[-1]].sum())
        if ok and c < best[0]:
            best = (c, chain)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_multicover_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nb, npts = 5, 9
    weight = rng.integers(1, 6, npts).astype(float)
    cover = [rng.random((npts, nb)) < 0.45 for _ in range(2)]
    cover[1] = cover[1] | cover[0]
    have = [rng.integers(0, 3, npts) for _ in range(2)]
    have[1] = np.maximum(have[1], have[0])
    cost = rng.integers(1, 9, nb).astype(float)
    allowed = [rng.random(nb) < 0.8, np.ones(nb, bool)]
    need = []
    for t in range(2):
        possible = weight[(have[t] + cover[t][:, allowed[t]].sum(axis=1) >= 2) & (have[t] < 2)]
        need.append(float(np.floor(0.7 * possible.sum())))
    max_builds = 3 if seed % 2 else None
    want, _ = _brute_force(cover, have, weight, need, cost, allowed, max_builds)
    got = multicover(cover, have, weight, need, cost, allowed, max_builds=max_builds)
    if math.isinf(want):
        assert not got.feasible
    else:
        assert got.feasible and got.optimal and got.cost == want


def test_multicover_needs_two_covers_on_a_hand_instance() -> None:
    # Point 0 (weight 1) is covered by builds 0 and 1 only; point 1 (weight 5) by build 2 and
    # one existing site. Needing 5: builds 0 + 1 (cost 2) protect point 0 only (weight 1),
    # build 2 (cost 4) protects point 1 (one more cover is enough there): cost 4.
    cover = [np.array([[1, 1, 0], [0, 0, 1]], bool)]
    have = [np.array([0, 1])]
    got = multicover(cover, have, np.array([1.0, 5.0]), [5.0], np.array([1.0, 1.0, 4.0]),
                     [np.ones(3, bool)])  # fmt: skip
    assert got.cost == 4.0 and got.built[0].tolist() == [False, False, True]
    # Exactly at the need boundary: protecting 6 needs all three builds.
    got = multicover(cover, have, np.array([1.0, 5.0]), [6.0], np.array([1.0, 1.0, 4.0]),
                     [np.ones(3, bool)])  # fmt: skip
    assert got.cost == 6.0 and got.built[0].all()


def test_protected_plan_on_the_demo_counts_two_sites_per_point(demo: Metro) -> None:
    goals = goals_from(demo, basis="key_sites")
    plan = plan_with_margins(demo, goals, protect=True)
    assert set(plan.table["kind"]) <= {"site", "known_dc", "bring_forward"}
    sites = plan.sites_planned
    x, y = _read_back(sites, demo.inputs.crs)
    gdf = _sites_gdf(sites.assign(_x=x, _y=y), demo.inputs.crs)
    budget = demo.config.budget_ms
    for g in goals:
        share, ok = protected_share(demo, gdf, "key_sites", g.year)
        assert share == plan.planned_share[g.year] and share >= g.share
        # Independently: one engine run per online site, counting the sites covering each key
        # site on their own.
        pm = planned_metro(demo, sites=gdf, spurs=pd.DataFrame(columns=SPUR_TABLE_COLUMNS))
        online = pm.online(g.year)
        count = np.zeros(len(pm.samples["key_sites"].weight), int)
        for s in np.flatnonzero(online):
            only = np.zeros_like(online)
            only[s] = True
            lat = pm.scenario(year=g.year, online=only).evaluations["key_sites"].latency_us
            count += lat <= budget * 1000.0
        np.testing.assert_array_equal(ok, count >= 2)


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_wuhan_confidence_09_holds_at_the_pessimistic_parameters(
    wuhan_run: Any, tmp_path: Path
) -> None:
    """`latcircle plan data/cities/wuhan.yaml --basis population --confidence 0.9`."""
    data = Path(os.environ.get("LATCIRCLE_SHARED_DATA", SHARED_DATA))
    if not (data / "wuhan" / "roads_osm.parquet").exists():
        pytest.skip(f"real data not found at {data} (../shared/data beside the project)")
    root = Path(__file__).resolve().parents[1] / "data" / "cities"
    text = (root / "wuhan.yaml").read_text(encoding="utf-8")
    (tmp_path / "wuhan-sites-hypothetical.csv").write_bytes(
        (root / "wuhan-sites-hypothetical.csv").read_bytes()
    )
    cfg_path = tmp_path / "wuhan.yaml"
    cfg_path.write_text(text.replace("../../../shared/data", str(data)), encoding="utf-8")
    out = tmp_path / "plan"
    assert main(["-q", "plan", str(cfg_path), "--basis", "population", "--confidence", "0.9",
                 "--out", str(out)]) == 0  # fmt: skip
    cfg = load_config(cfg_path)
    # The quantiles of Wuhan's distributions (its config and sites): the session's prepared
    # Wuhan (the same inputs) rather than a prepare of its own.
    p = pessimistic_parameters(wuhan_run.metro, 0.9)
    rerun = prepare(_with_plan(cfg, out, p))
    got = rerun.scenario(year=2028).share("population", threshold_ms=cfg.budget_ms)
    assert got >= 0.75
