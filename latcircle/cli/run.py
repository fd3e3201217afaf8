"""``latcircle run``: a city config, with what-if sites and network additions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.cli.options import HelpFormatter, Parents, Subparsers, examples, output_flags
from latcircle.cli.running import run_and_report
from latcircle.errors import InputError

if TYPE_CHECKING:
    from latcircle.config import CityConfig

__all__ = ["add_parser"]


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``run`` to the sub-commands."""
    run = sub.add_parser(
        "run",
        parents=[parents.common, parents.outputs],
        help="run a city config",
        description="Run a city config and write outputs/<city>/.",
        formatter_class=HelpFormatter,
        epilog=examples(
            "latcircle run data/cities/wuhan.yaml --out /tmp/wuhan",
            "latcircle run data/cities/wuhan.yaml --year 2027 --basemap amap --export geojson",
        ),
    )
    run.add_argument("config", type=Path, help="the city's YAML config")
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default outputs/<city id>)"
    )
    run.add_argument("--year", type=int, default=None, help="scenario year (sites online by then)")
    run.add_argument(
        "--add-site",
        action="append",
        default=[],
        metavar="LON,LAT[,NAME]",
        help="what-if: an extra compute site (WGS84), online every year; repeatable",
    )
    run.add_argument(
        "--protection",
        nargs="?",
        type=int,
        const=0,
        default=None,
        metavar="N",
        help="also re-solve without each of the N most-used links (default: the config's "
        "protection.links, else 50)",
    )
    run.add_argument(
        "--add-network",
        type=Path,
        default=None,
        metavar="FILE",
        help="planned network additions (a plan's network-planned.gpkg), as network.additions",
    )
    output_flags(run)
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the config with the command's overrides; print the summary."""
    from latcircle.config import load_config

    overrides = {"year": args.year} if args.year is not None else {}
    cfg = load_config(args.config, **overrides)
    if args.protection is not None:
        if args.protection < 0:
            raise InputError("--protection", None, f"expected N >= 1, got {args.protection}")
        cfg = cfg.with_protection(args.protection or None)
    if args.add_network is not None:
        cfg = _with_additions(cfg, args.add_network)
    added = [_site_arg(a) for a in args.add_site]
    return run_and_report(cfg, args.out or Path("outputs") / cfg.id, args=args, add_sites=added)


def _with_additions(cfg: CityConfig, path: Path) -> CityConfig:
    """Return the config with ``network.additions`` set to ``path`` (``--add-network``)."""
    if not path.is_file():
        raise InputError("--add-network", None, f"file not found: {path}")
    network = cfg.network.model_copy(update={"additions": path.resolve()})
    return cfg.model_copy(update={"network": network})


def _site_arg(text: str) -> tuple[float, float, str | None]:
    """Parse ``LON,LAT[,NAME]`` (the name may hold commas)."""
    parts = text.split(",", 2)
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise InputError("--add-site", None, f"expected LON,LAT[,NAME], got {text!r}") from None
    return lon, lat, (parts[2].strip() or None) if len(parts) > 2 else None
