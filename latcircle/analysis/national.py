"""Across metros: which cities meet the targets, which fall short, and by how much.

:func:`national_rollup` reads the outputs of several city runs (``run.json``,
``coverage.csv``, ``progress.csv`` and, when present, ``progress.json`` and
``clusters.csv``) and writes, atomically, into one folder (``outputs/national``):

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
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latcircle.errors import InputError
from latcircle.output.files import atomic_folder, write_csv

__all__ = [
    "EXPECTED_SKIPS",
    "METROS",
    "METROS_MET",
    "POOLED_SHARE",
    "CityOutputs",
    "NationalResult",
    "find_city_dirs",
    "national_progress",
    "national_rollup",
    "read_city_outputs",
    "shortfalls_text",
    "summary_table",
]

#: Columns a city's tables must have for the roll-up.
_COVERAGE_COLUMNS = ("scope", "basis", "threshold_ms", "covered", "total", "share")
_PROGRESS_COLUMNS = (
    "year",
    "basis",
    "unit",
    "threshold_ms",
    "covered",
    "total",
    "share",
    "target_year",
    "target_share",
    "judged",
    "status",
    "gap",
)
_STATUSES = ("met", "on track", "behind")
_BASIS_WORDS = {"key_sites": "key sites", "population": "people", "area": "area"}
_UNIT_WORDS = {"sites": "key sites", "people": "people", "km2": "km²"}
_CAUSE_WORDS = (
    ("too_far", "too far (build compute nearer)"),
    ("unreachable", "unreachable (connect the network or build a site there)"),
    ("no_access", "no access (build access)"),
)
#: The headline budget of the summary's shares.
HEADLINE_MS = 1.0

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
        Counted in the national totals (see :func:`national_rollup`).
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
        Runs read (their folder names; the city id for one run per city), in order.
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


def national_rollup(
    city_dirs: Sequence[str | Path],
    *,
    out: str | Path,
    extra_outputs: Sequence[Callable[[NationalResult, Path], object]] = (),
    include_synthetic: bool = False,
    include_hypothetical: bool = False,
) -> NationalResult:
    """Roll city outputs up into a national summary, progress table and shortfall note.

    Every run is listed (``summary.csv``, flagged), but the national totals
    (``progress.csv``) count only real cities with known sites, once per city: synthetic
    cities and cities whose compute sites are hypothetical are left out unless asked, and
    of several runs of one city (scenarios named apart by their folders) only the first by
    folder name counts (``in_totals`` says which).

    Parameters
    ----------
    city_dirs
        City output folders, or folders holding them (e.g. ``outputs/``).
    out
        The national output folder, replaced whole (e.g. ``outputs/national``).
    extra_outputs
        Callables ``f(result, folder)`` writing further files (the dashboard) into the
        temporary folder, after the tables and before it is swapped into place.
    include_synthetic
        Count synthetic cities (the demo) in the national totals.
    include_hypothetical
        Count cities whose compute sites are hypothetical in the national totals.

    Returns
    -------
    NationalResult

    Raises
    ------
    InputError
        When a folder does not exist, a city's output file is missing or malformed (the
        message names the file), two folders hold the same city, or no city is found.
    """
    out = Path(out)
    folders, skipped = find_city_dirs(city_dirs, out=out)
    cities = _unique(_read_runs(folders, skipped, named=city_dirs))
    cities = _counted(
        cities, include_synthetic=include_synthetic, include_hypothetical=include_hypothetical
    )
    summary = summary_table(cities)
    progress = national_progress([c for c in cities if c.in_totals])
    text = shortfalls_text(cities, summary, progress, skipped=skipped)
    result = NationalResult(
        out=out,
        summary=summary,
        progress=progress,
        shortfalls=text,
        cities=[c.run for c in cities],
        skipped=skipped,
        folders=[c.folder for c in cities],
    )
    with atomic_folder(out) as tmp:
        write_csv(summary, tmp / "summary.csv")
        write_csv(progress, tmp / "progress.csv")
        (tmp / "shortfalls.md").write_text(text, encoding="utf-8")
        for extra in extra_outputs:
            extra(result, tmp)
    return result


# --------------------------------------------------------------------------- reading


def find_city_dirs(
    paths: Sequence[str | Path], *, out: str | Path | None = None
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Sort folders into city outputs and the rest.

    A folder with a ``run.json`` is a city output. Any other folder is searched one level
    down (so both ``outputs/`` and ``outputs/*/`` work). The national output folder itself,
    hidden folders (a run's temporary folders) and folders without ``run.json`` are skipped.

    Parameters
    ----------
    paths
        Folders named by the user.
    out
        The national output folder, never read as a city.

    Returns
    -------
    cities, skipped
        City folders (sorted, unique) and ``(folder, reason)`` for each folder skipped.

    Raises
    ------
    InputError
        When a path does not exist or is not a folder, or no city output is found.
    """
    out_resolved = Path(out).resolve() if out is not None else None
    found: dict[Path, Path] = {}
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(path, None, "no such folder")
        if not path.is_dir():
            raise InputError(path, None, "not a folder (give city output folders or outputs/)")
        if (path / "run.json").is_file() or _reason_to_skip(path, out_resolved):
            _sort(path, out_resolved, found, skipped)
            continue
        for child in sorted(p for p in path.iterdir() if p.is_dir()):
            _sort(child, out_resolved, found, skipped)
    if not found:
        names = ", ".join(str(p) for p in paths)
        raise InputError(names, None, "no city outputs found (folders with a run.json)")
    return sorted(found.values()), skipped


