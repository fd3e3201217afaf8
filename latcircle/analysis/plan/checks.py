"""The planner's checks and messages (issue 22 §4, issue 26 §6).

* :func:`check_plan_options`: the options of ``latcircle plan`` (``--max-sites``,
  ``--max-cost``, ``--target``, ``--year``) checked **before** the city is loaded (which takes
  10-16 s on Wuhan), each refusal one line naming the option and what is wrong;
* :func:`check_added_sites`: ``--add-site`` outside the metro's extent (its boundary and its
  network) plus the max drop is refused: no line is within reach, it could serve nothing;
* :func:`check_auto_candidates`: a network without a junction cannot give automatic
  candidates;
* :func:`year_warnings`: target years before the first compute site, or before
  :data:`PLAN_NOW_YEAR` (a plan cannot build in the past);
* :func:`limits_failure`: which target year fails first under ``--max-sites``/``--max-cost``,
  with its best share;
* :func:`drop_idle_builds`: a zero-cost build that the plan can do without is dropped (the
  solver is indifferent to it: it costs nothing, and gains nothing);
* :func:`nothing_to_build`: "nothing to build: 2027 and 2028 already met", with the shares.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
from pydantic import ValidationError

from latcircle.analysis.coverage import Samples, share_of
from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.progress import meets
from latcircle.config import CityConfig, Target
from latcircle.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from latcircle.analysis.metro import Metro


class _Goal(Protocol):
    """A goal of the plan (``analysis.plan.Goal``; not imported: plan imports this module)."""

    @property
    def year(self) -> int: ...
    @property
    def share(self) -> float: ...
    @property
    def basis(self) -> str: ...


class _Plan(Protocol):
    """What :func:`nothing_to_build` reads of an ``analysis.plan.PlanResult``."""

    @property
    def goals(self) -> Sequence[_Goal]: ...
    @property
    def basis(self) -> str: ...
    @property
    def table(self) -> pd.DataFrame: ...
    @property
    def baseline_share(self) -> Mapping[int, float]: ...


__all__ = [
    "PLAN_NOW_YEAR",
    "check_added_sites",
    "check_auto_candidates",
    "check_plan_options",
    "drop_idle_builds",
    "far_candidates",
    "limits_failure",
    "nothing_to_build",
    "spur_words",
    "year_warnings",
]

#: The year plans are made in: this release's (December 2026). A documented constant, not the
#: clock, so that the same inputs give the same warnings and files on any day; pass
#: ``now_year=`` to :func:`year_warnings` to plan from another year.
PLAN_NOW_YEAR = 2026


def check_plan_options(
    cfg: CityConfig,
    *,
    target: float | None = None,
    year: int | None = None,
    max_sites: int | None = None,
    max_cost: float | None = None,
    candidates: Path | None = None,
) -> None:
    """Refuse options that no plan can honour, before anything is read.

    Parameters
    ----------
    cfg
        The validated city config (named in the messages).
    target, year
        One target share by a year (both or neither).
    max_sites, max_cost
        Limits on the number and the total cost of builds.
    candidates
        A candidates file given on the command line (``--candidates``).

    Raises
    ------
    InputError
        For a negative or non-integer ``max_sites``, a negative or non-finite ``max_cost``,
        a target without its year (or the reverse), or a share or year a target cannot have.
    """
    src = cfg.source
    if candidates is not None and not Path(candidates).is_file():
        what = "a folder, not a file" if Path(candidates).is_dir() else "file not found"
        raise InputError(src, "--candidates", f"{what}: {candidates}")
    if max_sites is not None and (isinstance(max_sites, bool) or int(max_sites) != max_sites):
        raise InputError(src, "--max-sites", f"must be a whole number >= 0, got {max_sites!r}")
    if max_sites is not None and max_sites < 0:
        raise InputError(src, "--max-sites", f"must be a whole number >= 0, got {max_sites}")
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost >= 0):
        raise InputError(src, "--max-cost", f"must be a finite number >= 0, got {max_cost:g}")
    if (target is None) != (year is None):
        raise InputError(src, "--target/--year", "give both a target share and its year")
    if target is None or year is None:
        return
    if not (math.isfinite(target) and 0 < target <= 1):
        raise InputError(src, "--target", f"a share must be in (0, 1], got {target:g}")
    try:  # the years a target may have: the config's own rule
        Target.model_validate({"year": year, "share": target})
    except ValidationError as exc:
        raise InputError(src, "--year", f"{exc.errors()[0]['msg']} (got {year!r})") from None


def check_added_sites(metro: Metro, sites: Sequence[tuple[float, float, str | None]]) -> None:
    """Refuse ``--add-site`` sites outside the metro's extent plus the max drop.

    The extent is the bounding box of the boundary and of the network in the local CRS; a
    site farther than the max drop from that box is farther than it from every line, so it
    can attach to none and serve nothing (a slip of the keyboard, typically: ``100,10``).

    Parameters
    ----------
    metro
        The prepared metro.
    sites
        ``(lon, lat, name)`` in WGS84, as given.
    """
    import pyproj

    if not sites:
        return
    to_local = pyproj.Transformer.from_crs(4326, metro.inputs.crs, always_xy=True)
    x, y = to_local.transform([s[0] for s in sites], [s[1] for s in sites])
    x, y = np.asarray(x, float), np.asarray(y, float)
    away, (x0, y0, x1, y1) = _beyond_extent(metro, x, y)
    drop = metro.params.max_drop_m
    far = ~(away <= drop)  # NaN (a place the local CRS cannot hold) is far too
    if not far.any():
        return
    i = int(np.flatnonzero(far)[0])
    lon, lat, name = sites[i]
    how = "far"
    if np.isfinite(away[i]):  # on the ellipsoid: the local CRS stretches far places
        cx, cy = to_local.transform(
            float(np.clip(x[i], x0, x1)), float(np.clip(y[i], y0, y1)), direction="INVERSE"
        )
        _, _, metres = pyproj.Geod(ellps="WGS84").inv(lon, lat, cx, cy)
        how = f"{metres / 1000:,.0f} km"
    problem = (
        f"site {i + 1} ({name or f'{lon:g},{lat:g}'}) lies {how} outside the metro's extent "
        f"(its boundary and network, plus the {drop:g} m max drop): it could reach no line "
        "and serve nothing"
    )
    raise InputError("--add-site", None, problem)


def _beyond_extent(
    metro: Metro, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Distance (local metres) of points from the box of the boundary and the network."""
    net = metro.network
    bx0, by0, bx1, by1 = metro.inputs.boundary.bounds
    x0, x1 = min(bx0, float(net.x.min())), max(bx1, float(net.x.max()))
    y0, y1 = min(by0, float(net.y.min())), max(by1, float(net.y.max()))
    with np.errstate(invalid="ignore"):
        away = np.hypot(
            np.maximum(0, np.maximum(x0 - x, x - x1)), np.maximum(0, np.maximum(y0 - y, y - y1))
        )
    return away, (x0, y0, x1, y1)


