"""Log lines for a person at a terminal, and for a batch job reading a file.

On a terminal, rich formats the log (colours, the level in a column, a live progress bar
above which log lines print). Anywhere else (make, cron, CI, ``> log 2>&1``, a Dask worker)
every record is one plain line, ``LEVEL    message``, never wrapped at the terminal's width
and never shortened: a path in a log stays whole and on one line, whatever ``COLUMNS`` says.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PLAIN_FORMAT", "console", "log_handler", "plain_console", "setup_logging"]

#: The plain line: the level padded as rich pads it, then the message, whole.
PLAIN_FORMAT = "%(levelname)-8s %(message)s"


def console() -> Console:
    """Return the console that log lines and progress bars share (stderr)."""
    from rich.console import Console

    return Console(stderr=True)


def plain_console(*, stderr: bool = False, width: int = 110) -> Console:
    """Return a console for printed text: as is on a terminal, never wrapped elsewhere.

    Off a terminal rich would wrap every line at 80 columns (or ``COLUMNS``); this console
    gives tables ``width`` columns and prints every other line whole (``soft_wrap``).

    Parameters
    ----------
    stderr
        Print to stderr (stdout by default).
    width
        The width tables are laid out in when not on a terminal.
    """
    from rich.console import Console

    out = Console(stderr=stderr)
    if out.is_terminal:
        return out
    return Console(stderr=stderr, width=width, soft_wrap=True)


def log_handler(out: Console, *, show_time: bool = False) -> logging.Handler:
    """Return the handler for ``out``: rich on a terminal, plain whole lines elsewhere.

    Parameters
    ----------
    out
        The console the log goes to (its file, when not a terminal).
    show_time
        Put the time before each line.
    """
    if out.is_terminal:
        from rich.logging import RichHandler

        return RichHandler(show_path=False, show_time=show_time, console=out)
    handler = logging.StreamHandler(out.file)
    handler.setFormatter(logging.Formatter(("%(asctime)s " if show_time else "") + PLAIN_FORMAT))
    return handler


def setup_logging(level: int, out: Console) -> None:
    """Warnings by default, stage timings with -v, debug with -vv, errors only with -q.

    Parameters
    ----------
    level
        ``verbose - quiet`` from the command line.
    out
        The console the log goes to (:func:`console`).
    """
    ours = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(min(level, 2), -1), logging.DEBUG
    )
    logging.basicConfig(
        level=logging.DEBUG if level > 2 else logging.WARNING if level >= 0 else logging.ERROR,
        format="%(message)s",
        handlers=[log_handler(out, show_time=level > 1)],
        force=True,
    )
    logging.getLogger("latcircle").setLevel(ours)
