"""A whole run for one city: prepare, solve, tabulate, polygonise, write.

:func:`run_city` is what ``latcircle run`` calls. It writes ``outputs/<city>/`` through a
temporary folder swapped into place at the end (:func:`latcircle.output.files.atomic_folder`).
:func:`compute_run` and :func:`write_run` are its two halves; :func:`default_outputs` lists the
output steps a normal run adds (progress, tiers, map, report, exports).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from latcircle.analysis.clusters import all_sites_year, clusters_and_counts, rank_basis
from latcircle.analysis.coverage import CAUSES, coverage_table
from latcircle.analysis.interconnect import (
    INTERCONNECT_BUDGET_MS,
    INTERCONNECT_TIERS,
    interconnect_table,
)
from latcircle.analysis.isochrones import bands
from latcircle.analysis.layers import run_layers
from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro, Scenario, StageTimer, prepare
from latcircle.analysis.progress import (
    progress_record,
    progress_table,
    progress_years,
    shortfall_year,
)
from latcircle.analysis.protection import (
    Protection,
    protection,
    protection_layers,
    protection_record,
)
from latcircle.analysis.robust import (
    Robustness,
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
    write_csv,
    write_gpkg,
    write_json,
)
from latcircle.output.record import run_record, timings_record
from latcircle.pipeline.city_rasters import (
    scenario_latency_raster,
    style_gpkg,
    write_causes_and_styles,
    write_latency_tif,
)
from latcircle.pipeline.tiers import write_tiers
from latcircle.run import RunResult, Shortfall
from latcircle.system import collector_paused, freeze_imports, release_memory

__all__ = [
    "CORE_STAGES",
    "RunOptions",
    "city_config",
    "compute_run",
    "default_outputs",
    "run_city",
    "run_config",
    "run_stages",
    "shortfall_clusters",
    "with_shortfall",
    "write_progress",
    "write_run",
]

log = logging.getLogger("latcircle.pipeline")  # one logger for the package, as before


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
    frozen_heap: bool = False,
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
        (:func:`latcircle.present.maps.write_map`, imported when the step runs).
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
    frozen_heap
        The caller froze its heap before the run and unfreezes it after (the command line):
        the map's and the report's late imports join it
        (:func:`latcircle.system.freeze_imports`).
    """
    from latcircle.output.exports import export_step

    steps: list[Callable[[RunResult, Path], Any]] = [write_progress, write_tiers]
    if maps:
        from latcircle.present.map.step import map_writer  # folium: when the step runs

        workbench: dict[str, Any] = {"lang": lang, "frozen_heap": frozen_heap}
        if whatif is not None:
            workbench["whatif"] = whatif
        steps.append(map_writer(assets=map_assets, basemap=basemap, bands=bands, **workbench))  # type: ignore[arg-type]
    if report:
        steps.append(_report_step(lang, frozen_heap=frozen_heap))  # in the map's language
    if exports:
        steps.append(export_step(exports, crs=export_crs))
    return steps