def far_candidates(metro: Metro, candidates: gpd.GeoDataFrame | None) -> str | None:
    """Count the candidates outside the metro's extent plus the max drop (a warning).

    A candidates file may hold a region's sites: far ones are counted and named, not refused
    (like the sites file's), since they can only gain nothing.

    Parameters
    ----------
    metro
        The prepared metro.
    candidates
        The candidates (``cand_id``, point geometry in the local CRS), or ``None``.

    Returns
    -------
    str or None
        The warning, or ``None`` when every candidate is within reach.
    """
    if candidates is None or len(candidates) == 0:
        return None
    away, _ = _beyond_extent(
        metro, candidates.geometry.x.to_numpy(float), candidates.geometry.y.to_numpy(float)
    )
    far = ~(away <= metro.params.max_drop_m)
    if not far.any():
        return None
    ids = ", ".join(candidates["cand_id"].astype(str)[far][:5])
    more = ", ..." if int(far.sum()) > 5 else ""
    return (
        f"plan.candidates: {int(far.sum())} of {len(candidates)} candidate(s) lie outside the "
        f"metro's extent plus the {metro.params.max_drop_m:g} m max drop and can gain nothing: "
        f"{ids}{more}"
    )


def check_auto_candidates(metro: Metro) -> None:
    """Refuse to plan on automatic candidates where the network has no junction in the metro.

    The automatic set is the junctions (nodes of degree >= 3) inside the metro; without any,
    there is nothing to choose from (a single line, or long lines that cross unsplit).

    Parameters
    ----------
    metro
        The prepared metro.
    """
    import shapely

    if metro.config.plan.candidates is not None:
        return
    net = metro.network
    degree = np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)
    inside = shapely.contains_xy(metro.inputs.boundary, net.x, net.y)
    if ((degree >= 3) & inside).any():
        return
    raise InputError(
        metro.config.network.path,
        "plan.candidates",
        "the network has no junction (a node joining 3 or more lines) inside the metro to "
        "place automatic candidates on (lines that cross without sharing a node do not "
        "join): give a candidates file (plan.candidates or --candidates)",
    )


