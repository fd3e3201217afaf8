"""``latcircle national``: many cities, one Dask task each, then the roll-up."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.cli.options import Parents, Subparsers, print_error

if TYPE_CHECKING:
    from latcircle.national_run import CityOutcome

__all__ = ["add_parser"]

log = logging.getLogger("latcircle")


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``national`` to the sub-commands."""
    national = sub.add_parser(
        "national",
        parents=[parents.common],
        help="run many cities (one Dask task each) and roll them up",
        description="Run every city config (files, folders of *.yaml or glob patterns) on a "
        "Dask cluster, one task per city, then roll the cities up into the national folder "
        "(summary.csv, progress.csv, headline.csv, missing.csv, shortfalls.md, index.html). "
        "Cities whose inputs and parameters are unchanged since their finished outputs are "
        "skipped; a failing city is reported and the others go on. Maps and reports are "
        "written only with --maps / --reports.",
    )
    national.add_argument("configs", nargs="+", metavar="CONFIG", help="city configs")
    national.add_argument(
        "--out",
        type=Path,
        default=Path("outputs/national"),
        help="national folder (default outputs/national)",
    )
    national.add_argument(
        "--cities",
        type=Path,
        default=None,
        help="folder of the city output folders (default: the national folder's parent)",
    )
    national.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler"
    )
    national.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of the local cluster (default: one per core)",
    )
    national.add_argument("--maps", action="store_true", help="also write each city's map.html")
    national.add_argument(
        "--reports", action="store_true", help="also write each city's report.html"
    )
    national.add_argument(
        "--force", action="store_true", help="rerun cities whose outputs are up to date"
    )
    national.set_defaults(func=cmd_national)


def cmd_national(args: argparse.Namespace) -> int:
    """Run the cities with a bar counting them; report failures; print the tally."""
    from latcircle.logs import CountBar
    from latcircle.national_run import run_many

    quiet = args.quiet > 0
    bar = CountBar(args.console, what="cities", quiet=quiet)

    def dashboard(link: str) -> None:
        if not quiet:
            print(
                f"Dask dashboard: {link or 'none (the cluster serves no dashboard)'}",
                file=sys.stderr,
            )
        bar.start()

    try:
        run = run_many(
            args.configs,
            out=args.out,
            cities=args.cities,
            scheduler=args.scheduler,
            workers=args.workers,
            maps=args.maps,
            report=args.reports,
            force=args.force,
            on_city=lambda c, done, total: bar.item(_city_label(c), done, total),
            on_dashboard=dashboard,
            # Dask logs every worker start and stop at INFO: only with -vv.
            dask_log_level=logging.DEBUG if args.verbose > 1 else logging.WARNING,
            on_configs=lambda paths: setattr(bar, "total", len(paths)),
            worker_log_level=log.getEffectiveLevel(),
        )
    finally:
        bar.stop()
    for c in run.with_status("failed"):
        print_error(f"latcircle: error: {c.config}: {c.reason}")
    if not quiet:
        done, skipped = len(run.with_status("done")), len(run.with_status("skipped"))
        failed = len(run.with_status("failed"))
        where = run.rollup.out if run.rollup is not None else "not written (no city has outputs)"
        print(
            f"{len(run.cities)} asked: {done} run, {skipped} up to date, {failed} failed on "
            f"{run.workers} workers in {run.wall_s:.1f} s; national outputs: {where}"
        )
    return run.exit_code


def _city_label(c: CityOutcome) -> str:
    """``wuhan: done in 41.2 s`` (with the reason of a failure, the note of a rerun)."""
    words = {"done": "done", "skipped": "up to date", "failed": "failed"}[c.status]
    line = f"{c.city or c.config}: {words}"
    if c.status != "skipped":
        line += f" in {c.wall_s:.1f} s"
    return line + "".join(f" ({t})" for t in (c.reason, c.note) if t)
