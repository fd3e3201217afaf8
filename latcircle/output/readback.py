"""Reading finished city runs back from their output folders.

Presentation (map, report, figures) and the national roll-up read what a run wrote through
this module: :func:`read_layers` (the GeoPackage), :func:`find_city_dirs` and
:func:`read_city_outputs` (the tables and records the roll-up needs, checked: a missing or
malformed file is an :class:`~latcircle.errors.InputError` naming it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from latcircle.analysis.national import CityOutputs
from latcircle.analysis.progress import STATUSES
from latcircle.errors import InputError, NotACityRunError
from latcircle.output.batch import read_stale
from latcircle.output.files import read_csv

__all__ = [
    "CITY_PAGES",
    "CITY_TABLES",
    "EXPECTED_SKIPS",
    "city_pages",
    "find_city_dirs",
    "read_city_outputs",
    "read_city_runs",
    "read_cluster_counts",
    "read_layers",
    "read_optional_table",
]

#: Folders skipped as a matter of course (the CLI logs them quietly); any other skip is a
#: folder the user may have meant as a city run, and is warned about.
EXPECTED_SKIPS = frozenset({"the national output folder itself", "hidden or temporary folder"})

#: The pages a city run may have (``--no-report``, ``--no-map`` and a national sweep leave
#: them out), in the order the dashboard links them.
CITY_PAGES = ("report.html", "map.html")
#: The tables every city run read back has (:func:`read_city_outputs` refuses a folder
#: without them).
CITY_TABLES = ("coverage.csv", "progress.csv")

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


def read_optional_table(path: Path) -> pd.DataFrame | None:
    """Read a table a run may have written (``progress.csv``, ``clusters.csv``), else ``None``.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    pandas.DataFrame or None
    """
    return read_csv(path) if path.exists() else None


def read_layers(folder: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer of a run's ``isochrones.gpkg``.

    Parameters
    ----------
    folder
        A city's output folder.

    Returns
    -------
    dict
        Layer name to GeoDataFrame (local CRS).
    """
    path = Path(folder) / "isochrones.gpkg"
    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    return {name: gpd.read_file(path, layer=name) for name in names}


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


def _reason_to_skip(path: Path, out: Path | None) -> str | None:
    if out is not None and path.resolve() == out:
        return "the national output folder itself"
    if path.name.startswith("."):
        return "hidden or temporary folder"
    return None


def city_pages(folder: str | Path) -> tuple[str, ...]:
    """Return the pages of :data:`CITY_PAGES` a city's output folder holds, in that order.

    Parameters
    ----------
    folder
        A city output folder.

    Returns
    -------
    tuple of str
        File names, e.g. ``("report.html", "map.html")``; empty for a run without either.
    """
    return tuple(name for name in CITY_PAGES if (Path(folder) / name).is_file())


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
        pages=city_pages(folder),
        stale=read_stale(folder),
    )


def read_city_runs(
    folders: Sequence[Path], skipped: list[tuple[Path, str]], *, named: Sequence[str | Path]
) -> list[CityOutputs]:
    """Read every city run; a folder that is not one is added to ``skipped``.

    Parameters
    ----------
    folders
        Folders with a ``run.json`` (:func:`find_city_dirs`).
    skipped
        The skipped list, extended with ``(folder, reason)`` for each folder that is not a run.
    named
        The folders the user named (for the message when nothing is left).

    Returns
    -------
    list of CityOutputs

    Raises
    ------
    InputError
        When a run's file is missing or malformed, or no folder is a city run.
    """
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
        df = read_csv(path, keep_default_na=True)
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
    bad = df.loc[df["judged"] & ~df["status"].isin(STATUSES), "status"]
    if len(bad):
        raise InputError(path, "status", f"unknown status {bad.iloc[0]!r}")
    return df


def read_cluster_counts(folder: str | Path) -> dict[str, dict[str, int]] | None:
    """Return the cluster counts by cause a run wrote in ``progress.json``, if any.

    Parameters
    ----------
    folder
        A city output folder.

    Returns
    -------
    dict or None
        ``{cause: {"clusters": n, "zero_weight": m}}`` (``clusters.counts``); ``None`` when
        the run wrote no ``progress.json`` or no counts.

    Raises
    ------
    InputError
        When ``progress.json`` is not readable JSON.
    """
    path = Path(folder) / "progress.json"
    if not path.exists():
        return None
    clusters = _read_json(path).get("clusters")
    counts = clusters.get("counts") if isinstance(clusters, dict) else None
    return counts if isinstance(counts, dict) else None
