"""The national roll-up of city outputs: :func:`national_rollup` and :func:`run_national`."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from latcircle.analysis.national import NationalResult, SweepCity, national_result
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
    write_csv,
)
from latcircle.output.readback import find_city_dirs, read_city_runs

__all__ = [
    "national_rollup",
    "run_national",
]

log = logging.getLogger("latcircle.pipeline")  # one logger for the package, as before


def national_rollup(
    city_dirs: Sequence[str | Path],
    *,
    out: str | Path,
    extra_outputs: Sequence[Callable[[NationalResult, Path], object]] = (),
    include_synthetic: bool = False,
    include_hypothetical: bool = False,
    sweep: Sequence[SweepCity] = (),
) -> NationalResult:
    """Roll city outputs up into a national summary, progress table and shortfall note.

    Reads the cities back (:mod:`latcircle.output.readback`), computes the roll-up
    (:func:`latcircle.analysis.national.national_result`) and writes ``summary.csv``,
    ``progress.csv`` and ``shortfalls.md`` into ``out``, replaced whole. Every run is listed;
    the national totals count real cities with known sites, once per city, unless asked.

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
    sweep
        The cities asked of a national sweep (``latcircle national``): ``summary.csv``
        lists the failed ones too (:func:`latcircle.analysis.national.national_result`).

    Returns
    -------
    NationalResult

    Raises
    ------
    InputError
        When a folder does not exist, a city's output file is missing or malformed (the
        message names the file), two folders hold the same run of a city, or no city is found.
    """
    from latcircle.present.shortfalls import shortfalls_text

    out = Path(out)
    # The national folder itself may be among the folders given: it is skipped, not read.
    inputs = [Path(d) for d in city_dirs if os.path.realpath(d) != os.path.realpath(out)]
    check_output_folder(out, inputs=inputs)  # before reading every city, not after
    folders, skipped = find_city_dirs(city_dirs, out=out)
    read = read_city_runs(folders, skipped, named=city_dirs)  # adds folders that are not runs
    result = national_result(
        read,
        out=out,
        skipped=skipped,
        include_synthetic=include_synthetic,
        include_hypothetical=include_hypothetical,
        sweep=sweep,
    )  # raises on a run given twice
    for run in result.runs:
        if run.stale:  # older outputs of a city whose last run failed: listed, not counted
            log.warning("%s: stale outputs, not counted (%s)", run.folder, run.stale)
    text = shortfalls_text(result.runs, result.summary, result.progress, skipped=skipped)
    result = dataclasses.replace(result, shortfalls=text)
    with atomic_folder(out, inputs=inputs) as tmp:
        write_csv(result.summary, tmp / "summary.csv")
        write_csv(result.progress, tmp / "progress.csv")
        (tmp / "shortfalls.md").write_text(result.shortfalls, encoding="utf-8")
        for extra in extra_outputs:
            extra(result, tmp)
    return result


def run_national(
    dirs: Sequence[str | Path],
    *,
    out: Path,
    include_synthetic: bool = False,
    include_hypothetical: bool = False,
    extra_outputs: Sequence[Callable[[NationalResult, Path], object]] = (),
    sweep: Sequence[SweepCity] = (),
) -> NationalResult:
    """Roll city outputs up into ``out`` with its dashboard (``latcircle national-rollup``).

    Parameters
    ----------
    dirs
        City output folders, or folders holding them (``outputs/``).
    out
        The national folder, replaced whole: tables, ``shortfalls.md`` and ``index.html``.
    include_synthetic, include_hypothetical
        Count synthetic cities, or cities with hypothetical sites, in the national totals
        (:func:`national_rollup`).
    extra_outputs
        Further callables ``f(result, folder)`` run after the dashboard, inside the
        national folder's temporary folder (``latcircle national`` adds its headline and
        the list of missing cities).
    sweep
        The cities asked of a national sweep (:func:`national_rollup`).
    """
    from latcircle.present.report import write_dashboard

    def dashboard(result: NationalResult, folder: Path) -> None:
        write_dashboard(folder, result.runs)

    return national_rollup(
        dirs,
        out=out,
        extra_outputs=[dashboard, *extra_outputs],
        include_synthetic=include_synthetic,
        include_hypothetical=include_hypothetical,
        sweep=sweep,
    )
