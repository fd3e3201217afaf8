"""How results look: labels, colours, escaping and number formats shared by map, report, figures.

One home for each presentation fact, so that the map, the report, the figures and the
command line never disagree:

* the words for bases and statuses (:data:`BASIS_LABELS`, :data:`STATUS_LABELS`) and their
  colours, the colours of the latency bands (:func:`band_colours`);
* how a percentage is printed, in a page or in running text (:func:`percent`);
* how a string from data or config becomes inert HTML text (:func:`escape_text`);
* which data credits a city must show (:func:`data_attribution`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex

if TYPE_CHECKING:
    from latcircle.config import CityConfig

__all__ = [
    "BASIS_COLOURS",
    "BASIS_LABELS",
    "PROGRESS_COLOURS",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "band_colours",
    "data_attribution",
    "escape_text",
    "percent",
]

BASIS_LABELS: dict[str, str] = {
    "key_sites": "Key sites",
    "population": "Population",
    "area": "Area",
}
BASIS_COLOURS: dict[str, str] = {"key_sites": "#d95f02", "population": "#1b9e77", "area": "#7570b3"}
STATUS_LABELS: dict[str, str] = {
    "covered": "covered",
    "too_far": "too far (build compute)",
    "no_access": "no access (build access)",
}
STATUS_COLOURS: dict[str, str] = {
    "covered": "#1a9641",
    "too_far": "#d7191c",
    "no_access": "#7b3294",
}
#: Progress status colours (latcircle.analysis.progress: met / on track / behind).
PROGRESS_COLOURS: dict[str, str] = {"met": "#1a9641", "on track": "#fdae61", "behind": "#d7191c"}


def percent(value: Any, *, digits: int = 1, missing: str = "n/a", plain: bool = False) -> str:
    """Return a share in [0, 1] as a percentage: ``0.6944`` gives ``69.4%``.

    Parameters
    ----------
    value
        The share; ``None``, NaN and ``pd.NA`` are missing.
    digits
        Decimals after the point.
    missing
        The text for a missing share.
    plain
        The style of running text (``shortfalls.md``): a space before the sign and a whole
        number without its zero decimals (``70 %``, ``69.4 %``).

    Returns
    -------
    str
    """
    if value is None or pd.isna(value):
        return missing
    text = f"{float(value):.{digits}%}"
    if not plain:
        return text
    number = text[:-1]
    if digits and number.endswith("." + "0" * digits):
        number = number[: -(digits + 1)]
    return f"{number} %"


def escape_text(value: object) -> str:
    """Return ``value`` as HTML text that stays text wherever map or report puts it.

    :func:`html.escape` covers HTML. Braces become character references because
    branca renders every element's generated script a second time as Jinja2 *source*
    (``MacroElement.render`` wraps it in ``Element(template)``): a ``{{ ... }}`` or
    ``{% ... %}`` left in data would be evaluated there, so no data may carry a brace into
    the page. Backticks, ``$`` and backslashes are escaped too, so that text placed in a
    JavaScript template literal can neither interpolate (``${...}``) nor break the script.
    Control characters, which HTML cannot show (a NUL is dropped by the parser), become
    their visible Control Pictures symbols (NUL as ␀); lone surrogates, which no UTF-8
    file can hold, become U+FFFD.

    Parameters
    ----------
    value
        Anything; ``None`` and NaN give an empty string.

    Returns
    -------
    str
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_INERT)


#: Characters that must not reach the page as themselves (see :func:`escape_text`).
_INERT = {
    ord("{"): "&#123;",
    ord("}"): "&#125;",
    ord("`"): "&#96;",
    ord("$"): "&#36;",
    ord("\\"): "&#92;",
    **{c: chr(0x2400 + c) for c in range(32) if chr(c) not in "\t\n\r"},
    0x7F: "\u2421",
    **dict.fromkeys(range(0xD800, 0xE000), "\ufffd"),
}


def band_colours(thresholds_ms: Sequence[float]) -> dict[float, str]:
    """Return a colour per band: dark blue-green for the tightest, pale for the widest.

    Parameters
    ----------
    thresholds_ms
        The band thresholds.

    Returns
    -------
    dict
        Threshold to hex colour, in ascending threshold order.
    """
    values = sorted(float(t) for t in thresholds_ms)
    cmap = colormaps["YlGnBu_r"]
    if len(values) == 1:
        return {values[0]: to_hex(cmap(0.35))}
    return {t: to_hex(cmap(0.1 + 0.65 * i / (len(values) - 1))) for i, t in enumerate(values)}


def data_attribution(cfg: CityConfig) -> list[str]:
    """Return the data credits a city's map and report must show.

    Read from the config's notes and input notes and file names: OpenStreetMap data is
    credited under ODbL, WorldPop under CC BY 4.0; synthetic cities credit nothing real.

    Parameters
    ----------
    cfg
        The city config.

    Returns
    -------
    list of str
        Plain text, one credit each (escape before use in HTML).
    """
    if cfg.synthetic:
        return ["Synthetic data: every input is generated (latcircle.demo)"]
    words = " ".join(
        str(x)
        for x in (
            cfg.notes,
            cfg.network.path.name,
            cfg.boundary.path.name,
            cfg.population.note if cfg.population else None,
            cfg.population.path.name if cfg.population else None,
        )
        if x
    ).lower()
    out = []
    if "osm" in words or "openstreetmap" in words:
        out.append("Roads and boundary: © OpenStreetMap contributors (ODbL)")
    if "worldpop" in words:
        out.append("Population: WorldPop (CC BY 4.0)")
    return out
