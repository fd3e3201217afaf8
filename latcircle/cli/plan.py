"""``latcircle plan``: the cheapest builds that reach the coverage targets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.cli.options import EXIT_OK, HelpFormatter, Parents, Subparsers, examples, stage_bar

if TYPE_CHECKING:
    from latcircle.analysis.plan import PlanResult

__all__ = ["add_parser"]


def add_parser(sub: Subparsers, parents: Parents) -> None:
    """Add ``plan`` to the sub-commands."""
    plan = sub.add_parser(
        "plan",
        parents=[parents.common],
        help="the cheapest builds that reach the coverage targets",
        description="Find the cheapest compute sites, brought-forward sites and fibre access "
        "builds that reach the targets (default 70 % by 2027, 75 % by 2028), staged by year, "
        "and write outputs/<city>/plan/ (docs/plan.md).",
        formatter_class=HelpFormatter,
        epilog=examples(
            "latcircle plan data/cities/wuhan.yaml",
            "latcircle plan data/demo/demo.yaml --target 0.75 --year 2027 --max-sites 3",
        ),
    )
    _plan_options(plan)
    _plan_margin_options(plan)
    plan.set_defaults(func=cmd_plan)


def _plan_options(plan: argparse.ArgumentParser) -> None:
    """Add the plan's options (each a field of ``PlanOptions``, by its dest)."""
    plan.add_argument("config", type=Path, help="the city's YAML config")
    plan.add_argument(
        "--candidates", type=Path, default=None, help="candidates file (overrides plan.candidates)"
    )
    plan.add_argument("--target", type=float, default=None, help="target share (0-1], with --year")
    plan.add_argument("--year", type=int, default=None, help="the target's year")
    plan.add_argument("--max-sites", type=int, default=None, help="at most this many builds")
    plan.add_argument("--max-cost", type=float, default=None, help="at most this total cost")
    plan.add_argument(
        "--basis",
        choices=("key_sites", "population", "area"),
        default=None,
        help="basis to plan for (default: the targets' judged basis)",
    )
    plan.add_argument(
        "--out", type=Path, default=None, help="plan folder (default outputs/<city id>/plan)"
    )


def _plan_margin_options(plan: argparse.ArgumentParser) -> None:
    """Add the options of plans with margins (docs/plan.md, "Plans with margins")."""
    plan.add_argument(
        "--margin",
        dest="margin_pp",
        type=float,
        default=0.0,
        metavar="PP",
        help="reach each target plus PP percentage points",
    )
    plan.add_argument(
        "--at-route-factor",
        type=float,
        default=None,
        metavar="R",
        help="make (and check) the plan at route factor R (>= 1)",
    )
    plan.add_argument(
        "--confidence",
        type=float,
        default=None,
        metavar="Q",
        help="make (and check) the plan at every uncertain parameter's Q-quantile, 0 < Q < 1",
    )
    plan.add_argument(
        "--protect",
        action="store_true",
        help="count a demand point only when two sites cover it (one site may fail)",
    )


def cmd_plan(args: argparse.Namespace) -> int:
    """Plan the city; print the builds by year and the shares they reach."""
    from latcircle.analysis.metro import StageTimer
    from latcircle.config import load_config
    from latcircle.pipeline import PlanOptions, plan_city

    # Each option's dest is its PlanOptions field (--margin: margin_pp).
    options = PlanOptions.pick(vars(args))
    options.check_margins()  # before the config is read
    cfg = load_config(args.config)
    out = args.out or Path("outputs") / cfg.id / "plan"
    on_start, stop = stage_bar(
        args.console, ("load", "network", "locate", "plan", "outputs"), quiet=args.quiet > 0
    )
    try:
        result = plan_city(cfg, out=out, options=options, timer=StageTimer(on_start=on_start))
    finally:
        stop()
    if args.quiet == 0:
        print_plan(result, out)
    return EXIT_OK


def print_plan(result: PlanResult, out: Path) -> None:
    """Print the plan's builds as a table, then the share before and after each target."""
    from rich.console import Console
    from rich.table import Table

    from latcircle.analysis.plan.checks import nothing_to_build
    from latcircle.logs import markup_text
    from latcircle.present.style import percent

    table = Table(
        title=f"plan on {result.basis}: cost {result.cost:,.2f}, {result.solver}, "
        f"gap {percent(result.gap, digits=2)}"
    )
    for col in ("year", "build", "kind", "name", "cost", "cumulative share"):
        table.add_column(col, justify="right" if col in ("cost", "cumulative share") else "left")
    for r in result.table.itertuples():
        table.add_row(
            str(r.year),
            markup_text(r.build_id),
            r.kind,
            markup_text(r.name),
            f"{r.cost:,.2f}",
            percent(r.cumulative_share, digits=2),
        )
    console, nothing = Console(), nothing_to_build(result)
    console.print(markup_text(nothing) if nothing else table)  # not an empty table
    for g in result.goals:
        console.print(
            f"{g.year}: {percent(result.baseline_share[g.year], digits=2)} -> "
            f"{percent(result.planned_share[g.year], digits=2)} "
            f"(target {percent(g.share, digits=0)})"
        )
    for r in result.targets.itertuples():
        console.print(
            f"{r.year}: P5/P50/P95 {percent(r.share_p5, digits=2)} / "
            f"{percent(r.share_p50, digits=2)} / {percent(r.share_p95, digits=2)}, "
            f"P(>= {percent(r.target, digits=0)}) = {r.p_meet:.2f}"
        )
    console.print(f"plan in {markup_text(out)}")
