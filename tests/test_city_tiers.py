"""A city's wider tiers on the tiny city, against hand-computed latencies and areas."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import smallest_budget_ms

from latcircle.config import load_config
from latcircle.pipeline import RunOptions, run_city

K_US_PER_M = 1.4682 / 299.792458  # G.652, µs per metre
ROAD = 1.2  # the tiny city's network is roads
R = 6371.0088


def _slant(h: float, elev_deg: float) -> float:
    s = math.sin(math.radians(elev_deg))
    return -R * s + math.sqrt((R * s) ** 2 + (R + h) ** 2 - R * R)


def _run(make: Callable[..., Path], tmp_path: Path, tiers_yaml: str) -> pd.DataFrame:
    cfg = load_config(make("t", extra_yaml=tiers_yaml))
    out = tmp_path / "out"
    run_city(cfg, out=out, extra_outputs=_tier_outputs(), options=_NO_PROGRESS)
    return pd.read_csv(out / "tiers.csv").set_index(["basis", "tier"])


#: The tiers read the run year's scenario only (``write_tiers``): the progress table by year
#: (a third of a tiny run's CPU) is not asked for by the runs that check them.
_NO_PROGRESS = RunOptions(progress=False)


def _tier_outputs() -> list:
    from latcircle.pipeline import write_tiers

    return [write_tiers]


def test_application_tier_by_hand(make_tiny_city: Callable[..., Path], tmp_path: Path) -> None:
    # Key sites with access, latency by hand (E = 100, S = 20 µs), sites A (1, 5) and B (5, 5):
    #   near road (3.5, 6), on the y = 6 km road: from B, 1 km + 1.5 km;
    #   on road west (2, 3): from A, 2 km + 1 km;
    #   edge east (6.5, 2): from B, 3 km + 1 km of road + a 0.5 km drop.
    lat_us = [120 + K_US_PER_M * ROAD * m for m in (2500, 3000, 4500)]
    add = 300 + 4000  # routers + 5G eMBB
    app_ms = [(v + add) / 1000 for v in lat_us]
    budget = 4.44  # between the second (4.4376) and the third (4.4464)
    assert app_ms[0] < app_ms[1] < budget < app_ms[2]
    t = _run(make_tiny_city, tmp_path, f"tiers: {{app_budget_ms: {budget}, leo: none}}\n")
    assert t.loc[("key_sites", "application"), "covered"] == 2.0
    assert t.loc[("key_sites", "application"), "total"] == 4.0
    assert ("key_sites", "leo_10ms") not in t.index


def test_leo_reaches_the_roadless_east(make_tiny_city: Callable[..., Path], tmp_path: Path) -> None:
    # Roads span x = 0..6 km and the max drop is 1 km: with 250 m cells, every column whose
    # centre lies beyond x = 7 km has no access: 12 columns x 40 rows x 0.0625 km² = 30 km².
    t = _run(make_tiny_city, tmp_path, "tiers: {leo: leo550, leo_basis: geometric}\n")
    assert t.loc[("area", "leo_10ms"), "covered"] == pytest.approx(30.0, abs=1e-9)
    assert t.loc[("key_sites", "leo_10ms"), "covered"] == 1.0  # "far east", 3 km from a road
    assert t.loc[("area", "leo_10ms"), "judged_on"] == "geometric worst case in view"
    # Worst-case LEO latency: two slant ranges at 25°, 1.5 ms allowances, E + S at the gateway.
    leo_ms = 2 * _slant(550, 25) / 299.792458 + 1.5 + 0.120
    assert 9.0 < leo_ms < 10.0
    assert t.loc[("key_sites", "application_with_leo"), "covered"] == 4.0
    layer = gpd.read_file(tmp_path / "out" / "tiers.gpkg", layer="leo").set_index("budget_ms")
    assert layer.loc[10.0, "area_km2"] == pytest.approx(30.0)
    assert layer.loc[10.0, "geometry"].area == pytest.approx(30e6)


def test_the_measured_median_keeps_leo_out_of_the_10_ms_tier(
    make_tiny_city: Callable[..., Path], tmp_path: Path
) -> None:
    # Default: SpaceX's June 2025 US median RTT 25.7 ms, 12.85 ms one way, + E + S (0.12 ms):
    # 12.97 ms, beyond 10 ms, within 20 ms; the geometric bound (satellite above the midpoint,
    # a few km: 3.67 ms + 1.5 ms + 0.12 ms) would have said 10 ms: it is reported, as a bound.
    t = _run(make_tiny_city, tmp_path, "tiers: {leo: leo550}\n")
    assert t.loc[("area", "leo_10ms"), "covered"] == 0.0
    assert t.loc[("area", "leo_20ms"), "covered"] == pytest.approx(30.0, abs=1e-9)
    assert t.loc[("area", "leo_10ms"), "judged_on"] == "measured median (starlink_2025)"
    assert t.loc[("area", "leo_10ms_bound"), "covered"] == pytest.approx(30.0, abs=1e-9)
    assert t.loc[("area", "leo_10ms_bound"), "judged_on"] == "geometric bound (never the answer)"
    # P95 at most 55 / 2 + 0.12 = 27.62 ms: outside 20 ms too.
    assert t.loc[("area", "leo_20ms_p95"), "covered"] == 0.0
    assert t.loc[("area", "leo_20ms"), "gateways"].startswith("best case")
    # The application tier with LEO: the no-access area (30 of 64 km²) drops out at 10 ms.
    with_leo = t.loc[("area", "application_with_leo"), "covered"]
    assert with_leo == pytest.approx(t.loc[("area", "application"), "covered"], abs=1e-9)


def test_a_higher_shell_misses_10_ms_but_meets_20(
    make_tiny_city: Callable[..., Path], tmp_path: Path
) -> None:
    leo_ms = 2 * _slant(1160, 30) / 299.792458 + 1.5 + 0.120
    assert 10.0 < leo_ms < 20.0
    t = _run(make_tiny_city, tmp_path, "tiers: {leo: leo1160, leo_budgets_ms: [10, 20]}\n")
    assert t.loc[("key_sites", "leo_10ms"), "covered"] == 0.0
    assert t.loc[("key_sites", "leo_20ms"), "covered"] == 1.0
    assert t.loc[("area", "leo_20ms"), "covered"] == pytest.approx(30.0, abs=1e-9)


def test_leo_latency_budget_boundary(make_tiny_city: Callable[..., Path], tmp_path: Path) -> None:
    """Through the config and tiers.csv: a budget exactly at the far site's LEO latency."""
    from latcircle.analysis.city_tiers import city_tiers
    from latcircle.analysis.metro import prepare
    from latcircle.config import CityTiers

    metro = prepare(load_config(make_tiny_city("p")))
    leo = city_tiers(metro, metro.scenario(year=None), CityTiers()).leo_ms["key_sites"]
    far = float(leo[np.isfinite(leo)][0])
    assert far == pytest.approx(25.7 / 2 + 0.120, abs=1e-9)  # measured median + E + S
    at = smallest_budget_ms(far * 1000.0)
    below = float(np.nextafter(at, 0.0))
    for budget, want, where in ((at, 1.0, "a"), (below, 0.0, "b")):
        # repr() round-trips a float exactly through the YAML.
        t = _run(make_tiny_city, tmp_path / where, f"tiers: {{leo_budgets_ms: [{budget!r}]}}\n")
        assert t.loc[("key_sites", f"leo_{budget:g}ms"), "covered"] == want


