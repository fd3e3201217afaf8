"""JSON text of rounded coordinates, written from the arrays in one pass (no float objects).

The map's slider writes some 50,000 coordinates into the page's data document. Taken as
GeoJSON text from GEOS, parsed into Python lists of floats and encoded again, each number
cost a parse and a ``float.__repr__`` (about 0.03 s on Wuhan, measured 2026-12-07). The
coordinates are already rounded to ``d`` decimals (``np.round``: the float nearest
``k / 10**d`` for an integer ``k``), and such a float's ``repr`` is the decimal ``k / 10**d``
itself, written with its trailing zeros dropped (at least one decimal) whenever no other
decimal of at most ``d`` places lies as close to it: whenever its spacing (``ulp``) is under
``10**-d`` (``|x| < 2**52 / 10**d``) and it is written without an exponent (``x == 0`` or
``|x| >= 1e-4``). Here the digits of ``k`` are laid out with integer arithmetic and the text
is cut from one byte array. A value that is not of that kind (not so rounded, ``-0.0``,
tiny, huge, not finite) leaves the whole call to ``json`` (``None``), so the text is always
what ``json.dumps`` writes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely

__all__ = ["geometry_json", "row_texts"]

_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def row_texts(values: np.ndarray, decimals: int) -> list[str] | None:
    """Return each row of ``values`` as ``json.dumps(row.tolist())`` writes it.

    Parameters
    ----------
    values
        A ``(n, m)`` float64 array, each value rounded to ``decimals`` places
        (``np.round(x, decimals)``).
    decimals
        Decimal places (0 to 15).

    Returns
    -------
    list of str or None
        ``"[a, b, ...]"`` per row; ``None`` when some value is not of the kind written
        here (see the module's notes), to be encoded by ``json`` instead.
    """
    values = np.asarray(values)
    if values.dtype != np.float64 or values.ndim != 2 or not 0 <= decimals <= 15:
        return None
    n, m = values.shape
    if n == 0 or m == 0:
        return None
    flat = values.ravel()
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.rint(flat * scale)
        simple = np.abs(flat) < 2.0**52 / scale  # false for NaN and infinities
        simple &= (k / scale) == flat  # the float nearest k / 10**d
        simple &= (flat == 0) | (np.abs(flat) >= 1e-4)  # repr writes no exponent
        simple &= ~np.signbit(flat) | (flat != 0)  # -0.0 is "-0.0"
    if not simple.all():
        return None
    k = k.astype(np.int64).reshape(n, m)
    # Each row: "[" number (", " number)* "]" "\n", laid out a character per line of a
    # (width, n) array (the rows' columns), read row by row; the newlines split the rows.
    parts = [_constant("[", n)]
    for j in range(m):
        parts.append(_numbers(k[:, j], decimals))
        parts.append(_constant(", " if j < m - 1 else "]\n", n))
    chars = np.concatenate([c for c, _ in parts]).T
    used = np.concatenate([u for _, u in parts]).T
    return chars[used].tobytes().decode("ascii").split("\n")[:-1]


def _constant(text: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``text`` in each of ``n`` rows, every character written."""
    chars = np.repeat(np.frombuffer(text.encode("ascii"), dtype=np.uint8)[:, None], n, axis=1)
    return chars, np.ones(chars.shape, dtype=bool)


def _numbers(k: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Characters of each ``k / 10**decimals``, and which of them are written.

    A line per place (sign, integer digits, ".", decimals), a column per number.
    """
    whole, part = np.divmod(np.abs(k), 10**decimals)
    n_whole = len(str(int(whole.max())))
    n_part = max(decimals, 1)
    chars = np.empty((2 + n_whole + n_part, len(k)), dtype=np.uint8)
    used = np.empty(chars.shape, dtype=bool)
    chars[0], used[0] = ord("-"), k < 0
    # Integer digits right-aligned; a leading zero only for the units (0.5).
    rest = whole
    for j in range(n_whole, 0, -1):
        used[j] = (rest > 0) | (j == n_whole)
        rest, digit = np.divmod(rest, 10)
        chars[j] = _DIGITS[digit]
    chars[n_whole + 1], used[n_whole + 1] = ord("."), True
    # Decimals without their trailing zeros, at least one ("114.0"): a place is written
    # when it or a place after it is not zero.
    seen = np.zeros(len(k), dtype=bool)
    rest = part
    for j in range(decimals, 0, -1):
        rest, digit = np.divmod(rest, 10)
        chars[n_whole + 1 + j] = _DIGITS[digit]
        seen |= digit != 0
        used[n_whole + 1 + j] = seen
    if decimals == 0:
        chars[n_whole + 2] = ord("0")
    used[n_whole + 2] = True
    return chars, used


def geometry_json(geom: Any, decimals: int) -> str:
    """Return ``json.dumps(json.loads(shapely.to_geojson(geom)), sort_keys=True)``.

    A 2-D polygon or multipolygon whose parts are not empty, its coordinates rounded to
    ``decimals`` places, is written from its coordinate array (:func:`row_texts`); anything
    else takes that very route. GEOS writes each coordinate so that it parses back to the
    same float (its shortest round-trip form), so both write the float's ``repr``.
    """
    text = _polygons_json(geom, decimals)
    if text is None:
        return json.dumps(json.loads(shapely.to_geojson(geom)), sort_keys=True)
    return text


def _polygons_json(geom: Any, decimals: int) -> str | None:
    kind = geom.geom_type if geom is not None else None
    if kind not in ("Polygon", "MultiPolygon") or geom.is_empty or geom.has_z:
        return None
    parts = shapely.get_parts(geom)
    if shapely.is_empty(parts).any():
        return None
    rings, owner = shapely.get_rings(parts, return_index=True)
    rows = row_texts(shapely.get_coordinates(rings), decimals)
    if rows is None:
        return None
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    polygons: list[list[str]] = [[] for _ in parts]
    start = 0
    for i, end in zip(owner.tolist(), ends, strict=True):
        polygons[i].append("[" + ", ".join(rows[start:end]) + "]")
        start = end
    texts = ["[" + ", ".join(p) + "]" for p in polygons]
    coordinates = texts[0] if kind == "Polygon" else "[" + ", ".join(texts) + "]"
    return '{"coordinates": ' + coordinates + ', "type": "' + kind + '"}'
