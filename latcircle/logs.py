"""Log lines for a person at a terminal, and for a batch job reading a file.

On a terminal, rich formats the log (colours, the level in a column, a live progress bar
above which log lines print). Anywhere else (make, cron, CI, ``> log 2>&1``, a Dask worker)
every record is one plain line, ``LEVEL    message``, never wrapped at the terminal's width
and never shortened: a path in a log stays whole and on one line, whatever ``COLUMNS`` says.

Data is text here too: a name from the user's data reaches a log line, a printed line or a
progress bar with its control characters made visible (:func:`latcircle.text.terminal_text`:
an ESC in a site's name can neither recolour nor clear the terminal, a line feed cannot
start a line that looks like latcircle's own), and never as rich markup
(:func:`markup_text`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TextIO

from latcircle.text import terminal_lines, terminal_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = [
    "PLAIN_FORMAT",
    "CountBar",
    "VisibleFormatter",
    "console",
    "log_handler",
    "markup_text",
    "plain_console",
    "progress_bar",
    "setup_logging",
    "warnings_logged",
]

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


def markup_text(value: object) -> str:
    """Return a value from data as rich markup that prints it as it reads.

    Its control characters made visible (:func:`latcircle.text.terminal_text`), then escaped
    so that rich reads no markup in it (``[red]`` prints as ``[red]``).

    Parameters
    ----------
    value
        Anything (``str(value)`` is printed).
    """
    from rich.markup import escape

    return escape(terminal_text(value))


class VisibleFormatter(logging.Formatter):
    """A formatter that shows each record as :func:`latcircle.text.terminal_text` shows text.

    A message is one line whatever its arguments hold; a traceback (``-v``) keeps its lines,
    each made visible. The record itself is left as it came (other handlers see it whole).
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """Return the record's line, its message made visible."""
        message = record.message
        record.message = terminal_text(message)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """Return the traceback, each of its lines made visible."""
        return terminal_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        """Return the stack, each of its lines made visible."""
        return terminal_lines(super().formatStack(stack_info))


@contextlib.contextmanager
def warnings_logged(logger: logging.Logger) -> Iterator[None]:
    """Show Python warnings as ``logger``'s records while in the block, as every log line.

    A library's warning (matplotlib's, GDAL's through pyogrio) may carry text from data, and
    Python prints it with its file, line and source line: here it is one line,
    ``WARNING  Category: message``, made visible like any record
    (:class:`VisibleFormatter`), and hidden with ``-q`` as the log is. Python's filters still
    choose which warnings are shown (once per place, by default); the block restores the
    warnings state it found (``warnings.catch_warnings``).

    Parameters
    ----------
    logger
        The logger the warnings become records of.
    """
    with warnings.catch_warnings():
        warnings.showwarning = functools.partial(_warning_to_log, logger)
        yield


def _warning_to_log(
    logger: logging.Logger,
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    logger.warning("%s: %s", category.__name__, message)


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

        rich = RichHandler(show_path=False, show_time=show_time, console=out)
        rich.setFormatter(VisibleFormatter("%(message)s"))  # rich adds the level and time
        return rich
    handler = logging.StreamHandler(out.file)
    handler.setFormatter(VisibleFormatter(("%(asctime)s " if show_time else "") + PLAIN_FORMAT))
    return handler


def setup_logging(level: int, out: Console | Callable[[], Console]) -> None:
    """Warnings by default, stage timings with -v, debug with -vv, errors only with -q.

    Parameters
    ----------
    level
        ``verbose - quiet`` from the command line.
    out
        The console the log goes to (:func:`console`), or a function returning it: the
        handler (rich or plain, :func:`log_handler`) is then chosen at the first record, so
        a run that logs nothing never makes a console (nor imports rich).
    """
    ours = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(min(level, 2), -1), logging.DEBUG
    )
    show_time = level > 1
    handler = (
        _FirstRecordHandler(lambda: log_handler(out(), show_time=show_time))
        if callable(out)
        else log_handler(out, show_time=show_time)
    )
    logging.basicConfig(
        level=logging.DEBUG if level > 2 else logging.WARNING if level >= 0 else logging.ERROR,
        format="%(message)s",
        handlers=[handler],
        force=True,
    )
    logging.getLogger("latcircle").setLevel(ours)


