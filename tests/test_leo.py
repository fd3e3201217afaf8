"""LEO access geometry against hand computation (law of cosines, not the module's formula)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latcircle.analysis.leo import (
    C_KM_PER_MS,
    EARTH_RADIUS_KM,
    LEO_PRESETS,
    LeoParams,
    coverage_half_angle_rad,
    leo_latency_ms,
    relay_path_km,
    slant_range_km,
)

R = EARTH_RADIUS_KM


def _slant_by_law_of_cosines(h: float, elev_deg: float) -> float:
    # Triangle Earth centre O, user U, satellite S: |OS| = R + h, |OU| = R and the angle at U is
    # 90° + elevation, so (R + h)² = R² + d² + 2·R·d·sin(elevation): the positive root of it.
    s = math.sin(math.radians(elev_deg))
    b, c = 2 * R * s, R * R - (R + h) ** 2
    return (-b + math.sqrt(b * b - 4 * c)) / 2


@pytest.mark.parametrize(
    ("h", "elev"), [(550, 90), (550, 25), (550, 40), (1160, 30), (1160, 90), (340, 10), (1200, 0)]
)
def test_slant_range_matches_the_law_of_cosines(h: float, elev: float) -> None:
    assert float(slant_range_km(h, elev)) == pytest.approx(
        _slant_by_law_of_cosines(h, elev), abs=1e-9
    )


def test_published_figures_for_the_550_km_shell() -> None:
    # DESIGN §1: 3.7 ms one way at zenith (up and down), 7.5 ms at 25° elevation.
    assert 2 * float(slant_range_km(550, 90)) / C_KM_PER_MS == pytest.approx(3.669, abs=1e-3)
    assert 2 * float(slant_range_km(550, 25)) / C_KM_PER_MS == pytest.approx(7.494, abs=1e-3)
    assert float(slant_range_km(550, 90)) == 550.0


def test_worst_case_latency_is_two_slant_ranges_plus_allowances_plus_ground() -> None:
    p = LEO_PRESETS["leo550"]
    got = leo_latency_ms(p, [0.0, 800.0], ground_ms=[0.25, 1.5])
    hop = 2 * _slant_by_law_of_cosines(550, 25) / 299.792458
    assert got == pytest.approx([hop + 1.5 + 0.25, hop + 1.5 + 1.5], abs=1e-9)


def test_best_case_relay_at_the_footprint_edge_equals_the_worst_case() -> None:
    # When the ground separation is exactly 2λ, the satellite above the midpoint is seen at the
    # minimum elevation from both ends: best and worst geometry coincide (a boundary sample).
    for name, p in LEO_PRESETS.items():
        lam = coverage_half_angle_rad(p.altitude_km, p.min_elevation_deg)
        edge = 2 * lam * R
        best = float(relay_path_km(p, edge, worst=False)[()])
        worst = float(relay_path_km(p, edge, worst=True)[()])
        assert best == pytest.approx(worst, rel=1e-12), name
        assert np.isfinite(best)
        beyond = float(relay_path_km(p, edge * (1 + 1e-9), worst=False)[()])
        assert beyond == math.inf


def test_best_case_at_zero_separation_is_twice_the_altitude() -> None:
    p = LEO_PRESETS["leo1160"]
    assert float(relay_path_km(p, 0.0, worst=False)[()]) == pytest.approx(2 * 1160.0, abs=1e-9)


def test_onboard_compute_is_one_uplink() -> None:
    p = LEO_PRESETS["leo550"].replace(onboard_compute=True)
    got = leo_latency_ms(p, [5000.0])  # the gateway distance does not matter on board
    assert got == pytest.approx([_slant_by_law_of_cosines(550, 25) / 299.792458 + 1.5], abs=1e-12)


def test_a_leo_path_never_meets_one_millisecond() -> None:
    for p in LEO_PRESETS.values():
        assert float(leo_latency_ms(p, [0.0], worst=False)[0]) > 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {"altitude_km": 100.0},
        {"altitude_km": math.nan},
        {"min_elevation_deg": 90.0},
        {"min_elevation_deg": -1.0},
        {"processing_ms": math.inf},
        {"handover_ms": -0.1},
        {"gateway_max_km": 0.0},
    ],
)
def test_absurd_parameters_are_refused(bad: dict[str, float]) -> None:
    base = {
        "name": "x",
        "altitude_km": 550.0,
        "min_elevation_deg": 25.0,
        "processing_ms": 1.0,
        "handover_ms": 0.5,
    }
    with pytest.raises(ValueError, match=next(iter(bad))):
        LeoParams(**{**base, **bad})