def year_warnings(
    metro: Metro, goals: Sequence[_Goal], *, now_year: int = PLAN_NOW_YEAR
) -> list[str]:
    """Return a warning per target year before the first compute site or before ``now_year``.

    Parameters
    ----------
    metro
        The prepared metro.
    goals
        The goals planned for.
    now_year
        The year the plan is made in (:data:`PLAN_NOW_YEAR`).

    Returns
    -------
    list of str
        One sentence per odd target year (none when every year is ahead).
    """
    years = metro.inputs.sites["online_year"].dropna()
    first = int(years.min()) if len(years) and len(years) == len(metro.inputs.sites) else None
    out = []
    for g in goals:
        odd = []
        if g.year < now_year:
            odd.append(f"in the past (plans are made in {now_year})")
        if first is not None and g.year < first:
            odd.append(f"before the first compute site comes online ({first}): no site counts")
        if odd:
            out.append(
                f"target year {g.year} is {' and '.join(odd)}; the plan shows what that year "
                "would have needed"
            )
    return out


def spur_words(metro: Metro) -> str:
    """How the infeasibility message names demand without access (spurs on or off)."""
    if metro.config.plan.access:
        return "has no access that any spur reaches"
    return "has no access (fibre spurs are off: plan.access is false)"


def limits_failure(
    goals: Sequence[_Goal],
    stages: list[solvers.Stage],
    baseline: Mapping[int, np.ndarray],
    samples: Samples,
    cost: np.ndarray,
    *,
    max_builds: int | None,
    max_cost: float | None,
    time_limit_s: float,
) -> str:
    """Describe why the limits cannot reach the targets: the first year that fails, its best.

    Each year is tried alone within the limits (maximal covering); the first whose best share
    misses its target is named. When every year can be met alone, the years cannot all be
    met with the same builds (a build of one year stays for the next), and the message says so.

    Returns
    -------
    str
        The problem, for an :class:`~latcircle.errors.InputError` on ``--max-sites/--max-cost``.
    """
    lim = ", ".join(
        s
        for s in (
            f"at most {max_builds} builds" if max_builds is not None else "",
            f"a cost of at most {max_cost:g}" if max_cost is not None else "",
        )
        if s
    )
    bests = []
    for g, st in zip(goals, stages, strict=True):
        built, w, _ = solvers.max_cover(
            st, cost, max_builds=max_builds, max_cost=max_cost, time_limit_s=time_limit_s
        )
        best = share_of(float(samples.weight[baseline[g.year]].sum()) + w, samples.total)
        if not meets(best, g.share):
            return (
                f"the targets cannot be reached with {lim}: the {g.year} target fails: best "
                f"{g.basis} share by {g.year} {best:.2%} ({int(built.sum())} builds) against "
                f"{g.share:.1%}"
            )
        bests.append(f"{g.year} {best:.2%}")
    return (
        f"the targets cannot be reached with {lim}: each year can be met alone "
        f"({', '.join(bests)}), not all of them with the same builds"
    )


def nothing_to_build(result: _Plan) -> str | None:
    """Return "nothing to build: 2027 and 2028 already met (...)" when no build is needed.

    Parameters
    ----------
    result
        The plan.

    Returns
    -------
    str or None
        The sentence with each year's share and target, or ``None`` when the plan builds.
    """
    if len(result.table) or not all(
        meets(result.baseline_share[g.year], g.share) for g in result.goals
    ):
        return None
    years = [str(g.year) for g in result.goals]
    joined = " and ".join([", ".join(years[:-1]), years[-1]] if len(years) > 1 else years)
    shares = "; ".join(
        f"{g.year}: {result.baseline_share[g.year]:.2%} against {g.share:.1%}" for g in result.goals
    )
    return f"nothing to build: {joined} already met on {result.basis} ({shares})"


def drop_idle_builds(
    stages: list[solvers.Stage], cost: np.ndarray, sol: solvers.Solution
) -> solvers.Solution:
    """Drop the zero-cost builds a plan meets every target without.

    A build that costs nothing leaves the solver's objective unchanged whether it is built or
    not, so HiGHS may keep one that covers nothing new. Each zero-cost build of the plan (last
    index first, for a deterministic result) is removed from every stage when every stage's
    need is still met without it; the cost is unchanged.

    Parameters
    ----------
    stages
        The instance.
    cost
        Cost of each build.
    sol
        A plan (a feasible :class:`~latcircle.analysis.plan.solve.Solution`).

    Returns
    -------
    Solution
        ``sol`` itself when nothing is idle, else a copy without the idle builds.
    """
    if not sol.feasible or not sol.built:
        return sol
    built = [b.copy() for b in sol.built]
    for j in np.flatnonzero(built[-1] & (cost <= 0))[::-1].tolist():
        trial = [b.copy() for b in built]
        for b in trial:
            b[j] = False
        if all(
            solvers.covered_weight(st, b) >= st.need - st.tol
            for st, b in zip(stages, trial, strict=True)
        ):
            built = trial
    if all((a == b).all() for a, b in zip(built, sol.built, strict=True)):
        return sol
    return dataclasses.replace(sol, built=built)
