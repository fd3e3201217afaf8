"""Errors raised by latcircle.

Every error the user can fix (a bad config, a missing file, a bad value in an input) is an
:class:`InputError`; the command line turns it into one line and exit code 2. Anything else
is a bug or an environment fault and exits 1.
"""

from __future__ import annotations

__all__ = [
    "FetchError",
    "InputError",
    "LatcircleError",
    "NotACityRunError",
    "OutputError",
]


class LatcircleError(Exception):
    """Base class of every error latcircle raises on purpose."""


class InputError(LatcircleError, ValueError):
    """Bad input: a config, file, field or value the user must fix.

    Parameters
    ----------
    source
        The file (or config) the problem is in.
    field
        The key, column or layer at fault; ``None`` when the whole file is.
    problem
        What is wrong, in a few words.
    """

    def __init__(self, source: object, field: str | None, problem: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        where = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{where}: {problem}")


class OutputError(LatcircleError, OSError):
    """The outputs cannot be written (read-only folder, full disk, ...)."""


class FetchError(LatcircleError):
    """A source could not be fetched (offline, a server error, an unusable answer).

    Parameters
    ----------
    source
        The source (``network``, ``sites``, ...).
    problem
        What went wrong, in a sentence.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class NotACityRunError(InputError):
    """A folder with a ``run.json`` that is not a latcircle city run (skipped, with a warning)."""