def _report_step(
    lang: str | None, *, frozen_heap: bool = False
) -> Callable[[RunResult, Path], Any]:
    """Return the report step (:func:`~latcircle.present.report_lang.report_writer`), late.

    Its module brings matplotlib (about 27 MB resident on this machine, measured
    2026-12-07): imported when the step runs, it is not resident while the run computes
    and writes its rasters, the run's peak. ``lang`` is checked now, as the writer does,
    before the run's work. The import runs with the collector off, as the CLI imports the
    other steps (it builds only objects that live as long as the process), and joins the
    caller's frozen heap when there is one (``frozen_heap``). The page is written with the
    collector off too, as the map's: the figures' short-lived artists triggered ~50
    collections that freed nothing until the figures were done (measured 2026-12-07).
    """
    from latcircle.present.map.words import check_lang

    check_lang(lang)

    def write(result: RunResult, folder: Path) -> Any:
        with collector_paused():
            from latcircle.present.report_lang import report_writer

            freeze_imports(frozen_heap=frozen_heap)
            return report_writer(lang=lang)(result, folder)

    write.stage_name = "write_report"  # type: ignore[attr-defined]
    return write


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
    made = result.protection.interconnect if result.protection is not None else None
    links = made if made is not None else interconnect_table(metro, year=scenario.year)
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
    acted: object,  # the Shortfall's: compared by identity with the run's scenario only
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


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What a run is asked for beyond its config (:func:`run_city`, :func:`compute_run`).

    Attributes
    ----------
    add_sites
        Extra compute sites ``(lon, lat, name)`` in WGS84, online every year: a quick
        what-if (``latcircle run --add-site``).
    progress
        Compute the progress table by year (one solve per distinct set of online sites)
        for the terminal summary, the explanations and ``progress.csv``.
    reuse
        Scenarios already solved on the run's metro (e.g. other years' runs), reused by the
        progress table when a year has the same online sites.
    keep_latency
        Return the run with its latency raster (made again once the files are written);
        ``False`` for a caller that drops the result (``latcircle run``, a batch task).
    memo
        What the runs of one prepared metro share whatever their year (the progress years'
        scenarios and critical values, the map's slider years and what-if sets): one
        :class:`~latcircle.analysis.memo.YearsMemo` passed to every run of ``metro``
        computes each once. ``ValueError`` when a run's metro is another (another
        preparation, ``add_sites``, another config but for its year).
    """

    add_sites: Sequence[tuple[float, float, str | None]] = ()
    progress: bool = True
    reuse: Sequence[Scenario] = ()
    keep_latency: bool = True
    memo: YearsMemo | None = None


#: The options of a caller that drops the run it gets back (a national batch task): the
#: run's defaults, without a latency raster made again for the result.
DROPPED = RunOptions(keep_latency=False)


def run_city(
    cfg: CityConfig,
    *,
    out: Path,
    options: RunOptions | None = None,
    metro: Metro | None = None,
    timer: StageTimer | None = None,
    extra_outputs: Sequence[Callable[[RunResult, Path], object]] | None = None,
) -> RunResult:
    """Run a city end to end and write its outputs.

    Parameters
    ----------
    cfg
        A validated city config.
    out
        The output folder (replaced whole at the end).
    options
        Extra sites, progress by year, scenarios to reuse (:class:`RunOptions`); the
        defaults when ``None``.
    metro
        A metro already prepared from the same inputs (to run several scenario years in one
        session); ``cfg`` (e.g. its ``year``) replaces its config. Prepared when ``None``.
    timer
        Stage timer (and progress callback); a new one when ``None``.
    extra_outputs
        Callables ``f(result, folder)`` writing further files (maps, reports, progress)
        into the temporary folder before it is swapped into place; each is timed as a
        stage named by its ``stage_name`` attribute (or its ``__name__``).

    Returns
    -------
    RunResult
    """
    options = options or RunOptions()
    timer = timer or StageTimer()
    inputs = _input_files(cfg, out=Path(out))
    check_output_folder(Path(out), inputs=inputs)  # before minutes of work, not after
    # Handed over, never named in this frame: each step below drops scenarios it no longer
    # needs (and write_run the years once the steps that read them are done), and a
    # reference held here would keep them alive.
    handed = [
        compute_run(
            cfg, options, out=Path(out), metro=metro, timer=timer, latency=False, protect=False
        )
    ]
    if options.progress:  # the clusters to act on, once, in memory: every output step shares them
        with timer.stage("progress"):
            if _reuses_years(extra_outputs):  # the map's slider: not solved a second time
                handed.append(_coded_years(handed.pop()))  # the shortfall made in between
            else:
                handed.append(_without_year_scenarios(with_shortfall(_for_shortfall(handed.pop()))))
            release_memory()  # and the progress years' scenarios, before the output steps
    links = write_progress in (extra_outputs or ())  # interconnect.csv: from protection's
    handed.append(_with_protection(handed.pop(), timer, links=links))
    return write_run(
        handed.pop(),
        out=Path(out),
        timer=timer,
        extra_outputs=extra_outputs,
        keep_latency=options.keep_latency,
    )


def compute_run(
    cfg: CityConfig,
    options: RunOptions | None = None,
    *,
    out: Path | None = None,
    metro: Metro | None = None,
    timer: StageTimer | None = None,
    latency: bool = True,
    protect: bool = True,
) -> RunResult:
    """Compute everything a run writes, and write nothing (:func:`run_city` without files).

    Parameters
    ----------
    cfg
        A validated city config.
    options
        As for :func:`run_city`.
    out
        The folder the result will be written to (:func:`write_run`); ``None`` for a result
        kept in memory (``latcircle.Metro.coverage``).
    metro, timer
        As for :func:`run_city`.
    latency
        Keep the latency raster (``RunResult.latency``). :func:`run_city` passes ``False``:
        the raster (16.6 MB on Wuhan) is then not held while sensitivity, protection and
        progress run, and :func:`write_run` makes it again from the scenario when it
        writes ``latency.tif`` (the same function of the same values).
    protect
        Compute protection (``RunResult.protection`` and its layers). :func:`run_city`
        passes ``False`` and adds it after the progress stage (:func:`_with_protection`),
        once the progress years are coded and their scenarios dropped: protection's
        temporaries then do not come on top of them.

    Returns
    -------
    RunResult
        With its GeoPackage ``layers`` and its ``latency`` raster (``None`` when not
        kept). Its ``robust`` keeps the run year's per-sample critical values only (the
        other years' are in its tables);
        :func:`run_city` also drops the progress years' scenarios once progress used them.
    """
    options = options or RunOptions()
    timer = timer or StageTimer()
    if metro is None:
        metro = prepare(cfg, timer=timer)
        for note in metro.inputs.notes:  # repairs and exclusions: never silent
            log.warning(note)
    else:
        metro = dataclasses.replace(metro, config=cfg)
    if options.add_sites:
        from latcircle.analysis.plan import add_sites

        metro = add_sites(metro, list(options.add_sites))
    if options.memo is not None:
        options.memo.bind(metro)  # the metro it serves, or a ValueError
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
        # The bands from the inside cells' latencies (the raster's masks, without the
        # whole-grid float raster); the raster is made only when it is kept.
        band_layer = bands(
            metro.grid,
            scenario.evaluations["area"].latency_us,
            thresholds_ms=cfg.thresholds_ms,
            boundary=metro.inputs.boundary,
            crs=metro.inputs.crs,
            cells=True,
        )
        layers = run_layers(metro, scenario, band_layer)
        latency_raster = scenario_latency_raster(metro, scenario) if latency else None
    with timer.stage("sensitivity"):  # before progress: its years' scenarios are reused there
        robust = _run_year_criticals(robustness(metro, scenario, memo=options.memo))
        table = with_coverage_quantiles(table, robust, budget_ms=cfg.budget_ms)
        release_memory()  # the other years' critical values: hand their heap back now
    protected = _protection_stage(metro, scenario, layers, timer) if protect else None
    years = None
    if options.progress:
        with timer.stage("progress"):
            years = progress_years(metro, [scenario, *options.reuse, *robust.scenarios[1:]])
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
        latency=latency_raster if latency else None,
        memo=options.memo,
    )
    return result


def _protection_stage(
    metro: Metro,
    scenario: Scenario,
    layers: dict[str, Any],
    timer: StageTimer,
    *,
    interconnect: bool = False,
) -> Protection:
    """Compute protection, adding its layers to ``layers`` (after the run's, in order)."""
    with timer.stage("protection"):
        protected = protection(metro, scenario, interconnect=interconnect)
        layers.update(protection_layers(metro, scenario, protected, layers))
    return protected


def _with_protection(result: RunResult, timer: StageTimer, *, links: bool = False) -> RunResult:
    """Return ``result`` with protection when :func:`compute_run` left it out (``protect``).

    The same computation on the same scenario, and its layers after the run's, as
    :func:`compute_run` adds them: the same GeoPackage. ``links``: with the interconnect
    table (:func:`~latcircle.analysis.protection.protection`'s ``interconnect``).
    """
    if result.protection is not None or result.layers is None:
        return result
    layers, metro, scenario = dict(result.layers), result.metro, result.scenario
    protected = _protection_stage(metro, scenario, layers, timer, interconnect=links)
    return dataclasses.replace(result, protection=protected, layers=layers)


def write_run(
    result: RunResult,
    *,
    out: Path,
    timer: StageTimer | None = None,
    extra_outputs: Sequence[Callable[[RunResult, Path], object]] | None = None,
    keep_latency: bool = True,
) -> RunResult:
    """Write a computed run (:func:`compute_run`) into ``out``, replaced whole.

    Parameters
    ----------
    result
        The run, with its ``layers``; its ``latency`` raster is made again from its
        scenario when it is ``None`` (:func:`run_city` does not hold it meanwhile).
    out
        The output folder (checked first: :func:`latcircle.output.files.check_output_folder`).
    timer
        Stage timer; a new one when ``None``.
    extra_outputs
        As for :func:`run_city`.
    keep_latency
        As :attr:`RunOptions.keep_latency` (``False``: ``latency`` stays ``None``).

    Returns
    -------
    RunResult
        ``result`` with ``out`` set to the folder written. The progress years' scenarios
        are dropped once the step that reads them is done (:func:`_after_step`), and the
        latency raster, freed while the extra steps run, is made again from the scenario
        (unless ``keep_latency`` is false).
    """
    timer = timer or StageTimer()
    metro, scenario, cfg = result.metro, result.scenario, result.metro.config
    if result.layers is None:
        msg = "write_run needs a result from compute_run (its layers)"
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
            codes = write_latency_tif(tmp, result, latency_raster)
            write_causes_and_styles(tmp, metro, codes)
            del codes
            if result.robust is not None:
                write_csv(result.robust.table, tmp / "sensitivity.csv")
            # No extra step reads the latency raster (16 MB on Wuhan): it is made again
            # for the caller at the end, from the same scenario, once the steps are done.
            result = dataclasses.replace(result, latency=None)
            del latency_raster
            release_memory()  # the rasters and GDAL's buffers, before the extra steps
        for extra in extra_outputs or []:
            with timer.stage(_stage_name(extra)):
                extra(result, tmp)
            result = _after_step(result, extra)
        # After the extras: progress adds the clusters layer, which gets a style too.
        style_gpkg(tmp / "isochrones.gpkg", cfg)
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
    if not keep_latency:
        return result  # its latency already None: freed before the extra steps
    # The output steps' freed heap (the page and figure buffers) handed back first: made on
    # top of it, the raster (16.6 MB on Wuhan) set the whole run's peak (577 MiB against
    # 566-568 for the stages, measured 2026-12-07). No collection: a trim alone, ~1 ms.
    release_memory(collect=False)
    return dataclasses.replace(result, latency=scenario_latency_raster(metro, scenario))


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


def _run_year_criticals(robust: Robustness) -> Robustness:
    """Keep the run year's per-sample critical values only: all that is read after this.

    The other years' (``(n, groups)`` route lengths, ``r*``, ``E*`` and their sorted
    caches per year and basis: about 150 MB on Wuhan) went into the table, the critical
    values and the uncertainty already; every later reader (``latency.tif`` band 3, the
    fragile share in ``run.json`` and the report) asks for the run year alone.
    """
    sens = robust.sensitivity
    kept = {key: crit for key, crit in sens.criticals.items() if key[0] == sens.run_year}
    return dataclasses.replace(robust, sensitivity=dataclasses.replace(sens, criticals=kept))


def _reuses_years(steps: Sequence[object] | None) -> bool:
    """Whether an output step reads the progress years' scenarios (``reuses_years``).

    The map's slider solves those years again when they are gone (~0.3 s CPU on Wuhan, and
    no lower peak: it holds them all at once); a run without such a step drops them.
    """
    return any(getattr(step, "reuses_years", False) for step in steps or ())


def _for_shortfall(result: RunResult) -> RunResult:
    """Keep, of the progress years' scenarios, only the one the shortfall acts on.

    The progress table is made; the shortfall reads the scenario of one year
    (:func:`_solved`), the others are dropped (and their heap handed back) before its
    full-grid rasters are made, not after.
    """
    robust = result.robust
    if robust is None or len(robust.scenarios) <= 1 or result.progress is None:
        return result
    year = shortfall_year(result.progress, result.scenario)
    kept = robust.scenarios[:1] + tuple(s for s in robust.scenarios[1:] if s.year == year)[:1]
    if len(kept) == len(robust.scenarios):
        return result
    result = dataclasses.replace(result, robust=dataclasses.replace(robust, scenarios=kept))
    release_memory()
    return result


def _coded_years(result: RunResult) -> RunResult:
    """Keep the progress years as the map reads them, and make the shortfall, in between.

    Once the progress table is made, each year's scenario becomes its
    :class:`~latcircle.analysis.workbench.YearCodes` (one byte a sample in place of a float64
    latency and a serving site: about 50 MB less on Wuhan through the outputs and the map),
    and every year's scenario but the shortfall's is dropped before the shortfall's
    full-grid rasters are made (:func:`with_shortfall`); that one is then dropped too, the
    shortfall holding its codes. One codes object per scenario object, so the slider finds
    the same years it found before. The run's own scenario is left as it is.
    """
    from latcircle.analysis.workbench import year_codes  # the map's compute: its home

    robust = result.robust
    if robust is None or len(robust.scenarios) <= 1:
        return with_shortfall(result)
    metro, solved = result.metro, robust.scenarios[1:]
    codes = {id(sc): year_codes(metro, sc) for sc in solved}
    years = tuple(codes[id(sc)] for sc in solved)
    year = shortfall_year(result.progress, result.scenario)
    acted = next((sc for sc in solved if sc.year == year), None)  # as _solved finds it
    acted_codes = None if acted is None else codes[id(acted)]
    kept = robust.scenarios[:1] + ((acted,) if acted is not None else ())
    result = dataclasses.replace(
        result, robust=dataclasses.replace(robust, scenarios=kept), years=years
    )
    del codes, solved, robust  # the last references to the other years' scenarios
    release_memory(collect=False)  # their heap (freed by count), before the shortfall's rasters
    result = with_shortfall(result)
    short = result.shortfall
    if short is not None and acted_codes is not None and short.acted is acted:
        short = short._replace(acted=acted_codes)
    del acted
    assert result.robust is not None
    scenarios = result.robust.scenarios[:1]
    return dataclasses.replace(
        result, robust=dataclasses.replace(result.robust, scenarios=scenarios), shortfall=short
    )


def _without_year_scenarios(result: RunResult) -> RunResult:
    """Drop the progress years (scenarios or codes) once the steps that read them are done.

    The scenarios are kept for the progress table (reused, not solved again) and the
    shortfall's year (:func:`_solved`); the output steps read neither (about 90 MB on
    Wuhan). Their codes (:func:`_coded_years`) are read by the map alone.
    """
    robust = result.robust
    if robust is None or (len(robust.scenarios) <= 1 and not result.years):
        return result
    return dataclasses.replace(
        result, robust=dataclasses.replace(robust, scenarios=robust.scenarios[:1]), years=()
    )


def _after_step(result: RunResult, step: object) -> RunResult:
    """Drop the progress years' scenarios once the step that reads them is done.

    They are read by a step that ``reuses_years`` (the map's slider) and by no step after
    it: the report, the styles and ``run.json`` read the run year's scenario only (about
    90 MB on Wuhan, with the map's temporaries, handed back before the report). Other steps
    free nothing worth a trim (a trim before every step re-faulted pages for no lower peak).
    """
    if not _reuses_years([step]):
        return result
    result = _without_year_scenarios(result)
    release_memory()
    return result


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
