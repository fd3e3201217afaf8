"""Work shared across a run's years and sites gives the same values as doing it each time.

Issue 23, session round 11: the progress years are solved together with each basis's
access terms gathered once (``Metro.scenarios``), protection gathers them once per run of
single-site fields (``best_two_of_fields(gather=True)``), one group of sites takes a
vectorised path to the critical values (``_stars_one``), the progress table sums each
scenario once (``_Tally``) and the uncertainty rows are found by position. Each is checked
here against an independent reference, bit for bit: the one-scenario solve, the stable sort
of the whole ``(points × fields)`` table, the hand formula in Python floats, the covered
rule, a pandas filter.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis.coverage import CAUSE_CODES, CAUSES, covered
from latcircle.analysis.progress import _Tally, year_range
from latcircle.analysis.sensitivity import _field_lengths, _stars
from latcircle.analysis.uncertainty import UNCERTAINTY_COLUMNS, UncertaintyResult
from latcircle.config import LatencyParams
from latcircle.engine.persite import best_two, best_two_of_fields, evaluate_fields

PARAMS = LatencyParams(
    k_us_per_m=0.005,
    route_factor=1.2,
    equipment_us=100.0,
    site_device_us=20.0,
    extra_us=3.0,
    max_drop_m=1000.0,
    factor=2.0,
)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays, NaN equal to NaN, same dtype: bit for bit as the outputs see them."""
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_years_solved_together_equal_each_solved_alone(demo_metro: Any) -> None:
    metro = demo_metro
    years: list[int | None] = [*year_range(metro), None, 2020]  # 2020: no site online yet
    together = metro.scenarios(years)
    assert [sc.year for sc in together] == years
    for year, sc in zip(years, together, strict=True):
        alone = metro.scenario(year=year)
        assert _same(sc.online, alone.online), year
        assert _same(sc.field.node_us, alone.field.node_us), year
        assert _same(sc.field.node_site, alone.field.node_site), year
        assert list(sc.evaluations) == list(alone.evaluations), year  # the same key order
        for basis, ev in alone.evaluations.items():
            assert _same(sc.evaluations[basis].latency_us, ev.latency_us), (year, basis)
            assert _same(sc.evaluations[basis].site, ev.site), (year, basis)


@pytest.mark.parametrize("hold_bytes", [1, 2**25])  # a run per field; every field in one run
def test_gathered_best_two_equals_the_stable_sort_of_the_whole_table(
    demo_metro: Any, hold_bytes: int
) -> None:
    metro = demo_metro
    view = metro.view(None)
    groups = [np.array([s]) for s in np.flatnonzero(view.attachment.attached)]
    assert len(groups) >= 3
    from latcircle.engine.persite import group_fields

    fields = group_fields(view.network, view.attachment, metro.params, groups=groups)
    locs = [s.location for s in view.samples.values()]
    locs.append(locs[0].take(np.flatnonzero(locs[0].has_access)[::3]))  # every one with access
    got = best_two_of_fields(iter(fields), locs, gather=True, hold_bytes=hold_bytes)
    for loc, two in zip(locs, got, strict=True):
        want = best_two(evaluate_fields(fields, groups, loc).values)
        for name in ("best", "best_col", "second", "second_col"):
            assert _same(getattr(two, name), getattr(want, name)), name


def _hand_stars(ell: float, s_us: float, room: float, p: LatencyParams) -> tuple[float, float]:
    """``r*`` and ``E*`` of one sample, one site group, in Python floats (the module doc)."""
    if not math.isfinite(ell):
        return -math.inf, -math.inf
    num = room - p.equipment_us - s_us
    r = -math.inf
    if num >= 0:  # else the site latency alone is over the budget
        r = num / (p.k_us_per_m * ell) if ell > 0 else math.inf
    e = room - (s_us + p.k_us_per_m * p.route_factor * ell)
    return r, e


@pytest.mark.parametrize("s_us", [20.0, 350.0, 2000.0])  # 2000: over the budget alone
def test_one_group_critical_values_equal_the_hand_formula(s_us: float) -> None:
    rng = np.random.default_rng(7)
    ell = np.r_[rng.uniform(0.0, 60_000.0, 500), 0.0, np.inf, 1e-300, 59_999.9]
    room = 1.0 * 1000.0 / PARAMS.factor - PARAMS.extra_us
    r_star, e_star = _stars(ell[:, None], np.array([s_us]), room=room, params=PARAMS)
    hand = [_hand_stars(float(x), s_us, room, PARAMS) for x in ell]
    assert _same(r_star, np.array([h[0] for h in hand]))
    assert _same(e_star, np.array([h[1] for h in hand]))


def test_route_lengths_from_the_field_equal_the_hand_formula() -> None:
    lat = np.array([0.0, 250.0, 232.0, 1000.0, 999.999, np.inf, 1e6, 246.0])
    got = _field_lengths(lat, PARAMS, 20.0)
    assert got.shape == (len(lat), 1)
    p = PARAMS
    for x, g in zip(lat, got[:, 0], strict=True):
        path = max(float(x) / p.factor - (p.equipment_us + p.extra_us) - 20.0, 0.0)
        want = path / (p.k_us_per_m * p.route_factor)
        assert g == want or (math.isnan(g) and math.isnan(want)), x