class _FirstRecordHandler(logging.Handler):
    """A handler made at the first record it gets, which then handles every record.

    ``basicConfig`` gives this handler its formatter; the made handler takes it unless it
    has its own (the plain handler does), as when ``basicConfig`` is given it directly.
    """

    def __init__(self, make: Callable[[], logging.Handler]) -> None:
        super().__init__()
        self._make = make
        self._inner: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._inner is None:  # under this handler's lock: made once
            self._inner = self._make()
            if self._inner.formatter is None:
                self._inner.setFormatter(self.formatter)
        self._inner.handle(record)

    def flush(self) -> None:
        if self._inner is not None:
            self._inner.flush()

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
        super().close()


def progress_bar(
    out: Console,
    *,
    label: str = "[bold]{task.description}",
    count: Literal["of", "percent"] = "of",
    detail: str | None = None,
    timed: bool = True,
    transient: bool = False,
    disable: bool = False,
) -> Progress:
    """Return a rich progress bar on ``out``: the one place latcircle builds one.

    The columns: a spinner (``timed``), ``label``, the bar, ``done/total`` (``count="of"``)
    or a percentage (``"percent"``), ``detail`` and the elapsed time (``timed``). The run's
    stages, the fetch's sources and the national sweep's cities all show this bar.

    Parameters
    ----------
    out
        The console the bar goes to: the logs' console, so log lines print above it.
    label
        The first text column (a rich format string of the task).
    count
        How progress is counted.
    detail
        A text column after the count (a rich format string of the task), if any.
    timed
        Show a spinner before and the elapsed time after.
    transient
        Take the bar off the screen when it stops.
    disable
        Show nothing.

    Returns
    -------
    rich.progress.Progress
        Not started.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    counter = MofNCompleteColumn() if count == "of" else TaskProgressColumn()
    columns: list[ProgressColumn] = [TextColumn(label), BarColumn(), counter]
    if detail is not None:
        columns.append(TextColumn(detail))
    if timed:
        columns = [SpinnerColumn(), *columns, TimeElapsedColumn()]
    return Progress(*columns, console=out, transient=transient, disable=disable)


class CountBar:
    """Items finishing, counted: a rich bar on a terminal, one plain line each elsewhere.

    Quiet: nothing at all. On a terminal the bar shows ``done/total`` from the start (the
    total is known before the first item ends) and the last item's label; off a terminal
    (a log file, CI) each item is one whole line on stderr, ``cities 3/7 wuhan: done``.

    Parameters
    ----------
    out
        The console the bar (or the lines) go to: the logs' console, so that log lines
        print above the bar.
    what
        What is counted (``"cities"``).
    quiet
        Show nothing.
    """

    def __init__(self, out: Console, *, what: str, quiet: bool) -> None:
        self.out, self.what, self.quiet = out, what, quiet
        self.total: int | None = None
        self.progress: Progress | None = None
        self.task: Any = None
        if not quiet and out.is_terminal:
            self.progress = progress_bar(out, label=what, detail="{task.description}", timed=False)

    def start(self, total: int | None = None) -> None:
        """Show the bar (once); ``total`` when known."""
        if total is not None:
            self.total = total
        if self.progress is not None and self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("", total=self.total)

    def item(self, label: str, done: int, total: int) -> None:
        """Count a finished item; ``label`` is shown as text, never read as rich markup."""
        if self.quiet:
            return
        if self.progress is None:
            line = f"{self.what} {done}/{total} {terminal_text(label)}"
            print(line, file=self.out.file, flush=True)
            return
        self.start(total)
        self.progress.update(self.task, completed=done, total=total, description=markup_text(label))

    def stop(self) -> None:
        """Take the bar down."""
        if self.progress is not None and self.task is not None:
            self.progress.stop()