def _sort(
    path: Path, out: Path | None, found: dict[Path, Path], skipped: list[tuple[Path, str]]
) -> None:
    reason = _reason_to_skip(path, out)
    if reason is None and not (path / "run.json").is_file():
        reason = "not a city output (no run.json)"
    if reason is not None:
        skipped.append((path, reason))
    else:
        found.setdefault(path.resolve(), path)


#: Folders skipped as a matter of course (the CLI logs them quietly); any other skip is a
#: folder the user may have meant as a city run, and is warned about.
EXPECTED_SKIPS = frozenset({"the national output folder itself", "hidden or temporary folder"})


def _reason_to_skip(path: Path, out: Path | None) -> str | None:
    if out is not None and path.resolve() == out:
        return "the national output folder itself"
    if path.name.startswith("."):
        return "hidden or temporary folder"
    return None


def read_city_outputs(folder: str | Path) -> CityOutputs:
    """Read one city's run outputs back.

    Parameters
    ----------
    folder
        A city output folder (with ``run.json``, ``coverage.csv``, ``progress.csv``).

    Returns
    -------
    CityOutputs

    Raises
    ------
    InputError
        Naming the file that is missing, unreadable or lacks a field.
    """
    folder = Path(folder)
    run = _read_json(folder / "run.json")
    city = run.get("city")
    if not isinstance(city, dict) or not city.get("id"):
        raise NotACityRunError(
            folder / "run.json", "city.id", "missing: not a latcircle run record"
        )
    record = _read_json(folder / "progress.json") if (folder / "progress.json").exists() else {}
    clusters_path = folder / "clusters.csv"
    return CityOutputs(
        folder=folder,
        city=str(city["id"]),
        name=str(city.get("name") or city["id"]),
        synthetic=bool(city.get("synthetic", False)),
        hypothetical=bool(city.get("sites_hypothetical", False)),
        scenario_year=run.get("scenario_year"),
        coverage=_read_table(folder / "coverage.csv", _COVERAGE_COLUMNS),
        progress=_progress(_read_table(folder / "progress.csv", _PROGRESS_COLUMNS), folder),
        targets=list(record.get("targets") or []),
        clusters=_read_table(clusters_path, ("cause", "rank")) if clusters_path.exists() else None,
        run=folder.name,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, None, "missing from the city's outputs") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError(path, None, "expected a JSON object")
    return data


