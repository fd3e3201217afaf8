"""Coverage: the share of a metro inside each latency threshold, on three bases.

Each basis is a set of weighted sample locations, located once on the network:

* ``area``: the centres of grid cells inside the metro, each weighing its area (km²);
* ``population``: the population raster's own pixel centres inside the metro, each weighing
  its people (no resampling, so people are never smeared or lost);
* ``key_sites``: the key sites, each weighing its weight (1 unless given).

For a scenario (a :class:`~latcircle.engine.latency.LatencyField`) each sample gets a latency and a
serving site; the uncovered weight splits into three causes, each with its own remedy
(:data:`CAUSES`, :func:`cause_codes`):

* **no access**: beyond the max drop from the network (build access);
* **unreachable**: on the network, but on a piece of it (a connected component) that no
  online site is attached to (connect the network, or build a site on that piece);
* **too far**: reachable, but latency over the budget (build compute nearer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from latcircle.engine.latency import NO_SITE, AccessTerms, LatencyField
from latcircle.engine.locator import PointLocation

__all__ = [
    "BASES",
    "CAUSES",
    "CAUSE_CODES",
    "Evaluation",
    "Samples",
    "cause_codes",
    "coverage_table",
    "covered",
    "evaluate",
    "one_weight",
    "share_of",
    "site_service",
    "weight_where",
]

#: Bases in report order, with the unit their weights are counted in.
BASES: dict[str, str] = {"key_sites": "sites", "population": "people", "area": "km2"}

#: Why a place is not covered, in report order (each has its own remedy).
CAUSES: tuple[str, ...] = ("no_access", "unreachable", "too_far")
#: Status codes (as in ``latency.tif`` band 2): 0 outside the metro, then covered and causes.
CAUSE_CODES: dict[str, int] = {"covered": 1, "no_access": 2, "unreachable": 3, "too_far": 4}


def cause_codes(latency_us: np.ndarray, has_access: np.ndarray, *, budget_ms: float) -> np.ndarray:
    """Return each location's status code (:data:`CAUSE_CODES`): covered or why not.

    Parameters
    ----------
    latency_us
        Latency in µs (``inf`` without access or without a reachable site).
    has_access
        Whether each location lies within the max drop of the network.
    budget_ms
        The budget.

    Returns
    -------
    numpy.ndarray
        ``int8`` codes: 1 covered (latency ≤ budget), 2 no access, 3 unreachable (access,
        but no online site on its piece of network: latency infinite), 4 too far.
    """
    lat = np.asarray(latency_us, dtype=float)
    access = np.asarray(has_access, dtype=bool)
    # Too far where finite, else unreachable; then no access, then covered, each overriding
    # the last. Put by integer arithmetic on 0/1 flags (``c + (x - c) * flag``: x where the
    # flag holds, c elsewhere), whole passes over one byte a sample, instead of ``np.where``
    # and two masked assignments: 5.3 -> 1.1 ms on Wuhan's 860 k cells, the same codes.
    too_far, unreachable = CAUSE_CODES["too_far"], CAUSE_CODES["unreachable"]
    no_access, inside = CAUSE_CODES["no_access"], CAUSE_CODES["covered"]
    code = np.multiply(np.isfinite(lat), np.int8(too_far - unreachable), dtype=np.int8)
    code += np.int8(unreachable)
    code -= np.int8(no_access)
    np.multiply(code, access, out=code)  # 0 without access
    code += np.int8(no_access)
    step = np.subtract(code, np.int8(inside), dtype=np.int8)
    np.multiply(step, covered(lat, budget_ms=budget_ms), out=step)  # 0 where not covered
    code -= step
    return code


def covered(latency_us: np.ndarray, *, budget_ms: float) -> np.ndarray:
    """Return where a latency is within a budget: **the** covered rule, ``latency ≤ budget``.

    Every table, layer, map and figure that counts what is covered calls this (a sample
    exactly at the budget is covered). ``inf`` (no access, no reachable site) and NaN are
    never covered.

    Parameters
    ----------
    latency_us
        Latencies in µs (any shape).
    budget_ms
        The budget in milliseconds.

    Returns
    -------
    numpy.ndarray
        Boolean, the shape of ``latency_us``.
    """
    return np.asarray(latency_us) <= budget_ms * 1000.0


def share_of(covered_weight: float, total_weight: float) -> float:
    """Return a share: covered weight over total weight, NaN when there is no weight.

    The one share rule of every table (an empty scope, such as a district without key sites,
    has no share rather than a share of 0).

    Parameters
    ----------
    covered_weight
        Weight within the budget.
    total_weight
        All the weight of the scope.

    Returns
    -------
    float
    """
    return covered_weight / total_weight if total_weight > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class Samples:
    """Weighted sample locations of one basis, located on the network.

    Attributes
    ----------
    basis
        ``area``, ``population`` or ``key_sites``.
    weight
        Each sample's weight in the basis unit.
    location
        Where each sample meets the network.
    district
        Index of the district holding each sample (-1: none).
    x, y
        Sample coordinates in the local CRS, to locate them again on a network that
        changes with the year (links with an online year); ``None`` when not kept.
    """

    basis: str
    weight: np.ndarray
    location: PointLocation
    district: np.ndarray
    x: np.ndarray | None = None
    y: np.ndarray | None = None

    @property
    def unit(self) -> str:
        """The unit of the weights."""
        return BASES[self.basis]

    @property
    def total(self) -> float:
        """Sum of the weights."""
        return float(self.weight.sum())

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the samples' ``x`` and ``y`` in the local CRS, in sample order.

        For population these are the pixel centres inside the metro, as
        :func:`latcircle.analysis.metro.prepare` selected them: callers that place samples on
        a map or a grid use these instead of selecting the pixels again.

        Raises
        ------
        ValueError
            When the samples were made without their coordinates (a latcircle bug).
        """
        if self.x is None or self.y is None:
            msg = f"{self.basis} samples carry no coordinates"
            raise ValueError(msg)
        return self.x, self.y


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Latency and serving site at every sample of one basis, for one scenario.

    Attributes
    ----------
    samples
        The samples evaluated.
    latency_us
        Latency in µs (``inf``: no access or no reachable site).
    site
        Serving site index (-1: none).
    """

    samples: Samples
    latency_us: np.ndarray
    site: np.ndarray
    # The codes per budget, made once: the progress table, the map's years, the clusters and
    # ``latency.tif`` each ask the same scenario at the same budget. Not an argument, so a
    # ``dataclasses.replace`` (other latencies) starts empty.
    _codes: dict[float, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False, metadata={"memo": True}
    )

    def status(self, budget_ms: float) -> np.ndarray:
        """Return ``covered``, ``no_access``, ``unreachable`` or ``too_far`` for each sample."""
        names = np.array(["", *CAUSE_CODES], dtype=object)
        return names[self.codes(budget_ms)]

    def codes(self, budget_ms: float) -> np.ndarray:
        """Return each sample's status code (:func:`cause_codes`), read-only, made once."""
        key = float(budget_ms)
        if not hasattr(self, "_codes"):  # unpickled from a version without the memo
            object.__setattr__(self, "_codes", {})
        got = self._codes.get(key)
        if got is None:
            got = cause_codes(self.latency_us, self.samples.location.has_access, budget_ms=key)
            got.flags.writeable = False  # shared by every later ask
            self._codes[key] = got
        return got