def test_no_tiers_section_writes_nothing_extra(
    make_tiny_city: Callable[..., Path], tmp_path: Path
) -> None:
    cfg = load_config(make_tiny_city("n"))
    run_city(cfg, out=tmp_path / "o", extra_outputs=_tier_outputs(), options=_NO_PROGRESS)
    assert not (tmp_path / "o" / "tiers.csv").exists()


def test_bad_tiers_values_are_refused(make_tiny_city: Callable[..., Path]) -> None:
    from latcircle.errors import InputError

    for bad in (
        "tiers: {app_budget_ms: .inf}\n",
        "tiers: {access: 6g}\n",
        "tiers: {leo_budgets_ms: []}\n",
    ):
        with pytest.raises(InputError, match="tiers"):
            load_config(make_tiny_city("bad", extra_yaml=bad))


def test_report_has_the_tiers_section(make_tiny_city: Callable[..., Path], tmp_path: Path) -> None:
    from latcircle.pipeline import default_outputs

    cfg = load_config(make_tiny_city("r", extra_yaml="tiers: {leo: leo550}\n"))
    run_city(cfg, out=tmp_path / "o", extra_outputs=default_outputs())
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "Wider tiers: application and LEO" in page
    # The LEO rows for key sites: none of 4 within 10 ms on the measured median; the
    # road-less "far east" site within 20 ms; the geometric bound row says what it is.
    head = "<td>Key sites</td><td>LEO within"
    assert f"{head} 10 ms (measured median (starlink_2025))</td><td>10 ms</td><td>0 key" in page
    assert f"{head} 20 ms (measured median (starlink_2025))</td><td>20 ms</td><td>1 key" in page
    assert f"{head} 10 ms (geometric bound (never the answer))</td><td>10 ms</td><td>1 key" in page


