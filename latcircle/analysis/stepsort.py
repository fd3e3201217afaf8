"""Sorted critical values and the weight at or above each: the steps of a share curve.

:mod:`latcircle.analysis.sensitivity` turns each sample's critical value into a share at
any value: the weight of the samples whose critical value is at or above it, over the
basis's total. Here that weight is made once per parameter, year and basis: the coverable
critical values sorted, with their **suffix weights** (the weight from each sorted index to
the end).

Suffix weights are sums, and a sum of floats depends on its order. They are summed in
extended precision (``np.longdouble``: rounding below 1e-12 of the total), except where the
float64 sum is exact (:func:`exact_suffix`): then both give the exact sums, the same floats
in any order, and the float64 one is cheaper (no 16-byte copy of the weights).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Row", "Sorted", "equal_unit", "exact_suffix", "share_totals", "shares", "suffix"]

#: One kind of rows of ``sensitivity.csv``: kind, values, share, share above.
Row = tuple[str, np.ndarray, np.ndarray, np.ndarray]
#: float64's significand: integers up to ``2**53`` are exact.
_DIGITS = 53
#: The largest power of two float64 holds: ``2**1023``.
_MAX_EXP = 1023


@dataclass(frozen=True)
class Sorted:
    """Sorted coverable critical values and the weight at or above each index.

    ``suffix`` has one entry more than ``stars`` (0 at the end). With equal weights it is not
    stored: ``(len − i)·unit`` is the same float as the stored array would hold. ``rows``:
    ``sensitivity.csv``'s rows of these values, made once, kept with them.
    """

    stars: np.ndarray
    suffix: np.ndarray | None
    unit: float = 0.0
    rows: dict[tuple[float, bool], list[Row]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def weight_at(self, idx: np.ndarray) -> np.ndarray:
        """Return the weight of the samples at or above sorted index ``idx``."""
        if self.suffix is not None:
            return np.asarray(self.suffix[idx])
        return (len(self.stars) - np.asarray(idx)).astype(float) * self.unit


def shares(weight: np.ndarray, total: float) -> np.ndarray:
    """:func:`~latcircle.analysis.coverage.share_of` over an array (NaN without weight)."""
    if not total > 0:
        return np.full(np.shape(weight), np.nan)
    return np.asarray(weight, dtype=float) / total


def suffix(
    star: np.ndarray, weight: np.ndarray, *, hint: tuple[np.ndarray, Sorted] | None = None
) -> tuple[Sorted, np.ndarray]:
    """Sorted coverable critical values with their suffix weights, and the order.

    ``hint``: a candidate order (indices of the coverable samples) with its sorted values,
    used when it sorts these; the same order has the same suffix weights.
    """
    coverable = star > -np.inf  # -inf and NaN: never covered
    if hint is not None and len(hint[0]) == np.count_nonzero(coverable):
        order = hint[0]
        stars = star[order]
        if np.all(stars[1:] >= stars[:-1]) and np.all(stars > -np.inf):
            return Sorted(stars, hint[1].suffix, hint[1].unit), order
    idx = np.flatnonzero(coverable)
    order = idx[np.argsort(star[idx])]
    del idx
    stars = star[order]
    # Equal weights (area cells, key sites): asked of the whole array first (no gather).
    w = None if len(order) and np.all(weight == weight[0]) else weight[order]
    if w is None or (len(w) and np.all(w == w[0])):  # or the coverable ones alone equal
        return Sorted(stars, None, float(weight[order[0]])), order
    got = exact_suffix(w)
    if got is not None:
        return Sorted(stars, got), order
    wl = w.astype(np.longdouble)  # extended precision: rounding below 1e-12
    suffix_l = np.concatenate([np.cumsum(wl[::-1])[::-1], [np.longdouble(0.0)]])
    return Sorted(stars, suffix_l.astype(float)), order


def exact_suffix(w: np.ndarray) -> np.ndarray | None:
    """Suffix sums of ``w`` (one more entry, 0 at the end) when float64 sums them exactly.

    With ``T = 2**ceil(log2 max|w|) · 2**ceil(log2 n)`` (at least ``Σ|w|``) and
    ``u = T / 2**53``: when every weight is a whole multiple of ``u``, every sum of any of
    them, in any order, is a multiple of ``u`` no larger than ``2**53·u`` in size, which
    float64 holds exactly; so every addition of the running sum is exact, and the sums are
    the exact ones (which extended precision, with more digits, gets exactly too). ``None``
    otherwise (or with a weight not finite), for the extended-precision sum.

    Population weights read from float32 rasters qualify in practice: Wuhan's 494,675 lie in
    ``[1.6, 180]`` with significands of 24 bits, so ``u ≤ 2**-26`` divides each of them.
    """
    n = len(w)
    if n == 0:
        return None
    top = float(np.max(np.abs(w)))
    if not np.isfinite(top) or top == 0.0:  # NaN, inf; all zero: the usual way
        return None
    # Powers of two (exact): T = 2**bound ≥ n·max|w| ≥ Σ|w|.
    bound = int(np.frexp(top)[1]) + int(n - 1).bit_length()
    scale = np.ldexp(1.0, bound - _DIGITS)
    if bound > _MAX_EXP or scale < np.finfo(float).tiny:  # T beyond float64, u subnormal
        return None
    scaled = w / scale  # exact: a power of two, no overflow (|w/u| ≤ 2**53)
    if not np.array_equal(np.trunc(scaled), scaled):
        return None
    out = np.empty(n + 1)
    out[n] = 0.0
    out[:n] = np.cumsum(w[::-1])[::-1]
    return out


def equal_unit(weight: np.ndarray) -> float | None:
    """Return the one weight of ``weight`` when all are equal and not zero, else ``None``.

    A zero (``0.0`` equals ``-0.0``) is left to :func:`suffix`, which takes the sign of the
    first in sorted order.
    """
    if len(weight) == 0 or not np.all(weight == weight[0]):
        return None
    unit = float(weight[0])
    return unit if unit != 0.0 else None


def share_totals(items: Iterable[Any]) -> None:
    """Let the items (``SampleCritical``) of one weight array share one total, summed once.

    Each keeps its basis's total in its ``_total`` list, summed on first ask; the years of a
    basis hold the same weight array, whose sum is the same float every time.
    """
    kept: dict[int, list[float]] = {}
    for item in items:
        object.__setattr__(item, "_total", kept.setdefault(id(item.weight), item._total))
