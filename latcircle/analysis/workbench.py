"""What the map's year slider and what-if panel show, computed once per run (compute only).

:func:`year_states` solves the metro for each year of the slider (reusing a solve where the
same sites are online on the same network) and keeps, per year, the latency rings, the
areas of each cause of non-coverage, and per basis the covered and total weight of the metro
and of each district: what the page needs to redraw the rings and the shares when the slider
moves.

:func:`whatif_sets` gives, per year and basis, which uncovered samples each what-if build
(a compute site at a longitude and latitude, as ``latcircle run --add-site`` adds it) brings
within the budget, aggregated into **demand groups**: samples in the same district covered
by the same builds are one group with their summed weight. The page adds the weight of every
group that one of the toggled builds covers to the year's baseline, which is exactly what a
run with those sites added computes: the latency of a set of sites is the minimum over its
sites (the engine's multi-source solve is exactly the minimum of single-site solves, float
addition being monotone), so a sample is covered by the set exactly when one of its sites
covers it alone.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.analysis.coverage import CAUSE_CODES, Samples, covered, one_weight
from latcircle.analysis.isochrones import band_rings, mask_polygons, ring_difference
from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.progress import auto_basis
from latcircle.engine.latency import LatencyField, attach_sites, solve_each
from latcircle.engine.locator import PointLocation
from latcircle.errors import InputError

__all__ = [
    "MAX_WHATIF",
    "WHATIF_DEFAULT",
    "DemandGroups",
    "YearCodes",
    "YearState",
    "check_whatif_count",
    "rank_candidates",
    "whatif_sets",
    "year_codes",
    "year_states",
]

_WGS84 = pyproj.CRS.from_epsg(4326)
#: Builds listed in the what-if panel by default (an assumption: enough to compare a plan's
#: few sites and the best alternatives, few enough to read at a glance).
WHATIF_DEFAULT = 10
#: The most builds the panel may list: each costs one engine solve per network view, and a
#: panel of more checkboxes than this is no longer read (an assumption).
MAX_WHATIF = 50


def check_whatif_count(count: int) -> int:
    """Return ``count`` when it is a number of what-if builds the map accepts.

    Raises
    ------
    InputError
        Unless ``1 <= count <= MAX_WHATIF``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_WHATIF:
        msg = f"the number of what-if builds must be 1 to {MAX_WHATIF}, not {count!r}"
        raise InputError("--what-if", None, msg)
    return count


#: Decimals of the longitudes and latitudes of what-if builds (about 1 cm): the panel shows
#: them as ``--add-site LON,LAT`` and the coverage sets are computed from exactly those.
WHATIF_DECIMALS = 7


@dataclass(frozen=True)
class YearCodes:
    """What the slider and the what-if panel read of one solved scenario: a byte a sample.

    The map asks of a scenario only whether each sample is within the budget, why not, and
    in which latency band each area cell lies: the status codes at the budget
    (:func:`latcircle.analysis.coverage.cause_codes`, the covered rule on the float64
    latencies) and the band levels below carry exactly that, so a run can keep these for
    the progress years instead of their scenarios (a float64 latency and a serving site per
    sample: 16 times the bytes).

    Attributes
    ----------
    year
        The scenario year (``None``: every site).
    online
        The scenario's online sites.
    codes
        Per basis, each sample's status code at the budget (``int8``).
    samples
        Per basis, the samples evaluated (the scenario's: located on its year's network).
    levels
        Each area cell's number of thresholds (ascending) that do not cover it (``uint8``):
        the cell lies in band ``i`` exactly when ``level <= i``.
    """

    year: int | None
    online: np.ndarray
    codes: Mapping[str, np.ndarray]
    samples: Mapping[str, Samples]
    levels: np.ndarray

    def covered(self, basis: str) -> np.ndarray:
        """Return where the samples of ``basis`` are within the budget."""
        return self.codes[basis] == CAUSE_CODES["covered"]

    def open_rows(self, basis: str) -> np.ndarray:
        """Return the samples of ``basis`` not covered that have access (a site may help)."""
        has_access = self.samples[basis].location.has_access
        return np.flatnonzero((self.codes[basis] != CAUSE_CODES["covered"]) & has_access)


