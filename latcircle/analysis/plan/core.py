"""The planner's shared types and steps: goals, coverage sets, the site pool, engine solves.

Split from :mod:`latcircle.analysis.plan` (which re-exports the public names) so that its
parts (spurs, curve, tables) share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from latcircle.analysis.coverage import Samples, share_of
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.groups import expand
from latcircle.analysis.plan.views import YearView, year_views
from latcircle.engine.latency import LatencyField, SiteAttachment, solve

__all__ = ["CoverageSets", "Goal"]


@dataclass(frozen=True, slots=True)
class Goal:
    """A target to plan for: a share of a basis within the budget by a year."""

    year: int
    share: float
    basis: str


@dataclass(frozen=True)
class CoverageSets:
    """Which demand points of the judged basis each build brings within the budget.

    Held grouped (:mod:`latcircle.analysis.plan.groups`): per stage year, the distinct sets
    of covering builds (``groups``) and each point's set (``group_of``); :attr:`matrix`
    expands them to one row per point.

    Attributes
    ----------
    basis
        The judged basis.
    rows
        Indices (into the basis's samples) of the points the first stage's baseline leaves
        uncovered: the only points a build can add (baselines only grow with the year).
    groups
        Per stage year, distinct sets × builds, boolean CSR with sorted indices (a site's
        column is the same every year; an access build's depends on the sites online that
        year). Two groups may hold the same set.
    group_of
        Per stage year, the group of each of ``rows``.
    baseline
        Per stage year, which of the basis's samples the existing sites cover.
    seconds
        Wall time spent computing the sets.
    """

    basis: str
    rows: np.ndarray
    groups: dict[int, sp.csr_matrix]
    group_of: dict[int, np.ndarray]
    baseline: dict[int, np.ndarray]
    seconds: float

    @property
    def matrix(self) -> dict[int, sp.csc_matrix]:
        """Per stage year, rows × builds, boolean CSC: the groups one row per point."""
        return {y: expand(self.groups[y], self.group_of[y]) for y in self.groups}

    @classmethod
    def of_matrix(
        cls,
        *,
        basis: str,
        rows: np.ndarray,
        matrix: dict[int, sp.spmatrix],
        baseline: dict[int, np.ndarray],
        seconds: float,
    ) -> CoverageSets:
        """Return the sets of a rows × builds matrix per year, each row its own group."""
        groups = {}
        for y, m in matrix.items():
            g = sp.csr_matrix(m, dtype=bool)
            g.sort_indices()
            groups[y] = g
        group_of = {y: np.arange(m.shape[0], dtype=np.int64) for y, m in groups.items()}
        return cls(basis, rows, groups, group_of, baseline, seconds)


@dataclass(frozen=True)
class _Pool:
    """Every site the plan may use (existing first, then new), as the sites file gives them."""

    table: pd.DataFrame  # SITES_COLUMNS, text as written
    x: np.ndarray
    y: np.ndarray
    attachment: SiteAttachment
    n_existing: int


def _year_views(metro: Metro, pool: _Pool, years: list[int]) -> dict[int, YearView]:
    return year_views(
        metro,
        years,
        x=pool.x,
        y=pool.y,
        device_us=pool.table["device_latency_us"].to_numpy(float),
        whole=pool.attachment,
    )


def _baseline_field(metro: Metro, pool: _Pool, view: YearView, year: int) -> LatencyField:
    online = np.zeros(len(pool.table), bool)
    online[: pool.n_existing] = metro.online(year)
    return solve(view.network, view.attachment, metro.params, online=online, arcs=view.arcs)


def _pool_index(pool: _Pool, builds: gpd.GeoDataFrame) -> np.ndarray:
    """Index into the pool of each site build (existing site, or a new one)."""
    new_ids = {k: i for i, k in enumerate(pool.table["id"].iloc[pool.n_existing :])}
    return np.array(
        [
            int(e) if k == "bring_forward" else pool.n_existing + new_ids[b]
            for k, e, b in zip(builds["kind"], builds["existing"], builds["build_id"], strict=True)
        ],
        dtype=np.int64,
    )


def _site_field(view: YearView, metro: Metro, n_pool: int, site: int) -> LatencyField:
    """One engine solve: one pool site alone on a year's network."""
    online = np.zeros(n_pool, bool)
    online[site] = True
    return solve(view.network, view.attachment, metro.params, online=online, arcs=view.arcs)


def _share(samples: Samples, within: np.ndarray) -> float:
    return share_of(float(samples.weight[within].sum()), samples.total)


def _progress(items: range, label: str, total: int) -> Iterable[int]:
    """Iterate with a progress bar (logs.progress_bar) when there are many items and a terminal."""
    if total < 50:
        return items
    return _tracked(items, label, total)


def _tracked(items: range, label: str, total: int) -> Iterator[int]:
    from latcircle.logs import console, progress_bar

    out = console()
    with progress_bar(out, count="percent", transient=True, disable=not out.is_terminal) as bar:
        yield from bar.track(items, total=total, description=label)