def _read_table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, keep_default_na=True)
    except FileNotFoundError:
        hint = " (rerun the city with progress outputs)" if path.name == "progress.csv" else ""
        raise InputError(path, None, f"missing from the city's outputs{hint}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, None, f"not a readable CSV: {str(exc).splitlines()[0]}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(path, missing[0], "column missing")
    return df


def _progress(df: pd.DataFrame, folder: Path) -> pd.DataFrame:
    path = folder / "progress.csv"
    for col in ("year", "share", "covered", "total", "gap", "target_share", "threshold_ms"):
        try:
            df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
        except (TypeError, ValueError):
            raise InputError(path, col, "not numeric") from None
    df["year"] = df["year"].astype(int)
    judged = df["judged"].astype(str).str.strip().str.lower()
    if not judged.isin(["true", "false"]).all():
        raise InputError(path, "judged", "expected True or False")
    df["judged"] = judged == "true"
    df["status"] = df["status"].fillna("").astype(str)
    bad = df.loc[df["judged"] & ~df["status"].isin(_STATUSES), "status"]
    if len(bad):
        raise InputError(path, "status", f"unknown status {bad.iloc[0]!r}")
    return df


def _read_runs(
    folders: Sequence[Path], skipped: list[tuple[Path, str]], *, named: Sequence[str | Path]
) -> list[CityOutputs]:
    """Read every city run; a folder that is not one is added to ``skipped``."""
    runs = []
    for folder in folders:
        try:
            runs.append(read_city_outputs(folder))
        except NotACityRunError as exc:
            skipped.append((folder, f"not a city run ({exc})"))
    if not runs:
        names = ", ".join(str(p) for p in named)
        raise InputError(names, None, "no city outputs found (folders with a run.json)")
    return runs


class NotACityRunError(InputError):
    """A folder with a ``run.json`` that is not a latcircle city run (skipped, with a warning)."""


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
    """Mark which runs count in the national totals (see :func:`national_rollup`)."""
    out, seen = [], set()
    for c in cities:
        counted = (
            (include_synthetic or not c.synthetic)
            and (include_hypothetical or not c.hypothetical)
            and c.city not in seen
        )
        if counted:
            seen.add(c.city)
        out.append(dataclasses.replace(c, in_totals=counted))
    return out


def totals_note(c: CityOutputs, cities: Sequence[CityOutputs]) -> str:
    """Why a run is not in the national totals ('' when it is)."""
    if c.in_totals:
        return ""
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
    years = _target_years(cities)
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
        for basis in ("key_sites", "population", "area"):
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
        pops = [(c, j, _row(c, year, "population")) for c, j in judged]
        pops = [(j, p) for _, j, p in pops if p is not None and p["total"] > 0]
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
                "share_pop_weighted": float((weights * shares).sum() / total) if total else np.nan,
                "population_covered": covered if pops else np.nan,
                "population_total": total if pops else np.nan,
                "population_share": covered / total if total else np.nan,
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
    years = set()
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
    for year in _target_years(cities):
        lines += _target_section(year, summary, by_id)
    lines += _year_section(progress)
    if skipped:
        lines += ["## Skipped", ""]
        lines += [f"- {p}: {reason}" for p, reason in skipped]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _name(c: CityOutputs) -> str:
    """Return the city's name, with the run's folder name when the city has several runs."""
    return c.name if c.run == c.city else f"{c.name} ({c.run})"


def _label(c: CityOutputs) -> str:
    flags = (("synthetic", c.synthetic), ("hypothetical sites", c.hypothetical))
    tags = [t for t, on in flags if on]
    return _name(c) + (f" [{', '.join(tags)}]" if tags else "")


def _target_section(year: int, summary: pd.DataFrame, by_id: dict[str, CityOutputs]) -> list[str]:
    rows = summary[summary[f"status_{year}"] != ""]
    short = rows[rows[f"status_{year}"] != "met"]
    sources = sorted({_source(by_id[c], year) for c in rows["run"]} - {""})
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
            lines.append("- " + _short_sentence(r._asdict(), year, by_id[r.run]))
            lines += _where_to_build(by_id[r.run])
        lines.append("")
    met = rows[rows[f"status_{year}"] == "met"]
    if not met.empty:
        parts = [
            f"{_name(by_id[r['run']])} ({_pct(r[f'share_{year}'])} of "
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
        f"**{_name(city)}**: {_pct(share)} of {_BASIS_WORDS[basis]} within 1 ms by {year} "
        f"against {_pct(target)}, {points:.1f} points short: {_amount(gap, unit)} to cover."
    )


def _where_to_build(city: CityOutputs) -> list[str]:
    if city.clusters is None or city.clusters.empty:
        return []
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