def evaluate(
    field: LatencyField, samples: Samples, *, terms: AccessTerms | None = None
) -> Evaluation:
    """Evaluate a scenario at every sample of a basis.

    Parameters
    ----------
    field
        The solved scenario.
    samples
        Samples located on the same network.
    terms
        The samples' access terms on the field's network, to reuse across scenarios
        (:meth:`~latcircle.engine.latency.LatencyField.at`: the same answer).

    Returns
    -------
    Evaluation
    """
    latency, site = field.at(samples.location, terms=terms)
    return Evaluation(samples=samples, latency_us=latency, site=site)


def coverage_table(
    evaluations: list[Evaluation],
    *,
    thresholds_ms: list[float],
    district_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Tabulate coverage for the metro and each district, per basis and threshold.

    Parameters
    ----------
    evaluations
        One per basis.
    thresholds_ms
        Latency budgets in milliseconds.
    district_names
        Names of the districts, in index order.

    Returns
    -------
    pandas.DataFrame
        Columns ``scope`` (``metro`` or ``district``), ``name``, ``basis``, ``unit``,
        ``threshold_ms``, ``covered``, ``no_access``, ``unreachable``, ``too_far``, ``total``,
        ``share``: covered and the three causes (:data:`CAUSES`) add up to the total.
        ``share`` is empty (NaN) where the scope has no weight on that basis.
    """
    rows: list[dict[str, object]] = []
    scopes: list[tuple[str, str, int | None]] = [("metro", "metro", None)]
    scopes += [("district", name, i) for i, name in enumerate(district_names or [])]
    # Which samples have access: one pass per basis, shared by every scope.
    access = [ev.samples.location.has_access for ev in evaluations]
    # One weight (area cells, key sites): sums by counting, no gathers (the same floats).
    ones = [one_weight(ev.samples.weight) for ev in evaluations]
    for scope, name, index in scopes:
        for ev, has_access, one in zip(evaluations, access, ones, strict=True):
            rows.extend(
                _rows(ev, scope, name, index, thresholds_ms, has_access=has_access, one=one)
            )
    return pd.DataFrame(
        rows,
        columns=[
            "scope",
            "name",
            "basis",
            "unit",
            "threshold_ms",
            "covered",
            "no_access",
            "unreachable",
            "too_far",
            "total",
            "share",
        ],
    )


def _rows(
    ev: Evaluation,
    scope: str,
    name: str,
    index: int | None,
    thresholds_ms: list[float],
    *,
    has_access: np.ndarray,
    one: bool = False,
) -> list[dict[str, object]]:
    s = ev.samples
    mask = slice(None) if index is None else np.flatnonzero(s.district == index)
    lat = ev.latency_us[mask]
    access = has_access[mask]
    # One weight: the scope's first weights stand for any of its own (no gather).
    w = s.weight[: len(lat)] if one else s.weight[mask]
    weigh = partial(weight_where, w, one=one)
    total = weigh(None)
    no_access = weigh(~access)
    # No online site on the sample's piece of network: uncovered at every threshold.
    reached = np.isfinite(lat)
    unreachable = weigh(access & ~reached)
    reached &= access  # with access and a finite latency: found once, not per threshold
    out = []
    for thr in thresholds_ms:
        inside = covered(lat, budget_ms=thr)
        within = weigh(inside)
        out.append(
            {
                "scope": scope,
                "name": name,
                "basis": s.basis,
                "unit": s.unit,
                "threshold_ms": thr,
                "covered": within,
                "no_access": no_access,
                "unreachable": unreachable,
                "too_far": weigh(reached & ~inside),
                "total": total,
                "share": share_of(within, total),
            }
        )
    return out


def weight_where(weight: np.ndarray, mask: np.ndarray | None, *, one: bool) -> float:
    """Return ``weight[mask].sum()`` (``weight.sum()`` for ``None``) as a float.

    With ``one`` (every weight the same float: :func:`one_weight`), the first ``k`` weights
    are summed, ``k`` the count of ``mask``: any ``k`` of them are ``k`` copies of one float,
    and numpy's pairwise sum of a contiguous run depends on its values in order only, so
    that is the same float, bit for bit, without gathering them. The one home of that rule
    (the coverage table here, the progress tally).
    """
    if one:
        k = len(weight) if mask is None else int(np.count_nonzero(mask))
        return float(weight[:k].sum())
    return float(weight.sum() if mask is None else weight[mask].sum())


def one_weight(weight: np.ndarray) -> bool:
    """Whether every weight is the same float64, bit for bit (area cells, key sites).

    Contiguous too, so that a prefix of them is summed as any ``k`` of them gathered
    (:func:`weight_where`).
    """
    if weight.dtype != np.float64 or not len(weight) or not weight.flags.c_contiguous:
        return False
    bits = weight.view(np.int64)  # as bits: -0.0 is not 0.0 (any copies of one float sum alike)
    return bool((bits == bits[0]).all())


def site_service(evaluations: list[Evaluation], *, n_sites: int, budget_ms: float) -> pd.DataFrame:
    """Return what each site serves within the budget, on each basis.

    A sample is served by its nearest site in latency (the serving site), and counts only
    when that latency is within the budget.

    Parameters
    ----------
    evaluations
        One per basis.
    n_sites
        Number of sites (rows of the result).
    budget_ms
        The budget.

    Returns
    -------
    pandas.DataFrame
        One row per site index; a column ``served_<basis>`` per basis.
    """
    out = pd.DataFrame(index=pd.RangeIndex(n_sites, name="site"))
    for ev in evaluations:
        ok = covered(ev.latency_us, budget_ms=budget_ms) & (ev.site != NO_SITE)
        served = np.bincount(ev.site[ok], weights=ev.samples.weight[ok], minlength=n_sites)
        out[f"served_{ev.samples.basis}"] = served[:n_sites]
    return out
