"""A whole run for one city: prepare, solve, tabulate, polygonise, write.

:func:`run_city` is what ``latcircle run`` calls. It writes ``outputs/<city>/`` through a
temporary folder swapped into place at the end (:func:`latcircle.output.files.atomic_folder`).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from latcircle import __version__
from latcircle.analysis.coverage import coverage_table, site_service
from latcircle.analysis.isochrones import bands, service_areas
from latcircle.analysis.metro import Metro, Scenario, StageTimer, prepare
from latcircle.config import CityConfig, is_safe_city_id, load_config
from latcircle.errors import InputError
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
    sha256_file,
    write_cog,
    write_csv,
    write_gpkg,
    write_json,
)
from latcircle.run import RunResult

if TYPE_CHECKING:
    from latcircle.analysis.national import NationalResult

__all__ = [
    "city_config",
    "default_outputs",
    "run_city",
    "run_config",
    "run_national",
]

log = logging.getLogger(__name__)

#: Packages whose versions go into run.json.
_VERSIONED = (
    "numpy",
    "scipy",
    "shapely",
    "geopandas",
    "pyogrio",
    "pyproj",
    "rasterio",
    "pandas",
    "osmnx",
    "pydantic",
)


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


def run_national(dirs: Sequence[str | Path], *, out: Path) -> NationalResult:
    """Roll city outputs up into ``out`` with its dashboard (``latcircle progress``).

    Parameters
    ----------
    dirs
        City output folders, or folders holding them (``outputs/``).
    out
        The national folder, replaced whole: tables, ``shortfalls.md`` and ``index.html``.
    """
    from latcircle.analysis.national import national_rollup
    from latcircle.present.report import write_dashboard

    def dashboard(result: NationalResult, folder: Path) -> None:
        write_dashboard(folder, result.folders)

    check_output_folder(Path(out), inputs=[Path(d) for d in dirs])
    return national_rollup(dirs, out=out, extra_outputs=[dashboard])


def default_outputs() -> list[Callable[[RunResult, Path], None]]:
    """Return the output steps a normal run adds after the core files, in order.

    Progress comes first: the map and the report read what it writes.
    """
    from latcircle.analysis.progress import write_progress
    from latcircle.present.maps import write_map
    from latcircle.present.report import write_report

    return [write_progress, write_map, write_report]


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
    extra_outputs: list[Any] | None = None,
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

    Returns
    -------
    RunResult
    """
    timer = timer or StageTimer()
    inputs = _input_files(cfg)
    check_output_folder(Path(out), inputs=inputs)  # before minutes of work, not after
    metro = prepare(cfg, timer=timer)
    for note in metro.inputs.notes:  # repairs and exclusions: never silent
        log.warning(note)
    with timer.stage("dijkstra"):
        scenario = metro.scenario(year=cfg.year)
    with timer.stage("coverage"):
        table = coverage_table(
            [scenario.evaluations[b] for b in _bases(metro)],
            thresholds_ms=cfg.thresholds_ms,
            district_names=metro.district_names,
        )
        headline = {b: scenario.share(b, threshold_ms=cfg.budget_ms) for b in _bases(metro)}
    with timer.stage("isochrones"):
        latency_raster = _latency_raster(metro, scenario)
        band_layer = bands(
            metro.grid,
            latency_raster,
            thresholds_ms=cfg.thresholds_ms,
            boundary=metro.inputs.boundary,
            crs=metro.inputs.crs,
        )
        layers = _layers(metro, scenario, band_layer)
    result = RunResult(
        out=Path(out),
        coverage=table,
        headline=headline,
        seconds=timer.seconds,
        metro=metro,
        scenario=scenario,
    )
    with atomic_folder(Path(out), inputs=inputs) as tmp:
        with timer.stage("outputs"):
            write_csv(table, tmp / "coverage.csv")
            write_gpkg(layers, tmp / "isochrones.gpkg")
            write_cog(
                np.where(np.isfinite(latency_raster), latency_raster, np.nan),
                metro.grid,
                metro.inputs.crs.to_wkt(),
                tmp / "latency.tif",
                nodata=float("nan"),
            )
        for extra in extra_outputs or []:
            with timer.stage(getattr(extra, "stage_name", getattr(extra, "__name__", "extra"))):
                extra(result, tmp)
        write_json(_run_record(metro, scenario, headline), tmp / "run.json")
        # Last, so that it records every stage's time (its own write is not timed). Timings
        # live apart from run.json: every other file of two identical runs is byte-identical.
        stage_seconds = {k: round(v, 3) for k, v in timer.seconds.items()}
        write_json({"stage_seconds": stage_seconds}, tmp / "timings.json")
    return result


