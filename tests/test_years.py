"""Every scenario year of the demo metro, 2020 to 2030: every output written and consistent.

The demo at half its default scale (``half_demo_metro``, conftest: seed 7, the same site years):
nothing checked here depends on the metro's size, and the module costs less than half as
much (23 s of CPU against 54 s on the default demo, each alone, 7 Dec 2026).

The demo's sites come online from 2024 to 2028, so 2020-2023 have no site online (every band
empty), 2024-2028 add one site a year, and 2029-2030 add nothing. One metro is prepared once
and run for each year through the Python API (as ``latcircle run --year Y`` does), the
eleven runs sharing one :class:`~latcircle.analysis.memo.YearsMemo` (what does not depend on
the run year is computed once); one year is run again without it, and must give the same bytes.

Every year writes and is checked on every file that depends on its year: the tables
(``coverage.csv``, ``progress.*``, ``clusters.csv``, ``interconnect.csv``,
``protection.csv``), ``isochrones.gpkg``, ``latency.tif`` and ``run.json``. The pages and
their figures (``map.html``, ``report.html``, ``figures/``: about 1 s of CPU a year on the
demo, measured 2026-12-07) draw those same tables, so they are written and checked on the
years that prove something of their own (:data:`FULL_YEARS`):

- 2020, the first year run: it fills the memo (the map's slider, every progress year), and
  its report says that no site is online;
- 2023, the last year with no site online (its report says so, naming 2024);
- 2024, the first year with a site online: the first non-empty bands, map and figures;
- 2027 and 2028, the two target years (>= 70 % and >= 75 %), judged in report and map;
- 2030, the year taken from the memo (2028's sites, relabelled), compared byte for byte,
  pages included, with a run of 2030 alone.

2021, 2022 (no site, as 2020 and 2023), 2025, 2026 (one more site, as 2024) and 2029 (2028's
sites, as 2030) are run without the pages: the year-dependent files only.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

from latcircle.analysis.coverage import CAUSE_CODES, CAUSES
from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro
from latcircle.pipeline import RunOptions, default_outputs, run_city

_SPEC = importlib.util.spec_from_file_location(
    "compare_outputs", Path(__file__).parents[1] / "scripts" / "compare_outputs.py"
)
assert _SPEC is not None and _SPEC.loader is not None
compare_outputs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(compare_outputs)

YEARS = list(range(2020, 2031))
FIRST_ONLINE = 2024
#: The years run with the map and the report too (see the module docstring for why these).
FULL_YEARS = (2020, 2023, FIRST_ONLINE, 2027, 2028, 2030)
#: The files every year writes: they depend on the year.
FILES = (
    "coverage.csv",
    "isochrones.gpkg",
    "latency.tif",
    "run.json",
    "progress.csv",
    "progress.json",
    "clusters.csv",
    "interconnect.csv",
    "protection.csv",
)
#: The pages and their figures, written in :data:`FULL_YEARS` (and only there).
PAGES = (
    "map.html",
    "report.html",
    "figures/bands.png",
    "figures/curve.png",
    "figures/districts.png",
    "figures/progress.png",
)
LAYERS = {
    "bands",
    "rings",
    "sites",
    "key_sites",
    "service_areas",
    "boundary",
    "districts",
    "clusters",
    "single_site_coverage",  # what rests on one site alone (issue 24)
    "layer_styles",  # the QGIS styles table (issue 18)
}

pytestmark = pytest.mark.slow  # twelve runs, seven with pages (about 20 s of CPU, half scale)

#: The distinct sets of online sites of the demo's years (its one network): none (2020-2023),
#: then one more site a year from 2024 to 2028 (2029 and 2030 are 2028's).
DISTINCT_YEARS = 1 + (2028 - FIRST_ONLINE + 1)


@pytest.fixture(scope="module")
def memo_runs(
    tmp_path_factory: pytest.TempPathFactory, half_demo_metro: Metro
) -> tuple[dict[int, Path], YearsMemo]:
    """The demo run for every year, sharing one prepared metro (the session's half-scale one).

    The runs share one memo, as a caller scripting years through the API would. The map
    and the report only in :data:`FULL_YEARS`.
    """
    root = tmp_path_factory.mktemp("years")
    metro = half_demo_metro
    cfg = metro.config
    # Each distinct set of online sites solved once, for every run's progress by year.
    solved = [metro.scenario(year=y) for y in range(FIRST_ONLINE - 1, 2029)]
    memo = YearsMemo()
    out = {}
    for year in YEARS:
        full = year in FULL_YEARS
        folder = root / f"demo-{year}"
        result = run_city(
            cfg.model_copy(update={"year": year}),
            out=folder,
            metro=metro,
            extra_outputs=default_outputs(maps=full, report=full),
            options=RunOptions(reuse=solved, memo=memo),
        )
        assert result.scenario.year == year
        out[year] = folder
    return out, memo


@pytest.fixture(scope="module")
def runs(memo_runs: tuple[dict[int, Path], YearsMemo]) -> dict[int, Path]:
    """Each year's output folder."""
    return memo_runs[0]


def test_a_year_from_the_memo_is_that_year_run_alone(
    memo_runs: tuple[dict[int, Path], YearsMemo], half_demo_metro: Metro, tmp_path: Path
) -> None:
    """2030 took every year-independent part from the memo: the bytes of a run without one.

    2030 is relabelled from 2028's parts (the same sites): its slider's year, its critical
    values and its scenario all carry their own year in the files compared.
    """
    runs, memo = memo_runs
    alone = tmp_path / "demo-2030"
    run_city(
        half_demo_metro.config.model_copy(update={"year": 2030}),
        out=alone,
        metro=half_demo_metro,
        extra_outputs=default_outputs(),
    )
    assert compare_outputs.compare_folders(runs[2030], alone) == []
    # One slider state and one set of critical values per distinct set of online sites.
    assert memo.count("states") == DISTINCT_YEARS
    assert memo.count("criticals") == DISTINCT_YEARS
    assert memo.hits > 0


def test_a_memo_serves_one_metro(half_demo_metro: Metro) -> None:
    """Another preparation or another config (its year aside) is refused, not served."""
    memo = YearsMemo()
    memo.bind(half_demo_metro)
    year = half_demo_metro.config.model_copy(update={"year": 2024})
    memo.bind(dataclasses.replace(half_demo_metro, config=year))  # another year: served
    with pytest.raises(ValueError, match="one prepared metro"):
        memo.bind(
            dataclasses.replace(half_demo_metro, grid=dataclasses.replace(half_demo_metro.grid))
        )
    budget = half_demo_metro.config.budget_ms * 2
    other = half_demo_metro.config.model_copy(update={"budget_ms": budget})
    with pytest.raises(ValueError, match="one prepared metro"):
        memo.bind(dataclasses.replace(half_demo_metro, config=other))


def _metro(folder: Path) -> pd.DataFrame:
    cov = pd.read_csv(folder / "coverage.csv")
    return cov[(cov["scope"] == "metro") & (cov["threshold_ms"] == 1.0)].set_index("basis")


def test_every_output_is_written_every_year(runs: dict[int, Path]) -> None:
    assert set(FULL_YEARS) < set(runs)
    for year, folder in runs.items():
        missing = [f for f in FILES if not (folder / f).is_file()]
        assert not missing, (year, missing)
        pages = [f for f in PAGES if (folder / f).is_file()]
        assert pages == (list(PAGES) if year in FULL_YEARS else []), (year, pages)
        layers = {name for name, _ in pyogrio.list_layers(folder / "isochrones.gpkg")}
        assert layers == LAYERS, year
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert record["scenario_year"] == year
        assert record["sites_online"] == max(0, min(year, 2028) - FIRST_ONLINE + 1)


def test_shares_never_fall_from_year_to_year(runs: dict[int, Path]) -> None:
    shares = pd.DataFrame({y: _metro(f)["share"] for y, f in runs.items()}).T
    assert (shares.loc[2020:2023] == 0.0).all().all()
    assert (shares.loc[2024] > 0).all()
    assert (shares.diff().dropna() >= -1e-12).all().all()
    # Nothing comes online after 2028: the shares stay put.
    assert (shares.loc[2029] == shares.loc[2028]).all() and (
        shares.loc[2030] == shares.loc[2028]
    ).all()
    # The causes add up to the uncovered weight every year.
    for year, folder in runs.items():
        m = _metro(folder)
        parts = m["covered"] + sum(m[c] for c in CAUSES)
        np.testing.assert_allclose(parts, m["total"], rtol=1e-9, err_msg=str(year))


def test_empty_bands_are_present_with_zero_area(runs: dict[int, Path]) -> None:
    for year, folder in runs.items():
        bands = gpd.read_file(folder / "isochrones.gpkg", layer="bands")
        assert list(bands["threshold_ms"]) == [0.25, 0.5, 0.75, 1.0], year
        if year < FIRST_ONLINE:
            assert (bands["area_km2"] == 0).all(), year
            assert bands.geometry.is_empty.all() | bands.geometry.isna().all()
        # Cumulative bands: never shrinking with the threshold.
        assert (np.diff(bands["area_km2"]) >= 0).all(), year
        covered = _metro(folder).loc["area", "covered"]
        assert (bands["area_km2"].iloc[-1] == 0) == (covered == 0), year


def test_status_band_counts_the_coverage_table(runs: dict[int, Path]) -> None:
    """latency.tif band 2 holds the status codes; its cell counts are coverage.csv's area."""
    for year, folder in runs.items():
        with rasterio.open(folder / "latency.tif") as src:
            latency, status = src.read(1), src.read(2)
            cell_km2 = abs(src.transform.a * src.transform.e) / 1e6
            assert "status" in (src.descriptions[1] or "")
        area = _metro(folder).loc["area"]
        for name, code in CAUSE_CODES.items():
            assert (status == code).sum() * cell_km2 == pytest.approx(area[name], rel=1e-9), (
                year,
                name,
            )
        finite = np.isfinite(latency)
        assert (finite == np.isin(status, [CAUSE_CODES["covered"], CAUSE_CODES["too_far"]])).all()
        if year < FIRST_ONLINE:
            assert not finite.any()


def test_no_site_years_say_so(runs: dict[int, Path]) -> None:
    for year in (2020, 2023):
        record = json.loads((runs[year] / "run.json").read_text(encoding="utf-8"))
        assert record["explanations"][0] == (
            f"no site online in {year}: nothing is covered; the first site comes online in 2024"
        )
        report = (runs[year] / "report.html").read_text(encoding="utf-8")
        assert f"No site online in {year}: nothing is covered" in report
    record = json.loads((runs[2026] / "run.json").read_text(encoding="utf-8"))
    assert not any(e.startswith("no site online") for e in record["explanations"])


def test_clusters_are_for_the_scenario_year(runs: dict[int, Path]) -> None:
    for year, folder in runs.items():
        clusters = pd.read_csv(folder / "clusters.csv")
        assert (clusters["year"] == year).all(), year
        assert set(clusters["cause"]) <= set(CAUSES)
        far = clusters[clusters["cause"] == "too_far"]
        # A too-far cluster is reachable: its best latency is known and over the budget.
        assert (far["min_latency_us"] > 1000.0).all() and far["min_latency_us"].notna().all()
        assert clusters.loc[clusters["cause"] != "too_far", "min_latency_us"].isna().all()
        # Ranked by key sites (the judged basis): none without any.
        assert (clusters["key_sites"] > 0).all(), year
    # No site online: everything on the network is unreachable, nothing is too far.
    assert set(pd.read_csv(runs[2020] / "clusters.csv")["cause"]) == {"no_access", "unreachable"}
