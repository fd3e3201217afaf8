"""matplotlib's figure classes, imported without writing its docstrings' property tables.

While its modules import, matplotlib writes the docstring of every artist class's ``set``
method (and of the functions taking artist properties) from the docstrings of all its setters:
some 8,000 ``inspect.getdoc`` calls, about 0.08 s of a run's CPU (a quarter of importing
``matplotlib.figure``), for text no run reads. While :mod:`matplotlib.figure` and the classes
below import, ``matplotlib.artist.kwdoc`` (the table's writer) returns no table; it is put
back right after. Nothing else changes: the ``set`` signatures, the properties, every drawing.
Only ``help()`` on matplotlib's artists shows no property table, in a process that imported
this module before matplotlib's figures (when they are already imported, nothing is done).

Every module of :mod:`latcircle.present` takes its matplotlib classes from here.
"""

from __future__ import annotations

import sys

__all__ = ["Artist", "Axes", "Figure", "Line2D", "Patch"]


def _no_table(_artist: object) -> str:
    """Return no property table (``matplotlib.artist.kwdoc`` while the figures import)."""
    return ""


def _import_figures() -> None:
    """Import :mod:`matplotlib.figure` (and so every artist class) without the tables."""
    if "matplotlib.figure" in sys.modules:
        return
    import matplotlib.artist

    kwdoc = matplotlib.artist.kwdoc
    matplotlib.artist.kwdoc = _no_table  # type: ignore[assignment]  # a function, replaced
    try:
        import matplotlib.figure  # imported for its side effect only
    finally:
        matplotlib.artist.kwdoc = kwdoc


_import_figures()

from matplotlib.artist import Artist  # noqa: E402  # after _import_figures, on purpose
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
