"""The Python API: a metro prepared once, its coverage in memory, plans and what-ifs.

In the style of osmnx and r5py::

    import latcircle as lc

    m = lc.Metro.from_config("data/cities/wuhan.yaml")  # or lc.Metro.from_frames(...)
    r = m.coverage()  # r.table is coverage.csv
    r.write("outputs/wuhan")  # the files `latcircle run` writes

Everything here composes the functions ``latcircle run`` and ``latcircle plan`` use
(:func:`latcircle.pipeline.compute_run`, :func:`~latcircle.pipeline.write_run`,
:func:`~latcircle.pipeline.compute_plan`): the same validation, the same errors (an
:class:`~latcircle.errors.InputError` is also a ``ValueError``), the same numbers.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro as PreparedMetro
from latcircle.analysis.metro import StageTimer, prepare
from latcircle.config import CityConfig, config_from_mapping, load_config
from latcircle.errors import InputError
from latcircle.inputs.frames import frame_error, store_frames
from latcircle.pipeline import (
    PlanOptions,
    RunOptions,
    compute_plan,
    compute_run,
    default_outputs,
    shortfall_clusters,
    with_shortfall,
    write_run,
)
from latcircle.run import RunResult

if TYPE_CHECKING:
    import affine
    import folium
    import pyproj

    from latcircle.analysis.plan import PlanResult

__all__ = ["Coverage", "Metro"]

log = logging.getLogger(__name__)

#: Site tuples of :meth:`Metro.with_sites`: ``(lon, lat)`` or ``(lon, lat, name)``.
SiteSpec = tuple[float, float] | tuple[float, float, str | None]


class Metro:
    """A metro prepared once: inputs read and checked, network built, everything located.

    Make one with :meth:`from_config` or :meth:`from_frames`; then ask it for coverage in
    any scenario year (:meth:`coverage`), a plan (:meth:`plan`) or a what-if with extra
    sites (:meth:`with_sites`). A ``Metro`` is immutable: what-ifs return new ones.

    Its coverages share one :class:`~latcircle.analysis.memo.YearsMemo`: what does not
    depend on the scenario year (each set of online sites solved, its critical values, the
    map's slider years) is computed once and kept as long as the ``Metro`` (docs/api.md).

    Examples
    --------
    >>> import latcircle as lc
    >>> m = lc.Metro.from_config(demo_config)  # a synthetic demo metro (latcircle.demo)
    >>> m
    <latcircle.Metro 'demo': 5 sites, bases ['key_sites', 'population', 'area']>
    """

    def __init__(self, prepared: PreparedMetro, *, _keep: Any = None) -> None:
        self._prepared = prepared
        # The folder holding frames stored by from_frames: alive as long as this metro.
        self._keep = _keep
        # What its coverages share whatever their year (YearsMemo): one per prepared metro.
        self._memo = YearsMemo()

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_config(cls, path: str | Path, **overrides: Any) -> Metro:
        """Prepare the metro of a YAML city config (as ``latcircle run`` reads it).

        Parameters
        ----------
        path
            The config file.
        **overrides
            Top-level config keys replacing the file's (e.g. ``budget_ms=0.5``).

        Returns
        -------
        Metro

        Raises
        ------
        InputError
            For a bad config, file, field or value (also a ``ValueError``).

        Examples
        --------
        A bad value stops before any work, in one line naming the file and the key:

        >>> lc.Metro.from_config(demo_config, budget_ms=0.3)
        Traceback (most recent call last):
        ...
        latcircle.errors.InputError: .../demo.yaml: budget_ms 0.3 must be one of thresholds_ms ...
        """
        return cls._prepare(load_config(path, **overrides))

    @classmethod
    def from_frames(
        cls,
        *,
        network: Any,
        sites: gpd.GeoDataFrame,
        boundary: gpd.GeoDataFrame,
        key_sites: gpd.GeoDataFrame | None = None,
        population: Any = None,
        districts: gpd.GeoDataFrame | None = None,
        model: Mapping[str, Any] | None = None,
        network_kind: str = "road",
        id: str = "metro",
        name: str | None = None,
        **config: Any,
    ) -> Metro:
        """Prepare a metro from GeoDataFrames held in memory.

        The frames are checked and repaired exactly as input files are (they are stored as
        GeoParquet in a temporary folder that lives as long as the metro, and read by the
        same readers), so a run from frames equals a run from the same data in files.

        Parameters
        ----------
        network
            Lines (``u``/``v`` ids optional, ``online_year`` optional), or an osmnx graph.
        sites
            Compute sites: points with optional ``id``, ``name``, ``tier``,
            ``online_year``, ``device_latency_us``.
        boundary
            The metro's polygon(s).
        key_sites
            Points with ``name``, ``category`` and optional ``weight``: a ``weight`` column
            weighs the key sites unless ``key_sites={"weight_field": None}`` says not to
            (a YAML config names its weight field explicitly).
        population
            A raster file of people per pixel, or a tuple ``(array, transform, crs)``.
        districts
            Polygons with a ``name`` column.
        model
            The ``model:`` section (``{"preset": "optical", "route_factor": 1.2}``).
        network_kind
            ``"road"`` (a proxy for ducts) or ``"fibre"``.
        id, name
            The city's id (a safe name) and display name.
        **config
            Any other top-level config key (``thresholds_ms``, ``budget_ms``, ``year``,
            ``grid``, ``targets``, ``synthetic``), or an input section's options by role
            (``key_sites={"weight_field": "weight"}``, ``sites={"hypothetical": True}``).

        Returns
        -------
        Metro

        Raises
        ------
        InputError
            Naming the frame (``sites (GeoDataFrame)``), the field and what is wrong.

        Examples
        --------
        >>> import geopandas as gpd
        >>> folder = demo_config.parent
        >>> pts = gpd.read_file(folder / "sites.csv")  # text columns: the readers convert
        >>> sites = pts.set_geometry(gpd.points_from_xy(pts.lon, pts.lat), crs="EPSG:4326")
        >>> m2 = lc.Metro.from_frames(
        ...     network=gpd.read_file(folder / "roads.gpkg"),
        ...     sites=sites,
        ...     boundary=gpd.read_file(folder / "boundary.gpkg"),
        ...     population=folder / "population.tif",
        ... )
        >>> m2.bases
        ['population', 'area']
        >>> round(m2.coverage(progress=False).headline["area"], 3)
        0.891
        """
        frames = {
            "boundary": boundary,
            "districts": districts,
            "network": network,
            "sites": sites,
            "key_sites": key_sites,
        }
        keep = tempfile.TemporaryDirectory(prefix="latcircle-frames-")
        folder = Path(keep.name)
        try:
            sections = store_frames(folder, frames, population=population)
            if key_sites is not None and "weight" in getattr(key_sites, "columns", ()):
                config["key_sites"] = {"weight_field": "weight", **(config.get("key_sites") or {})}
            raw = _raw_config(sections, config, model=model, kind=network_kind, id=id, name=name)
            cfg = config_from_mapping(raw, source="from_frames")
            prepared = _prepare_metro(cfg)
        except InputError as exc:
            keep.cleanup()
            raise frame_error(exc, folder) from None
        return cls(prepared, _keep=keep)

    @classmethod
    def _prepare(cls, cfg: CityConfig) -> Metro:
        return cls(_prepare_metro(cfg))

    # ------------------------------------------------------------------ what it holds

    @property
    def config(self) -> CityConfig:
        """The validated city config."""
        return self._prepared.config

    @property
    def bases(self) -> list[str]:
        """The bases this metro has data for, in report order."""
        return self._prepared.bases

    @property
    def prepared(self) -> PreparedMetro:
        """The prepared metro of :mod:`latcircle.analysis.metro` (engine arrays, samples)."""
        return self._prepared

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The compute sites as read (local CRS), with any what-if sites added."""
        return self._prepared.inputs.sites

    @property
    def notes(self) -> tuple[str, ...]:
        """Every repair and exclusion made while reading and preparing, one sentence each."""
        return self._prepared.inputs.notes

    def __repr__(self) -> str:
        cfg = self.config
        return f"<latcircle.Metro {cfg.id!r}: {len(self.sites)} sites, bases {self.bases}>"

    # ------------------------------------------------------------------ questions

    def coverage(self, *, year: int | None = None, progress: bool = True) -> Coverage:
        """Compute the metro's coverage in a scenario year, in memory.

        Parameters
        ----------
        year
            Scenario year: sites online by then; ``None`` for the config's ``year`` (every
            site when it has none), as ``latcircle run`` does.
        progress
            Also compute the progress table by year (``progress.csv``).

        Returns
        -------
        Coverage

        Raises
        ------
        InputError
            For a year the config would refuse (before 2000 or after 2100).

        Examples
        --------
        >>> r = m.coverage()
        >>> metro = r.table.query("scope == 'metro' and threshold_ms == 1.0")
        >>> list(metro["basis"])
        ['key_sites', 'population', 'area']
        >>> bool(((metro["share"] >= 0) & (metro["share"] <= 1)).all())
        True
        """
        cfg = self.config
        if year is not None:
            # The config's own checks, as `latcircle run --year` gets them (2000 to 2100).
            config_from_mapping({**cfg.model_dump(), "year": year}, source=cfg.source)
            cfg = cfg.model_copy(update={"year": year})
        run = compute_run(cfg, RunOptions(progress=progress, memo=self._memo), metro=self._prepared)
        return Coverage(run)

    def plan(self, options: PlanOptions | None = None, /, **fields: Any) -> PlanResult:
        """Plan what to build to reach the targets (``latcircle plan``), in memory.

        Parameters
        ----------
        options
            What to plan for (:class:`latcircle.pipeline.PlanOptions`): the config's
            targets and candidates, no limits and no margins when ``None``.
        **fields
            Any field of :class:`~latcircle.pipeline.PlanOptions`, over ``options``:
            ``target=``, ``year=`` (one target share by a year), ``basis=``,
            ``max_sites=``, ``max_cost=``, ``candidates=`` (a file replacing the config's
            ``plan.candidates``, ``str`` or ``Path``), and the margins ``margin_pp=``,
            ``at_route_factor=``, ``confidence=``, ``protect=`` (docs/plan.md).

        Returns
        -------
        latcircle.analysis.plan.PlanResult
            ``table`` is ``plan.csv``, ``sites_planned`` the sites file a run accepts.

        Raises
        ------
        TypeError
            For a keyword that is no field of ``PlanOptions``.
        """
        return compute_plan(self._prepared, dataclasses.replace(options or PlanOptions(), **fields))

    def with_sites(self, sites: Sequence[SiteSpec] | gpd.GeoDataFrame) -> Metro:
        """Return this metro with extra compute sites online every year (what-if).

        The same as ``latcircle run --add-site LON,LAT[,NAME]``: the sites get ids
        ``ADD1``, ``ADD2``... and the config's device latency.

        Parameters
        ----------
        sites
            ``(lon, lat)`` or ``(lon, lat, name)`` tuples in WGS84, or a GeoDataFrame of
            points with a CRS (an optional ``name`` column).

        Returns
        -------
        Metro

        Raises
        ------
        InputError
            For coordinates that are not longitude/latitude.

        Examples
        --------
        >>> before = m.coverage(progress=False).headline["population"]
        >>> after = m.with_sites([(112.6, 30.95, "new")]).coverage(progress=False)
        >>> bool(after.headline["population"] >= before)
        True
        """
        from latcircle.analysis.plan import add_sites

        added = add_sites(self._prepared, _site_tuples(sites))
        for note in added.inputs.notes[len(self._prepared.inputs.notes) :]:
            log.info(note)
        return Metro(added, _keep=self._keep)


class Coverage:
    """A metro's coverage in one scenario, in memory: the tables and layers a run writes.

    Attributes
    ----------
    run
        The underlying :class:`latcircle.run.RunResult`.

    Examples
    --------
    >>> r = m.coverage(progress=False)
    >>> list(r.bands["threshold_ms"])
    [0.25, 0.5, 0.75, 1.0]
    >>> r.field.shape == r.causes.shape == m.prepared.grid.shape
    True
    >>> r.crs.name
    'WGS 84 / UTM zone 49N'
    """

    def __init__(self, run: RunResult) -> None:
        self.run = run
        self._clusters: gpd.GeoDataFrame | None = None

    def __repr__(self) -> str:
        shares = ", ".join(f"{b} {v:.1%}" for b, v in self.headline.items())
        return f"<latcircle.Coverage {self.run.metro.config.id!r} year={self.year}: {shares}>"

    @property
    def year(self) -> int | None:
        """The scenario year (``None``: every site)."""
        return self.run.scenario.year

    @property
    def table(self) -> pd.DataFrame:
        """The coverage table, exactly as ``coverage.csv`` holds it."""
        return self.run.coverage

    @property
    def headline(self) -> dict[str, float]:
        """Metro share within the budget, by basis."""
        return dict(self.run.headline)

    @property
    def progress(self) -> pd.DataFrame | None:
        """The progress table by year (``progress.csv``), when computed."""
        return self.run.progress

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Return one layer of ``isochrones.gpkg`` (local CRS).

        Parameters
        ----------
        name
            ``bands``, ``rings``, ``sites``, ``key_sites``, ``service_areas``,
            ``boundary``, ``districts`` or ``clusters``.

        Raises
        ------
        KeyError
            For a layer the run has not (``key_sites`` without key sites).
        """
        if name == "clusters":
            return self.clusters
        layers = dict(self.run.layers or {})  # kept in memory by compute_run
        if name not in layers:
            msg = f"no layer {name!r}; layers: {', '.join([*layers, 'clusters'])}"
            raise KeyError(msg)
        return layers[name]

    @property
    def bands(self) -> gpd.GeoDataFrame:
        """Cumulative latency bands, one polygon per threshold (``threshold_ms``)."""
        return self.layer("bands")

    @property
    def rings(self) -> gpd.GeoDataFrame:
        """The bands made disjoint: each latency range once."""
        return self.layer("rings")

    @property
    def clusters(self) -> gpd.GeoDataFrame:
        """The largest uncovered clusters to act on (``clusters.csv``), computed once."""
        if self._clusters is None:
            self.run = with_shortfall(self.run)  # kept: a later write() reuses it
            self._clusters = shortfall_clusters(self.run).clusters
        return self._clusters

    @property
    def field(self) -> np.ndarray:
        """The latency field on the metro's grid: µs, float64, NaN where no site reaches.

        ``latency.tif`` band 1 (written as float32); georeferenced by :attr:`transform`
        and :attr:`crs`.
        """
        if self.run.latency is None:  # pragma: no cover - results made by compute_run
            msg = "this result keeps no latency field"
            raise ValueError(msg)
        return self.run.latency

    @property
    def causes(self) -> np.ndarray:
        """Why each cell is covered or not: 1 covered, 2 no access, 3 unreachable, 4 too far.

        0 outside the metro (``latency.tif`` band 2; docs/causes.md).
        """
        from latcircle.analysis.layers import status_raster

        return status_raster(self.run.metro, self.run.scenario)

    @property
    def transform(self) -> affine.Affine:
        """The field's affine transform (rasterio convention), in :attr:`crs`."""
        return self.run.metro.grid.transform

    @property
    def crs(self) -> pyproj.CRS:
        """The metro's local CRS (UTM of its centroid)."""
        return self.run.metro.inputs.crs

    def to_folium(self, **options: Any) -> folium.Map:
        """Return the run's interactive map (what ``map.html`` shows), for a notebook.

        Parameters
        ----------
        **options
            Keyword options of :func:`latcircle.present.maps.build_map` (``basemap``,
            ``bands``, ...).

        Returns
        -------
        folium.Map
        """
        from latcircle.present.maps import build_map

        layers = {**(self.run.layers or {}), "clusters": self.clusters}
        options.setdefault("layers", layers)
        return build_map(self.run, **options)

    def write(
        self,
        out: str | Path,
        *,
        maps: bool = True,
        report: bool = True,
        exports: Sequence[str] = (),
        **options: Any,
    ) -> Path:
        r"""Write the files ``latcircle run`` writes into ``out`` (replaced whole).

        Parameters
        ----------
        out
            The output folder: new, empty, or written by latcircle before.
        maps, report
            Write ``map.html`` and ``report.html``.
        exports
            Extra copies of the GeoPackage layers (``"geoparquet"``, ``"geojson"``).
        **options
            Further options of :func:`latcircle.pipeline.default_outputs` (``basemap``,
            ``bands``, ``map_assets``).

        Returns
        -------
        pathlib.Path
            The folder written.

        Raises
        ------
        InputError
            When ``out`` may not be replaced (a folder latcircle did not write).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> r = m.coverage(progress=False)
        >>> out = r.write(pathlib.Path(tempfile.mkdtemp()) / "demo", maps=False, report=False)
        >>> (out / "coverage.csv").read_bytes()[:3]  # a UTF-8 byte-order mark, for Excel
        b'\xef\xbb\xbf'
        """
        steps = default_outputs(maps=maps, report=report, exports=exports, **options)
        timer = StageTimer()
        timer.seconds.update(self.run.seconds)
        # The clusters once, in memory, for every output step (progress, map, report...).
        self.run = with_shortfall(self.run)
        written = write_run(self.run, out=Path(out), timer=timer, extra_outputs=steps)
        self.run = dataclasses.replace(self.run, out=written.out)
        return Path(out)


def _prepare_metro(cfg: CityConfig) -> PreparedMetro:
    prepared = prepare(cfg)
    for note in prepared.inputs.notes:  # repairs and exclusions: never silent
        log.warning(note)
    return prepared


def _raw_config(
    sections: dict[str, dict[str, Any]],
    config: dict[str, Any],
    *,
    model: Mapping[str, Any] | None,
    kind: str,
    id: str,
    name: str | None,
) -> dict[str, Any]:
    """Return the config mapping: stored inputs, their options, the other keys."""
    raw: dict[str, Any] = {"id": id, "name": name or id}
    for role, section in sections.items():
        options = config.pop(role, None) or {}
        if not isinstance(options, Mapping):
            problem = f"options of an input are a mapping, got {type(options).__name__}"
            raise InputError("from_frames", role, problem)
        raw[role] = {**options, **section}
    raw["network"].setdefault("kind", kind)
    if model is not None:
        raw["model"] = dict(model)
    raw.update(config)
    return raw


def _site_tuples(
    sites: Sequence[SiteSpec] | gpd.GeoDataFrame,
) -> list[tuple[float, float, str | None]]:
    if isinstance(sites, gpd.GeoDataFrame):
        if sites.crs is None:
            raise InputError("sites (GeoDataFrame)", "crs", "the frame has no CRS")
        wgs = sites.to_crs("EPSG:4326")
        names = wgs["name"] if "name" in wgs.columns else [None] * len(wgs)
        return [
            (float(p.x), float(p.y), None if n is None or pd.isna(n) else str(n))
            for p, n in zip(wgs.geometry, names, strict=True)
        ]
    out = []
    for site in sites:
        if len(site) not in (2, 3):
            raise InputError("with_sites", None, f"expected (lon, lat[, name]), got {site!r}")
        lon, lat = float(site[0]), float(site[1])
        out.append((lon, lat, site[2] if len(site) == 3 else None))  # type: ignore[misc]
    return out
