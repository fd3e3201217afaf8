"""``latcircle national-rollup`` (alias ``progress``): city outputs rolled up into a nation."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.cli.options import EXIT_OK, HelpFormatter, Parents, Subparsers, examples

if TYPE_CHECKING:
    from latcircle.analysis.national import NationalResult

__all__ = ["add_parser", "print_national"]

log = logging.getLogger("latcircle")


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``national-rollup`` (and its older name ``progress``) to the sub-commands."""
    # ``progress`` is the older name, kept as an alias (it judges progress toward the
    # targets, but of the nation, not of one city).
    progress = sub.add_parser(
        "national-rollup",
        aliases=["progress"],
        parents=[parents.common],
        help="roll city outputs up into outputs/national",
        description="Read city output folders (or a folder holding them, e.g. outputs/) and "
        "write summary.csv, progress.csv, shortfalls.md and index.html: which metros meet "
        "each target, which fall short and by how much.",
        formatter_class=HelpFormatter,
        epilog=examples("latcircle national-rollup outputs/ --out outputs/national"),
    )
    progress.add_argument(
        "dirs",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="city output folders (outputs/*/) or their parent (outputs/)",
    )
    progress.add_argument(
        "--out",
        type=Path,
        default=Path("outputs/national"),
        help="national output folder (default outputs/national)",
    )
    progress.add_argument(
        "--include-synthetic",
        action="store_true",
        help="count synthetic cities (the demo) in the national totals",
    )
    progress.add_argument(
        "--include-hypothetical",
        action="store_true",
        help="count cities whose compute sites are hypothetical in the national totals",
    )
    progress.set_defaults(func=cmd_national_rollup)


def cmd_national_rollup(args: argparse.Namespace) -> int:
    """Roll the folders up; log what was skipped; print a few lines per target year."""
    from latcircle.output.readback import EXPECTED_SKIPS
    from latcircle.pipeline import run_national

    result = run_national(
        args.dirs,
        out=args.out,
        include_synthetic=args.include_synthetic,
        include_hypothetical=args.include_hypothetical,
    )
    for folder, reason in result.skipped:
        level = logging.INFO if reason in EXPECTED_SKIPS else logging.WARNING
        log.log(level, "skipped %s: %s", folder, reason)
    if args.quiet == 0:
        print_national(result)
    return EXIT_OK


def print_national(result: NationalResult) -> None:
    """Print a few lines per target year (the full account: shortfalls.md, index.html)."""
    summary = result.summary
    counted = summary[summary["in_totals"].astype(bool)]
    print(f"{len(summary)} run(s) read, {len(counted)} counted in the national totals")
    for col in sorted(c for c in summary.columns if c.startswith("status_")):
        status = counted[col].fillna("")
        judged = status[status != ""]
        if len(judged):
            print(
                f"{col.removeprefix('status_')} target: {int((judged == 'met').sum())} of "
                f"{len(judged)} counted metros meet it"
            )
    print(f"shortfalls: {result.out / 'shortfalls.md'}")
    print(f"dashboard: {result.out / 'index.html'}")
