"""The one place HTML pages are rendered: Jinja2 template files, autoescaped.

Every page of :mod:`latcircle.present.report` and :mod:`latcircle.present.dashboard` is a
template file under ``latcircle/present/templates/`` (package data). Data reaches a page only
as template *variables*, never as template source: nothing here compiles a string.

The environment is built once (:func:`environment`) and never changed afterwards:

* ``autoescape`` on for ``.html`` (and ``.css``/``.svg``) files, and ``StrictUndefined``, so
  a misspelt variable is an error, not an empty cell;
* every ``{{ value }}`` passes through :func:`~latcircle.present.style.escape_text`
  (``finalize``), the one home of escaping: besides HTML it turns braces, backticks, ``$`` and
  control characters into inert text, as every page did before templates. Only
  :class:`markupsafe.Markup` (HTML latcircle itself built from escaped parts, or Markdown
  rendered with raw HTML off) passes as is;
* numbers are formatted by :mod:`latcircle.present.style` (filters ``percent``, ``amount``,
  ``count``, ``number``).

Table cells are plain values (escaped) or one of the small cell types here
(:class:`StatusCell`, :class:`LinksCell`, :class:`LabelCell`), each drawn by the table macro
in ``templates/macros.html``.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from latcircle.present import style

__all__ = [
    "LabelCell",
    "LinksCell",
    "StatusCell",
    "environment",
    "png_base64",
    "render",
]


@dataclasses.dataclass(frozen=True)
class StatusCell:
    """A coloured status word, then plain text (``met`` on green, then `` 71.0% vs 70.0%``)."""

    status: str
    colour: str
    after: str = ""
    kind: str = "status"


@dataclasses.dataclass(frozen=True)
class LinksCell:
    """Links ``(word, href)`` separated by `` · ``; each href already URL-quoted."""

    pairs: Sequence[tuple[str, str]]
    kind: str = "links"


@dataclasses.dataclass(frozen=True)
class LabelCell:
    """A name followed by flags, each flag a small highlighted word."""

    name: object
    flags: Sequence[str] = ()
    kind: str = "label"


def render(template: str, /, **context: Any) -> str:
    """Return the template file ``template`` (under ``templates/``) rendered with ``context``.

    Parameters
    ----------
    template
        A path relative to ``latcircle/present/templates/``.
    **context
        The template's variables; data goes here, and only here.

    Returns
    -------
    str
    """
    return environment().get_template(template).render(**context)


@cache
def environment() -> jinja2.Environment:
    """Return the page environment (built once; never changed after it is returned).

    Returns
    -------
    jinja2.Environment
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("latcircle.present", "templates"),
        autoescape=jinja2.select_autoescape(["html", "css", "svg"], default=True),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update(
        percent=style.percent, amount=style.amount, count=style.count, number=style.number
    )
    env.tests["cell"] = _is_cell
    return env


def png_base64(png: bytes) -> str:
    """Return PNG bytes as the base64 text of a ``data:image/png`` URI (inert in HTML)."""
    return base64.b64encode(png).decode("ascii")


def _finalize(value: Any) -> Markup:
    """Escape every printed value with :func:`~latcircle.present.style.escape_text`."""
    if isinstance(value, Markup):
        return value
    return Markup(style.escape_text(value))


def _is_cell(value: Any, kind: str) -> bool:
    """Template test ``cell is cell("status")``: the value is a cell of that kind."""
    return isinstance(value, StatusCell | LinksCell | LabelCell) and value.kind == kind
