"""How results look: labels, colours, escaping and number formats shared by map, report, figures.

One home for each presentation fact, so that the map, the report, the figures and the
command line never disagree:

* the words for bases and statuses (:data:`BASIS_LABELS`, :data:`STATUS_LABELS`) and their
  colours, the colours of the latency bands (:func:`band_colours`) and the names of their
  rings (:func:`ring_label`), the district share classes (:func:`share_colour`) and the
  heat layer's colours (:data:`HEAT_GRADIENT`);
* how a percentage is printed, in a page or in running text (:func:`percent`), and a
  weight or a count (:func:`amount`, :func:`number`, :func:`count`);
* how a string from data or config becomes inert HTML text (:func:`escape_text`);
* which data credits a city must show (:func:`data_attribution`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latcircle.text import PAGE_VISIBLE

if TYPE_CHECKING:
    from latcircle.config import CityConfig

__all__ = [
    "BASIS_COLOURS",
    "BASIS_LABELS",
    "BASIS_WORDS",
    "HEAT_GRADIENT",
    "NO_SHARE_COLOUR",
    "PROGRESS_COLOURS",
    "SHARE_CLASSES",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "UNIT_WORDS",
    "amount",
    "band_colours",
    "count",
    "data_attribution",
    "escape_text",
    "markdown_text",
    "number",
    "percent",
    "plain_text",
    "ring_label",
    "script_json",
    "script_json_text",
    "share_colour",
]

BASIS_LABELS: dict[str, str] = {
    "key_sites": "Key sites",
    "population": "Population",
    "area": "Area",
}
BASIS_COLOURS: dict[str, str] = {"key_sites": "#d95f02", "population": "#1b9e77", "area": "#7570b3"}
#: Bases and units as words in running text ("69 % of people within 1 ms", "59 more key sites").
BASIS_WORDS: dict[str, str] = {"key_sites": "key sites", "population": "people", "area": "area"}
UNIT_WORDS: dict[str, str] = {"sites": "key sites", "people": "people", "km2": "km²"}

STATUS_LABELS: dict[str, str] = {
    "covered": "covered",
    "no_access": "no access (build access)",
    "unreachable": "unreachable (connect the network or build a site there)",
    "too_far": "too far (build compute nearer)",
}
STATUS_COLOURS: dict[str, str] = {
    "covered": "#1a9641",
    "no_access": "#7b3294",
    "unreachable": "#e66101",
    "too_far": "#d7191c",
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


def amount(value: Any, unit: str, *, words: bool = True, missing: str = "—") -> str:
    """Return a weight as text, with one rounding rule for every page and the command line.

    km² to 0.1, people whole, key sites (weighted, so maybe fractional) to 0.1 without a
    trailing ``.0``: ``amount(1234.4, "people")`` gives ``1,234 people``,
    ``amount(3.0, "sites")`` ``3 key sites``, ``amount(2.25, "km2")`` ``2.2 km²``.

    Parameters
    ----------
    value
        The weight; ``None``, NaN and ``pd.NA`` are missing.
    unit
        The unit of a basis: ``people``, ``sites`` or ``km2``.
    words
        Follow the number with the unit's word (:data:`UNIT_WORDS`).
    missing
        The text for a missing weight.

    Returns
    -------
    str
    """
    if value is None or pd.isna(value):
        return missing
    number = float(value)
    if unit == "km2":
        text = f"{number:,.1f}"
    elif unit == "people":
        text = f"{number:,.0f}"
    else:
        text = f"{number:,.1f}".removesuffix(".0")
    return f"{text} {UNIT_WORDS.get(unit, unit)}" if words else text


#: A JSON string literal (what :func:`script_json` escapes braces inside).
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def script_json(value: object, *, allow_nan: bool = True) -> str:
    """Return ``value`` as JSON for a page's script that no template pass reads as syntax.

    Like Jinja2's ``tojson`` (sorted keys; ``<``, ``>``, ``&`` and ``'`` as Unicode escapes,
    so the text cannot close the script), and also ``{`` and ``}`` inside strings as Unicode
    escapes: folium/branca render an element's script a second time as a Jinja2 template,
    where a name holding ``{{ … }}`` would otherwise be evaluated.

    Parameters
    ----------
    value
        Anything JSON can hold.
    allow_nan
        Whether ``NaN`` and infinities may be written (valid JavaScript, not JSON). Pass
        ``False`` for a ``<script type="application/json">`` block read by ``JSON.parse``:
        a non-finite number is then a :class:`ValueError`, never a page that fails to load.

    Returns
    -------
    str
        A JavaScript expression with the same value (non-ASCII as Unicode escapes, so
        U+2028/U+2029 cannot end a line of the script either), and JSON when
        ``allow_nan=False``.
    """
    return script_json_text(json.dumps(value, sort_keys=True, allow_nan=allow_nan))


def script_json_text(text: str) -> str:
    """Return JSON text as :func:`script_json` writes it (its escapes, on ``json.dumps``' text).

    For a document assembled from parts already encoded (``json.dumps`` with sorted keys):
    the escapes are character for character and by whole string literal, so they give
    what :func:`script_json` gives for the value that text encodes.
    """
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return _JSON_STRING.sub(
        lambda m: m.group(0).replace("{", "\\u007b").replace("}", "\\u007d"), text
    )


#: Characters that make Markdown syntax anywhere in a line (emphasis, code, links, images,
#: autolinks, entities, table cells, strike-through, escapes).
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>&|~!])")


def markdown_text(value: object) -> str:
    """Return ``value`` as Markdown text that renders as written (``shortfalls.md``).

    Every character that could start Markdown syntax is backslash-escaped (CommonMark lets
    any ASCII punctuation be escaped), so a city named ``[x](https://…)`` or ``**x**`` shows
    as those characters, and a ``|`` does not split a table cell. Raw HTML is off where the
    Markdown is rendered (:func:`latcircle.present.markdown.markdown_html`); this closes the
    rest. Line breaks become spaces (a name cannot start a heading or a list item).

    Parameters
    ----------
    value
        Anything; ``None`` gives an empty string.

    Returns
    -------
    str
    """
    if value is None:
        return ""
    text = " ".join(str(value).splitlines())
    return _MARKDOWN_SYNTAX.sub(r"\\\1", text)


def escape_text(value: object) -> str:
    """Return ``value`` as HTML text that stays text wherever map or report puts it.

    :func:`html.escape` covers HTML. Braces become character references because
    branca renders every element's generated script a second time as Jinja2 *source*
    (``MacroElement.render`` wraps it in ``Element(template)``): a ``{{ ... }}`` or
    ``{% ... %}`` left in data would be evaluated there, so no data may carry a brace into
    the page. Backticks, ``$`` and backslashes are escaped too, so that text placed in a
    JavaScript template literal can neither interpolate (``${...}``) nor break the script.
    Control characters, which HTML cannot show (a NUL is dropped by the parser), become
    visible as :mod:`latcircle.text` shows them everywhere: C0 controls and DEL as their
    Control Pictures symbols (NUL as ␀), C1 controls and lone surrogates (which no UTF-8
    file can hold) as U+FFFD.

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


def plain_text(value: object) -> str:
    """Return ``value`` as text a page sets with ``textContent`` (never as markup).

    No HTML escaping (the page never parses it), but what HTML cannot show is made visible
    as :func:`escape_text` makes it (:data:`latcircle.text.PAGE_VISIBLE`).

    Parameters
    ----------
    value
        Anything; ``None`` and NaN give an empty string.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).translate(PAGE_VISIBLE)


#: Characters that must not reach the page as themselves (see :func:`escape_text`): what
#: breaks out of a script or a template, and what a reader cannot see
#: (:data:`latcircle.text.PAGE_VISIBLE`).
_INERT = {
    ord("{"): "&#123;",
    ord("}"): "&#125;",
    ord("`"): "&#96;",
    ord("$"): "&#36;",
    ord("\\"): "&#92;",
    **PAGE_VISIBLE,
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
    if len(values) == 1:
        return {values[0]: _ylgnbu_r(0.35)}
    return {t: _ylgnbu_r(0.1 + 0.65 * i / (len(values) - 1)) for i, t in enumerate(values)}


#: ColorBrewer YlGnBu, the nine stops of matplotlib's ``YlGnBu`` (light to dark).
_YLGNBU = (
    (1.0, 1.0, 0.8509803921568627),
    (0.9294117647058824, 0.9725490196078431, 0.6941176470588235),
    (0.7803921568627451, 0.9137254901960784, 0.7058823529411765),
    (0.4980392156862745, 0.803921568627451, 0.7333333333333333),
    (0.2549019607843137, 0.7137254901960784, 0.7686274509803922),
    (0.11372549019607843, 0.5686274509803921, 0.7529411764705882),
    (0.13333333333333333, 0.3686274509803922, 0.6588235294117647),
    (0.1450980392156863, 0.20392156862745098, 0.5803921568627451),
    (0.03137254901960784, 0.11372549019607843, 0.34509803921568627),
)


def _ylgnbu_r(x: float, n: int = 256) -> str:
    """Return matplotlib's ``colormaps["YlGnBu_r"](x)`` as hex, without importing matplotlib.

    The same 256-entry lookup table (stops linearly interpolated at ``i / 255``), the same
    index (``int(x·256)``, clipped) and the same rounding to hex: batch runs, which style the
    GeoPackage but draw no figure, then never pay for matplotlib (tests compare the two).
    """
    stops = np.array(_YLGNBU[::-1])
    where = np.linspace(0.0, 1.0, len(stops))
    i = min(max(int(x * n), 0), n - 1)
    rgb = [np.interp(i / (n - 1), where, stops[:, c]) for c in range(3)]
    return "#" + "".join(f"{round(float(v) * 255):02x}" for v in rgb)


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


def ring_label(lower_ms: float | None, upper_ms: float) -> str:
    """Return a ring's name: ``Latency ≤ 0.25 ms`` or ``Latency 0.25–0.5 ms``.

    A ring is a band minus the next tighter one
    (:func:`latcircle.analysis.isochrones.band_rings`).

    Parameters
    ----------
    lower_ms
        The next tighter threshold (``None`` for the tightest ring).
    upper_ms
        The ring's threshold.

    Returns
    -------
    str
    """
    if lower_ms is None:
        return f"Latency ≤ {upper_ms:g} ms"
    return f"Latency {lower_ms:g}–{upper_ms:g} ms"


#: District share classes ``(upper bound, exclusive; colour; label)``: breaks at the national
#: targets (70 % by 2027, 75 % by 2028), so a district exactly at a target is in the class
#: that meets it.
SHARE_CLASSES: list[tuple[float, str, str]] = [
    (0.5, "#f7f7f7", "< 50 %"),
    (0.7, "#d9f0d3", "50–70 %"),
    (0.75, "#a6dba0", "70–75 %"),
    (0.9, "#5aae61", "75–90 %"),
    (1.000001, "#1b7837", "≥ 90 %"),
]
#: A district without a share (no samples on the basis).
NO_SHARE_COLOUR = "#bdbdbd"


def share_colour(share: float | None) -> str:
    """Return a district's fill colour for its share within the budget (grey when unknown).

    Parameters
    ----------
    share
        A share in [0, 1], or NaN / ``None``.

    Returns
    -------
    str
        Hex colour of its class in :data:`SHARE_CLASSES` (upper bounds exclusive).
    """
    if share is None or np.isnan(share):
        return NO_SHARE_COLOUR
    return next(c for upper, c, _ in SHARE_CLASSES if share < upper)


#: Heat colours of uncovered people: yellow to dark brown, apart from the status colours
#: (covered green, too far red, no access purple) and the blue-green bands. Translucent, so
#: that rings, labels and the base map stay readable under dense heat.
HEAT_GRADIENT: dict[float, str] = {
    0.25: "rgba(254,227,145,0.55)",
    0.5: "rgba(254,153,41,0.65)",
    0.75: "rgba(204,76,2,0.75)",
    1.0: "rgba(102,37,6,0.85)",
}


def count(value: Any) -> str:
    """Return a whole number with thousands separators (``12,345``); missing gives ``""``.

    Parameters
    ----------
    value
        A count; ``None``, NaN and ``pd.NA`` are missing.

    Returns
    -------
    str
    """
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


def number(value: Any, unit: str) -> str:
    """Return a weight: km² to 0.1 (with ``km²``), people whole, key sites to 0.1.

    Key sites may be weighted: no trailing ``.0``. People and key sites have no unit word
    (:func:`amount` adds it); missing gives ``—``.

    Parameters
    ----------
    value
        The weight.
    unit
        ``km2``, ``people`` or ``sites``.

    Returns
    -------
    str
    """
    return amount(value, unit, words=unit == "km2")
