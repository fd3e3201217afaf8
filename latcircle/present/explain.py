"""Why a figure is what it is: plain statements a run prints, records and reports.

A share that does not move is a finding, not a bug, but only when the run says why. Two
reasons are common and each changes what a planner should do:

* **the network data ends before the boundary**: places beyond the max drop from the
  network can never be covered, whatever compute is built (Wuhan: the OSM roads cover the
  urban core, and most of the municipality's area has no access);
* **later sites add nothing**: a site coming online in a year where the share on a basis
  stays the same (it serves places already covered, or places still over the budget).

:func:`explain_run` returns these statements for one run; :func:`target_status` picks the
progress row that says how the run's scenario year stands against the target in force.
Both are pure functions of tables the run already has. The statements are words, so they
live with presentation and print shares with :func:`latcircle.present.style.percent`;
:func:`latcircle.pipeline.run_city` calls :func:`explain_run` and keeps its lines in the
``RunResult`` and ``run.json``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import BASES
from latcircle.present.style import BASIS_WORDS, percent

__all__ = [
    "NETWORK_LIMIT_SHARE",
    "STALL_TOLERANCE",
    "explain_run",
    "target_status",
]

#: The network extent is called *the* limit when at least this share of the metro's area
#: lies beyond the max drop from the network (no access).
NETWORK_LIMIT_SHARE = 0.5
#: Covered weight changing by no more than this (relative to the total) counts as "no change".
STALL_TOLERANCE = 1e-9


def explain_run(
    coverage: pd.DataFrame,
    progress: pd.DataFrame | None,
    *,
    budget_ms: float,
    year: int | None,
    sites_online: int,
    sites: pd.DataFrame,
) -> list[str]:
    """Return plain statements explaining the run's figures, most important first.

    Parameters
    ----------
    coverage
        The run's coverage table (:func:`latcircle.analysis.coverage.coverage_table`).
    progress
        Its progress table (:func:`latcircle.analysis.progress.progress_table`), or ``None``.
    budget_ms
        The access budget.
    year
        The scenario year (``None``: every site).
    sites_online
        Sites online in the scenario.
    sites
        The sites (``site_id``, ``online_year``), to name the sites that add nothing.

    Returns
    -------
    list of str
        Possibly empty.
    """
    out = _no_site(year, sites_online, sites)
    out += _network_limit(coverage, budget_ms)
    out += _ceilings(coverage, progress, budget_ms)
    if progress is not None and len(progress):
        out += _stalls(progress, sites)
    return out


def target_status(progress: pd.DataFrame | None, year: int | None) -> pd.Series | None:
    """Return the judged progress row of ``year`` (the target in force and its status).

    Parameters
    ----------
    progress
        A progress table.
    year
        The scenario year; ``None`` (every site) picks the last year of the table, when
        every planned site is online.

    Returns
    -------
    pandas.Series or None
        ``None`` without progress, targets or a row for that year.
    """
    if progress is None or progress.empty:
        return None
    judged = progress[progress["judged"].astype(bool)]
    if judged.empty:
        return None
    pick = int(judged["year"].max()) if year is None else int(year)
    rows = judged[judged["year"] == pick]
    return rows.iloc[0] if len(rows) else None


# --------------------------------------------------------------------------- statements


def _no_site(year: int | None, sites_online: int, sites: pd.DataFrame) -> list[str]:
    if sites_online > 0:
        return []
    years = pd.to_numeric(sites["online_year"], errors="coerce").dropna()
    first = f"; the first site comes online in {int(years.min())}" if len(years) else ""
    when = f"in {year}" if year is not None else "in this scenario"
    return [f"no site online {when}: nothing is covered{first}"]


def _metro_at(coverage: pd.DataFrame, budget_ms: float) -> pd.DataFrame:
    at = coverage[(coverage["scope"] == "metro") & np.isclose(coverage["threshold_ms"], budget_ms)]
    return at.set_index("basis")


def _network_limit(coverage: pd.DataFrame, budget_ms: float) -> list[str]:
    at = _metro_at(coverage, budget_ms)
    if "area" not in at.index or not at.at["area", "total"] > 0:
        return []
    beyond = float(at.at["area", "no_access"] / at.at["area", "total"])
    if beyond < NETWORK_LIMIT_SHARE:
        return []
    others = [
        f"{percent(at.at[b, 'no_access'] / at.at[b, 'total'])} of its {BASIS_WORDS[b]}"
        for b in ("population", "key_sites")
        if b in at.index and at.at[b, "total"] > 0
    ]
    also = f" (and {', '.join(others)})" if others else ""
    return [
        "coverage is limited by the extent of the network data, not by compute sites: "
        f"{percent(beyond)} of the metro's area{also} lies beyond the max drop from the network, "
        "where no site can reach"
    ]


def _ceilings(coverage: pd.DataFrame, progress: pd.DataFrame | None, budget_ms: float) -> list[str]:
    """Targets no site can meet: the judged basis' share with access is below the target."""
    if progress is None or progress.empty:
        return []
    at = _metro_at(coverage, budget_ms)
    judged = progress[progress["judged"].astype(bool)].dropna(subset=["target_share"])
    out = []
    for (target_year, basis), rows in judged.groupby(["target_year", "basis"], sort=True):
        if basis not in at.index or not at.at[basis, "total"] > 0:
            continue
        ceiling = 1.0 - float(at.at[basis, "no_access"] / at.at[basis, "total"])
        target = float(rows["target_share"].iloc[0])
        if ceiling < target:
            words = BASIS_WORDS[str(basis)]
            out.append(
                f"the {int(target_year)} target ({percent(target, digits=0)} of {words}) cannot "
                f"be met on this network: only {percent(ceiling)} of {words} lie within the max "
                "drop of it (build access first)"
            )
    return out


