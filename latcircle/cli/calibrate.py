"""``latcircle calibrate``: fit the route factor and fixed latency to measured latencies."""

from __future__ import annotations

import argparse
from pathlib import Path

from latcircle.cli.options import EXIT_OK, HelpFormatter, Parents, Subparsers, examples, stage_bar
from latcircle.errors import InputError

__all__ = ["add_parser"]


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``calibrate`` to the sub-commands."""
    cal = sub.add_parser(
        "calibrate",
        parents=[parents.common],
        help="fit the route factor and fixed latency to measured latencies",
        description="Fit route_factor and equipment_us to measured latencies (TWAMP, "
        "Y.1731, ping) by a robust fit with bootstrap intervals; write "
        "outputs/<city>/calibration/ (docs/calibration.md).",
        formatter_class=HelpFormatter,
        epilog=examples("latcircle calibrate data/cities/wuhan.yaml --measurements twamp.csv"),
    )
    cal.add_argument("config", type=Path, help="the city's YAML config")
    cal.add_argument("--measurements", type=Path, required=True, help="CSV or vector file")
    cal.add_argument(
        "--column", action="append", default=[], metavar="STD=NAME", help="column map; repeatable"
    )
    cal.add_argument("--crs", default=None, help="CRS of the coordinates (default WGS84)")
    cal.add_argument("--kind", choices=("one_way", "rtt"), default=None, help="kind of every row")
    cal.add_argument("--replicates", type=int, default=1000, help="bootstrap resamples")
    cal.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    cal.add_argument("--out", type=Path, default=None, help="default outputs/<id>/calibration")
    cal.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the config's parameters to the measurements; print the estimates."""
    from latcircle.analysis.metro import StageTimer
    from latcircle.config import load_config
    from latcircle.pipeline import calibrate_city

    cfg = load_config(args.config)
    pairs = [c.partition("=") for c in args.column]
    if any(not k or not v for k, _, v in pairs) or args.replicates < 1:
        raise InputError("--column", None, "expected STD=NAME and --replicates >= 1")
    out = args.out or Path("outputs") / cfg.id / "calibration"
    stages = ("load", "network", "locate", "calibrate", "outputs")
    on_start, stop = stage_bar(args.console, stages, quiet=args.quiet > 0)
    try:
        cal = calibrate_city(
            cfg,
            args.measurements,
            out=out,
            columns={k: v for k, _, v in pairs},
            crs=args.crs,
            kind=args.kind,
            replicates=args.replicates,
            seed=args.seed,
            timer=StageTimer(on_start=on_start),
        )
    finally:
        stop()
    if args.quiet == 0:
        r, e, n = cal.route_factor, cal.equipment_us, cal.info["pairs"]
        print(f"route_factor {r.estimate:.4f} [{r.low:.4f}, {r.high:.4f}]")
        print(f"equipment_us {e.estimate:.2f} [{e.low:.2f}, {e.high:.2f}]")
        print(
            f"{n['fitted']} pairs fitted, {n['outlier']} outliers, {n['no_access']} no access, "
            f"{n['unreachable']} unreachable; calibration in {out}"
        )
    return EXIT_OK
