"""The ``latcircle`` command: a thin shell over the Python API.

One module per command (``run``, ``plan``, ``demo``, ``fetch``, ``city``, ``rollup`` for
``national-rollup``, ``tiers``, ``national``, ``calibrate``), each adding its own sub-parser;
:mod:`latcircle.cli.options` holds what they share and :mod:`latcircle.cli.running` one city's
run with its summary (``run``, ``demo``, ``city``).

Exit codes: 0 success, 2 bad input or outputs that cannot be written (one line naming the
file, field and problem), 1 anything else (an internal error; ``-v`` shows the traceback),
130 interrupted by Ctrl-C, 143 by SIGTERM (both leave the previous outputs intact).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from latcircle import __version__
from latcircle.cli import calibrate, city, demo, fetch, national, plan, rollup, run, tiers
from latcircle.cli.options import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    HelpFormatter,
    Parents,
    examples,
    output_options,
    print_error,
    verbosity_flags,
)
from latcircle.errors import InputError, LatcircleError, OutputError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main"]

#: The commands, in the order ``--help`` lists them.
COMMANDS = (run, plan, demo, fetch, city, rollup, tiers, national, calibrate)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when ``None``: the call is then
        this process's own command line (the ``latcircle`` script, ``python -m latcircle``):
        OpenBLAS is then asked for one thread (:func:`latcircle.system.one_blas_thread`),
        Arrow for the C library's heap (:func:`latcircle.system.arrow_system_pool`),
        and the process ends without a last walk over its heap (:func:`_exit_uncollected`).
    """
    from latcircle.system import arrow_system_pool, one_blas_thread

    if argv is None:
        one_blas_thread()  # before anything imports numpy (nothing has yet: tests/test_startup)
        arrow_system_pool()  # before anything imports pyarrow (tests/test_arrow_pool.py)
        _exit_uncollected()
    from latcircle.logs import setup_logging, warnings_logged

    parser = _parser()
    args = parser.parse_args(argv, namespace=_Args())
    args.verbose = args.verbose_top + args.verbose_sub
    args.quiet = args.quiet_top + args.quiet_sub
    # One console for log lines and progress bars (args.console): a log line prints above
    # the live bar instead of landing on it. Made when first needed.
    setup_logging(args.verbose - args.quiet, lambda: args.console)
    # A library's warning is one log line too (data in it made visible; -q hides it).
    with _term_as_interrupt(), warnings_logged(logging.getLogger("latcircle.warnings")):
        return _dispatch(args)


class _Args(argparse.Namespace):
    """The parsed command line, and the console its log lines and bars share (stderr).

    The console is made when first used: a quiet run that logs nothing shows nothing, and
    then never imports rich (~0.016 s CPU, measured 2026-12-07).
    """

    @functools.cached_property
    def console(self) -> Console:
        from latcircle.logs import console

        return console()


def _dispatch(args: argparse.Namespace) -> int:
    """Run the sub-command; turn every error into its one line and exit code."""
    try:
        return int(args.func(args) or EXIT_OK)
    except InputError as exc:
        print_error(f"latcircle: error: {exc}")
        return EXIT_INPUT
    except OutputError as exc:  # full disk, read-only folder: the user's to fix, not a bug
        print_error(f"latcircle: error: {exc}")
        return EXIT_INPUT
    except LatcircleError as exc:
        print_error(f"latcircle: error: {exc}")
        return EXIT_INTERNAL
    except KeyboardInterrupt as exc:
        print_error("latcircle: interrupted; previous outputs left intact")
        return 128 + signal.SIGTERM if exc.args == ("SIGTERM",) else 130
    except Exception as exc:
        if args.verbose > 0:
            raise
        print_error(
            f"latcircle: internal error: {type(exc).__name__}: {exc} (run with -v for details)"
        )
        return EXIT_INTERNAL


def _exit_uncollected() -> None:
    """Freeze the collector's objects when this process exits: no last walk over the heap.

    At exit the interpreter runs full collections over every object still alive (the
    scientific stack's modules, a run's figures) only to free memory the OS takes back
    anyway: about 0.45 s CPU after a Wuhan run (measured 2026-12-07, see CHANGES in
    benchmarks/report.py). ``gc.freeze`` as an exit handler (once the command has returned,
    before the interpreter's teardown) leaves them to the OS. Every file a command writes
    is closed before its output folder is swapped into place, so nothing waits on a
    collection to be flushed; the other exit handlers (logging's flush among them) and the
    teardown by reference counts still run. Only for the process's own command line: a
    caller of ``main([...])`` keeps its collector as it is.
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however many times main() is called
    atexit.register(gc.freeze)


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
    """Return the parser: the top level, then each command's own sub-parser."""
    parser = argparse.ArgumentParser(
        prog="latcircle",
        description="How much of a metro lies inside the 1 ms latency circle of its compute sites.",
        parents=[verbosity_flags("top")],
        formatter_class=HelpFormatter,
        epilog=examples(
            "latcircle demo",
            "latcircle run data/cities/wuhan.yaml --basemap amap",
            "latcircle COMMAND --help",
        ),
    )
    parser.add_argument("--version", action="version", version=f"latcircle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = Parents(common=verbosity_flags("sub"), outputs=output_options())
    for command in COMMANDS:
        command.add_parser(sub, parents)
    return parser