def test_leo_and_application_tiers_count_a_sample_exactly_at_the_budget(
    make_tiny_city: Callable[..., Path],
) -> None:
    from latcircle.analysis.city_tiers import city_tiers
    from latcircle.analysis.metro import prepare
    from latcircle.config import CityTiers

    metro = prepare(load_config(make_tiny_city("b")))
    scenario = metro.scenario(year=None)
    leo = city_tiers(metro, scenario, CityTiers()).leo_ms["key_sites"]
    far = float(leo[np.isfinite(leo)][0])  # the road-less "far east" key site
    assert far == pytest.approx(25.7 / 2 + 0.120, abs=1e-9)  # measured median + E + S
    # The smallest budget whose µs value reaches it: exactly there it counts; one float less not.
    at = smallest_budget_ms(far * 1000.0)
    below = float(np.nextafter(at, 0.0))
    for budget, want in ((at, 1.0), (below, 0.0)):
        t = city_tiers(metro, scenario, CityTiers(leo_budgets_ms=[budget], app_budget_ms=budget))
        rows = t.table.set_index(["basis", "tier"])
        assert rows.loc[("key_sites", f"leo_{budget:g}ms"), "covered"] == want
        # With LEO where fibre ends: the three sites with access (about 4.4 ms) plus the far one.
        assert rows.loc[("key_sites", "application_with_leo"), "covered"] == 3.0 + want


def test_map_shows_the_leo_layer(make_tiny_city: Callable[..., Path], tmp_path: Path) -> None:
    import json
    import re

    from latcircle.pipeline import default_outputs

    yaml = "tiers: {leo: leo550, leo_basis: geometric}\n"
    cfg = load_config(make_tiny_city("m", extra_yaml=yaml))
    # The map only: the report's tiers section is test_report_has_the_tiers_section's.
    run_city(cfg, out=tmp_path / "o", extra_outputs=default_outputs(report=False))
    page = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert "LEO access within 10 ms (leo550, geometric)" in page
    assert "LEO access within 20 ms (leo550, geometric)" in page
    # The 10 ms layer's tooltip gives the road-less east's area: 30 km² (hand count above).
    labels = [json.loads(m) for m in re.findall(r'"label": ("LEO access within 10 ms[^"]*")', page)]
    want = "LEO access within 10 ms (leo550, geometric) · 30.0 km² without fibre access"
    assert labels == [want]