def test_progress_tally_equals_the_covered_rule(demo_metro: Any) -> None:
    metro = demo_metro
    tally = _Tally()
    budget = metro.config.budget_ms
    sc = metro.scenario(year=2026)
    # Samples exactly on the budget (covered) and the float just above it (not covered).
    evaluations = {}
    for basis, ev in sc.evaluations.items():
        lat = ev.latency_us.copy()
        reached = np.flatnonzero(np.isfinite(lat))
        lat[reached[::7]] = budget * 1000.0
        lat[reached[3::7]] = np.nextafter(budget * 1000.0, np.inf)
        evaluations[basis] = dataclasses.replace(ev, latency_us=lat)
    sc = dataclasses.replace(sc, evaluations=evaluations)
    for basis, ev in sc.evaluations.items():
        w = ev.samples.weight
        lat = ev.latency_us
        assert np.any(lat == budget * 1000.0) and np.any(lat > budget * 1000.0)
        cov, total, causes = tally.get(sc, basis, budget)
        assert cov == float(w[covered(lat, budget_ms=budget)].sum())
        assert total == float(w.sum())
        codes = ev.codes(budget)
        for cause in CAUSES:
            assert causes[cause] == float(
                np.bincount(codes, weights=w, minlength=5)[CAUSE_CODES[cause]]
            )
        assert tally.get(sc, basis, budget) is tally.get(sc, basis, budget)  # summed once


def test_uncertainty_row_equals_a_filter_of_its_table() -> None:
    rows = [
        (2024, "area", 0.1),
        (2024, "population", 0.2),
        (None, "area", 0.3),
        (2027, "area", 0.4),
        (2027, "area", 0.5),  # a repeated key: the first row, as the filter's first hit
    ]
    table = pd.DataFrame(
        [
            {c: np.nan for c in UNCERTAINTY_COLUMNS} | {"year": y, "basis": b, "share": s}
            for y, b, s in rows
        ],
        columns=UNCERTAINTY_COLUMNS,
    )
    table["year"] = table["year"].astype("Int64")
    unc = UncertaintyResult(
        method="m", exact=True, samples=None, seed=0, distributions={}, table=table
    )
    for year, basis in [
        (2024, "area"),
        (2024, "population"),
        (None, "area"),
        (2027, "area"),
        (2025, "area"),
        (None, "population"),
        (np.int64(2027), "area"),
    ]:
        year_ok = table["year"].isna() if year is None else table["year"] == year
        hit = table[year_ok & (table["basis"] == basis)]
        got = unc.row(year, basis)
        if hit.empty:
            assert got is None
        else:
            assert got is not None and got.equals(hit.iloc[0]) and got.name == hit.index[0]


def test_critical_values_on_the_reached_samples_equal_those_over_every_sample() -> None:
    from latcircle.analysis.sensitivity import _field_criticals, _from_lengths

    budget_ms = 1.0
    room = budget_ms * 1000.0 / PARAMS.factor - PARAMS.extra_us
    rng = np.random.default_rng(3)
    lat = rng.uniform(230.0, 1200.0, 2000)
    lat[::5] = np.inf  # no site reaches these
    lat[1::9] = budget_ms * 1000.0  # exactly on the budget: covered, r* anchored up to r
    lat[2::9] = np.nextafter(budget_ms * 1000.0, np.inf)  # just over: anchored below r
    lat[3] = 2.0 * (PARAMS.equipment_us + PARAMS.extra_us + 20.0)  # at the site: length 0
    got = _field_criticals(lat, 20.0, params=PARAMS, room=room, budget_ms=budget_ms)
    want = _from_lengths(
        lambda: _field_lengths(lat, PARAMS, 20.0),
        np.array([20.0]),
        lat,
        params=PARAMS,
        room=room,
        budget_ms=budget_ms,
    )
    for g, w in zip(got, want, strict=True):
        assert _same(g, w)
    r_star = got[0]
    on = lat == budget_ms * 1000.0
    assert np.all(r_star[on] >= PARAMS.route_factor)  # the covered rule at the run's own r
    assert np.all(r_star[lat > budget_ms * 1000.0] < PARAMS.route_factor)


def test_curves_sorted_from_the_reached_samples_equal_those_from_every_sample(
    demo_metro: Any,
) -> None:
    from latcircle.analysis.sensitivity import (
        PARAMETERS,
        _budget_us,
        _critical,
        _field_criticals,
        _from_field,
    )

    metro = demo_metro
    for year in (2024, 2025):  # legacy sites only: one device latency, the field's path
        sc = metro.scenario(year=year)
        device = metro.inputs.sites["device_latency_us"].to_numpy(dtype=float)
        group = np.unique(device[sc.online & metro.view(year).attachment.attached])
        assert len(group) == 1
        got = _from_field(metro, sc, group)
        s_us = float(group[0])
        for basis, ev in sc.evaluations.items():
            derive = functools.partial(
                _field_criticals,
                ev.latency_us,
                s_us,
                params=metro.params,
                room=_budget_us(metro),
                budget_ms=metro.config.budget_ms,
            )
            lengths = functools.partial(_field_lengths, ev.latency_us, metro.params, s_us)
            # The reference: the whole arrays made, then sorted (no ``reached``).
            want = _critical(metro, sc, basis, lengths, np.array([s_us]), derive=derive)
            crit = got[(year, basis)]
            assert _same(crit.r_star, want.r_star) and _same(crit.e_star, want.e_star)
            assert _same(crit.lengths, want.lengths)  # type: ignore[arg-type]
            for parameter in PARAMETERS:
                a, b = crit._sorted_of(parameter), want._sorted_of(parameter)
                assert _same(a.stars, b.stars), (year, basis, parameter)
                assert (a.suffix is None) == (b.suffix is None) and a.unit == b.unit
                if a.suffix is not None:
                    assert _same(a.suffix, b.suffix)
                values = np.r_[a.stars[:: max(1, len(a.stars) // 50)], metro.params.route_factor]
                assert _same(crit.share(parameter, values), want.share(parameter, values))