def year_codes(metro: Metro, scenario: Scenario | YearCodes) -> YearCodes:
    """Return what the map reads of a solved scenario (:class:`YearCodes`).

    Parameters
    ----------
    metro
        The prepared metro (its budget and thresholds).
    scenario
        A solved scenario; a :class:`YearCodes` is returned as it is.
    """
    if isinstance(scenario, YearCodes):
        return scenario
    budget = metro.config.budget_ms
    codes = {b: ev.codes(budget) for b, ev in scenario.evaluations.items()}  # the table's
    lat = np.asarray(scenario.evaluations["area"].latency_us, dtype=np.float64)
    levels = np.zeros(lat.shape, dtype=np.uint8)  # at most MAX_THRESHOLDS (64) levels
    for thr in sorted(metro.config.thresholds_ms):
        levels += ~covered(lat, budget_ms=thr)
    samples = {b: ev.samples for b, ev in scenario.evaluations.items()}
    return YearCodes(scenario.year, scenario.online, codes, samples, levels)


@dataclass(frozen=True)
class YearState:
    """One position of the map's year slider.

    Attributes
    ----------
    key
        The year as text, or ``"all"`` for every site online (the run without ``--year``).
    year
        The scenario year (``None`` for every site).
    codes
        What the map reads of the solved scenario (:func:`year_codes`).
    rings
        Disjoint latency rings (:func:`latcircle.analysis.isochrones.band_rings`).
    causes
        ``cause``, ``area_km2``, geometry: where the metro is not covered, by cause.
    covered, total
        Per basis, the weight within the budget and all the weight, per district (index
        order) and last the metro.
    count, count_total
        The same as numbers of samples (key-site markers, pixels, cells).
    """

    key: str
    year: int | None
    codes: YearCodes
    rings: gpd.GeoDataFrame
    causes: gpd.GeoDataFrame
    covered: dict[str, np.ndarray]
    total: dict[str, np.ndarray]
    count: dict[str, np.ndarray]
    count_total: dict[str, np.ndarray]


@dataclass(frozen=True)
class DemandGroups:
    """Samples of one basis in one year that some what-if build covers, grouped.

    Attributes
    ----------
    weight
        Summed weight of each group.
    district
        District index of each group (-1: none).
    builds
        For each group, the indices of the builds that cover it (sorted).
    count
        Number of samples in each group.
    """

    weight: np.ndarray
    district: np.ndarray
    builds: list[np.ndarray]
    count: np.ndarray


def year_states(
    metro: Metro,
    scenario: Scenario,
    years: list[int | None],
    *,
    solved: Sequence[Scenario | YearCodes] = (),
    run_bands: gpd.GeoDataFrame | None = None,
    run_rings: gpd.GeoDataFrame | None = None,
    memo: YearsMemo | None = None,
) -> list[YearState]:
    """Solve the metro for each slider year and keep what the map redraws.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario (reused for its own year, not solved again).
    years
        The slider's years in order; ``None`` is every site online.
    solved
        Scenarios already solved on ``metro`` (e.g. the sensitivity step's, one per progress
        year), or their :class:`YearCodes`: a year with the same online sites on the same
        network reuses one instead of being solved again.
    run_bands
        The run's isochrone bands (:func:`latcircle.analysis.isochrones.bands` of
        ``scenario``, e.g. ``RunResult.layers["bands"]``): its masks are not polygonised
        again (the same geometries: the same cells clipped the same way).
    run_rings
        The run's rings (:func:`latcircle.analysis.isochrones.band_rings` of ``run_bands``,
        ``RunResult.layers["rings"]``): the differences of those very band geometries are
        not computed again.
    memo
        Slider years other runs of ``metro`` kept
        (:class:`~latcircle.analysis.memo.YearsMemo`, by online sites and network): when it
        holds every year they are taken from it, relabelled; else the years made here are
        kept in it.

    Returns
    -------
    list of YearState
    """
    if memo is not None:
        kept: list[YearState | None] = [memo.get("states", memo.key(metro, y)) for y in years]
        if all(st is not None for st in kept):  # every year made by an earlier run
            pairs = zip(kept, years, strict=True)
            return [dataclasses.replace(st, key=_key(y), year=y) for st, y in pairs if st]
    states = _year_states(metro, scenario, years, solved, run_bands, run_rings)
    if memo is not None:
        for year, st in zip(years, states, strict=True):
            memo.put("states", memo.key(metro, year), st)
    return states


