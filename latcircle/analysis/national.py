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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import BASES, share_of
from latcircle.errors import InputError

__all__ = [
    "CityOutputs",
    "NationalResult",
    "national_progress",
    "national_result",
    "shortfalls_text",
    "summary_table",
]

_BASIS_WORDS = {"key_sites": "key sites", "population": "people", "area": "area"}
_UNIT_WORDS = {"sites": "key sites", "people": "people", "km2": "km²"}
_CAUSE_WORDS = (("too_far", "too far (build compute)"), ("no_access", "no access (build access)"))
#: The headline budget of the summary's shares.
HEADLINE_MS = 1.0


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


@dataclass(frozen=True)
class NationalResult:
    """What :func:`national_rollup` wrote.

    Attributes
    ----------
    out
        The output folder.
    summary
        ``summary.csv``.
    progress
        ``progress.csv``.
    shortfalls
        ``shortfalls.md``, the plain-language account.
    cities
        City ids read, in order.
    skipped
        Folders that are not city outputs, with the reason.
    folders
        The city output folders read, in the order of ``cities``.
    """

    out: Path
    summary: pd.DataFrame
    progress: pd.DataFrame
    shortfalls: str
    cities: list[str]
    skipped: list[tuple[Path, str]]
    folders: list[Path] = field(default_factory=list)


def national_result(
    cities: Sequence[CityOutputs], *, out: Path, skipped: Sequence[tuple[Path, str]] = ()
) -> NationalResult:
    """Roll city outputs up into a national summary, progress table and shortfall note.

    Parameters
    ----------
    cities
        The cities' outputs, read back.
    out
        The national output folder the result is for.
    skipped
        Folders that were not city outputs, with the reason (listed in the note).

    Returns
    -------
    NationalResult

    Raises
    ------
    InputError
        When two folders hold the same city.
    """
    unique = _unique(list(cities))
    summary = summary_table(unique)
    progress = national_progress(unique)
    text = shortfalls_text(unique, summary, progress, skipped=list(skipped))
    return NationalResult(
        out=Path(out),
        summary=summary,
        progress=progress,
        shortfalls=text,
        cities=[c.city for c in unique],
        skipped=list(skipped),
        folders=[c.folder for c in unique],
    )