def _input_files(cfg: CityConfig) -> list[Path]:
    """Every file the run reads, its config included: an output folder may hold none."""
    files = [p for paths in cfg.input_paths().values() for p in paths]
    return files + ([Path(cfg.source)] if cfg.source != "config" else [])


def _bases(metro: Metro) -> list[str]:
    return [b for b in ("key_sites", "population", "area") if b in metro.samples]


def _latency_raster(metro: Metro, scenario: Scenario) -> np.ndarray:
    lat = scenario.evaluations["area"].latency_us
    return metro.grid.to_raster(np.where(np.isfinite(lat), lat, np.nan))


def _layers(
    metro: Metro, scenario: Scenario, band_layer: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    cfg, inputs = metro.config, metro.inputs
    crs = inputs.crs
    budget = cfg.budget_ms
    served = site_service(
        [scenario.evaluations[b] for b in _bases(metro)],
        n_sites=len(inputs.sites),
        budget_ms=budget,
    )
    sites = inputs.sites.copy()
    loc = scenario.field.attachment.location  # as built in the scenario year
    sites["online_year"] = sites["online_year"].astype("Int64")
    sites["online"] = scenario.online
    sites["attached"] = loc.edge >= 0
    sites["drop_m"] = np.where(loc.edge >= 0, loc.drop, np.nan)
    sites["hypothetical"] = cfg.sites.hypothetical
    for col in served.columns:
        sites[col] = served[col].to_numpy()
    layers: dict[str, gpd.GeoDataFrame] = {"bands": band_layer, "sites": sites}
    if "key_sites" in metro.samples:
        layers["key_sites"] = _key_site_layer(metro, scenario)
    covered = scenario.evaluations["area"].latency_us <= budget * 1000.0
    site_cells = np.where(covered, scenario.evaluations["area"].site, -1)
    layers["service_areas"] = service_areas(
        metro.grid,
        metro.grid.to_raster(site_cells, fill=-1, dtype="int32"),
        site_ids=list(sites["site_id"]),
        boundary=inputs.boundary,
        crs=crs,
    )
    layers["boundary"] = gpd.GeoDataFrame({"name": [cfg.name]}, geometry=[inputs.boundary], crs=crs)
    if inputs.districts is not None:
        layers["districts"] = inputs.districts
    return layers


def _key_site_layer(metro: Metro, scenario: Scenario) -> gpd.GeoDataFrame:
    ev = scenario.evaluations["key_sites"]
    ks = metro.inputs.key_sites.copy()
    ids = metro.inputs.sites["site_id"].to_numpy()
    ks["latency_us"] = np.where(np.isfinite(ev.latency_us), ev.latency_us, np.nan)
    ks["serving_site"] = np.where(ev.site >= 0, ids[np.maximum(ev.site, 0)], None)
    ks["status"] = ev.status(metro.config.budget_ms)
    names = np.array([*metro.district_names, ""], dtype=object)
    ks["district"] = names[ev.samples.district]
    ks["drop_m"] = np.where(ev.samples.location.has_access, ev.samples.location.drop, np.nan)
    return ks


def _run_record(metro: Metro, scenario: Scenario, headline: dict[str, float]) -> dict[str, Any]:
    cfg = metro.config
    versions = {"python": platform.python_version(), "latcircle": __version__}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    inputs = {
        role: [{"path": str(p), "sha256": sha256_file(p)} for p in paths]
        for role, paths in cfg.input_paths().items()
    }
    return {
        "city": {
            "id": cfg.id,
            "name": cfg.name,
            "synthetic": cfg.synthetic,
            "sites_hypothetical": cfg.sites.hypothetical,
        },
        "config": cfg.model_dump(mode="json"),
        "parameters": dataclasses.asdict(metro.params),
        "crs": metro.inputs.crs.to_string(),
        "scenario_year": scenario.year,
        "sites_online": int(scenario.online.sum()),
        "headline_share": {k: (None if np.isnan(v) else round(v, 6)) for k, v in headline.items()},
        "budget_ms": cfg.budget_ms,
        "network": metro.network.stats,
        "grid": {
            "cell_m": metro.grid.cell_m,
            "shape": list(metro.grid.shape),
            "cells_inside": metro.grid.n_inside,
        },
        "notes": list(metro.inputs.notes),
        "inputs": inputs,
        "versions": versions,
    }
