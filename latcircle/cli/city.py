"""``latcircle city``: run a city by id, fetching its inputs if needed."""

from __future__ import annotations

import argparse
from pathlib import Path

from latcircle.cli.options import HelpFormatter, Parents, Subparsers, examples
from latcircle.cli.running import run_and_report

__all__ = ["add_parser"]


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``city`` to the sub-commands."""
    city = sub.add_parser(
        "city",
        parents=[parents.common, parents.outputs],
        help="run a city by id, fetching its inputs if needed",
        description="Run data/cities/<id>.yaml; when there is no such config, fetch the city "
        "first (see `latcircle fetch`).",
        formatter_class=HelpFormatter,
        epilog=examples("latcircle city wuhan", "latcircle city 深圳市 --basemap tencent"),
    )
    city.add_argument("name", help="a city id (wuhan) or a name to fetch (武汉市, Shenzhen)")
    city.add_argument("--cities", type=Path, default=Path("data/cities"), help="config folder")
    city.add_argument("--out", type=Path, default=None, help="output folder (default outputs/<id>)")
    city.set_defaults(func=cmd_city)


def cmd_city(args: argparse.Namespace) -> int:
    """Find (or fetch) the city's config, then run it."""
    from latcircle.config import load_config
    from latcircle.pipeline import city_config

    path = city_config(args.name, cities=args.cities, quiet=args.quiet > 0, console=args.console)
    cfg = load_config(path)
    return run_and_report(cfg, args.out or Path("outputs") / cfg.id, args=args)
