"""The progress years kept as the map reads them (``YearCodes``), not as scenarios.

``run_city`` turns each progress year's scenario into its status codes and area band levels
once the progress table is made, drops the scenarios (the shortfall's last, once its
clusters are made) and the map's slider reads the codes. Checked here: the codes against
the engine solving the year again with the covered rule written out by hand; the slider's
states and the what-if groups from codes against those from the full scenarios; what the
run hands back holds no progress year's scenario; the years' serving sites held narrow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

#: A year's scenario solved by the engine again, from nothing kept (``fresh`` fixture).
Fresh = Callable[[int | None], Any]


@pytest.fixture(scope="module")
def fresh(demo_metro: Any) -> Fresh:
    """``metro.scenario(year=...)`` of the shared demo metro, solved once per year here.

    The reference the tests of this module compare with: the engine solving the year
    again, independently of what the code under test kept. Several tests compare the same
    years, so each is solved once for the module. Only the tests read these (no code under
    test is given them), so they need no guard against changes.
    """
    kept: dict[int | None, Any] = {}

    def solve(year: int | None) -> Any:
        if year not in kept:
            kept[year] = demo_metro.scenario(year=year)
        return kept[year]

    return solve


@pytest.fixture(scope="module")
def solved(demo_metro: Any) -> Iterator[tuple[Any, list[Any]]]:
    """The every-site scenario and ``target_scenarios`` of it (the run's, then the years').

    Solved once for the module (READ-ONLY: the code under test reads them, and the end
    checks that none changed them, as conftest's shared fixtures do).
    """
    from conftest import fingerprint

    from latcircle.analysis.sensitivity import target_scenarios

    run = demo_metro.scenario(year=None)
    scenarios = target_scenarios(demo_metro, run)
    before = fingerprint(scenarios)
    yield run, scenarios
    assert fingerprint(scenarios) == before, "a test changed the shared scenarios"


def _codes_by_hand(latency_us: np.ndarray, has_access: np.ndarray, budget_ms: float) -> np.ndarray:
    """Status codes from their definition: 1 covered, 2 no access, 3 unreachable, 4 too far."""
    out = np.full(len(latency_us), 4, dtype=np.int8)
    out[np.isinf(latency_us)] = 3
    out[~has_access] = 2
    out[latency_us <= budget_ms * 1000.0] = 1  # at the budget: covered
    return out


def _check_codes(metro: Any, codes: Any, fresh_of: Fresh) -> None:
    fresh = fresh_of(codes.year)  # the engine again, from nothing kept
    budget = metro.config.budget_ms
    np.testing.assert_array_equal(codes.online, fresh.online)
    assert list(codes.codes) == list(fresh.evaluations)
    for basis, ev in fresh.evaluations.items():
        has = ev.samples.location.has_access
        expected = _codes_by_hand(ev.latency_us, has, budget)
        assert codes.codes[basis].dtype == np.int8
        np.testing.assert_array_equal(codes.codes[basis], expected)
        np.testing.assert_array_equal(codes.covered(basis), ev.latency_us <= budget * 1000.0)
        rows = np.flatnonzero(~(ev.latency_us <= budget * 1000.0) & has)
        np.testing.assert_array_equal(codes.open_rows(basis), rows)
    lat = fresh.evaluations["area"].latency_us
    levels = sum((lat > t * 1000.0).astype(int) for t in metro.config.thresholds_ms)
    assert codes.levels.dtype == np.uint8
    np.testing.assert_array_equal(codes.levels, levels)


def test_the_run_keeps_no_progress_year_scenario(
    demo_run: Any, demo_metro: Any, fresh: Fresh
) -> None:
    robust = demo_run.robust
    assert robust is not None
    assert [s.year for s in robust.scenarios] == [demo_run.scenario.year]
    assert demo_run.years == ()  # dropped once the map (their one reader) was written
    acted = demo_run.shortfall.acted
    assert acted is not demo_run.scenario  # the demo acts on 2027, a progress year
    assert not hasattr(acted, "evaluations")  # its codes, not its scenario
    assert acted.year == demo_run.shortfall.year
    _check_codes(demo_metro, acted, fresh)


def test_codes_of_every_progress_year(
    demo_metro: Any, solved: tuple[Any, list[Any]], fresh: Fresh
) -> None:
    from latcircle.analysis.workbench import year_codes

    years = solved[1][1:]
    assert len(years) >= 3
    for sc in years:
        _check_codes(demo_metro, year_codes(demo_metro, sc), fresh)


def test_years_serving_sites_narrow_and_equal(
    demo_metro: Any, solved: tuple[Any, list[Any]], fresh: Fresh
) -> None:
    run, scenarios = solved
    n_sites = len(demo_metro.inputs.sites)
    assert n_sites < 128  # so int8 holds every index and -1
    for basis, ev in scenarios[0].evaluations.items():  # the run's own: as solved
        assert ev is run.evaluations[basis]
    for sc in scenarios[1:]:
        for basis, ev in sc.evaluations.items():
            ref = fresh(sc.year).evaluations[basis]
            if ev is not run.evaluations[basis]:  # a year with the run's sites shares them
                assert ev.site.dtype == np.int8, (sc.year, basis)
            np.testing.assert_array_equal(ev.site.astype(np.int64), ref.site)
            np.testing.assert_array_equal(ev.latency_us, ref.latency_us)


def test_slider_from_codes_equals_slider_from_scenarios(
    demo_run: Any, demo_metro: Any, solved: tuple[Any, list[Any]], fresh: Fresh
) -> None:
    import pandas as pd

    from latcircle.analysis.workbench import whatif_sets, year_codes, year_states
    from latcircle.present.map.workbench import slider_years

    run, years_solved = solved[0], solved[1][1:]
    years = slider_years(demo_run)
    full = year_states(demo_metro, run, years, solved=years_solved)
    coded = year_states(
        demo_metro, run, years, solved=[year_codes(demo_metro, s) for s in years_solved]
    )
    assert [s.key for s in full] == [s.key for s in coded]
    budget = demo_metro.config.budget_ms
    for a, b in zip(full, coded, strict=True):
        for field in ("covered", "total", "count", "count_total"):
            x, y = getattr(a, field), getattr(b, field)
            assert list(x) == list(y)
            for basis in x:
                np.testing.assert_array_equal(x[basis], y[basis])
        assert a.rings.geometry.geom_equals_exact(b.rings.geometry, 0).all()
        assert a.causes.geometry.geom_equals_exact(b.causes.geometry, 0).all()
        # The metro's covered weight against the engine solving the year again.
        for basis, ev in fresh(a.year).evaluations.items():
            want = float(ev.samples.weight[ev.latency_us <= budget * 1000.0].sum())
            assert b.covered[basis][-1] == want, (a.key, basis)
    pts = demo_metro.inputs.sites.geometry.to_crs(4326)
    lon, lat = list(pts.x.to_numpy()[:2] + 0.01), list(pts.y.to_numpy()[:2] + 0.01)
    builds = pd.DataFrame({"lon": lon, "lat": lat})
    ga, gb = whatif_sets(demo_metro, full, builds), whatif_sets(demo_metro, coded, builds)
    assert list(ga) == list(gb)
    assert any(len(g.weight) for per in gb.values() for g in per.values())  # groups compared
    for key in ga:
        for basis in ga[key]:
            x, y = ga[key][basis], gb[key][basis]
            np.testing.assert_array_equal(x.weight, y.weight)
            np.testing.assert_array_equal(x.district, y.district)
            np.testing.assert_array_equal(x.count, y.count)
            assert [m.tolist() for m in x.builds] == [m.tolist() for m in y.builds]


def test_run_city_holds_no_latency_raster_meanwhile(tiny_city: Any, tmp_path: Any) -> None:
    import rasterio

    from latcircle.config import load_config
    from latcircle.pipeline import compute_run, write_run

    cfg = load_config(tiny_city)
    light = compute_run(cfg, latency=False)
    assert light.latency is None
    kept = compute_run(cfg)
    assert kept.latency is not None
    written = write_run(light, out=tmp_path / "o")  # band 1 made again when written
    with rasterio.open(tmp_path / "o" / "latency.tif") as src:
        band = src.read(1)
    np.testing.assert_array_equal(kept.latency.astype("float32"), band)
    assert written.latency is not None
    np.testing.assert_array_equal(written.latency, kept.latency)


def test_protection_added_after_progress_is_compute_runs(tiny_city: Any) -> None:
    from latcircle.analysis.metro import StageTimer
    from latcircle.analysis.protection import protection
    from latcircle.config import load_config
    from latcircle.pipeline import compute_run
    from latcircle.pipeline.city import _with_protection

    cfg = load_config(tiny_city)
    whole = compute_run(cfg)
    later = compute_run(cfg, protect=False)
    assert later.protection is None and later.layers is not None
    assert "protection" not in " ".join(later.layers)  # only the run's own layers yet
    added = _with_protection(later, StageTimer())
    assert added.protection is not None and whole.protection is not None
    assert list(added.layers or {}) == list(whole.layers or {})  # the same GeoPackage order
    ref = protection(whole.metro, whole.scenario)  # computed again, on its own
    for found in (added.protection, whole.protection):
        assert found.table.equals(ref.table)
        assert found.worst == ref.worst
    for name, frame in (whole.layers or {}).items():
        assert (added.layers or {})[name].equals(frame), name


def test_report_and_map_modules_imported_when_their_steps_run() -> None:
    """``default_outputs()`` leaves the report's and the map's modules unimported.

    Neither matplotlib nor folium (with branca and requests) is resident while the run
    computes; each comes with its step.
    """
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from latcircle.pipeline import default_outputs\n"
        "steps = default_outputs()\n"
        "print(sorted(m for m in ('matplotlib', 'latcircle.present.report',"
        " 'latcircle.present.report_lang', 'latcircle.present.maps', 'folium', 'branca',"
        " 'requests') if m in sys.modules))\n"
        "print([getattr(s, 'stage_name', s.__name__) for s in steps])\n"
        "print([getattr(s, 'reuses_years', False) for s in steps])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().split("\n")
    assert lines[-3] == "[]"
    assert lines[-2] == "['progress', 'write_tiers', 'write_map', 'write_report']"
    assert lines[-1] == "[False, False, True, False]"  # the map's slider reads the years


def test_map_step_checks_its_options_up_front() -> None:
    """A bad language or what-if count stops ``default_outputs``, before any run's work."""
    import pytest

    from latcircle.errors import InputError
    from latcircle.pipeline import default_outputs

    with pytest.raises(InputError, match="--lang"):
        default_outputs(report=False, lang="fr")
    for count in (0, 51, True):
        with pytest.raises(InputError, match="--what-if"):
            default_outputs(report=False, whatif=count)  # type: ignore[arg-type]
    assert len(default_outputs(report=False, whatif=50)) == 3


def test_report_step_checks_its_language_up_front() -> None:
    import pytest

    from latcircle.errors import InputError
    from latcircle.pipeline import default_outputs

    with pytest.raises(InputError):
        default_outputs(maps=False, lang="fr")