def _unique(cities: list[CityOutputs]) -> list[CityOutputs]:
    seen: dict[str, Path] = {}
    for c in cities:
        if c.city in seen:
            msg = f"city {c.city!r} is also in {seen[c.city]}: give each city once"
            raise InputError(c.folder / "run.json", "city.id", msg)
        seen[c.city] = c.folder
    return sorted(cities, key=lambda c: c.city)


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
        ``city``, ``name``, ``synthetic``, ``sites_hypothetical``, ``scenario_year``,
        ``population``, ``key_sites`` (total weight), ``share_<basis>`` within 1 ms for each
        basis (the run's scenario), then per target year ``Y``: ``basis_Y``, ``target_Y``,
        ``share_Y`` (the judged basis, sites planned online by ``Y``), ``status_Y``,
        ``gap_Y`` (in the basis' unit).
    """
    years = _target_years(cities)
    rows = []
    for c in cities:
        row: dict[str, Any] = {
            "city": c.city,
            "name": c.name,
            "synthetic": c.synthetic,
            "sites_hypothetical": c.hypothetical,
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
                "share_met": status.count("met") / len(judged) if judged else np.nan,
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


def _target_years(cities: Sequence[CityOutputs]) -> list[int]:
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


# --------------------------------------------------------------------------- words


def shortfalls_text(
    cities: Sequence[CityOutputs],
    summary: pd.DataFrame,
    progress: pd.DataFrame,
    *,
    skipped: Sequence[tuple[Path, str]] = (),
) -> str:
    """Say which cities fall short of each target, by how much, and where to build.

    Parameters
    ----------
    cities
        The cities read.
    summary
        Their :func:`summary_table`.
    progress
        Their :func:`national_progress`.
    skipped
        Folders skipped, listed at the end.

    Returns
    -------
    str
        Markdown.
    """
    by_id = {c.city: c for c in cities}
    lines = ["# Progress toward the 1 ms circle targets", ""]
    lines += [f"Metros: {len(cities)} ({', '.join(_label(c) for c in cities)}).", ""]
    lines += [
        "Each target is judged in its year, with the sites planned online by then "
        "(online_year at or before it). The status rule and each target's source are in "
        "every city's progress.json.",
        "",
    ]
    for year in _target_years(cities):
        lines += _target_section(year, summary, by_id)
    lines += _year_section(progress)
    if skipped:
        lines += ["## Skipped", ""]
        lines += [f"- {p}: {reason}" for p, reason in skipped]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _label(c: CityOutputs) -> str:
    flags = (("synthetic", c.synthetic), ("hypothetical sites", c.hypothetical))
    tags = [t for t, on in flags if on]
    return c.name + (f" [{', '.join(tags)}]" if tags else "")


def _target_section(year: int, summary: pd.DataFrame, by_id: dict[str, CityOutputs]) -> list[str]:
    rows = summary[summary[f"status_{year}"] != ""]
    short = rows[rows[f"status_{year}"] != "met"]
    sources = sorted({_source(by_id[c], year) for c in rows["city"]} - {""})
    targets = sorted({float(t) for t in rows[f"target_{year}"].dropna()})
    head = f"## {year} target: {' / '.join(_pct(t) for t in targets)} within 1 ms"
    lines = [head, ""]
    if sources:
        lines += [f"Source: {'; '.join(sources)}.", ""]
    if short.empty:
        lines += [f"All {_metros(len(rows))} meet it.", ""]
    else:
        verb = "falls" if len(short) == 1 else "fall"
        lines += [f"**{len(short)} of {_metros(len(rows))} {verb} short:**", ""]
        for r in short.itertuples(index=False):
            lines.append("- " + _short_sentence(r._asdict(), year, by_id[r.city]))
            lines += _where_to_build(by_id[r.city])
        lines.append("")
    met = rows[rows[f"status_{year}"] == "met"]
    if not met.empty:
        parts = [
            f"{by_id[r['city']].name} ({_pct(r[f'share_{year}'])} of "
            f"{_BASIS_WORDS[r[f'basis_{year}']]})"
            for _, r in met.iterrows()
        ]
        lines += [f"Meet it: {', '.join(parts)}.", ""]
    return lines


def _short_sentence(r: dict[str, Any], year: int, city: CityOutputs) -> str:
    basis = r[f"basis_{year}"]
    share, target, gap = r[f"share_{year}"], r[f"target_{year}"], r[f"gap_{year}"]
    unit = {"key_sites": "sites", "population": "people", "area": "km2"}[basis]
    points = (target - share) * 100.0
    return (
        f"**{city.name}**: {_pct(share)} of {_BASIS_WORDS[basis]} within 1 ms by {year} "
        f"against {_pct(target)}, {points:.1f} points short: {_amount(gap, unit)} to cover."
    )


def _where_to_build(city: CityOutputs) -> list[str]:
    if city.clusters is None or city.clusters.empty:
        return []
    when = "all sites" if city.scenario_year is None else f"sites online in {city.scenario_year}"
    out = [f"  - largest uncovered clusters ({when}):"]
    for cause, words in _CAUSE_WORDS:
        rows = city.clusters[city.clusters["cause"] == cause].sort_values("rank").head(3)
        for r in rows.itertuples(index=False):
            out.append(f"    - {words}: {_cluster_words(r._asdict())}")
    return out


def _cluster_words(r: dict[str, Any]) -> str:
    parts = [f"{r.get('area_km2', float('nan')):,.1f} km²"]
    if not pd.isna(r.get("people", np.nan)):
        parts.append(f"{r['people']:,.0f} people")
    if not pd.isna(r.get("key_sites", np.nan)):
        parts.append(f"{r['key_sites']:,.0f} key sites")
    where = f"around {r.get('lon', float('nan')):.3f} E, {r.get('lat', float('nan')):.3f} N"
    district = r.get("district")
    if isinstance(district, str) and district:
        where += f" ({district})"
    return ", ".join(parts) + ", " + where


def _year_section(progress: pd.DataFrame) -> list[str]:
    lines = [
        "## By year",
        "",
        "| year | target in force | metros meeting it | on track | behind "
        "| people within 1 ms (pooled) |",
        "|---|---|---|---|---|---|",
    ]
    for r in progress.itertuples(index=False):
        target = "" if pd.isna(r.target_share) else f"{_pct(r.target_share)} by {r.target_year}"
        people = "" if pd.isna(r.population_share) else _pct(r.population_share)
        lines.append(
            f"| {r.year} | {target} | {r.met} of {r.metros} | {r.on_track} | {r.behind} "
            f"| {people} |"
        )
    return [*lines, ""]


def _metros(n: int) -> str:
    return f"{n} metro" if n == 1 else f"{n} metros"


def _source(city: CityOutputs, year: int) -> str:
    return next((str(t.get("source") or "") for t in city.targets if t.get("year") == year), "")


def _pct(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    text = f"{100.0 * value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + " %"


def _amount(value: float, unit: str) -> str:
    if pd.isna(value):
        return "an unknown amount more"
    if unit == "km2":
        return f"{value:,.2f} km² more"
    n = math.ceil(value)
    word = _UNIT_WORDS[unit] if n != 1 else _UNIT_WORDS[unit].removesuffix("s")
    return f"{n:,} more {word}"
