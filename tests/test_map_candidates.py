"""The what-if panel's automatic candidates: the planner's rule, the junctions found once.

``auto_candidates_at_most`` must give exactly what calling ``auto_candidates`` at the spacing,
then at twice it, ... gives until at most ``most`` remain (the loop the map ran before): the
reference here is that loop itself, on the tiny city's 1 km lattice, whose junctions are all
1 km apart (so a spacing of 1 km keeps every one, the boundary case of the rule).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest

from latcircle.analysis.metro import Metro, prepare
from latcircle.analysis.plan import auto_candidates, auto_candidates_at_most
from latcircle.config import load_config


def _loop(metro: Metro, spacing: float, most: int, cost: float = 3.0) -> gpd.GeoDataFrame:
    cand = auto_candidates(metro, spacing_m=spacing, cost=cost)
    while len(cand) > most:
        spacing *= 2.0
        cand = auto_candidates(metro, spacing_m=spacing, cost=cost)
    return cand


@pytest.fixture(scope="module")
def lattice(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    from conftest import _write_tiny_city

    return prepare(load_config(_write_tiny_city(tmp_path_factory.mktemp("lattice") / "city")))


def test_the_same_candidates_as_doubling_the_spacing(lattice: Metro) -> None:
    every = len(auto_candidates(lattice, spacing_m=1000.0, cost=3.0))
    assert every > 4  # a lattice with junctions to thin
    for spacing in (600.0, 1000.0, 1000.0000001, 1500.0):
        for most in (1, 2, every - 1, every, every + 1, 10_000):
            ours = auto_candidates_at_most(lattice, spacing_m=spacing, cost=3.0, most=most)
            reference = _loop(lattice, spacing, most)
            assert len(ours) <= max(most, 1)
            assert ours.to_wkb().equals(reference.to_wkb())
            assert ours.crs == reference.crs


def test_at_the_lattice_step_every_junction_is_kept(lattice: Metro) -> None:
    # 1 km apart is allowed: with room for all of them, none is thinned out.
    every = auto_candidates(lattice, spacing_m=1000.0, cost=3.0)
    ours = auto_candidates_at_most(lattice, spacing_m=1000.0, cost=3.0, most=len(every))
    assert ours.to_wkb().equals(every.to_wkb())


def test_the_map_candidates_follow_the_rule(make_tiny_city: Callable[..., Path]) -> None:
    from latcircle.present.map.workbench import MAP_CANDIDATES, _candidates
    from latcircle.run import RunResult

    metro = prepare(load_config(make_tiny_city("lattice")))
    spec = metro.config.plan
    result = RunResult.__new__(RunResult)
    object.__setattr__(result, "metro", metro)
    got = _candidates(result)
    reference = _loop(metro, spec.auto_spacing_m, MAP_CANDIDATES, spec.site_cost)
    assert got.drop(columns="build_id").to_wkb().equals(reference.drop(columns="cand_id").to_wkb())
    assert got["build_id"].tolist() == reference["cand_id"].tolist()
