"""latcircle: how much of a metro lies inside the 1 ms latency circle of its compute sites.

The public API (``import latcircle as lc``)::

    m = lc.Metro.from_config("data/cities/wuhan.yaml")  # or lc.Metro.from_frames(...)
    r = m.coverage()  # r.table is coverage.csv; r.bands, r.field, r.to_folium()

``Metro`` and ``Coverage`` are imported on first use (:mod:`latcircle.api`), so that
``import latcircle`` stays light (the command line's ``--help`` needs none of it). Deep
imports (``latcircle.pipeline.run_city``, ...) keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from latcircle.errors import InputError, LatcircleError, OutputError

if TYPE_CHECKING:
    from latcircle.api import Coverage, Metro

__version__ = "0.1.0"

__all__ = [
    "Coverage",
    "InputError",
    "LatcircleError",
    "Metro",
    "OutputError",
    "__version__",
]

#: Names re-exported from :mod:`latcircle.api`, imported when first asked for.
_LAZY = frozenset({"Coverage", "Metro"})


def __getattr__(name: str) -> Any:
    """Import the API's classes on first use (PEP 562)."""
    if name in _LAZY:
        from latcircle import api

        return getattr(api, name)
    msg = f"module 'latcircle' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
