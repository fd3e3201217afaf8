"""Protection (issue 24 §4): N−1 sites and critical links, against full re-runs.

Site failure: the share when each site fails must equal a scenario solved without that site.
Cable failure: the loss without each critical link must equal a run on the network without
that link (built, located and solved from scratch), to the sample.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from latcircle.analysis.coverage import covered, evaluate
from latcircle.analysis.metro import Metro, prepare
from latcircle.analysis.protection import link_failure, protection, site_failure
from latcircle.config import ProtectionSpec, load_config
from latcircle.demo.generator import write_demo_city
from latcircle.engine.latency import arc_matrix, attach_sites, solve
from latcircle.engine.links import _subtree_sums, cut_link
from latcircle.engine.locator import Locator


@pytest.fixture(scope="module")
def demo_metro(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    path = write_demo_city(tmp_path_factory.mktemp("demo_protect"), seed=7, scale=0.35)
    cfg = load_config(path)
    # A tight budget (0.25 ms, one of the default thresholds): near its edge a detour around
    # a cut link uncovers places, so losses are not all zero.
    cfg = cfg.model_copy(update={"protection": ProtectionSpec(links=8), "budget_ms": 0.25})
    return prepare(cfg)


def test_site_failure_equals_reruns_without_each_site(demo_metro: Metro) -> None:
    metro = demo_metro
    scenario = metro.scenario()
    result = protection(metro, scenario)
    sites = result.table[result.table["kind"] == "site"]
    budget = metro.config.budget_ms
    online = np.flatnonzero(scenario.online)
    assert len(online) >= 3
    checked = 0
    lost_any = False
    for s in online:
        mask = scenario.online.copy()
        mask[s] = False
        rerun = metro.scenario(online=mask)
        sid = metro.inputs.sites["site_id"].iloc[s]
        for basis in metro.bases:
            row = sites[(sites["id"] == sid) & (sites["basis"] == basis)].iloc[0]
            assert row["share_after"] == pytest.approx(
                rerun.share(basis, threshold_ms=budget), rel=1e-12, abs=1e-15
            ), (sid, basis)
            # What rests on s alone: covered now, not covered by the rerun without s.
            now = scenario.evaluations[basis]
            w = now.samples.weight
            gone = (now.latency_us <= budget * 1000.0) & ~(
                rerun.evaluations[basis].latency_us <= budget * 1000.0
            )
            assert row["lost"] == pytest.approx(float(w[gone].sum()), rel=1e-12, abs=1e-12)
            lost_any = lost_any or bool(gone.any())
            # Per sample: the best other site's latency is the rerun's latency where s served.
            fail = result.sites
            # (computed where the best site covers the sample: only there can it be lost).
            served = (fail.best_site[basis] == s) & covered(fail.best_us[basis], budget_ms=budget)
            checked += int(served.sum())
            np.testing.assert_array_equal(
                fail.other_us[basis][served], rerun.evaluations[basis].latency_us[served]
            )
    assert checked > 1000
    assert lost_any  # some coverage rests on a single site here
    worst = result.worst[metro.bases[0]]
    first = sites[sites["basis"] == metro.bases[0]].iloc[0]
    assert (
        worst["site"] == first["id"]
        and first["lost"] == sites[sites["basis"] == metro.bases[0]]["lost"].max()
    )


def _rerun_without(metro: Metro, scenario_online: np.ndarray, edge: int) -> dict[str, np.ndarray]:
    """A run on the network without ``edge``: built, located and solved from scratch."""
    keep = np.ones(metro.network.n_edges, bool)
    keep[edge] = False
    net = metro.network.subset(keep)
    locator = Locator(net)
    sites = metro.inputs.sites
    att = attach_sites(
        locator,
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(),
        metro.params,
    )
    field = solve(
        net, att, metro.params, online=scenario_online, arcs=arc_matrix(net, metro.params)
    )
    out = {}
    for basis, s in metro.samples.items():
        loc = locator.locate(*s.coordinates(), max_drop_m=metro.params.max_drop_m)
        out[basis] = evaluate(field, dataclasses.replace(s, location=loc)).latency_us
    return out


def test_critical_links_equal_reruns_without_each_link(demo_metro: Metro) -> None:
    metro = demo_metro
    scenario = metro.scenario()
    rows = link_failure(metro, scenario, top=8)
    assert rows["edge"].nunique() == 8
    budget = metro.config.budget_ms
    checked_loss = False
    for edge in rows["edge"].unique():
        ref = _rerun_without(metro, scenario.online, int(edge))
        for basis in metro.bases:
            ev = scenario.evaluations[basis]
            w = ev.samples.weight
            before = float(w[covered(ev.latency_us, budget_ms=budget)].sum())
            after = float(w[covered(ref[basis], budget_ms=budget)].sum())
            row = rows[(rows["edge"] == edge) & (rows["basis"] == basis)].iloc[0]
            assert row["lost"] == pytest.approx(before - after, rel=1e-9, abs=1e-9), (edge, basis)
            checked_loss |= before - after > 0
    assert checked_loss, "no link's loss was positive: the test would prove little"


def test_cut_link_latencies_equal_the_rerun_per_sample(demo_metro: Metro) -> None:
    import shapely

    metro = demo_metro
    scenario = metro.scenario()
    rows = link_failure(metro, scenario, top=5)
    sites = metro.inputs.sites
    xyd = (
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(float),
    )
    points = tuple(
        (metro.samples[b].location, *metro.samples[b].coordinates()) for b in metro.bases
    )
    tree = shapely.STRtree(metro.network.geometry)
    for edge in rows["edge"].unique()[:3]:
        cut = cut_link(
            metro.network,
            metro.arcs,
            metro.attachment,
            xyd,
            points,
            int(edge),
            metro.params,
            tree=tree,
        )
        field = solve(
            metro.network, cut.attachment, metro.params, online=scenario.online, arcs=cut.arcs
        )
        ref = _rerun_without(metro, scenario.online, int(edge))
        for basis, loc in zip(metro.bases, cut.locations, strict=True):
            mine = field.at(loc)[0]
            np.testing.assert_allclose(mine, ref[basis], rtol=0, atol=1e-6)
            assert (np.isfinite(mine) == np.isfinite(ref[basis])).all()


def test_subtree_sums_equal_networkx_descendants() -> None:
    rng = np.random.default_rng(4)
    n = 300
    pred = np.full(n, -1)
    for i in range(1, n):
        if rng.random() > 0.05:
            pred[i] = rng.integers(0, i)
    perm = rng.permutation(n)  # node labels in no particular order
    inv = np.argsort(perm)
    pred_p = np.where(pred[inv] >= 0, perm[np.maximum(pred[inv], 0)], -1)
    value = rng.random(n)
    got = _subtree_sums(pred_p, value)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((int(p), i) for i, p in enumerate(pred_p) if p >= 0)
    want = np.array([value[i] + sum(value[j] for j in nx.descendants(g, i)) for i in range(n)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_one_site_means_everything_rests_on_it(make_tiny_city) -> None:  # type: ignore[no-untyped-def]
    cfg = make_tiny_city("one", sites=[("A", 1000.0, 5000.0, 2024)])
    metro = prepare(load_config(cfg))
    fail = site_failure(metro, metro.scenario())
    for basis in metro.bases:
        cov = covered(fail.best_us[basis], budget_ms=1.0)
        assert np.isinf(fail.other_us[basis][cov]).all()
        assert np.isnan(fail.other_us[basis][~cov]).all()
        alone = fail.alone(basis, budget_ms=1.0)
        np.testing.assert_array_equal(
            alone, covered(metro.scenario().evaluations[basis].latency_us, budget_ms=1.0)
        )


def test_run_writes_protection_outputs(make_tiny_city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One site: everything it covers rests on it alone (a layer to draw)."""
    import json

    import pandas as pd
    import pyogrio

    from latcircle.cli import main

    tiny_city = make_tiny_city("one", sites=[("A", 1000.0, 5000.0, 2024)])
    out = tmp_path / "out"
    assert main(["-q", "run", str(tiny_city), "--out", str(out), "--protection", "4"]) == 0
    table = pd.read_csv(out / "protection.csv")
    assert set(table["kind"]) == {"site", "link"}
    assert table[table["kind"] == "link"]["id"].nunique() == 4
    layers = [str(n) for n, _ in pyogrio.list_layers(out / "isochrones.gpkg")]
    assert "single_site_coverage" in layers and "critical_links" in layers
    ks = pyogrio.read_dataframe(out / "isochrones.gpkg", layer="key_sites")
    # One site: every covered key site rests on it alone, and none has a backup.
    assert (ks["one_site_only"] == (ks["status"] == "covered")).all()
    assert ks["backup_latency_us"].isna().all()
    record = json.loads((out / "run.json").read_text())["protection"]
    assert record["links_resolved"] == 4 and record["links_asked"] == 4
    page = (out / "map.html").read_text()
    assert '"single-site coverage"' in page and '"critical links"' in page
    assert "What survives one failure" in (out / "report.html").read_text()
    # The config section asks the same; without either, sites only.
    again = tmp_path / "again"
    cfg = tiny_city.read_text() + "protection: {links: 4}\n"
    tiny_city.write_text(cfg)
    assert main(["-q", "run", str(tiny_city), "--out", str(again), "--no-map", "--no-report"]) == 0
    assert (again / "protection.csv").read_bytes() == (out / "protection.csv").read_bytes()