def _year_states(
    metro: Metro,
    scenario: Scenario,
    years: list[int | None],
    solved: Sequence[Scenario | YearCodes],
    run_bands: gpd.GeoDataFrame | None,
    run_rings: gpd.GeoDataFrame | None,
) -> list[YearState]:
    """:func:`year_states` without a memo."""
    run = year_codes(metro, scenario)
    known: list[Scenario | YearCodes] = [run, *solved]
    shapes = _Shapes(metro)
    thresholds = sorted(metro.config.thresholds_ms)
    levels = _Levels(metro, thresholds)
    if run_bands is not None and len(run_bands) == len(thresholds):  # one row per threshold
        for i, geom in enumerate(run_bands.geometry):
            shapes.seed(levels.cells(run, i), geom)
        if run_rings is not None:
            shapes.seed_rings(run_bands, run_rings)
    sums = _Sums(len(metro.district_names))
    states = []
    done: dict[int, YearState] = {}  # one state per solved scenario, whatever its years
    for year in years:
        codes = _solved(metro, year, known)
        if id(codes) not in done:
            done[id(codes)] = _state(metro, codes, year, shapes, sums, levels)
        states.append(dataclasses.replace(done[id(codes)], key=_key(year), year=year))
    return states


def _key(year: int | None) -> str:
    return "all" if year is None else str(year)


def _solved(metro: Metro, year: int | None, solved: list[Scenario | YearCodes]) -> YearCodes:
    """Return the codes of ``year``, reusing a solve with the same sites on the same network.

    A scenario reused is made :class:`YearCodes` in place (its arrays are not held here);
    a year solved now is kept only as its codes.
    """
    mask = metro.online(year)
    view = metro.view_key(year)
    for i, sc in enumerate(solved):
        if sc.year == year or (np.array_equal(sc.online, mask) and metro.view_key(sc.year) == view):
            solved[i] = year_codes(metro, sc)
            return solved[i]  # type: ignore[return-value]
    codes = year_codes(metro, metro.scenario(year=year))
    solved.append(codes)
    return codes


class _Levels:
    """Each year's area cells by band, from its band levels.

    A cell's level is :attr:`YearCodes.levels` (the number of thresholds, ascending, that do
    not cover it: the covered rule on the area latency in float64, as the run's isochrones
    compare their float64 raster), so the cells of band ``i`` are ``level <= i`` (a latency
    within a threshold is within every wider one); cells outside the metro never are. The
    same masks as ``covered(raster) & inside`` on the latency raster; the slider takes them
    per inside cell (:meth:`cells`) and puts a mask on the grid only when it is new to it
    (:meth:`_Shapes.clip`): most years share most masks.
    """

    def __init__(self, metro: Metro, thresholds: list[float]) -> None:
        self.grid = metro.grid
        self.thresholds = thresholds

    def cells(self, codes: YearCodes, i: int) -> np.ndarray:
        """Return the inside cells (:meth:`Grid.centres` order) within threshold ``i``."""
        return codes.levels <= i

    def mask(self, codes: YearCodes, i: int) -> np.ndarray:
        """Return the grid's cells within threshold ``i`` (ascending) in ``codes``' year."""
        return self.grid.to_raster(self.cells(codes, i), fill=False, dtype="bool")


def _state(
    metro: Metro, sc: YearCodes, year: int | None, shapes: _Shapes, sums: _Sums, levels: _Levels
) -> YearState:
    crs = metro.inputs.crs
    rows = []
    for i, thr in enumerate(levels.thresholds):  # as isochrones.bands, from the levels
        geom = shapes.clip(levels.cells(sc, i))
        rows.append({"threshold_ms": thr, "area_km2": geom.area / 1e6, "geometry": geom})
    cumulative = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    rows = []
    for cause, code in CAUSE_CODES.items():
        if cause == "covered":
            continue
        geom = shapes.clip(sc.codes["area"] == code)  # cells outside the metro: no cause
        rows.append({"cause": cause, "area_km2": geom.area / 1e6, "geometry": geom})
    causes = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    cov, tot, cnt, cnt_tot = {}, {}, {}, {}
    for basis, samples in sc.samples.items():
        cov[basis], cnt[basis] = sums.under(samples, sc.covered(basis))
        tot[basis], cnt_tot[basis] = sums.totals(samples)
    return YearState(
        key=_key(year),
        year=year,
        codes=sc,
        rings=band_rings(cumulative, difference=shapes.difference),
        causes=causes,
        covered=cov,
        total=tot,
        count=cnt,
        count_total=cnt_tot,
    )


