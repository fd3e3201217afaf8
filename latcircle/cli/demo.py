"""``latcircle demo``: generate the synthetic demo metro and run it, offline."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from latcircle.cli.options import HelpFormatter, Parents, Subparsers, examples
from latcircle.cli.running import run_and_report

__all__ = ["add_parser"]

log = logging.getLogger("latcircle")


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``demo`` to the sub-commands."""
    demo = sub.add_parser(
        "demo",
        parents=[parents.common, parents.outputs],
        help="generate and run the synthetic demo metro",
        description="Generate the bundled synthetic demo metro and run it, offline.",
        formatter_class=HelpFormatter,
        epilog=examples("latcircle demo --data data/demo --out outputs/demo"),
    )
    demo.add_argument(
        "--data", type=Path, default=Path("data/demo"), help="where to write the demo inputs"
    )
    demo.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output folder")
    demo.add_argument("--seed", type=int, default=7, help="generator seed")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the demo's inputs, then run them."""
    from latcircle.config import load_config
    from latcircle.demo.generator import write_demo_city

    path = write_demo_city(args.data, seed=args.seed)
    log.info("demo inputs (synthetic) written to %s", args.data)
    return run_and_report(load_config(path), args.out, args=args)
