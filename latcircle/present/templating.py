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

The templates' compiled code can be kept as Python keeps ``.pyc`` files: :func:`compile_templates`
(``python -m latcircle.present.templating``, run by ``make install`` after ``compileall``)
compiles every template with this very environment into :data:`CODE_DIR`, and the environment
reads it back through Jinja2's own bytecode cache (:class:`InstalledCode`), which uses a
template's code only if it was compiled from the same source (Jinja2's SHA-1 of it), by the
same Jinja2 bytecode format and Python version, and under the same settings (the key holds
:func:`settings_digest`). Anything else, or no code kept, is compiled on first use as before.
A run never writes there: compiling the report's templates took ~0.03 s of each run
(measured 2026-12-07, session round 16).

Table cells are plain values (escaped) or one of the small cell types here
(:class:`StatusCell`, :class:`LinksCell`, :class:`LabelCell`), each drawn by the table macro
in ``templates/macros.html``.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import pickle
import sys
from collections.abc import Sequence
from functools import cache
from hashlib import sha1
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from latcircle.present import style

__all__ = [
    "CODE_DIR",
    "InstalledCode",
    "LabelCell",
    "LinksCell",
    "StatusCell",
    "compile_templates",
    "environment",
    "png_base64",
    "render",
    "settings_digest",
]

#: Where :func:`compile_templates` keeps the templates' compiled code: beside this package's
#: own bytecode (``__pycache__``, never tracked; ``make install`` writes both).
CODE_DIR = Path(__file__).parent / "__pycache__" / "templates"

#: The file ending of a template's compiled code in :data:`CODE_DIR`.
_CODE_SUFFIX = ".j2c"


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

    Templates compiled at install (:func:`compile_templates`) are read from :data:`CODE_DIR`
    when they are still those templates; the others are compiled on first use.

    Returns
    -------
    jinja2.Environment
    """
    try:
        code = InstalledCode(CODE_DIR)
    except OSError:  # the environment's source unreadable (e.g. a zip import): none kept
        return make_environment()
    return make_environment(code=code)


def make_environment(
    *, loader: jinja2.BaseLoader | None = None, code: jinja2.BytecodeCache | None = None
) -> jinja2.Environment:
    """Return a new page environment: the one home of its settings.

    Parameters
    ----------
    loader
        Where templates come from; the package's ``templates/`` when ``None``.
    code
        Jinja2's bytecode cache for the templates' compiled code (none when ``None``).

    Returns
    -------
    jinja2.Environment
    """
    env = jinja2.Environment(
        loader=loader or jinja2.PackageLoader("latcircle.present", "templates"),
        bytecode_cache=code,
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


class InstalledCode(jinja2.BytecodeCache):
    """Jinja2's bytecode cache over templates compiled at install; it writes nothing.

    Jinja2 hands over a template's code only when the file holds Jinja2's bytecode format
    for this Python and the SHA-1 of the very source being loaded; the file's name (the key)
    holds the template's name and file and :func:`settings_digest`. A missing, stale or
    unreadable file is a miss: Jinja2 compiles the template, as without a cache.

    Parameters
    ----------
    folder
        The folder :func:`compile_templates` wrote.
    settings
        The digest of what else the code depends on; :func:`settings_digest` when ``None``.
    """

    def __init__(self, folder: Path, *, settings: str | None = None) -> None:
        self.folder = Path(folder)
        self.settings = settings_digest() if settings is None else settings

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        """Return the key of ``name`` (from ``filename``) under these settings."""
        return sha1(f"{name}|{filename}|{self.settings}".encode()).hexdigest()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Give ``bucket`` the kept code, if any (Jinja2 drops it unless it is current)."""
        try:
            with open(self.path(bucket.key), "rb") as file:
                bucket.load_bytecode(file)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            bucket.reset()  # unreadable: compiled afresh

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Write nothing: a run never writes into the package (code is kept at install)."""

    def path(self, key: str) -> Path:
        """Return the file of the code with ``key``."""
        return self.folder / f"{key}{_CODE_SUFFIX}"


class _CodeWriter(InstalledCode):
    """:class:`InstalledCode` that keeps each template it compiles (install time only)."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Write ``bucket``'s code to its file, whole or not at all."""
        path = self.path(bucket.key)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_bytes(bucket.bytecode_to_string())
        os.replace(part, path)


def settings_digest() -> str:
    """Return the digest of what a template's compiled code depends on besides its source.

    That is Jinja2's version and the environment: its settings, filters and tests, all
    made in this module and :mod:`latcircle.present.style`, so their source is hashed
    whole (an edit to either makes every kept template a miss).

    Returns
    -------
    str
        Hexadecimal SHA-1.
    """
    digest = sha1(jinja2.__version__.encode())
    for module in (sys.modules[__name__], style):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def compile_templates(
    folder: Path = CODE_DIR, *, loader: jinja2.BaseLoader | None = None
) -> list[Path]:
    """Compile every template with the page environment and keep its code in ``folder``.

    Run at install (``make install``: ``python -m latcircle.present.templating``). Code kept
    there before (earlier sources or settings) is removed first; nothing else is touched.

    Parameters
    ----------
    folder
        Where to keep the code: :data:`CODE_DIR`, which :func:`environment` reads.
    loader
        The templates: the package's when ``None`` (as :func:`make_environment`).

    Returns
    -------
    list of pathlib.Path
        The files written, one per template.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*{_CODE_SUFFIX}"):
        old.unlink()
    env = make_environment(loader=loader, code=_CodeWriter(folder))
    for name in env.list_templates():
        env.get_template(name)
    return sorted(folder.glob(f"*{_CODE_SUFFIX}"))


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


if __name__ == "__main__":  # pragma: no cover - `make install`
    print(f"{len(compile_templates())} templates compiled into {CODE_DIR}")
