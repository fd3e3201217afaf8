"""The one writer of city configs (``<id>.yaml``): commented YAML sections, written atomically.

``latcircle fetch`` (:mod:`latcircle.sources.cityconfig`), the demo generator and the
national demo set each describe a config as sections of plain mappings with an optional
comment; this module turns them into YAML text, the same way for all three, so that every
value from data (a city name with a colon, a note with a quote) is quoted as YAML reads it
back, never pasted into YAML text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from latcircle.output.files import atomic_file

__all__ = ["ConfigSection", "city_config_text", "write_city_config"]

#: A section of a config: an optional comment (plain text, one or more lines) and the keys.
ConfigSection = tuple[str | None, Mapping[str, Any]]

_COMMENT_WIDTH = 96
_YAML_WIDTH = 100


def city_config_text(sections: Sequence[ConfigSection]) -> str:
    """Return the YAML text of a city config made of commented sections.

    Parameters
    ----------
    sections
        ``(comment, mapping)`` pairs in order. A comment is wrapped at 96 characters and
        written as ``#`` lines above its mapping; keys keep their order.

    Returns
    -------
    str
        The config text, ending with a newline.

    Examples
    --------
    >>> print(city_config_text([("A city.", {"id": "x", "name": "A: B"})]), end="")
    # A city.
    id: x
    name: 'A: B'
    """
    parts: list[str] = []
    for comment, mapping in sections:
        if comment:
            parts.append(_comment(comment))
        parts.append(_dump(mapping))
    return "\n".join(parts) + "\n"


def write_city_config(path: Path, sections: Sequence[ConfigSection]) -> str:
    """Write a city config atomically (see :func:`city_config_text`); return its text.

    Parameters
    ----------
    path
        The config file (``<folder>/<id>.yaml``).
    sections
        ``(comment, mapping)`` pairs in order.

    Returns
    -------
    str
        The text written.
    """
    text = city_config_text(sections)
    atomic_file(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))
    return text


def _comment(text: str) -> str:
    lines = [
        wrapped
        for line in text.splitlines()
        for wrapped in (textwrap.wrap(line, _COMMENT_WIDTH, subsequent_indent="  ") or [""])
    ]
    return "\n".join(f"# {line}".rstrip() for line in lines)


def _dump(mapping: Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        dict(mapping), allow_unicode=True, sort_keys=False, width=_YAML_WIDTH
    ).rstrip()
