"""Progress toward the coverage targets, the interconnect tier, and what would close the gap.

Three questions a planner asks once the coverage of a metro is known:

* **Are we on track?** :func:`progress_table` evaluates every year from the earliest site
  ``online_year`` to the last target year (one :meth:`Metro.scenario` per distinct set of
  online sites, on samples located once) and judges each year against the target in force.
* **Do the compute centres reach each other?** :func:`interconnect_table` gives the one-way
  optical latency between every pair of medium-or-larger sites, flagging pairs over 1 ms.
* **Where to build?** :func:`uncovered_clusters` ranks the connected uncovered areas, split
  into *no access* (build access) and *too far* (build compute).

:func:`write_progress` is an ``extra_outputs`` callable for
:func:`latcircle.pipeline.run_city`: it writes ``progress.csv``, ``interconnect.csv``,
``clusters.csv``, a ``clusters`` layer in ``isochrones.gpkg`` and ``progress.json`` (the
status rule, the targets with their sources and resolved bases, and how the tables were made;
CSV files carry no comment lines).

The status rule
---------------
The **target in force** in a year is the first target whose year is at or after it (the last
target once every target year has passed). A year's status on a basis is

* ``met`` when its share reaches the target share (to within :data:`MET_TOLERANCE`);
* ``on track`` when not met, the year is before the target's year, and the sites planned
  online by the target's year (``online_year`` ≤ target year, as the sites file says now)
  reach the target share — ``planned_share`` in the table;
* ``behind`` otherwise.

A target's basis ``auto`` is judged on key sites when the city has them, else on population,
else on area; the row of the judged basis has ``judged`` true, the other bases are shown
against the same target for comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from latcircle.analysis.coverage import BASES
from latcircle.analysis.isochrones import mask_polygons
from latcircle.analysis.metro import Metro, Scenario
from latcircle.config import Target
from latcircle.engine.grid import Grid, label_points
from latcircle.engine.latency import SiteAttachment
from latcircle.engine.network import Network
from latcircle.errors import InputError
from latcircle.output.files import write_csv, write_gpkg, write_json

__all__ = [
    "CLUSTER_COLUMNS",
    "INTERCONNECT_BUDGET_MS",
    "INTERCONNECT_COLUMNS",
    "INTERCONNECT_TIERS",
    "MET_TOLERANCE",
    "PROGRESS_COLUMNS",
    "STATUS_RULE",
    "interconnect_table",
    "pair_latency",
    "progress_record",
    "progress_table",
    "resolve_basis",
    "uncovered_clusters",
    "write_progress",
    "year_range",
]

log = logging.getLogger(__name__)

MET, ON_TRACK, BEHIND = "met", "on track", "behind"

#: A share within this of the target counts as meeting it (floating-point slack only).
MET_TOLERANCE = 1e-9

#: The interconnect tier's budget: one-way, optical layer (MIIT city action, Oct 2025).
INTERCONNECT_BUDGET_MS = 1.0
#: Site tiers taking part in the interconnect tier ("medium and larger compute centres").
INTERCONNECT_TIERS = ("large", "medium")

#: The status rule in words; written to ``progress.json``.
STATUS_RULE = (
    "Target in force for a year: the first target whose year is at or after that year "
    "(the last target after every target year). Status of a year on a basis: 'met' when "
    "its share reaches the target share (within 1e-9); 'on track' when not met, the year "
    "is before the target's year and the sites planned online by the target's year "
    "(online_year <= target year, as known now; planned_share) reach the target share; "
    "'behind' otherwise. Gap: weight still to cover to reach the target share (0 when met; "
    "rounded up to whole key sites and people, km2 unrounded). Basis 'auto' is judged on "
    "key sites when the city has them, else population, else area (judged = true)."
)

PROGRESS_COLUMNS = [
    "year",
    "basis",
    "unit",
    "threshold_ms",
    "sites_online",
    "covered",
    "total",
    "share",
    "target_year",
    "target_share",
    "judged",
    "planned_share",
    "status",
    "gap",
]
INTERCONNECT_COLUMNS = [
    "site_a",
    "site_b",
    "name_a",
    "name_b",
    "tier_a",
    "tier_b",
    "online_year",
    "reachable",
    "latency_us",
    "budget_us",
    "over_budget",
]
CLUSTER_COLUMNS = [
    "year",
    "cause",
    "rank",
    "cells",
    "area_km2",
    "people",
    "key_sites",
    "min_latency_us",
    "district",
    "lon",
    "lat",
    "geometry",
]

#: Preference order of ``auto``: the official basis first.
_AUTO_ORDER = ("key_sites", "population", "area")
_CAUSES = ("no_access", "too_far")
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)
_WGS84 = pyproj.CRS.from_epsg(4326)


class _RunLike(Protocol):
    """What :func:`write_progress` needs of a :class:`latcircle.run.RunResult`."""

    metro: Metro
    scenario: Scenario


@dataclass(frozen=True, slots=True)
class _Goal:
    """A target with its basis resolved for one metro."""

    year: int
    share: float
    basis: str
    threshold_ms: float


# --------------------------------------------------------------------------- targets


def resolve_basis(target: Target, bases: Iterable[str], *, source: str = "config") -> str:
    """Return the basis a target is judged on for a metro with ``bases``.

    Parameters
    ----------
    target
        The target; ``auto`` means key sites when present, else population, else area.
    bases
        The bases the metro has (keys of :attr:`Metro.samples`).
    source
        The config file, named in the error.

    Returns
    -------
    str

    Raises
    ------
    InputError
        When the target names a basis the city has no input for.
    """
    have = set(bases)
    if target.basis == "auto":
        return next(b for b in _AUTO_ORDER if b in have)
    if target.basis not in have:
        msg = (
            f"the {target.year} target is judged on {target.basis}, but the city has no "
            f"{target.basis} input"
        )
        raise InputError(source, "targets.basis", msg)
    return target.basis


def year_range(metro: Metro, targets: Sequence[Target] | None = None) -> list[int]:
    """Return the years to evaluate: earliest online year to the last target year.

    The range also starts no later than the first target year, so that every target year
    is in it; without targets it ends at the last online year.

    Parameters
    ----------
    metro
        The prepared metro.
    targets
        The targets; the config's when ``None``.

    Returns
    -------
    list of int
        Consecutive years; empty when there is neither a target nor a site online year.
    """
    targets = metro.config.targets if targets is None else targets
    online = sorted({int(y) for y in metro.inputs.sites["online_year"].dropna()})
    target_years = sorted(t.year for t in targets)
    if not online and not target_years:
        return []
    start = min(online[:1] + target_years[:1])
    end = target_years[-1] if target_years else online[-1]
    return list(range(start, end + 1))


# --------------------------------------------------------------------------- progress


def progress_table(
    metro: Metro,
    *,
    years: Sequence[int] | None = None,
    targets: Sequence[Target] | None = None,
    reuse: Sequence[Scenario] = (),
) -> pd.DataFrame:
    """Tabulate each year's share on every basis and its status against the target.

    Each year is one scenario (the sites online that year) on the metro's located samples;
    years with the same online sites share one solve. The status rule is in the module
    docstring and :data:`STATUS_RULE`.

    Parameters
    ----------
    metro
        The prepared metro.
    years
        Years to evaluate; :func:`year_range` when ``None``.
    targets
        The targets; the config's when ``None``.
    reuse
        Scenarios already solved (e.g. a run's), reused when a year has the same sites.

    Returns
    -------
    pandas.DataFrame
        One row per year × basis, columns :data:`PROGRESS_COLUMNS`. ``target_year``,
        ``target_share``, ``planned_share``, ``status`` and ``gap`` are empty without
        targets. ``gap`` is in ``unit`` (key sites, people, km²).

    Raises
    ------
    InputError
        When a target names a basis the city has no input for.
    """
    targets = metro.config.targets if targets is None else targets
    goals = _goals(metro, targets)
    years = year_range(metro, targets) if years is None else sorted(set(years))
    cache = _ScenarioCache(metro, reuse)
    rows: list[dict[str, Any]] = []
    for year in years:
        goal = _in_force(goals, year)
        scenario = cache.get(year)
        planned = cache.get(goal.year) if goal is not None else None
        for basis in _bases(metro):
            rows.append(
                _progress_row(
                    year, basis, scenario, planned, goal, budget_ms=metro.config.budget_ms
                )
            )
    return pd.DataFrame(rows, columns=PROGRESS_COLUMNS)


def progress_record(metro: Metro, table: pd.DataFrame) -> dict[str, Any]:
    """Describe a progress table: the rule, the targets, the judged status by year.

    Parameters
    ----------
    metro
        The prepared metro.
    table
        Its :func:`progress_table`.

    Returns
    -------
    dict
        JSON-serialisable; written as ``progress.json``.
    """
    cfg = metro.config
    bases = _bases(metro)
    judged = table[table["judged"].astype(bool)]
    return {
        "rule": STATUS_RULE,
        "met_tolerance": MET_TOLERANCE,
        "targets": [
            {
                "year": t.year,
                "share": t.share,
                "basis": t.basis,
                "judged_on": resolve_basis(t, bases),
                "threshold_ms": t.threshold_ms,
                "source": t.source,
            }
            for t in sorted(cfg.targets, key=lambda t: t.year)
        ],
        "years": [int(y) for y in table["year"].drop_duplicates()],
        "first_online_year": metro.first_year,
        "status_by_year": {str(int(r.year)): r.status for r in judged.itertuples()},
        "share_by_year": {str(int(r.year)): round(float(r.share), 6) for r in judged.itertuples()},
    }


class _ScenarioCache:
    """One solve per distinct set of online sites."""

    def __init__(self, metro: Metro, reuse: Sequence[Scenario]) -> None:
        self.metro = metro
        self.solved: dict[bytes, Scenario] = {
            np.asarray(s.online, bool).tobytes(): s for s in reuse
        }

    def get(self, year: int) -> Scenario:
        mask = self.metro.online(year)
        key = mask.tobytes()
        if key not in self.solved:
            self.solved[key] = self.metro.scenario(year=year)
        return self.solved[key]


def _bases(metro: Metro) -> list[str]:
    return [b for b in BASES if b in metro.samples]


def _goals(metro: Metro, targets: Sequence[Target]) -> list[_Goal]:
    bases = _bases(metro)
    goals = [
        _Goal(t.year, t.share, resolve_basis(t, bases, source=metro.config.source), t.threshold_ms)
        for t in targets
    ]
    return sorted(goals, key=lambda g: g.year)


def _in_force(goals: list[_Goal], year: int) -> _Goal | None:
    """Return the first target at or after ``year``; the last one after every target year."""
    if not goals:
        return None
    return next((g for g in goals if g.year >= year), goals[-1])


def _covered(scenario: Scenario, basis: str, threshold_ms: float) -> tuple[float, float]:
    ev = scenario.evaluations[basis]
    w = ev.samples.weight
    return float(w[ev.latency_us <= threshold_ms * 1000.0].sum()), float(w.sum())


def _progress_row(
    year: int,
    basis: str,
    scenario: Scenario,
    planned: Scenario | None,
    goal: _Goal | None,
    *,
    budget_ms: float,
) -> dict[str, Any]:
    threshold = goal.threshold_ms if goal is not None else budget_ms
    covered, total = _covered(scenario, basis, threshold)
    share = covered / total if total > 0 else np.nan
    row: dict[str, Any] = {
        "year": year,
        "basis": basis,
        "unit": BASES[basis],
        "threshold_ms": threshold,
        "sites_online": int(np.count_nonzero(scenario.online)),
        "covered": covered,
        "total": total,
        "share": share,
        "target_year": pd.NA,
        "target_share": np.nan,
        "judged": False,
        "planned_share": np.nan,
        "status": "",
        "gap": np.nan,
    }
    if goal is None or planned is None:
        return row
    p_cov, p_tot = _covered(planned, basis, threshold)
    planned_share = p_cov / p_tot if p_tot > 0 else np.nan
    status = _status(year, share, planned_share, goal)
    row.update(
        target_year=goal.year,
        target_share=goal.share,
        judged=basis == goal.basis,
        planned_share=planned_share,
        status=status,
        gap=0.0 if status == MET else _gap(basis, goal.share * total - covered),
    )
    return row


def _status(year: int, share: float, planned_share: float, goal: _Goal) -> str:
    if not np.isnan(share) and share >= goal.share - MET_TOLERANCE:
        return MET
    if (
        year < goal.year
        and not np.isnan(planned_share)
        and (planned_share >= goal.share - MET_TOLERANCE)
    ):
        return ON_TRACK
    return BEHIND


def _gap(basis: str, shortfall: float) -> float:
    shortfall = max(shortfall, 0.0)
    if basis == "area":
        return shortfall
    return float(np.ceil(shortfall - 1e-6))


# --------------------------------------------------------------------------- interconnect


def interconnect_table(
    metro: Metro,
    *,
    year: int | None = None,
    tiers: Sequence[str] = INTERCONNECT_TIERS,
    budget_ms: float = INTERCONNECT_BUDGET_MS,
) -> pd.DataFrame:
    """Return the one-way optical latency between every pair of large and medium sites.

    For sites ``a`` and ``b`` attached to the network at ``q_a`` and ``q_b``::

        L(a, b) = E + S_a + k·r·|a − q_a| + k·r·d_G(q_a, q_b) + ΣD + k·r·|b − q_b| + S_b

    both sites' devices and both drops, the fixed equipment latency ``E`` once, and the
    device latency of every network node passed. The tier is always judged one-way on the
    optical layer: the router/access extras of the ``end_to_end`` preset and the round-trip
    factor are left out. Distances come from one multi-source Dijkstra over the network from
    the end nodes of the sites' edges; two sites on the same edge also get the direct
    along-edge path (the exact split-edge graph).

    Parameters
    ----------
    metro
        The prepared metro.
    year
        Only sites online in this year; every site when ``None``.
    tiers
        Site tiers taking part (compared case-insensitively).
    budget_ms
        The interconnect budget.

    Returns
    -------
    pandas.DataFrame
        One row per pair ``a < b`` in sites-file order, columns
        :data:`INTERCONNECT_COLUMNS`. ``online_year`` is the later of the two sites' years
        (when the link can first exist). ``latency_us`` is empty and ``over_budget`` true
        for a pair not connected by the network (different components, or a site beyond the
        max drop).
    """
    sites = metro.inputs.sites
    wanted = {t.lower() for t in tiers}
    pick = sites["tier"].str.lower().isin(wanted).to_numpy(dtype=bool) & metro.online(year)
    idx = np.flatnonzero(pick)
    _check_pair_memory(len(idx), metro.config.sites.path, sorted(wanted))
    view = metro.view(year)  # the links built by then
    lat = pair_latency(
        view.network,
        view.attachment,
        view.arcs,
        idx,
        us_per_m=metro.params.us_per_m,
        fixed_us=metro.params.equipment_us,
    )
    return _interconnect_rows(sites, idx, lat, budget_ms)


#: Peak bytes per (site, site) cell of the interconnect computation: the node-distance
#: matrix (up to 2m x 2m floats: 32), the pair matrices (best, a term, a temporary, the direct
#: path: 32), and the table (half the cells, ~11 columns: 44), rounded up.
BYTES_PER_SITE_PAIR = 128
#: Memory the interconnect table may ask for: 4,096 sites of the tiers compared need 2 GiB.
MAX_INTERCONNECT_BYTES = 2 * 1024**3


def _check_pair_memory(m: int, source: Path, tiers: list[str]) -> None:
    """Refuse an interconnect table too large for memory, before allocating (Python ints)."""
    need = BYTES_PER_SITE_PAIR * int(m) * int(m)
    if need > MAX_INTERCONNECT_BYTES:
        fits = int((MAX_INTERCONNECT_BYTES // BYTES_PER_SITE_PAIR) ** 0.5)
        problem = (
            f"{m:,} sites of tiers {', '.join(tiers)} make {m * (m - 1) // 2:,} interconnect "
            f"pairs, about {need / 1024**3:,.1f} GiB to compute, over the limit of "
            f"{MAX_INTERCONNECT_BYTES / 1024**3:g} GiB: give at most {fits:,} sites those tiers"
        )
        raise InputError(source, "tier", problem)


def pair_latency(
    network: Network,
    attachment: SiteAttachment,
    arcs: csr_matrix,
    sites: np.ndarray,
    *,
    us_per_m: float,
    fixed_us: float,
    chunk: int = 64,
) -> np.ndarray:
    """Return the one-way latency matrix between sites (µs, ``inf`` where unreachable).

    Parameters
    ----------
    network
        The network.
    attachment
        Every site's attachment.
    arcs
        The network's arc matrix (:func:`latcircle.engine.latency.arc_matrix`).
    sites
        Indices of the sites to pair.
    us_per_m
        ``k·r``.
    fixed_us
        Latency added once to every path (``E``).
    chunk
        Dijkstra sources per call (bounds memory at ``chunk × nodes`` floats).

    Returns
    -------
    numpy.ndarray
        ``(m, m)``, symmetric; the diagonal is the latency of a zero-length path.
    """
    loc = attachment.location
    m = len(sites)
    ok = loc.edge[sites] >= 0
    edge = np.where(ok, loc.edge[sites], 0)
    t = np.where(ok, loc.t[sites], 0.0)
    off = np.where(ok, attachment.offset_us[sites], np.inf)
    ends = np.column_stack([network.u[edge], network.v[edge]])
    along = us_per_m * np.column_stack([t, network.length[edge] - t])
    leave = off[:, None] + along + network.node_device_us[ends]  # site -> end node, D charged
    arrive = off[:, None] + along  # end node -> site
    nodes = np.unique(ends[ok]) if ok.any() else np.zeros(0, np.int64)
    between = _node_distances(arcs, nodes, chunk)
    pos = np.searchsorted(nodes, ends)
    best = np.full((m, m), np.inf)
    if ok.any():
        for i in (0, 1):
            for j in (0, 1):
                net = between[np.ix_(pos[:, i], pos[:, j])]
                best = np.minimum(best, leave[:, i][:, None] + net + arrive[:, j][None, :])
        same = (edge[:, None] == edge[None, :]) & ok[:, None] & ok[None, :]
        direct = off[:, None] + off[None, :] + us_per_m * np.abs(t[:, None] - t[None, :])
        best = np.where(same, np.minimum(best, direct), best)
    best[~ok, :] = np.inf
    best[:, ~ok] = np.inf
    return fixed_us + best


def _node_distances(arcs: csr_matrix, nodes: np.ndarray, chunk: int) -> np.ndarray:
    """Network distance between every pair of ``nodes``: multi-source Dijkstra in chunks."""
    k = len(nodes)
    out = np.full((max(k, 1), max(k, 1)), np.inf)
    for lo in range(0, k, chunk):
        src = nodes[lo : lo + chunk]
        dist = dijkstra(arcs, directed=True, indices=src)
        out[lo : lo + len(src), :k] = np.atleast_2d(dist)[:, nodes]
    return out


def _interconnect_rows(
    sites: gpd.GeoDataFrame, idx: np.ndarray, lat: np.ndarray, budget_ms: float
) -> pd.DataFrame:
    a, b = np.triu_indices(len(idx), k=1)
    ia, ib = idx[a], idx[b]
    value = lat[a, b]
    reach = np.isfinite(value)
    years = sites["online_year"].astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
    later = np.fmax(years[ia], years[ib])
    budget_us = budget_ms * 1000.0
    out = pd.DataFrame(
        {
            "site_a": sites["site_id"].to_numpy()[ia],
            "site_b": sites["site_id"].to_numpy()[ib],
            "name_a": sites["name"].to_numpy()[ia],
            "name_b": sites["name"].to_numpy()[ib],
            "tier_a": sites["tier"].to_numpy()[ia],
            "tier_b": sites["tier"].to_numpy()[ib],
            "online_year": pd.array(np.where(np.isnan(later), None, later), dtype="Int64"),
            "reachable": reach,
            "latency_us": np.where(reach, value, np.nan),
            "budget_us": budget_us,
            "over_budget": ~reach | (value > budget_us),
        }
    )
    return out[INTERCONNECT_COLUMNS]


# --------------------------------------------------------------------------- clusters


def uncovered_clusters(
    metro: Metro,
    scenario: Scenario,
    *,
    budget_ms: float | None = None,
    top: int | None = 10,
    by: str | None = None,
) -> gpd.GeoDataFrame:
    """Rank the connected uncovered areas of a scenario, by cause.

    Uncovered grid cells are split by cause (*no access*: beyond the max drop, build access;
    *too far*: over the budget, build compute), and each cause's cells are grouped into
    4-connected clusters. People and key sites are assigned to the cluster of the grid cell
    they fall in, counting only those that are themselves uncovered.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        A scenario solved on it.
    budget_ms
        The access budget; the config's when ``None``.
    top
        Clusters kept per cause (all when ``None``).
    by
        Rank by ``key_sites``, ``population`` or ``area``; by the basis of the last target
        when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`CLUSTER_COLUMNS`, in the local CRS: the scenario ``year``, ``cause``,
        ``rank`` (1 = largest within the cause), ``cells``, ``area_km2``, ``people`` and
        ``key_sites`` (weight; empty without that input), ``min_latency_us`` (best latency
        in a too-far cluster), the ``district`` holding most of its cells, the centre of its
        cells in WGS84 ``lon``/``lat``, and the cells' outline clipped to the metro.
    """
    budget_ms = metro.config.budget_ms if budget_ms is None else budget_ms
    by = by or _rank_basis(metro)
    cells = _cell_table(metro, scenario, budget_ms)
    frames = [_clusters_of(metro, cells, cause, by=by, top=top) for cause in _CAUSES]
    out = _typed(pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True))
    out.insert(0, "year", pd.array([scenario.year] * len(out), dtype="Int64"))
    return gpd.GeoDataFrame(out[CLUSTER_COLUMNS], geometry="geometry", crs=metro.inputs.crs)


@dataclass(frozen=True, slots=True)
class _Cells:
    """Per-cell rasters of one scenario: cause code, latency, uncovered weight by basis."""

    cause: np.ndarray  # 0 covered / outside, 1 no_access, 2 too_far
    latency: np.ndarray
    weight: dict[str, np.ndarray]
    district: np.ndarray


def _rank_basis(metro: Metro) -> str:
    bases = _bases(metro)
    targets = sorted(metro.config.targets, key=lambda t: t.year)
    if targets:
        return resolve_basis(targets[-1], bases)
    return next(b for b in _AUTO_ORDER if b in bases)


def _cell_table(metro: Metro, scenario: Scenario, budget_ms: float) -> _Cells:
    grid = metro.grid
    area = scenario.evaluations["area"]
    covered = area.latency_us <= budget_ms * 1000.0
    # The causes of Evaluation.status, as codes: 1 no access, 2 too far, 0 covered.
    code = np.where(area.samples.location.has_access, np.where(covered, 0, 2), 1)
    weight = {}
    for basis in ("population", "key_sites"):
        if basis in scenario.evaluations:
            weight[basis] = _uncovered_weight(grid, metro, scenario, basis, budget_ms)
    return _Cells(
        cause=grid.to_raster(code, fill=0, dtype="int8"),
        latency=grid.to_raster(area.latency_us, fill=np.inf, dtype="float64"),
        weight=weight,
        district=grid.to_raster(area.samples.district, fill=-1, dtype="int32"),
    )


def _uncovered_weight(
    grid: Grid, metro: Metro, scenario: Scenario, basis: str, budget_ms: float
) -> np.ndarray:
    """Raster of the uncovered weight of ``basis`` per grid cell."""
    ev = scenario.evaluations[basis]
    x, y = _sample_xy(metro, basis)
    uncovered = ~(ev.latency_us <= budget_ms * 1000.0)
    col, row = ~grid.transform * (x, y)
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    rows, cols = grid.shape
    keep = uncovered & (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    flat = np.bincount(
        row[keep] * cols + col[keep], weights=ev.samples.weight[keep], minlength=rows * cols
    )
    return flat.reshape(grid.shape)


def _sample_xy(metro: Metro, basis: str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of a basis' samples, in the order of its evaluation."""
    if basis == "key_sites":
        geom = metro.inputs.key_sites.geometry
        return geom.x.to_numpy(), geom.y.to_numpy()
    pop = metro.inputs.population
    # The population samples are the pixels inside the boundary (see metro.prepare).
    inside = label_points(pop.x, pop.y, [metro.inputs.boundary]) == 0
    return pop.x[inside], pop.y[inside]


def _clusters_of(
    metro: Metro, cells: _Cells, cause: str, *, by: str, top: int | None
) -> pd.DataFrame:
    code = _CAUSES.index(cause) + 1
    labels, n = ndimage.label(cells.cause == code, structure=_FOUR_CONNECTED)
    if n == 0:
        return pd.DataFrame(columns=[c for c in CLUSTER_COLUMNS if c != "year"])
    flat = labels.ravel()
    size = np.bincount(flat, minlength=n + 1)[1:]
    people = _sum_by(flat, cells.weight.get("population"), n)
    key_sites = _sum_by(flat, cells.weight.get("key_sites"), n)
    rank_by = {"population": people, "key_sites": key_sites}.get(by)
    primary = rank_by if rank_by is not None else size.astype(float)
    order = np.lexsort((np.arange(n), -size, -np.nan_to_num(primary)))
    if top is not None:
        order = order[:top]
    return _describe(metro, cells, labels, order, cause, size, people, key_sites)


def _sum_by(flat: np.ndarray, raster: np.ndarray | None, n: int) -> np.ndarray:
    if raster is None:
        return np.full(n, np.nan)
    return np.bincount(flat, weights=raster.ravel(), minlength=n + 1)[1:]


def _describe(
    metro: Metro,
    cells: _Cells,
    labels: np.ndarray,
    order: np.ndarray,
    cause: str,
    size: np.ndarray,
    people: np.ndarray,
    key_sites: np.ndarray,
) -> pd.DataFrame:
    grid = metro.grid
    boxes = ndimage.find_objects(labels)
    to_wgs = pyproj.Transformer.from_crs(metro.inputs.crs, _WGS84, always_xy=True)
    names = [*metro.district_names, ""]
    rows = []
    for rank, k in enumerate(order, start=1):
        box = boxes[k]
        mask = labels[box] == k + 1
        r, c = np.nonzero(mask)
        r, c = r + box[0].start, c + box[1].start
        lon, lat = to_wgs.transform(*_centre(grid, r, c))
        lat_us = cells.latency[r, c]
        district = np.bincount(cells.district[r, c] + 1, minlength=len(names) + 1)
        rows.append(
            {
                "cause": cause,
                "rank": rank,
                "cells": int(size[k]),
                "area_km2": float(size[k] * grid.cell_km2),
                "people": float(people[k]),
                "key_sites": float(key_sites[k]),
                "min_latency_us": _min_latency(lat_us) if cause == "too_far" else np.nan,
                "district": names[int(np.argmax(district[1:]))] if district[1:].any() else "",
                "lon": float(lon),
                "lat": float(lat),
                "geometry": _outline(grid, box, mask, metro.inputs.boundary),
            }
        )
    return pd.DataFrame(rows, columns=[c for c in CLUSTER_COLUMNS if c != "year"])


def _centre(grid: Grid, r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Return the mean of the cells' centres, or the cluster's cell nearest to it.

    The mean of a ring-shaped cluster falls in its hole: the nearest cell of the cluster
    is then a better "where to build".
    """
    rm, cm = r.mean(), c.mean()
    if not np.any((r == np.floor(rm + 0.5)) & (c == np.floor(cm + 0.5))):
        k = int(np.argmin((r - rm) ** 2 + (c - cm) ** 2))
        rm, cm = float(r[k]), float(c[k])
    x = grid.transform.c + (cm + 0.5) * grid.transform.a
    y = grid.transform.f + (rm + 0.5) * grid.transform.e
    return float(x), float(y)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Give the cluster columns fixed dtypes (also when there are no clusters)."""
    kinds = {"cause": str, "rank": "int64", "cells": "int64", "district": str}
    for col in CLUSTER_COLUMNS[1:]:
        if col != "geometry":
            df[col] = df[col].astype(kinds.get(col, "float64"))
    return df


def _min_latency(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.min()) if len(finite) else np.nan


def _outline(grid: Grid, box: tuple[slice, slice], mask: np.ndarray, boundary: Any) -> Any:
    """Return the cells of ``mask`` (a window ``box`` of the grid), clipped to the metro."""
    sub = Grid(
        transform=grid.transform * grid.transform.translation(box[1].start, box[0].start),
        shape=mask.shape,
        inside=mask,
        cell_m=grid.cell_m,
    )
    geom = shapely.intersection(mask_polygons(sub, mask), boundary)
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type == "Polygon"]
    polys += [q for p in parts if p.geom_type == "MultiPolygon" for q in p.geoms]
    return shapely.MultiPolygon(polys)


# --------------------------------------------------------------------------- writing


def write_progress(result: _RunLike, folder: Path) -> None:
    """Write the progress, interconnect and cluster tables of a run into ``folder``.

    An ``extra_outputs`` callable for :func:`latcircle.pipeline.run_city`. Writes
    ``progress.csv``, ``interconnect.csv`` (sites online in the run's scenario year),
    ``clusters.csv`` (the run's scenario), a ``clusters`` layer in ``isochrones.gpkg``
    (``clusters.gpkg`` when there is none) and ``progress.json`` (rule, targets, summary).

    Parameters
    ----------
    result
        The run (its ``metro`` and ``scenario``).
    folder
        The run's temporary output folder.
    """
    metro, scenario = result.metro, result.scenario
    folder = Path(folder)
    table = progress_table(metro, reuse=[scenario])
    links = interconnect_table(metro, year=scenario.year)
    clusters = uncovered_clusters(metro, scenario)
    write_csv(table, folder / "progress.csv")
    write_csv(links, folder / "interconnect.csv")
    write_csv(pd.DataFrame(clusters.drop(columns="geometry")), folder / "clusters.csv")
    gpkg = folder / "isochrones.gpkg"
    write_gpkg({"clusters": clusters}, gpkg if gpkg.exists() else folder / "clusters.gpkg")
    record = progress_record(metro, table)
    record["interconnect"] = {
        "budget_ms": INTERCONNECT_BUDGET_MS,
        "tiers": list(INTERCONNECT_TIERS),
        "scenario_year": scenario.year,
        "pairs": len(links),
        "over_budget": int(links["over_budget"].sum()),
        "model": "one-way optical: E + both site devices + both drops + network path",
    }
    record["clusters"] = {
        "scenario_year": scenario.year,
        "budget_ms": metro.config.budget_ms,
        "ranked_by": _rank_basis(metro),
        "connectivity": 4,
        "top_per_cause": 10,
    }
    write_json(record, folder / "progress.json")


#: The stage name :func:`latcircle.pipeline.run_city` times this step under.
write_progress.stage_name = "progress"  # type: ignore[attr-defined]
