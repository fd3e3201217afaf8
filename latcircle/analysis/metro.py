"""A metro prepared once, and the scenarios solved on it.

Preparing reads the inputs, builds the network, and locates every sample (grid cells,
population pixels, key sites, compute sites) on the network once. A scenario (a set of
online sites, e.g. those online in a year) is then one Dijkstra pass plus a vectorised
evaluation per basis, cheap enough to repeat for every year or planning variant.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix

from latcircle.analysis.coverage import (
    BASES,
    Evaluation,
    Samples,
    covered,
    evaluate,
    share_of,
)
from latcircle.config import CityConfig, LatencyParams
from latcircle.engine.grid import Grid, label_points, make_grid
from latcircle.engine.latency import (
    AccessTerms,
    LatencyField,
    SiteAttachment,
    access_terms,
    arc_matrix,
    attach_sites,
    solve,
)
from latcircle.engine.locator import Locator
from latcircle.engine.network import Network, build_network, line_table
from latcircle.errors import InputError
from latcircle.inputs.flatlines import FlatLines
from latcircle.inputs.readers import Inputs, read_inputs
from latcircle.system import release_memory

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["Metro", "Scenario", "StageTimer", "attach_site_table", "prepare", "with_views"]

log = logging.getLogger(__name__)


def attach_site_table(
    locator: Locator, sites: gpd.GeoDataFrame, params: LatencyParams
) -> SiteAttachment:
    """Attach the compute sites of a table to their nearest edge: the one way from a table.

    Parameters
    ----------
    locator
        The network's locator.
    sites
        Points in the local CRS with a ``device_latency_us`` column (a run's sites table).
    params
        The latency model.

    Returns
    -------
    SiteAttachment
    """
    return attach_sites(
        locator,
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(float),
        params,
    )


@dataclass
class StageTimer:
    """Wall time of named stages, with an optional callback as each starts.

    Attributes
    ----------
    seconds
        Seconds per stage, in the order run.
    on_start
        Called with the stage name when a stage starts (progress display).
    """

    seconds: dict[str, float] = field(default_factory=dict)
    on_start: Callable[[str], None] | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as stage ``name``."""
        if self.on_start is not None:
            self.on_start(name)
        log.debug("stage %s ...", name)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
        log.info("stage %-11s %6.2f s", name, self.seconds[name])


@dataclass(frozen=True)
class Metro:
    """Everything about a city that does not depend on which sites are online.

    Attributes
    ----------
    config
        The city config.
    params
        Resolved latency parameters.
    inputs
        The inputs in the local CRS; ``inputs.lines`` is left empty (its columns kept) once
        the network is built: the network holds the lines (``network.geometry``).
    network
        The network as arrays.
    locator
        Exact nearest-edge projection on ``network``.
    attachment
        Every site's attachment to the network.
    arcs
        The network's arc matrix, reused by every scenario.
    grid
        The area grid.
    samples
        Located samples by basis (``area``, ``population``, ``key_sites``; the last two
        only when the config has them).
    district_names
        District names in index order (empty without districts).
    views
        The network as built before each link online year, with everything located on it,
        as ``(first year whose links it lacks, view)`` pairs (empty without link online
        years). Built once by :func:`prepare`: a frozen metro holds no cache that fills later.
    """

    config: CityConfig
    params: LatencyParams
    inputs: Inputs
    network: Network
    locator: Locator
    attachment: SiteAttachment
    arcs: csr_matrix
    grid: Grid
    samples: Mapping[str, Samples]
    district_names: tuple[str, ...]
    # Pairs, not a dict or a mappingproxy: immutable, and a Metro still pickles.
    views: tuple[tuple[float, _View], ...] = field(default=(), repr=False, compare=False)

    def online(self, year: int | None) -> np.ndarray:
        """Return which sites are online in ``year`` (all when ``None``).

        A site without an ``online_year`` counts as online in every year.
        """
        years = self.inputs.sites["online_year"]
        if year is None:
            return np.ones(len(years), dtype=bool)
        return (years.isna() | (years <= year)).to_numpy(dtype=bool)

    def scenario(self, *, year: int | None = None, online: np.ndarray | None = None) -> Scenario:
        """Solve the metro with the sites online in ``year`` (or the given mask).

        Parameters
        ----------
        year
            Scenario year; ``None`` for every site.
        online
            Explicit mask of online sites, overriding ``year``.

        Returns
        -------
        Scenario
        """
        mask = self.online(year) if online is None else np.asarray(online, dtype=bool)
        view = self.view(year)
        lat_field = solve(view.network, view.attachment, self.params, online=mask, arcs=view.arcs)
        evaluations = {b: evaluate(lat_field, s) for b, s in view.samples.items()}
        return Scenario(year=year, online=mask, field=lat_field, evaluations=evaluations)

    def scenarios(
        self, years: Sequence[int | None], *, narrow_sites: bool = False
    ) -> list[Scenario]:
        """Solve the metro for each of ``years``: :meth:`scenario` of each, the same values.

        The fields are solved first (node arrays only); each basis's points are then
        evaluated on every field of one network with their access terms
        (:func:`latcircle.engine.latency.access_terms`) gathered once, not once per year.

        Parameters
        ----------
        years
            Scenario years (``None``: every site), in the order returned.
        narrow_sites
            Hold each evaluation's serving sites in the smallest signed integer type of
            their values (site indices, ``-1`` for none), each as soon as it is evaluated:
            the same values in an eighth of the bytes for a metro of under 128 sites, for
            callers that keep many years and read no year's serving site (the progress
            years: :func:`latcircle.analysis.sensitivity.target_scenarios`).

        Returns
        -------
        list of Scenario
        """
        solved = []
        for year in years:
            mask, view = self.online(year), self.view(year)
            solved.append(
                (
                    mask,
                    view,
                    solve(view.network, view.attachment, self.params, online=mask, arcs=view.arcs),
                )
            )
        evaluations: list[dict[str, Evaluation]] = [{} for _ in solved]
        site_dtype = np.min_scalar_type(-max(len(self.inputs.sites), 1))  # holds -1, indices
        for basis in self.samples:  # in the samples' order, as :meth:`scenario` keys them
            terms: AccessTerms | None = None
            for out, (_, view, lat_field) in zip(evaluations, solved, strict=True):
                samples = view.samples[basis]
                if terms is None or terms.network is not view.network:
                    terms = None  # drop the last network's terms before gathering the next
                    terms = access_terms(view.network, self.params, samples.location)
                # Narrow sites made narrow (no int64 array of every sample first).
                latency, site = lat_field.at(
                    samples.location, terms=terms, site_dtype=site_dtype if narrow_sites else None
                )
                out[basis] = Evaluation(samples=samples, latency_us=latency, site=site)
            del terms
        return [
            Scenario(year=year, online=mask, field=lat_field, evaluations=ev)
            for year, (mask, _, lat_field), ev in zip(years, solved, evaluations, strict=True)
        ]

    def view(self, year: int | None) -> _View:
        """Return the network as built in ``year``, with sites and samples located on it.

        Without links carrying an online year (or for ``year=None``) this is the whole
        network as prepared. Otherwise links not yet online are left out, and sites and
        samples are located again on what remains (once per distinct set of links, by
        :func:`prepare`).
        """
        key = self.view_key(year)
        if key is None:
            return _View(self.network, self.locator, self.attachment, self.arcs, self.samples)
        return next(view for first, view in self.views if first == key)

    def view_key(self, year: int | None) -> float | None:
        """Return which network ``year`` is solved on (years with one key share a view).

        ``None`` for the whole network, else the first online year of the links it lacks.
        """
        years = self.network.edge_online_year
        if years is None or year is None:
            return None
        later = years > year  # NaN (no year) compares False: always online
        if not later.any():
            return None
        return float(years[later].min())  # the same links are missing until this year

    @property
    def bases(self) -> list[str]:
        """The bases this metro has samples for, in report order (:data:`BASES`)."""
        return [b for b in BASES if b in self.samples]

    @property
    def first_year(self) -> int | None:
        """The earliest site online year, ``None`` when no site carries one."""
        years = self.inputs.sites["online_year"].dropna()
        return int(years.min()) if len(years) else None


@dataclass(frozen=True)
class _View:
    """The network of one year with everything located on it."""

    network: Network
    locator: Locator
    attachment: SiteAttachment
    arcs: csr_matrix
    samples: Mapping[str, Samples]


def _located_view(metro: Metro, network: Network) -> _View:
    locator = Locator(network)
    sites = metro.inputs.sites
    attachment = attach_site_table(locator, sites, metro.params)
    drop = metro.params.max_drop_m
    samples = {
        basis: dataclasses.replace(s, location=locator.locate(*s.coordinates(), max_drop_m=drop))
        for basis, s in metro.samples.items()
    }
    return _View(network, locator, attachment, arc_matrix(network, metro.params), samples)


@dataclass(frozen=True)
class Scenario:
    """One solved scenario: latency and serving site at every sample.

    Attributes
    ----------
    year
        The scenario year (``None``: all sites).
    online
        Mask of the sites online.
    field
        The solved latency field.
    evaluations
        Per basis.
    """

    year: int | None
    online: np.ndarray
    field: LatencyField
    evaluations: Mapping[str, Evaluation]

    def share(self, basis: str, *, threshold_ms: float) -> float:
        """Return the metro share of ``basis`` within ``threshold_ms`` (NaN without weight)."""
        ev = self.evaluations[basis]
        within = ev.samples.weight[covered(ev.latency_us, budget_ms=threshold_ms)]
        return share_of(float(within.sum()), ev.samples.total)


def prepare(cfg: CityConfig, *, timer: StageTimer | None = None) -> Metro:
    """Read, build and locate everything a city's scenarios need.

    Parameters
    ----------
    cfg
        A validated city config.
    timer
        Records stage times (``load``, ``network``, ``locate``).

    Returns
    -------
    Metro

    Raises
    ------
    InputError
        For bad inputs, or when no compute site reaches the network.
    """
    timer = timer or StageTimer()
    params = cfg.params()
    with timer.stage("load"):
        inputs = read_inputs(cfg, site_device_us=params.site_device_us)
    with timer.stage("network"):
        # The network keeps the lines' coordinates; their shapely objects (~280 bytes a line,
        # ~0.5 GB at 1 M nodes) are let go before it is built, for the rest of the run.
        lines = line_table(inputs.lines)
        inputs = dataclasses.replace(inputs, lines=_emptied(inputs.lines))
        network = build_network(
            lines,
            node_latency_us=inputs.node_latency_us,
            source=str(cfg.network.path),
            snap_m=cfg.network.snap_m,
            read_stats=dict(inputs.network_stats),
        )
        del lines
        release_memory(collect=False)  # the lines' objects and the build's temporaries
        notes: list[str] = []  # repairs and exclusions found here, added to the inputs' own
        if cfg.network.additions is not None:
            network = _with_additions(cfg, inputs, network, notes)
        _note_network_repairs(notes, network)
        locator = Locator(network)
        arcs = arc_matrix(network, params)
        release_memory(collect=False)  # the arc matrix's temporaries (~30 MB at 1 M nodes)
    with timer.stage("locate"):
        attachment = _attach(cfg, inputs, locator, params, notes)
        grid = make_grid(
            inputs.boundary,
            cell_m=cfg.grid.cell_m,
            max_cells=cfg.grid.max_cells,
            source=cfg.source,
        )
        samples, names = _samples(inputs, grid, locator, params)
        network = _with_access_share(network, samples, params)
        metro = Metro(
            config=cfg,
            params=params,
            inputs=dataclasses.replace(inputs, notes=(*inputs.notes, *notes)),
            network=network,
            locator=locator,
            attachment=attachment,
            arcs=arcs,
            grid=grid,
            samples=samples,
            district_names=names,
        )
        return with_views(metro)


def _emptied(lines: gpd.GeoDataFrame | FlatLines) -> gpd.GeoDataFrame:
    """Return the lines' frame without a line (columns and CRS kept): the network has them."""
    return lines.empty_frame() if isinstance(lines, FlatLines) else lines.iloc[:0]


def with_views(metro: Metro, *, located: Metro | None = None) -> Metro:
    """Return ``metro`` with its per-link-year views built again (after its sites changed).

    ``located``: a metro on the same network (the same object) whose views are reused where
    they exist: a view's network, locator and located samples depend on the network alone,
    so only the sites' attachment and the arcs (the sites and parameters) are built again
    (:func:`_view_for`): the same view as locating everything again, without the locating.
    """
    return dataclasses.replace(metro, views=_views(metro, located=located))


def _views(metro: Metro, *, located: Metro | None = None) -> tuple[tuple[float, _View], ...]:
    """Locate everything once on the network of each link online year (see Metro.view)."""
    years = metro.network.edge_online_year
    if years is None:
        return ()
    keys = np.unique(years[np.isfinite(years)])
    return tuple((float(k), _view_for(metro, float(k), located)) for k in keys)


def _view_for(metro: Metro, key: float, located: Metro | None) -> _View:
    """Return the view of link key ``key`` (links from ``key`` on left out), reused or built.

    Reused from ``located`` when it is on the same network and has that view with every
    basis of ``metro`` located: its network, locator and sample locations are what locating
    again would give (each depends on the network alone); the attachment and arcs are built
    for ``metro``'s sites and parameters.
    """
    years = metro.network.edge_online_year
    assert years is not None
    old = dict(located.views).get(key) if located is not None else None
    if (
        located is None
        or old is None
        or located.network is not metro.network
        or not all(b in old.samples for b in metro.samples)
    ):
        return _located_view(metro, metro.network.subset(~(years >= key)))
    return _View(
        old.network,
        old.locator,
        attach_site_table(old.locator, metro.inputs.sites, metro.params),
        arc_matrix(old.network, metro.params),
        {
            b: dataclasses.replace(s, location=old.samples[b].location)
            for b, s in metro.samples.items()
        },
    )


def _with_additions(cfg: CityConfig, inputs: Inputs, network: Network, notes: list[str]) -> Network:
    """Add a plan's spurs (``network.additions``), each splitting its host line."""
    from latcircle.engine.additions import check_spurs, with_spurs
    from latcircle.inputs.additions import read_additions

    path = cfg.network.additions
    assert path is not None
    spurs = read_additions(path, inputs.crs)
    edge, t = spurs["host_edge"].to_numpy(), spurs["host_t"].to_numpy()
    x0, y0 = spurs["x0"].to_numpy(), spurs["y0"].to_numpy()
    check_spurs(network, host_edge=edge, host_t=t, start_x=x0, start_y=y0, source=str(path))
    notes.append(f"network: {len(spurs)} planned spur(s) added from {path.name}")
    return with_spurs(
        network,
        host_edge=edge,
        host_t=t,
        far_x=spurs["x1"].to_numpy(),
        far_y=spurs["y1"].to_numpy(),
        online_year=spurs["online_year"].to_numpy(),
    )


def _attach(
    cfg: CityConfig, inputs: Inputs, locator: Locator, params: LatencyParams, notes: list[str]
) -> SiteAttachment:
    sites = inputs.sites
    attachment = attach_site_table(locator, sites, params)
    off = ~attachment.attached
    if off.all():
        raise InputError(
            cfg.sites.path,
            None,
            f"no compute site lies within {params.max_drop_m:g} m (max drop) of the network",
        )
    if off.any():
        ids = ", ".join(sites.loc[off, "site_id"].astype(str)[:5])
        notes.append(
            f"sites: {int(off.sum())} site(s) beyond the {params.max_drop_m:g} m max drop "
            f"from the network serve nothing: {ids}"
        )
    _note_isolated_sites(notes, inputs, locator.network, attachment)
    return attachment


def _with_access_share(
    network: Network, samples: dict[str, Samples], params: LatencyParams
) -> Network:
    """Add to the network summary the share of the metro within max drop of the network."""
    area = samples.get("area")
    if area is None or area.weight.sum() <= 0:
        return network
    share = share_of(float(area.weight[area.location.has_access].sum()), float(area.weight.sum()))
    stats = {**network.stats, "area_within_max_drop_share": share, "max_drop_m": params.max_drop_m}
    return dataclasses.replace(network, stats=stats)


def _note_network_repairs(notes: list[str], network: Network) -> None:
    st = network.stats
    if st.get("ids_from_endpoints"):
        notes.append(
            f"network: {st['ids_from_endpoints']:.0f} line(s) missing a u/v node id joined "
            "by their exactly coinciding endpoints instead"
        )
    if st.get("id_ends_joined"):
        notes.append(
            f"network: {st['id_ends_joined']:.0f} line end(s) off the node their u/v id "
            f"names joined to it (largest gap {st['id_end_gap_max_m']:.3g} m, within the "
            "assumed 1 m tolerance; the gaps are not paid in latency)"
        )
    if st["self_loops"]:
        notes.append(
            f"network: {st['self_loops']:.0f} self-loop(s) (lines starting and ending at the "
            "same node) kept for locating, left out of shortest paths"
        )
    if st["parallel_edges_collapsed"]:
        notes.append(
            f"network: {st['parallel_edges_collapsed']:.0f} parallel line(s): shortest paths "
            "take the shortest of each pair, every line stays locatable"
        )
    if st["zero_length_edges"]:
        notes.append(
            f"network: {st['zero_length_edges']:.0f} zero-length edge(s) kept as "
            "zero-latency links between distinct nodes"
        )
    if st.get("snaps"):
        notes.append(
            f"network: {st['snaps']:.0f} gap(s) under snap_m = {st['snap_m']:g} m joined by "
            f"straight links (largest {st['snap_gap_max_m']:.1f} m, "
            f"{st['snap_gap_total_m']:.0f} m in all)"
        )
    if st["components"] > 1:
        notes.append(
            f"network: {st['components']:.0f} connected components; the largest holds "
            f"{st['largest_component_share']:.1%} of nodes"
        )


def _note_isolated_sites(
    notes: list[str], inputs: Inputs, network: Network, attachment: SiteAttachment
) -> None:
    """Report sites attached to a component other than the largest (they serve only it)."""
    loc = attachment.location
    ok = loc.edge >= 0
    comp = np.full(len(ok), -1)
    comp[ok] = network.component[network.u[loc.edge[ok]]]
    sizes = np.bincount(network.component)
    for i in np.flatnonzero(ok & (comp > 0)):
        notes.append(
            f"sites: {inputs.sites['site_id'].iloc[i]} attaches to a network component of "
            f"{sizes[comp[i]]} node(s), not the main one ({sizes[0]} nodes): it serves only that"
        )


def _samples(
    inputs: Inputs, grid: Grid, locator: Locator, params: LatencyParams
) -> tuple[dict[str, Samples], tuple[str, ...]]:
    districts = inputs.districts
    polys = list(districts.geometry) if districts is not None else []
    names = tuple(districts["name"]) if districts is not None else ()
    out: dict[str, Samples] = {}
    drop = params.max_drop_m
    if inputs.key_sites is not None:
        ks = inputs.key_sites
        x, y = ks.geometry.x.to_numpy(), ks.geometry.y.to_numpy()
        out["key_sites"] = Samples(
            basis="key_sites",
            weight=ks["weight"].to_numpy(dtype=float),
            location=locator.locate(x, y, max_drop_m=drop),
            district=label_points(x, y, polys),
            x=x,
            y=y,
        )
    if inputs.population is not None:
        pop = inputs.population
        # The one place that decides which pixels are the metro's people: centres inside the
        # boundary. Everything downstream reads Samples.coordinates() instead.
        inside = label_points(pop.x, pop.y, [inputs.boundary]) == 0
        x, y = pop.x[inside], pop.y[inside]
        out["population"] = Samples(
            basis="population",
            weight=pop.people[inside],
            location=locator.locate(x, y, max_drop_m=drop),
            district=label_points(x, y, polys),
            x=x,
            y=y,
        )
    x, y = grid.centres()
    district_raster = grid.rasterize(polys)
    out["area"] = Samples(
        basis="area",
        weight=np.full(len(x), grid.cell_km2),
        location=locator.locate(x, y, max_drop_m=drop),
        district=district_raster[grid.inside],
        x=x,
        y=y,
    )
    return out, names
