"""Progress toward the coverage targets: are we on track, year by year.

:func:`progress_table` evaluates every year from the earliest site ``online_year`` to the last
target year (one :meth:`Metro.scenario` per distinct set of online sites, on samples located
once) and judges each year against the target in force; :func:`progress_record` describes the
table (the rule, the targets with their sources and resolved bases). Each row also splits the
uncovered weight by cause (*no access*, *unreachable*, *too far*:
:func:`latcircle.analysis.coverage.cause_codes`). :func:`progress_years` is the table a run
computes (the target years and the run's own year); :func:`shortfall_year` picks the year whose
clusters a planner should act on. The interconnect tier is
:mod:`latcircle.analysis.interconnect`, where to build :mod:`latcircle.analysis.clusters`;
:func:`latcircle.pipeline.write_progress` writes all three into a run's folder.

The status rule
---------------
The **target in force** in a year is the first target whose year is at or after it (the last
target once every target year has passed). A year's status on a basis is

* ``met`` when its share reaches the target share (to within :data:`MET_TOLERANCE`:
  :func:`meets`, the one home of the rule);
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
from typing import Any, overload

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import (
    BASES,
    CAUSE_CODES,
    CAUSES,
    Samples,
    one_weight,
    share_of,
    weight_where,
)
from latcircle.analysis.metro import Metro, Scenario
from latcircle.config import Target
from latcircle.errors import InputError

__all__ = [
    "MET_TOLERANCE",
    "PROGRESS_COLUMNS",
    "STATUSES",
    "STATUS_RULE",
    "auto_basis",
    "meets",
    "progress_record",
    "progress_table",
    "progress_years",
    "resolve_basis",
    "shortfall_year",
    "year_range",
]

log = logging.getLogger(__name__)

MET, ON_TRACK, BEHIND = "met", "on track", "behind"
#: Every status a judged year can have.
STATUSES = (MET, ON_TRACK, BEHIND)

#: A share within this of the target counts as meeting it (floating-point slack only).
MET_TOLERANCE = 1e-9


@overload
def meets(share: float, target: float) -> bool: ...


@overload
def meets(share: np.ndarray, target: float | np.ndarray) -> np.ndarray: ...


def meets(share: float | np.ndarray, target: float | np.ndarray) -> bool | np.ndarray:
    """Return whether a share meets a target share: **the** met rule.

    A share meets its target when ``share >= target - MET_TOLERANCE`` (the tolerance is
    floating-point slack only, so a share exactly at the target meets it). A NaN share (no
    weight to share) never meets. The status of ``progress.csv`` (``met`` and, on the planned
    sites, ``on track``), the national CAICT headline and the planner's reachability check
    all call this.

    Parameters
    ----------
    share
        The share (a float, or an array of them).
    target
        The target share (a float, or an array broadcasting against ``share``).

    Returns
    -------
    bool or numpy.ndarray
        A bool for a scalar share and target, else a boolean array, elementwise.
    """
    out = np.asarray(share, dtype=float) >= np.asarray(target, dtype=float) - MET_TOLERANCE
    return bool(out) if out.ndim == 0 else out


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
    "no_access",
    "unreachable",
    "too_far",
    "total",
    "share",
    "target_year",
    "target_share",
    "judged",
    "planned_share",
    "status",
    "gap",
]
#: Preference order of ``auto``: the official basis first (a rule of its own, not the report
#: order of BASES, although today they agree).
_AUTO_ORDER = ("key_sites", "population", "area")


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
        return auto_basis(have)
    if target.basis not in have:
        msg = (
            f"the {target.year} target is judged on {target.basis}, but the city has no "
            f"{target.basis} input"
        )
        raise InputError(source, "targets.basis", msg)
    return target.basis


def auto_basis(bases: Iterable[str]) -> str:
    """Return the basis ``auto`` means for ``bases``: key sites, else population, else area.

    Parameters
    ----------
    bases
        The bases the metro has (:attr:`Metro.bases`).

    Returns
    -------
    str
    """
    have = set(bases)
    return next(b for b in _AUTO_ORDER if b in have)


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
        Scenarios already solved (e.g. a run's), reused when a year has the same sites on
        the same network.

    Returns
    -------
    pandas.DataFrame
        One row per year × basis, columns :data:`PROGRESS_COLUMNS`. ``target_year``,
        ``target_share``, ``planned_share``, ``status`` and ``gap`` are empty without
        targets. ``gap`` is in ``unit`` (key sites, people, km²). ``no_access``,
        ``unreachable`` and ``too_far`` split the uncovered weight by cause at the
        threshold (they add up with ``covered`` to ``total``).

    Raises
    ------
    InputError
        When a target names a basis the city has no input for.
    """
    targets = metro.config.targets if targets is None else targets
    goals = _goals(metro, targets)
    years = year_range(metro, targets) if years is None else sorted(set(years))
    cache = _ScenarioCache(metro, reuse)
    tally = _Tally()  # a target year's planned share is asked by every year before it
    rows: list[dict[str, Any]] = []
    for year in years:
        goal = _in_force(goals, year)
        scenario = cache.get(year)
        planned = cache.get(goal.year) if goal is not None else None
        for basis in metro.bases:
            rows.append(
                _progress_row(
                    year,
                    basis,
                    scenario,
                    planned,
                    goal,
                    budget_ms=metro.config.budget_ms,
                    tally=tally,
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
    bases = metro.bases
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
        # Columns zipped (the values itertuples gives, without a namedtuple class per call).
        "status_by_year": {
            str(int(y)): s for y, s in zip(judged["year"], judged["status"], strict=True)
        },
        "share_by_year": {
            str(int(y)): round(float(v), 6)
            for y, v in zip(judged["year"], judged["share"], strict=True)
        },
    }


class _ScenarioCache:
    """One solve per distinct set of online sites on each year's network."""

    def __init__(self, metro: Metro, reuse: Sequence[Scenario]) -> None:
        self.metro = metro
        # The network is part of the key: links with an online year make the same sites
        # another solve in a year they are (not yet) built.
        self.solved: dict[tuple[bytes, float | None], Scenario] = {
            (np.asarray(s.online, bool).tobytes(), metro.view_key(s.year)): s for s in reuse
        }

    def get(self, year: int) -> Scenario:
        key = (self.metro.online(year).tobytes(), self.metro.view_key(year))
        if key not in self.solved:
            self.solved[key] = self.metro.scenario(year=year)
        return self.solved[key]


def _goals(metro: Metro, targets: Sequence[Target]) -> list[_Goal]:
    bases = metro.bases
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


class _Tally:
    """A scenario's covered, total and by-cause weight per basis and threshold, summed once.

    Keyed by the scenario object (alive for the whole table, in its
    :class:`_ScenarioCache`). ``covered`` sums the weights where the status code is
    *covered*, which is exactly where :func:`~latcircle.analysis.coverage.covered` holds
    (:func:`~latcircle.analysis.coverage.cause_codes` sets it last): the same samples in
    the same order, the same float.
    """

    def __init__(self) -> None:
        self._done: dict[tuple[int, str, float], tuple[float, float, dict[str, float]]] = {}
        self._kept: list[object] = []  # the keys' objects stay alive: no id is reused
        self._totals: dict[int, float] = {}  # per samples object: its weight summed once
        self._ones: dict[int, bool] = {}  # per samples object: all of one weight

    def get(
        self, scenario: Scenario, basis: str, threshold_ms: float
    ) -> tuple[float, float, dict[str, float]]:
        """Return ``(covered, total, {cause: weight})`` of ``scenario`` on ``basis``."""
        key = (id(scenario), basis, threshold_ms)
        if key not in self._done:
            self._kept.append(scenario)
            ev = scenario.evaluations[basis]
            w = ev.samples.weight
            codes = ev.codes(threshold_ms)
            sums = np.bincount(codes, weights=w, minlength=5)
            inside = codes == CAUSE_CODES["covered"]
            # One weight (area cells, key sites): the first k weights sum as any k of them.
            one = self._one(ev.samples)
            self._done[key] = (
                weight_where(w, inside, one=one),
                self._total(ev.samples),
                {cause: float(sums[CAUSE_CODES[cause]]) for cause in CAUSES},
            )
        return self._done[key]

    def _one(self, samples: Samples) -> bool:
        """Whether ``samples`` are all of one weight, once per samples object.

        (:func:`~latcircle.analysis.coverage.one_weight`.)
        """
        if id(samples) not in self._ones:
            self._kept.append(samples)
            self._ones[id(samples)] = one_weight(samples.weight)
        return self._ones[id(samples)]

    def _total(self, samples: Samples) -> float:
        """Return ``samples``' summed weight (the same sum for every year and threshold)."""
        if id(samples) not in self._totals:
            self._kept.append(samples)
            self._totals[id(samples)] = samples.total
        return self._totals[id(samples)]


def _progress_row(
    year: int,
    basis: str,
    scenario: Scenario,
    planned: Scenario | None,
    goal: _Goal | None,
    *,
    budget_ms: float,
    tally: _Tally,
) -> dict[str, Any]:
    threshold = goal.threshold_ms if goal is not None else budget_ms
    covered, total, causes = tally.get(scenario, basis, threshold)
    share = share_of(covered, total)
    row: dict[str, Any] = {
        "year": year,
        "basis": basis,
        "unit": BASES[basis],
        "threshold_ms": threshold,
        "sites_online": int(np.count_nonzero(scenario.online)),
        "covered": covered,
        **causes,
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
    p_cov, p_tot, _ = tally.get(planned, basis, threshold)
    planned_share = share_of(p_cov, p_tot)
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
    if meets(share, goal.share):
        return MET
    if year < goal.year and meets(planned_share, goal.share):
        return ON_TRACK
    return BEHIND


def _gap(basis: str, shortfall: float) -> float:
    shortfall = max(shortfall, 0.0)
    if basis == "area":
        return shortfall
    return float(np.ceil(shortfall - 1e-6))


def shortfall_year(progress: pd.DataFrame | None, scenario: Scenario) -> int | None:
    """Return the year whose uncovered clusters a planner should act on.

    The run's scenario year when it has one; otherwise the first target year whose judged
    status is not met (the year that falls short); otherwise ``None`` (the run's scenario).

    Parameters
    ----------
    progress
        The progress table (:func:`progress_table`).
    scenario
        The run's scenario.

    Returns
    -------
    int or None
        The year to act on, or ``None`` for the run's own (all-sites) scenario.
    """
    if scenario.year is not None or progress is None or progress.empty:
        return scenario.year
    judged = progress[progress["judged"].astype(bool)]
    target_years = judged[judged["year"] == judged["target_year"]]
    short = target_years[target_years["status"] != MET].sort_values("year")
    return int(short["year"].iloc[0]) if len(short) else None


def progress_years(metro: Metro, solved: Sequence[Scenario]) -> pd.DataFrame | None:
    """Return the progress table over the target years and the first scenario's year.

    Parameters
    ----------
    metro
        The prepared metro.
    solved
        Scenarios already solved on it, the run's first (its year is added to the years);
        reused when a year has the same online sites.

    Returns
    -------
    pandas.DataFrame or None
        :func:`progress_table` over those years; ``None`` when there is no year to judge
        (no target and no scenario year).
    """
    years = set(year_range(metro))
    if solved and solved[0].year is not None:
        years.add(solved[0].year)
    if not years:
        return None
    return progress_table(metro, years=sorted(years), reuse=solved)