def _stalls(progress: pd.DataFrame, sites: pd.DataFrame) -> list[str]:
    """Years whose new sites change no share (on any basis, or on the judged one)."""
    out = []
    by_year = _rows_by_year(progress)
    years = sorted(by_year)
    online_years = pd.to_numeric(sites["online_year"], errors="coerce")
    for prev, year in itertools.pairwise(years):
        now, before = by_year[year], by_year[prev]
        # Each year's first row in basis name order, as the sorted table has it.
        first_now, first_before = next(iter(now.values())), next(iter(before.values()))
        added = int(first_now["sites_online"] - first_before["sites_online"])
        if added <= 0:
            continue
        still = [b for b in BASES if b in now and _unchanged(before[b], now[b])]
        if not still:
            continue
        ids = sites.loc[(online_years > prev) & (online_years <= year), "site_id"].astype(str)
        who = _names(list(ids)) or f"{added} site(s)"
        if len(still) == len(now):
            out.append(f"sites coming online in {year} ({who}) add nothing: no share changes")
            continue
        judged = [b for b in still if bool(now[b]["judged"])]
        words = ", ".join(BASIS_WORDS[b] for b in (judged or still))
        out.append(
            f"sites coming online in {year} ({who}) add nothing to the share of {words}"
            + (" (the judged basis)" if judged else "")
        )
    return out


def _rows_by_year(progress: pd.DataFrame) -> dict[int, dict[str, dict[str, Any]]]:
    """Return the progress rows by year, then by basis in name order (plain values).

    What selecting each year's rows of the table sorted by basis and year and indexing them
    by basis gave (one row per year and basis, as the progress table has), without a frame
    per year.
    """
    columns = ["year", "basis", "sites_online", "total", "covered", "judged"]
    by_year: dict[int, dict[str, dict[str, Any]]] = {}
    for row in progress.sort_values(["basis", "year"])[columns].to_dict("records"):
        by_year.setdefault(int(row["year"]), {})[str(row["basis"])] = row
    return by_year


def _unchanged(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    total = float(now["total"]) or 1.0
    return abs(float(now["covered"]) - float(before["covered"])) <= STALL_TOLERANCE * total


def _names(ids: Sequence[str], limit: int = 5) -> str:
    more = f", +{len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more