class _Shapes:
    """The metro's polygons of grid masks, each distinct mask polygonised once.

    The slider's years share most of their masks (the places without access, the wider
    bands once every reachable place is within them): a mask already seen returns the
    same (immutable) geometry, and two geometries already differenced the same ring.
    """

    def __init__(self, metro: Metro) -> None:
        self.grid, self.boundary = metro.grid, metro.inputs.boundary
        self._clipped: dict[bytes, BaseGeometry] = {}
        # Keyed by the operands' ids; the entry holds the operands, so no id is reused.
        self._differences: dict[tuple[int, int], tuple[BaseGeometry, ...]] = {}

    def seed(self, cells: np.ndarray, geom: BaseGeometry) -> None:
        """Record ``geom`` as ``cells`` clipped to the metro (made elsewhere).

        ``cells`` marks the grid's inside cells (:meth:`Grid.centres` order), as for
        :meth:`clip`.
        """
        self._clipped.setdefault(np.packbits(cells).tobytes(), geom)

    def clip(self, cells: np.ndarray) -> BaseGeometry:
        """Return the cells marked in ``cells`` as polygons clipped to the metro.

        ``cells`` holds one flag per inside cell (:meth:`Grid.centres` order): a mask is
        known by those flags (outside the metro every mask is false), and put on the grid
        only when it is new.
        """
        key = np.packbits(cells).tobytes()
        if key not in self._clipped:
            mask = self.grid.to_raster(cells, fill=False, dtype="bool")
            self._clipped[key] = shapely.intersection(mask_polygons(self.grid, mask), self.boundary)
        return self._clipped[key]

    def seed_rings(self, bands: gpd.GeoDataFrame, rings: gpd.GeoDataFrame) -> None:
        """Record ``rings`` as the differences of ``bands``' geometries (made elsewhere).

        ``rings`` is :func:`~latcircle.analysis.isochrones.band_rings` of ``bands``: ring
        ``i`` is band ``i`` minus band ``i - 1``, thresholds ascending. Nothing is recorded
        unless both have the same thresholds.
        """
        ordered = bands.sort_values("threshold_ms")
        thresholds = [float(t) for t in ordered["threshold_ms"]]
        if thresholds != [float(t) for t in rings["threshold_ms"]]:
            return
        geoms = list(ordered.geometry)
        for i, ring in enumerate(list(rings.geometry)[1:], start=1):
            a, b = geoms[i], geoms[i - 1]
            self._differences.setdefault((id(a), id(b)), (a, b, ring))

    def difference(self, a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
        """Return ``a`` minus ``b`` (:func:`~latcircle.analysis.isochrones.ring_difference`).

        Two bands with the same cells are one geometry here: their ring is the empty
        polygon, without an overlay.
        """
        key = (id(a), id(b))
        if key not in self._differences:
            self._differences[key] = (a, b, ring_difference(a, b))
        return self._differences[key][2]


def _district_starts(district: np.ndarray, n: int) -> np.ndarray:
    """``0 .. n`` in ``district``'s integer type (``-0.5 .. n - 0.5`` for float districts).

    For integer districts, the first sample at or after ``i`` is the first after ``i - 0.5``.
    """
    if district.dtype.kind in "iu" and n <= np.iinfo(district.dtype).max:
        return np.arange(n + 1, dtype=district.dtype)
    return np.arange(n + 1) - 0.5


class _Sums:
    """Weights and counts per district then the metro, summed as the coverage table does.

    The coverage table sums ``w[district == i][mask]`` (numpy's pairwise sum of those
    weights in sample order). Here the samples are sorted by district once (a stable sort
    keeps sample order within a district), so each district is a contiguous slice and the
    same weights are summed in the same order, bit for bit, without a pass per district.

    Samples of one weight (every area cell, every key site) need no sort: ``k`` of their
    weights, whichever, are ``k`` copies of one float, and numpy sums a contiguous run of
    ``k`` copies as it sums any other (its pairwise sum depends on the values in order
    only), so the first ``k`` weights give the same sum, bit for bit; ``k`` per district is
    a count (``np.bincount``).
    """

    def __init__(self, n_districts: int) -> None:
        self.n = n_districts
        # Keyed by the samples' id; the entry holds the samples, so no id is reused.
        self._split: dict[int, tuple[Samples, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._totals: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._equal: dict[int, tuple[Samples, bool]] = {}

    def _one(self, samples: Samples) -> bool:
        """Whether ``samples`` take the one-weight route (integer districts, one weight)."""
        key = id(samples)
        if key not in self._equal:
            integer = samples.district.dtype.kind in "iu"
            self._equal[key] = (samples, integer and one_weight(samples.weight))
        return self._equal[key][1]

    def _order(self, samples: Samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample order by district, the weights in it, each district's slice bounds."""
        key = id(samples)
        if key not in self._split:
            district = samples.district
            order = np.argsort(district, kind="stable")
            # District i is [bounds[i], bounds[i + 1]); samples in none (-1) come first.
            # Searched as integers of the districts' own type (no float copy of the array).
            bounds = np.searchsorted(district[order], _district_starts(district, self.n))
            self._split[key] = (samples, order, samples.weight[order], bounds)
        _, order, w, bounds = self._split[key]
        return order, w, bounds

    def under(self, samples: Samples, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight and number of samples under ``mask``, per district then the metro."""
        if self._one(samples):
            return self._counted(samples, samples.district[mask])
        order, w, bounds = self._order(samples)
        m = mask[order]
        weight, count = [], []
        for lo, hi in itertools.pairwise(bounds):
            weight.append(float(w[lo:hi][m[lo:hi]].sum()))
            count.append(float(np.count_nonzero(m[lo:hi])))
        weight.append(float(samples.weight[mask].sum()))
        count.append(float(np.count_nonzero(mask)))
        return np.array(weight), np.array(count)

    def _counted(self, samples: Samples, district: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`under` of one-weight samples: the districts of those under the mask."""
        w = samples.weight
        within = np.compress((district >= 0) & (district < self.n), district)
        counts = [*np.bincount(within, minlength=self.n).tolist(), len(district)]
        return np.array([float(w[:k].sum()) for k in counts]), np.array(counts, dtype=float)

    def totals(self, samples: Samples) -> tuple[np.ndarray, np.ndarray]:
        """All the weight and all the samples, per district then the metro."""
        key = id(samples)
        if key not in self._totals and self._one(samples):
            self._totals[key] = self._counted(samples, samples.district)
        if key not in self._totals:
            _, w, bounds = self._order(samples)
            weight = [float(w[lo:hi].sum()) for lo, hi in itertools.pairwise(bounds)]
            weight.append(float(samples.weight.sum()))
            count = [float(hi - lo) for lo, hi in itertools.pairwise(bounds)]
            count.append(float(len(samples.weight)))
            self._totals[key] = (np.array(weight), np.array(count))
        return self._totals[key]


# --------------------------------------------------------------------------- what-if


def _single_fields(
    metro: Metro, year: int | None, lon: np.ndarray, lat: np.ndarray
) -> Iterator[LatencyField]:
    """Yield the engine's field of each build alone, attached as ``add_sites`` attaches it.

    WGS84 points converted to the local CRS, the default site device latency, located on
    the network as built in ``year``.
    """
    if not len(lon):
        return
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=_WGS84).to_crs(metro.inputs.crs)
    view = metro.view(year)
    device = np.full(len(lon), metro.params.site_device_us, dtype=float)
    att = attach_sites(view.locator, pts.x.to_numpy(), pts.y.to_numpy(), device, metro.params)
    yield from solve_each(
        view.network, att, metro.params, sites=np.arange(len(lon)), arcs=view.arcs
    )


def _columns(
    metro: Metro, state: YearState, basis: str, fields: list[LatencyField]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (uncovered samples with access) and which build covers each, alone."""
    budget = metro.config.budget_ms
    rows = state.codes.open_rows(basis)
    hits = np.zeros((len(rows), len(fields)), dtype=bool)
    if not len(rows):
        return rows, hits
    # take() keeps the ties (a point equally near two edges), as a run evaluates it.
    loc = state.codes.samples[basis].location.take(rows)
    for j, one in enumerate(fields):
        hits[:, j] = covered(one.at(loc)[0], budget_ms=budget)
    return rows, hits


def _groups(weight: np.ndarray, district: np.ndarray, hits: np.ndarray) -> DemandGroups:
    """Aggregate covered rows by (district, set of builds covering them)."""
    any_hit = hits.any(axis=1)
    if not any_hit.any():
        return DemandGroups(np.zeros(0), np.zeros(0, np.int64), [], np.zeros(0, np.int64))
    h, w, d = hits[any_hit], weight[any_hit], district[any_hit].astype(np.int64)
    # The set of builds as one 64-bit word (at most MAX_WHATIF < 64 builds): a 1-D sort by
    # (district, word) instead of np.unique(axis=0) over rows, several times slower.
    word = np.zeros(len(h), dtype=np.uint64)
    for j in range(h.shape[1]):
        word |= h[:, j].astype(np.uint64) << np.uint64(j)
    order = np.lexsort((word, d))
    new = np.r_[True, (np.diff(d[order]) != 0) | (word[order][1:] != word[order][:-1])]
    group = np.cumsum(new) - 1
    first = order[new]
    sums = np.bincount(group, weights=w[order], minlength=len(first))
    counts = np.bincount(group, minlength=len(first))
    members = [np.flatnonzero(h[i]) for i in first]
    return DemandGroups(sums, d[first], members, counts)


def whatif_sets(
    metro: Metro,
    states: list[YearState],
    builds: pd.DataFrame,
    *,
    memo: YearsMemo | None = None,
) -> dict[str, dict[str, DemandGroups]]:
    """Return, per slider year and basis, the demand groups the builds bring within budget.

    Parameters
    ----------
    metro
        The prepared metro.
    states
        The slider's years (:func:`year_states`).
    builds
        ``lon``, ``lat`` (WGS84, as ``--add-site`` takes them) of each build.
    memo
        The sets of these builds other runs of ``metro`` kept per slider year
        (:class:`~latcircle.analysis.memo.YearsMemo`): taken from it; the others made here
        are kept in it.

    Returns
    -------
    dict
        ``{state key: {basis: DemandGroups}}``.
    """
    lon = builds["lon"].to_numpy(float)
    lat = builds["lat"].to_numpy(float)
    built = (lon.tobytes(), lat.tobytes())
    out: dict[str, dict[str, DemandGroups]] = {}
    fields: dict[float | None, list[LatencyField]] = {}  # per network view, solved if asked
    for state in states:
        if memo is None:
            out[state.key] = _state_sets(metro, state, lon, lat, fields)
            continue
        key = (memo.key(metro, state.year), built)
        kept = memo.get("groups", key)
        if kept is None:
            kept = memo.put("groups", key, _state_sets(metro, state, lon, lat, fields))
        out[state.key] = dict(kept)  # a dict of its own: the kept one is shared
    return out


def _state_sets(
    metro: Metro,
    state: YearState,
    lon: np.ndarray,
    lat: np.ndarray,
    fields: dict[float | None, list[LatencyField]],
) -> dict[str, DemandGroups]:
    """One slider year's demand groups per basis (:func:`whatif_sets`)."""
    if not len(lon):  # no build covers any sample: no group (no uncovered rows looked up)
        none = np.zeros((0, 0), dtype=bool)
        return {b: _groups(np.zeros(0), np.zeros(0, np.int64), none) for b in state.codes.samples}
    view = metro.view_key(state.year)
    if view not in fields:
        fields[view] = list(_single_fields(metro, state.year, lon, lat))
    out = {}
    for basis, s in state.codes.samples.items():
        rows, hits = _columns(metro, state, basis, fields[view])
        out[basis] = _groups(s.weight[rows], s.district[rows], hits)
    return out


def rank_candidates(
    metro: Metro,
    states: list[YearState],
    candidates: gpd.GeoDataFrame,
    *,
    count: int,
    memo: YearsMemo | None = None,
) -> pd.DataFrame:
    """Return the ``count`` candidates adding most weight on the judged basis.

    Ranked by what each adds alone in the slider's first year (most is uncovered then), ties
    by what it adds summed over the later years on the same network, then by ``build_id``.
    Candidates adding nothing in the first year are left out (a site cannot help samples
    without access).

    Parameters
    ----------
    metro
        The prepared metro.
    states
        The slider's years (:func:`year_states`), the first one first.
    candidates
        ``build_id``, ``name`` and point geometry in the local CRS.
    count
        How many to return at most.
    memo
        Rankings other runs of ``metro`` kept (:class:`~latcircle.analysis.memo.YearsMemo`):
        the same candidates over the same distinct years (online sites, network) are not
        ranked again.

    Returns
    -------
    pandas.DataFrame
        ``build_id``, ``name``, ``lon``, ``lat``, ``gain`` (weight on the judged basis in the
        first year), ``later`` (summed over the later years), best first.
    """
    table = _candidate_table(candidates)
    view = metro.view_key(states[0].year)
    years = _distinct(s for s in states if metro.view_key(s.year) == view)  # the first first
    if memo is None:
        return _ranked(metro, years, table, count=count)
    key = (
        tuple(memo.key(metro, st.year) for st in years),
        pd.util.hash_pandas_object(table).to_numpy().tobytes(),
        count,
    )
    return memo.once("ranked", key, lambda: _ranked(metro, years, table, count=count)).copy()


def _candidate_table(candidates: gpd.GeoDataFrame) -> pd.DataFrame:
    """``build_id``, ``name``, ``lon``, ``lat`` (WGS84, rounded) of the candidates."""
    lonlat = candidates.geometry.to_crs(_WGS84)
    return pd.DataFrame(
        {
            "build_id": candidates["build_id"].astype(str).to_numpy(),
            "name": candidates["name"].astype(str).to_numpy(),
            "lon": np.round(lonlat.x.to_numpy(), WHATIF_DECIMALS),
            "lat": np.round(lonlat.y.to_numpy(), WHATIF_DECIMALS),
        }
    )


def _ranked(
    metro: Metro, years: list[YearState], table: pd.DataFrame, *, count: int
) -> pd.DataFrame:
    """:func:`rank_candidates` of ``table`` (its own) over ``years``, the first's network."""
    basis = auto_basis(metro.bases)
    gains = np.zeros((len(years), len(table)))
    targets = [_uncovered(metro, st, basis) for st in years]
    if len(targets[0][0]) and len(table):
        lon, lat = table["lon"].to_numpy(), table["lat"].to_numpy()
        # One candidate at a time: a solved field per candidate would not fit in memory.
        for j, one in enumerate(_single_fields(metro, years[0].year, lon, lat)):
            for k, (loc, w) in enumerate(targets):
                if len(w):
                    gains[k, j] = float(
                        w[covered(one.at(loc)[0], budget_ms=metro.config.budget_ms)].sum()
                    )
    table["gain"] = gains[0]
    table["later"] = gains[1:].sum(axis=0)
    table = table[table["gain"] > 0]
    table = table.sort_values(
        ["gain", "later", "build_id"], ascending=[False, False, True], kind="stable"
    )
    return table.head(count).reset_index(drop=True)


def _distinct(states: Iterable[YearState]) -> list[YearState]:
    """Return the states with distinct scenarios (years sharing their sites are one)."""
    seen: set[int] = set()
    out = []
    for st in states:
        if id(st.codes) not in seen:
            seen.add(id(st.codes))
            out.append(st)
    return out


def _uncovered(metro: Metro, state: YearState, basis: str) -> tuple[PointLocation, np.ndarray]:
    """Return the uncovered samples with access of ``basis`` (located) and their weights."""
    rows = state.codes.open_rows(basis)
    samples = state.codes.samples[basis]
    return samples.location.take(rows), samples.weight[rows]
