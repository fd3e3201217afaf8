"""The national roll-up in words: ``shortfalls.md``.

Which cities fall short of each target, by how much, and where their largest uncovered
clusters are, as Markdown. The numbers come from :mod:`latcircle.analysis.national`;
:func:`latcircle.pipeline.national_rollup` writes the text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import BASES
from latcircle.analysis.national import CityOutputs, target_years, totals_note
from latcircle.present.style import (
    BASIS_WORDS,
    STATUS_LABELS,
    UNIT_WORDS,
    amount,
    markdown_text,
    percent,
)

__all__ = ["shortfalls_text"]

#: The causes in the order a planner reads them (the remedy nearest to hand first).
_CAUSE_WORDS = tuple((c, STATUS_LABELS[c]) for c in ("too_far", "unreachable", "no_access"))


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
        The runs read (named and marked by
        :func:`latcircle.analysis.national.national_result`: ``NationalResult.runs``).
    summary
        Their :func:`latcircle.analysis.national.summary_table`.
    progress
        Their :func:`latcircle.analysis.national.national_progress`.
    skipped
        Folders skipped, listed at the end.

    Returns
    -------
    str
        Markdown.
    """
    by_id = {c.run: c for c in cities}
    lines = ["# Progress toward the 1 ms circle targets", ""]
    lines += [f"Metros: {len(cities)} ({', '.join(_label(c) for c in cities)}).", ""]
    left_out = [f"{_label(c)}: {totals_note(c, cities)}" for c in cities if not c.in_totals]
    if left_out:
        lines += ["Not in the national totals (by year):", ""]
        lines += [f"- {line}" for line in left_out]
        lines.append("")
    lines += [
        "Each target is judged in its year, with the sites planned online by then "
        "(online_year at or before it). The status rule and each target's source are in "
        "every city's progress.json.",
        "",
    ]
    for year in target_years(cities):
        lines += _target_section(year, summary, by_id)
    lines += _year_section(progress)
    if skipped:
        lines += ["## Skipped", ""]
        lines += [f"- {markdown_text(p)}: {markdown_text(reason)}" for p, reason in skipped]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _name(c: CityOutputs) -> str:
    """Return the city's name, with the run's folder name when the city has several runs."""
    name = markdown_text(c.name)
    return name if c.run == c.city else f"{name} ({markdown_text(c.run)})"


def _label(c: CityOutputs) -> str:
    flags = (("synthetic", c.synthetic), ("hypothetical sites", c.hypothetical))
    tags = [t for t, on in flags if on]
    return _name(c) + (f" [{', '.join(tags)}]" if tags else "")


def _target_section(year: int, summary: pd.DataFrame, by_id: dict[str, CityOutputs]) -> list[str]:
    rows = summary[summary[f"status_{year}"] != ""]
    short = rows[rows[f"status_{year}"] != "met"]
    sources = sorted({_source(by_id[c], year) for c in rows["run"]} - {""})
    targets = sorted({float(t) for t in rows[f"target_{year}"].dropna()})
    shares = " / ".join(percent(t, plain=True) for t in targets)
    head = f"## {year} target: {shares} within 1 ms"
    lines = [head, ""]
    if sources:
        lines += [f"Source: {'; '.join(sources)}.", ""]
    if short.empty:
        lines += [f"All {_metros(len(rows))} meet it.", ""]
    else:
        verb = "falls" if len(short) == 1 else "fall"
        lines += [f"**{len(short)} of {_metros(len(rows))} {verb} short:**", ""]
        for r in short.itertuples(index=False):
            lines.append("- " + _short_sentence(r._asdict(), year, by_id[r.run]))
            lines += _where_to_build(by_id[r.run])
        lines.append("")
    met = rows[rows[f"status_{year}"] == "met"]
    if not met.empty:
        parts = [
            f"{_name(by_id[r['run']])} ({percent(r[f'share_{year}'], plain=True)} of "
            f"{BASIS_WORDS[r[f'basis_{year}']]})"
            for _, r in met.iterrows()
        ]
        lines += [f"Meet it: {', '.join(parts)}.", ""]
    return lines


def _short_sentence(r: dict[str, Any], year: int, city: CityOutputs) -> str:
    basis = r[f"basis_{year}"]
    share, target, gap = r[f"share_{year}"], r[f"target_{year}"], r[f"gap_{year}"]
    unit = BASES[basis]
    points = (target - share) * 100.0
    return (
        f"**{_name(city)}**: {percent(share, plain=True)} of {BASIS_WORDS[basis]} within 1 ms "
        f"by {year} against {percent(target, plain=True)}, {points:.1f} points short: "
        f"{_amount(gap, unit)} to cover."
    )


def _where_to_build(city: CityOutputs) -> list[str]:
    if city.clusters is None or city.clusters.empty:
        return []
    # The clusters are of the year that falls short (one year per run), not the run's year.
    years = sorted({int(y) for y in city.clusters.get("year", pd.Series(dtype=float)).dropna()})
    year = years[0] if len(years) == 1 else city.scenario_year
    when = "all sites" if year is None else f"sites online in {year}"
    out = [f"  - largest uncovered clusters ({when}):"]
    for cause, words in _CAUSE_WORDS:
        rows = city.clusters[city.clusters["cause"] == cause].sort_values("rank").head(3)
        for r in rows.itertuples(index=False):
            out.append(f"    - {words}: {_cluster_words(r._asdict())}")
    return out


def _cluster_words(r: dict[str, Any]) -> str:
    parts = [amount(r.get("area_km2"), "km2", missing="nan km²")]
    if not pd.isna(r.get("people", np.nan)):
        parts.append(amount(r["people"], "people"))
    if not pd.isna(r.get("key_sites", np.nan)):
        parts.append(amount(r["key_sites"], "sites"))
    where = f"around {r.get('lon', float('nan')):.3f} E, {r.get('lat', float('nan')):.3f} N"
    district = r.get("district")
    if isinstance(district, str) and district:
        where += f" ({markdown_text(district)})"
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
        target = (
            ""
            if pd.isna(r.target_share)
            else f"{percent(r.target_share, plain=True)} by {r.target_year}"
        )
        people = "" if pd.isna(r.population_share) else percent(r.population_share, plain=True)
        lines.append(
            f"| {r.year} | {target} | {r.met} of {r.metros} | {r.on_track} | {r.behind} "
            f"| {people} |"
        )
    return [*lines, ""]


def _metros(n: int) -> str:
    return f"{n} metro" if n == 1 else f"{n} metros"


def _source(city: CityOutputs, year: int) -> str:
    source = next((t.get("source") or "" for t in city.targets if t.get("year") == year), "")
    return markdown_text(source)


def _amount(value: float, unit: str) -> str:
    if pd.isna(value):
        return "an unknown amount more"
    if unit == "km2":
        return f"{amount(value, unit)} more"
    n = math.ceil(value)  # a count's gap is whole already (analysis.progress rounds it up)
    word = UNIT_WORDS[unit] if n != 1 else UNIT_WORDS[unit].removesuffix("s")
    return f"{amount(n, unit, words=False)} more {word}"
