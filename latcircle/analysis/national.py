"""Across metros: which cities meet the targets, which fall short, and by how much.

Compute only. :func:`national_result` rolls the outputs of several city runs (read back by
:func:`latcircle.output.readback.read_city_outputs` from ``run.json``, ``coverage.csv``,
``progress.csv`` and, when present, ``progress.json`` and ``clusters.csv``) up into the tables
that :func:`latcircle.pipeline.national_rollup` writes, atomically, into one folder
(``outputs/national``):

``summary.csv``
    One row per city: the shares within 1 ms on each basis (the run's scenario), population
    and key sites, and for each target year the judged basis, the target, the share with the
    sites planned online by that year, the status and the gap.
``progress.csv``
    One row per year: how many metros report, meet their target in force, are on track or
    behind; the share meeting it; the population-weighted mean of their judged shares; and
    the people within the target's budget over the people of those metros.
``shortfalls.md``
    In words: which cities fall short of each target and by how much, and where their
    largest uncovered clusters are.

The folders may be city output folders or folders holding them (``outputs/``); anything
that is not a city output (no ``run.json``: ``outputs/national`` itself, temporary folders)
is skipped and listed in :attr:`NationalResult.skipped`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import BASES, share_of
from latcircle.analysis.progress import meets
from latcircle.errors import InputError

__all__ = [
    "HEADLINE_SHARES",
    "METROS",
    "METROS_MET",
    "POOLED_SHARE",
    "CityOutputs",
    "NationalResult",
    "SweepCity",
    "caict_headline",
    "headline_table",
    "national_progress",
    "national_result",
    "summary_table",
    "sweep_counts",
    "target_years",
    "totals_note",
]

#: The headline budget of the summary's shares.
HEADLINE_MS = 1.0
#: Shares of key sites the CAICT-style headline counts cities against (2027 and 2028 targets).
HEADLINE_SHARES = (0.70, 0.75)

#: Column of the national ``progress.csv`` holding the pooled share: people within the
#: target's budget over the people of the metros counted (what the national chart plots).
POOLED_SHARE = "population_share"
#: Columns of the national ``progress.csv``: metros meeting the target in force, and counted.
METROS_MET = "met"
METROS = "metros"


@dataclass(frozen=True)
class CityOutputs:
    """One city's run outputs, as read back.

    Attributes
    ----------
    folder
        The city's output folder.
    city
        The city id.
    name
        Its display name.
    synthetic
        Every input is generated (the demo).
    hypothetical
        The compute sites are a scenario, not known facilities.
    scenario_year
        The run's scenario year (``None``: every site).
    coverage
        ``coverage.csv``.
    progress
        ``progress.csv``.
    targets
        The targets from ``progress.json`` (year, share, judged_on, source), when present.
    clusters
        ``clusters.csv`` when present.
    run
        The run's name: its folder's name (two scenarios of one city are named apart).
    in_totals
        Counted in the national totals (see :func:`national_result`).
    pages
        The run's pages present in its folder when it was read (``report.html``,
        ``map.html``: :data:`latcircle.output.readback.CITY_PAGES`); the dashboard links
        only these.
    stale
        Why the outputs are stale (``stale.json``: the city's last national run failed and
        these are older outputs), empty when they are not. A stale run is listed but not
        counted in the national totals nor in the headline.
    """

    folder: Path
    city: str
    name: str
    synthetic: bool
    hypothetical: bool
    scenario_year: int | None
    coverage: pd.DataFrame
    progress: pd.DataFrame
    targets: list[dict[str, Any]]
    clusters: pd.DataFrame | None
    run: str = ""
    in_totals: bool = True
    pages: tuple[str, ...] = ()
    stale: str = ""


#: What became of a city of a national sweep (``summary.csv``'s ``outcome``), and of a run
#: read back by a plain roll-up (``read``, or ``stale``: its last run failed).
OUTCOMES = ("run", "up to date", "failed", "read", "stale")


@dataclass(frozen=True)
class SweepCity:
    """One city config asked of a national sweep, and what became of it.

    Attributes
    ----------
    config
        The config file, as the user named it.
    city
        The city id (empty when the config could not be read).
    outcome
        ``run``, ``up to date`` or ``failed`` (:data:`OUTCOMES`).
    reason
        Why it failed, or why it ran again (outputs damaged); empty otherwise.
    """

    config: str
    city: str
    outcome: str
    reason: str = ""


@dataclass(frozen=True)
class NationalResult:
    """What :func:`latcircle.pipeline.national_rollup` wrote.

    Attributes
    ----------
    out
        The output folder.
    summary
        ``summary.csv``.
    progress
        ``progress.csv``.
    cities
        Runs read (their folder names; the city id for one run per city), in order.
    skipped
        Folders that are not city outputs, with the reason.
    folders
        The city output folders read, in the order of ``cities``.
    shortfalls
        ``shortfalls.md``, the plain-language account (words are presentation: written by
        :func:`latcircle.present.shortfalls.shortfalls_text`; empty until then).
    runs
        The runs read, in the order of ``cities``, each named (``run``) and marked as counted
        in the national totals or not (``in_totals``).
    sweep
        The cities asked of the national sweep, in config order (empty for a plain
        roll-up): ``summary.csv`` lists the failed ones too.
    """

    out: Path
    summary: pd.DataFrame
    progress: pd.DataFrame
    cities: list[str]
    skipped: list[tuple[Path, str]]
    folders: list[Path] = field(default_factory=list)
    shortfalls: str = ""
    runs: tuple[CityOutputs, ...] = ()
    sweep: tuple[SweepCity, ...] = ()


def national_result(
    cities: Sequence[CityOutputs],
    *,
    out: Path,
    skipped: Sequence[tuple[Path, str]] = (),
    include_synthetic: bool = False,
    include_hypothetical: bool = False,
    sweep: Sequence[SweepCity] = (),
) -> NationalResult:
    """Roll city outputs up into a national summary and progress table.

    Every run is listed (``summary.csv``, flagged), but the national totals
    (``progress.csv``) count only real cities with known sites, once per city: synthetic
    cities and cities whose compute sites are hypothetical are left out unless asked, and
    of several runs of one city (scenarios named apart by their folders) only the first by
    folder name counts (``in_totals`` says which).

    Parameters
    ----------
    cities
        The cities' outputs, read back.
    out
        The national output folder the result is for.
    skipped
        Folders that were not city outputs, with the reason (listed in the note).
    include_synthetic
        Count synthetic cities (the demo) in the national totals.
    include_hypothetical
        Count cities whose compute sites are hypothetical in the national totals.
    sweep
        The cities asked of a national sweep: each run's ``outcome`` in ``summary.csv``
        comes from it, and the failed ones are listed there too (no figures, not counted).

    Returns
    -------
    NationalResult

    Raises
    ------
    InputError
        When two folders hold the same city.
    """
    unique = _counted(
        _unique(list(cities)),
        include_synthetic=include_synthetic,
        include_hypothetical=include_hypothetical,
    )
    return NationalResult(
        out=Path(out),
        summary=_with_outcomes(summary_table(unique), unique, sweep),
        progress=national_progress([c for c in unique if c.in_totals]),
        cities=[c.run for c in unique],
        skipped=list(skipped),
        folders=[c.folder for c in unique],
        runs=tuple(unique),
        sweep=tuple(sweep),
    )


def _with_outcomes(
    frame: pd.DataFrame, runs: Sequence[CityOutputs], sweep: Sequence[SweepCity]
) -> pd.DataFrame:
    """Add ``outcome`` and ``reason`` to the summary, and a row per failed sweep city."""
    asked = {s.city: s for s in sweep if s.city and s.outcome != "failed"}
    outcome, reason = [], []
    for c in runs:
        if c.stale:
            outcome.append("stale")
            reason.append(c.stale)
        elif c.city in asked:
            outcome.append(asked[c.city].outcome)
            reason.append(asked[c.city].reason)
        else:
            outcome.append("read")
            reason.append("")
    frame = frame.assign(outcome=outcome, reason=reason) if len(frame) else frame
    failed = [
        {
            "city": s.city,
            "run": s.city or s.config,
            "name": s.city or s.config,
            "synthetic": False,
            "sites_hypothetical": False,
            "in_totals": False,
            "totals_note": "failed: no outputs, not in the national totals",
            "outcome": "failed",
            "reason": s.reason,
        }
        for s in sweep
        if s.outcome == "failed"
    ]
    if not failed:
        return frame
    rows = pd.DataFrame(failed, columns=list(frame.columns) if len(frame) else None)
    out = pd.concat([frame, rows], ignore_index=True) if len(frame) else rows
    for col in ("synthetic", "sites_hypothetical", "in_totals"):
        out[col] = out[col].astype(bool)
    for col in out.columns:  # text columns of a failed city: empty, as for a run without it
        if col.startswith(("status_", "basis_")):
            out[col] = out[col].fillna("")
    if "scenario_year" in out:
        out["scenario_year"] = out["scenario_year"].astype("Int64")
    return out


def sweep_counts(sweep: Sequence[SweepCity]) -> dict[str, int]:
    """Return how many cities a sweep asked, ran, found up to date and saw fail.

    Parameters
    ----------
    sweep
        :attr:`NationalResult.sweep`.

    Returns
    -------
    dict
        ``asked``, ``run``, ``up to date``, ``failed``.
    """
    counts = {"asked": len(sweep)}
    for outcome in ("run", "up to date", "failed"):
        counts[outcome] = sum(s.outcome == outcome for s in sweep)
    return counts


def _unique(cities: list[CityOutputs]) -> list[CityOutputs]:
    """Refuse two runs that cannot be told apart (same city, same folder name)."""
    seen: dict[tuple[str, str], Path] = {}
    for c in cities:
        key = (c.city, c.run)
        if key in seen:
            msg = (
                f"city {c.city!r} is also in {seen[key]} under the same folder name: "
                "name two scenarios of one city apart (e.g. outputs/<id>-2027)"
            )
            raise InputError(c.folder / "run.json", "city.id", msg)
        seen[key] = c.folder
    ordered = sorted(cities, key=lambda c: (c.city, c.run))
    # One run per city is named by its city id; several keep their folder names.
    counts = {c.city: sum(o.city == c.city for o in ordered) for c in ordered}
    return [c if counts[c.city] > 1 else dataclasses.replace(c, run=c.city) for c in ordered]


def _counted(
    cities: list[CityOutputs], *, include_synthetic: bool, include_hypothetical: bool
) -> list[CityOutputs]:
    """Mark which runs count in the national totals (see :func:`national_result`)."""
    out: list[CityOutputs] = []
    seen: set[str] = set()
    for c in cities:
        counted = (
            not c.stale
            and (include_synthetic or not c.synthetic)
            and (include_hypothetical or not c.hypothetical)
            and c.city not in seen
        )
        if counted:
            seen.add(c.city)
        out.append(dataclasses.replace(c, in_totals=counted))
    return out


def totals_note(c: CityOutputs, cities: Sequence[CityOutputs]) -> str:
    """Return why a run is not in the national totals ('' when it is).

    Parameters
    ----------
    c
        The run.
    cities
        Every run of the roll-up (another run of the same city may be the one counted).

    Returns
    -------
    str
    """
    if c.in_totals:
        return ""
    if c.stale:
        return f"stale ({c.stale}): not in the national totals; rerun the city"
    if any(o.in_totals and o.city == c.city for o in cities):
        return "another run of the same city is counted"
    reasons = [
        w for w, on in (("synthetic", c.synthetic), ("hypothetical sites", c.hypothetical)) if on
    ]
    return f"{' and '.join(reasons) or 'left out'}: not in the national totals unless asked"


# --------------------------------------------------------------------------- tables


def summary_table(cities: Sequence[CityOutputs]) -> pd.DataFrame:
    """Return one row per city: headline shares, size, and status against each target.

    Parameters
    ----------
    cities
        The cities read.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``run`` (the folder's name when a city has several runs), ``name``,
        ``synthetic``, ``sites_hypothetical``, ``in_totals`` and ``totals_note`` (why not),
        ``scenario_year``,
        ``population``, ``key_sites`` (total weight), ``share_<basis>`` within 1 ms for each
        basis (the run's scenario), then per target year ``Y``: ``basis_Y``, ``target_Y``,
        ``share_Y`` (the judged basis, sites planned online by ``Y``), ``status_Y``,
        ``gap_Y`` (in the basis' unit).
    """
    years = target_years(cities)
    rows = []
    for c in cities:
        row: dict[str, Any] = {
            "city": c.city,
            "run": c.run,
            "name": c.name,
            "synthetic": c.synthetic,
            "sites_hypothetical": c.hypothetical,
            "in_totals": c.in_totals,
            "totals_note": totals_note(c, cities),
            "scenario_year": c.scenario_year,
            "population": _total(c.coverage, "population"),
            "key_sites": _total(c.coverage, "key_sites"),
        }
        for basis in BASES:
            row[f"share_{basis}"] = _headline(c.coverage, basis)
        for year in years:
            judged = _judged(c, year, target_year=year)
            row[f"basis_{year}"] = judged["basis"] if judged is not None else ""
            for key, col in (("target", "target_share"), ("share", "share"), ("gap", "gap")):
                row[f"{key}_{year}"] = judged[col] if judged is not None else np.nan
            row[f"status_{year}"] = judged["status"] if judged is not None else ""
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["scenario_year"] = frame["scenario_year"].astype("Int64")
    return frame


def national_progress(cities: Sequence[CityOutputs]) -> pd.DataFrame:
    """Return, per year, how many metros meet their target in force, and pooled shares.

    Parameters
    ----------
    cities
        The cities read.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``target_year`` and ``target_share`` (empty when the metros' targets in
        force differ), ``metros`` (reporting that year), ``met``, ``on_track``, ``behind``,
        ``share_met`` (met / metros), ``share_pop_weighted`` (the metros' judged shares
        weighted by their population, over metros with a population input),
        ``population_covered``, ``population_total`` and ``population_share`` (people within
        the target's budget over the people of the metros with a population input).
    """
    years = sorted({int(y) for c in cities for y in c.progress["year"]})
    rows = []
    for year in years:
        judged = [(c, j) for c in cities if (j := _judged(c, year)) is not None]
        status = [j["status"] for _, j in judged]
        rows_pop = [(j, _row(c, year, "population")) for c, j in judged]
        pops = [(j, p) for j, p in rows_pop if p is not None and p["total"] > 0]
        weights = np.array([p["total"] for _, p in pops])
        shares = np.array([j["share"] for j, _ in pops])
        covered = float(sum(p["covered"] for _, p in pops))
        total = float(weights.sum())
        rows.append(
            {
                "year": year,
                "target_year": _same([j["target_year"] for _, j in judged]),
                "target_share": _same([j["target_share"] for _, j in judged]),
                "metros": len(judged),
                "met": status.count("met"),
                "on_track": status.count("on track"),
                "behind": status.count("behind"),
                "share_met": share_of(status.count("met"), len(judged)),
                "share_pop_weighted": share_of(float((weights * shares).sum()), total),
                "population_covered": covered if pops else np.nan,
                "population_total": total if pops else np.nan,
                "population_share": share_of(covered, total),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "year",
            "target_year",
            "target_share",
            "metros",
            "met",
            "on_track",
            "behind",
            "share_met",
            "share_pop_weighted",
            "population_covered",
            "population_total",
            "population_share",
        ],
    )
    frame["target_year"] = frame["target_year"].astype("Int64")
    return frame


def target_years(cities: Sequence[CityOutputs]) -> list[int]:
    """Return every target year any city judges a basis against, ascending.

    Parameters
    ----------
    cities
        The cities read.

    Returns
    -------
    list of int
    """
    years: set[int] = set()
    for c in cities:
        p = c.progress
        years.update(int(y) for y in p.loc[p["judged"], "target_year"].dropna())
    return sorted(years)


def _judged(c: CityOutputs, year: int, *, target_year: int | None = None) -> pd.Series | None:
    p = c.progress
    sel = p[p["judged"] & (p["year"] == year)]
    if target_year is not None:
        sel = sel[sel["target_year"] == target_year]
    return sel.iloc[0] if len(sel) else None


def _row(c: CityOutputs, year: int, basis: str) -> pd.Series | None:
    p = c.progress
    sel = p[(p["basis"] == basis) & (p["year"] == year)]
    return sel.iloc[0] if len(sel) else None


def _metro_rows(coverage: pd.DataFrame, basis: str) -> pd.DataFrame:
    return coverage[(coverage["scope"] == "metro") & (coverage["basis"] == basis)]


def _total(coverage: pd.DataFrame, basis: str) -> float:
    rows = _metro_rows(coverage, basis)
    return float(rows["total"].iloc[0]) if len(rows) else np.nan


def _headline(coverage: pd.DataFrame, basis: str) -> float:
    rows = _metro_rows(coverage, basis)
    rows = rows[np.isclose(rows["threshold_ms"].astype(float), HEADLINE_MS)]
    return float(rows["share"].iloc[0]) if len(rows) else np.nan


def _same(values: list[Any]) -> Any:
    clean = {float(v) for v in values if not pd.isna(v)}
    return clean.pop() if len(clean) == 1 else np.nan


# --------------------------------------------------------------------------- CAICT headline


def caict_headline(
    cities: Sequence[CityOutputs],
    *,
    shares: Sequence[float] = HEADLINE_SHARES,
    budget_ms: float = HEADLINE_MS,
    sweep: Sequence[SweepCity] = (),
) -> pd.DataFrame:
    """Count cities with a 1 ms circle, CAICT-style, from their coverage tables.

    Every city with key sites is counted, once: synthetic cities and cities with
    hypothetical sites too (unlike the national totals of ``progress.csv``), so that a sweep
    of scenarios or of the demo set has a headline; how many of the cities counted are
    synthetic or have hypothetical sites is in the table itself (``cities_synthetic``,
    ``cities_sites_hypothetical``). Of several runs of one city, the one counted in the
    national totals is used (else the first by folder name).

    Parameters
    ----------
    cities
        The cities read (:func:`latcircle.output.readback.read_city_outputs`), in the
        roll-up's order (:attr:`NationalResult.runs`).
    shares
        Key-site shares to count cities against.
    budget_ms
        The circle's budget (the ``threshold_ms`` row of ``coverage.csv``).
    sweep
        The cities asked of the sweep: the denominator then says how many were asked and
        failed (no outputs, so not in it), and ``cities_asked``, ``cities_run``,
        ``cities_up_to_date`` and ``cities_failed`` rows follow (of the cities asked).

    Returns
    -------
    pandas.DataFrame
        See :func:`headline_table`, plus ``of_what``: the denominator in words. Cities
        without key sites, and stale outputs (the city's last run failed), are not counted.
    """
    chosen: dict[str, CityOutputs] = {}
    for c in cities:
        if c.stale:
            continue
        if c.city not in chosen or (c.in_totals and not chosen[c.city].in_totals):
            chosen[c.city] = c
    covered, total, synthetic, hypothetical = [], [], [], []
    for c in chosen.values():
        rows = _metro_rows(c.coverage, "key_sites")
        rows = rows[np.isclose(rows["threshold_ms"].astype(float), budget_ms)]
        if len(rows) and float(rows["total"].iloc[0]) > 0:
            covered.append(float(rows["covered"].iloc[0]))
            total.append(float(rows["total"].iloc[0]))
            synthetic.append(c.synthetic)
            hypothetical.append(c.hypothetical)
    table = headline_table(
        np.array(covered, dtype=float),
        np.array(total, dtype=float),
        shares=shares,
        synthetic=np.array(synthetic, dtype=bool),
        hypothetical=np.array(hypothetical, dtype=bool),
    )
    return _with_denominators(table, n_read=len(chosen), sweep=sweep)


def _with_denominators(
    table: pd.DataFrame, *, n_read: int, sweep: Sequence[SweepCity]
) -> pd.DataFrame:
    """Say what each ``of`` counts; with a sweep, add the cities asked, run and failed."""
    n = int(table["of"].iloc[0]) if len(table) else 0
    cities = f"cities with outputs and key sites ({n} of {n_read} with outputs"
    if sweep:
        counts = sweep_counts(sweep)
        cities += f"; {counts['asked']} asked, {counts['failed']} failed: no outputs"
    cities += ")"
    words = {"key_sites_covered": "key sites of those cities, pooled"}
    of_what = [words.get(m, cities) for m in table["measure"]]
    table = table.assign(of_what=of_what)
    if not sweep:
        return table
    counts = sweep_counts(sweep)
    asked = float(counts["asked"])
    rows = [
        (f"cities_{k.replace(' ', '_')}", float(v), asked, share_of(v, asked), "cities asked")
        for k, v in counts.items()
    ]
    extra = pd.DataFrame(rows, columns=list(table.columns))
    return pd.concat([table, extra], ignore_index=True)


def headline_table(
    covered: np.ndarray,
    total: np.ndarray,
    *,
    shares: Sequence[float] = HEADLINE_SHARES,
    synthetic: np.ndarray | None = None,
    hypothetical: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the CAICT-style headline from each city's covered and total key sites.

    Parameters
    ----------
    covered, total
        Key sites (weight) within the budget, and in all, one entry per city (total > 0).
    shares
        Shares to count cities against. A city counts when its share (:func:`share_of`)
        meets the share by the status rule (:func:`latcircle.analysis.progress.meets`): a
        city exactly at the target meets it.
    synthetic, hypothetical
        Per city, whether it is synthetic / its compute sites are hypothetical (``None``:
        no city is).

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``value``, ``of`` (the denominator) and ``share``:
        ``cities_key_sites_ge_<pct>pct`` (cities at or above the share, of all cities),
        ``key_sites_covered`` (key sites within the budget pooled over the cities, of all),
        ``cities_synthetic`` and ``cities_sites_hypothetical`` (how many of the cities
        counted are synthetic / have hypothetical sites, of all cities).
    """
    n = len(total)
    ratio = np.array([share_of(float(c), float(t)) for c, t in zip(covered, total, strict=True)])
    rows = []
    for s in shares:
        count = int(np.sum(meets(ratio, s)))
        rows.append(
            (f"cities_key_sites_ge_{round(s * 100)}pct", float(count), float(n), share_of(count, n))
        )
    pooled_c, pooled_t = float(np.sum(covered)), float(np.sum(total))
    rows.append(("key_sites_covered", pooled_c, pooled_t, share_of(pooled_c, pooled_t)))
    for measure, flags in (
        ("cities_synthetic", synthetic),
        ("cities_sites_hypothetical", hypothetical),
    ):
        if flags is not None and len(flags) != n:
            msg = f"{measure}: {len(flags)} flags for {n} cities"
            raise ValueError(msg)
        flagged = 0 if flags is None else int(np.count_nonzero(np.asarray(flags, dtype=bool)))
        rows.append((measure, float(flagged), float(n), share_of(flagged, n)))
    return pd.DataFrame(rows, columns=["measure", "value", "of", "share"])
