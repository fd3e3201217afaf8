"""Error translation: a pydantic validation error as one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from latcircle.config.city import CityConfig
from latcircle.errors import InputError

#: Longest text shown from a bad value in an error message.
_SHOWN = 60


def _clip(text: str) -> str:
    """Return ``text`` on one line, cut to :data:`_SHOWN` characters."""
    one = " ".join(text.split())
    return one if len(one) <= _SHOWN else one[: _SHOWN - 1] + "…"


def _one_line(path: Path, exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or None
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
        close = _closest(str(err["loc"][-1]), _known_keys(err["loc"][:-1]))
        if close:
            msg += f" (did you mean {close!r}?)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif "input" in err:
        msg = f"{msg} (got {_clip(_shown_input(err['input']))})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(path, key, msg)


def _shown_input(value: Any) -> str:
    """Return a short repr of a bad value, never expanding a large (aliased) structure."""
    if isinstance(value, dict | list | tuple | set):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return repr(value) if len(repr(value)) <= _SHOWN else repr(value)[:_SHOWN]


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = CityConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        candidates = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        sub = next((a for a in candidates if issubclass(a, BaseModel)), None)
        if sub is None:
            return []
        model = sub
    return list(model.model_fields)


def _closest(word: str, options: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None
