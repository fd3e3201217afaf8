"""Exact sensitivity of coverage to the route factor ``r`` and the equipment latency ``E``.

For a fixed network without per-node device latency, a sample's latency from site ``s`` is
``factor·(E + extras + S_s + k·r·ℓ_s)`` with ``ℓ_s`` the cable route length (site drop +
network path + sample drop), and the route is the same for every ``r``. The covered rule
(:func:`latcircle.analysis.coverage.covered`, ``latency ≤ budget``) solved for each parameter
gives each sample's **critical values**:

* ``r*(p) = max_s (B − S_s) / (k·ℓ_s(p))`` with ``B = budget/factor − extras − E``: covered
  exactly when ``r ≤ r*(p)`` (at the run's ``E``). Sites are grouped by device latency
  ``S``: per group one solve gives ``min ℓ`` (:func:`latcircle.engine.persite.path_lengths`),
  so the serving site may change with ``r`` and ``r*`` is still exact;
* ``E*(p) = budget/factor − extras − min_s (S_s + k·r·ℓ_s(p))``: covered exactly when
  ``E ≤ E*(p)`` (at the run's ``r``).

The share at any value is then the weight of the samples whose critical value is at or above
it (:func:`latcircle.analysis.coverage.share_of`): an exact, non-increasing step function with
one breakpoint per distinct critical value. ``−inf`` marks a sample never covered (no access,
unreachable, or the site latency alone over budget), ``+inf`` one always covered.

With per-node device latency the shortest route itself depends on ``r``: ``r*`` is then
found by **re-solving** at every value of the 0.01 grid over ``[1, 2]`` (exact at those
values; ``r*`` is the largest grid value still covered, a lower bound to 0.01, ``−inf``
below 1.0), and ``E*`` comes from the solved field, ``E`` being additive.

Floating point: a run sums rounded per-edge latencies; these critical values are computed from
route lengths. The two agree except for samples whose latency lies within about 1e-9 µs of
the budget at exactly the value asked (a critical value itself); shares are exact sums where
float64 holds them, else in extended precision (below 1e-12: :mod:`~.stepsort`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import Samples, covered, evaluate
from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro, Scenario, attach_site_table
from latcircle.analysis.progress import meets, resolve_basis, year_range
from latcircle.analysis.stepsort import Row as _Row
from latcircle.analysis.stepsort import Sorted as _Sorted
from latcircle.analysis.stepsort import equal_unit, exact_suffix, share_totals
from latcircle.analysis.stepsort import shares as _shares
from latcircle.analysis.stepsort import suffix as _suffix
from latcircle.config import LatencyParams
from latcircle.engine.latency import LatencyField, arc_matrix, solve
from latcircle.engine.persite import evaluate_fields, length_fields

__all__ = [
    "E_GRID",
    "MAX_BREAKPOINTS",
    "PARAMETERS",
    "R_GRID",
    "SENSITIVITY_COLUMNS",
    "SampleCritical",
    "Sensitivity",
    "critical_table",
    "sensitivity",
    "sensitivity_table",
    "target_scenarios",
]

#: The parameters a share is a step function of, by their config names.
ROUTE, EQUIP = "route_factor", "equipment_us"
PARAMETERS = (ROUTE, EQUIP)
#: The regular grids written to ``sensitivity.csv`` (exact at exactly these values).
R_GRID = np.round(np.linspace(1.0, 2.0, 101), 2)
E_GRID = np.linspace(0.0, 500.0, 51)
#: Range of each parameter whose breakpoints are written.
RANGES = {ROUTE: (1.0, 2.0), EQUIP: (0.0, 500.0)}
#: Breakpoints per parameter, year and basis written in full up to this many; above it only
#: the first breakpoint at which the share falls below each multiple of :data:`THIN_SHARE`.
MAX_BREAKPOINTS = 1000
THIN_SHARE = 0.001
#: Columns of ``sensitivity.csv``: the five of the issue, then what kind of row it is and the
#: share just above the value (the step's right-hand side).
SENSITIVITY_COLUMNS = ["parameter", "value", "year", "basis", "share", "kind", "share_above"]
#: A route factor rise the map calls fragile coverage against (lost if r rises by 10 %).
FRAGILE_RISE = 1.10


@dataclass(frozen=True)
class SampleCritical:
    """Each sample's critical values in one scenario on one basis.

    Attributes
    ----------
    year
        The scenario year (``None``: every site).
    basis
        The basis.
    weight
        Each sample's weight.
    r_star
        Covered exactly when ``r ≤ r_star`` (at the run's ``E``).
    e_star
        Covered exactly when ``E ≤ e_star`` µs (at the run's ``r``).
    r_exact
        False with per-node device latency: ``r_star`` is then the 0.01 grid's lower bound.
    group_us
        Device latency ``S`` of each site group (columns of ``lengths``).
    lengths
        ``(n, groups)`` route length (m) from the nearest online site of each group; ``None``
        with per-node device latency.
    online
        The scenario's online sites.

    ``r_star``, ``e_star`` and ``lengths`` are properties: with route lengths (exact in
    ``r``) both parameters are sorted when the critical values are made, and the per-sample
    arrays are then derived again from the run's latency (or the kept lengths) when asked,
    the same floats, rather than held for every year and basis of the run.
    """

    year: int | None
    basis: str
    weight: np.ndarray
    r_exact: bool
    group_us: np.ndarray
    _arrays: _PerSample = field(repr=False, compare=False)
    online: np.ndarray | None = None
    _sorted: dict[str, _Sorted] = field(default_factory=dict, repr=False, compare=False)
    _order: dict[str, tuple[np.ndarray, _Sorted]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _total: list[float] = field(default_factory=list, repr=False, compare=False)

    def _sorted_of(self, parameter: str) -> _Sorted:
        """Sorted coverable critical values and suffix weights, built on first use.

        ``r*`` and ``E*`` both fall as the route grows, so the order found for one is tried
        for the other first (checked, and sorted afresh when it does not hold); the same
        order gives the same suffix weights, which are then shared. The order is kept only
        until both parameters are sorted.
        """
        if parameter not in self._sorted:
            hint = next(iter(self._order.values()), None)
            sorted_, order = _suffix(self.stars(parameter), self.weight, hint=hint)
            self._sorted[parameter] = sorted_
            if len(self._sorted) < len(PARAMETERS):
                self._order[parameter] = (order, sorted_)
            else:
                self._order.clear()
        return self._sorted[parameter]

    @property
    def r_star(self) -> np.ndarray:
        """Covered exactly when ``r ≤ r_star`` (at the run's ``E``)."""
        return self._arrays.get()[0]

    @property
    def e_star(self) -> np.ndarray:
        """Covered exactly when ``E ≤ e_star`` µs (at the run's ``r``)."""
        return self._arrays.get()[1]

    @property
    def lengths(self) -> np.ndarray | None:
        """``(n, groups)`` route lengths (m); ``None`` with per-node device latency."""
        return self._arrays.lengths()

    @property
    def has_lengths(self) -> bool:
        """Whether :attr:`lengths` is an array (asked without deriving it again)."""
        return self._arrays.has_lengths()

    def with_e_star(self, e_star: np.ndarray) -> SampleCritical:
        """Return these critical values with other ``E*`` (sorted afresh, order hint kept)."""
        kept = _PerSample.kept(self.r_star, e_star, self.lengths)
        return dataclasses.replace(self, _arrays=kept, _sorted={})

    @property
    def total(self) -> float:
        """All the basis's weight (summed once)."""
        if not self._total:
            self._total.append(float(self.weight.sum()))
        return self._total[0]

    def stars(self, parameter: str) -> np.ndarray:
        """Return the per-sample critical values of ``parameter``."""
        return self.r_star if parameter == ROUTE else self.e_star

    def share(self, parameter: str, value: float | np.ndarray) -> np.ndarray:
        """Return the exact share at ``value`` (samples with critical value ≥ it)."""
        return self._share(parameter, value, side="left")

    def share_above(self, parameter: str, value: float | np.ndarray) -> np.ndarray:
        """Return the share just above ``value`` (critical value > it)."""
        return self._share(parameter, value, side="right")

    def _share(self, parameter: str, value: float | np.ndarray, *, side: str) -> np.ndarray:
        sorted_ = self._sorted_of(parameter)
        idx = np.searchsorted(sorted_.stars, np.asarray(value, dtype=float), side=side)  # type: ignore[call-overload]
        return _shares(sorted_.weight_at(idx), self.total)

    def breakpoints(self, parameter: str, low: float, high: float) -> np.ndarray:
        """Return the distinct critical values in ``[low, high]`` (where the share steps)."""
        stars = self._sorted_of(parameter).stars
        lo = int(np.searchsorted(stars, low, side="left"))
        hi = int(np.searchsorted(stars, high, side="right"))
        inside = stars[lo:hi]  # sorted (no NaN): exactly the values in [low, high]
        return inside[np.r_[True, inside[1:] != inside[:-1]]] if len(inside) else inside

    def critical(self, parameter: str, target: float) -> float:
        """Return the largest value at which the share still meets ``target``.

        ``nan`` when it is met at no value, ``inf`` when at every value.
        """
        sorted_ = self._sorted_of(parameter)
        stars = sorted_.stars
        if len(stars) == 0:
            return float("nan")
        # The share at stars[i] counts from the first of its equal values on.
        first = np.r_[True, stars[1:] != stars[:-1]]
        left = np.maximum.accumulate(np.where(first, np.arange(len(stars)), 0))
        ok = meets(_shares(sorted_.weight_at(left), self.total), target)
        if not ok.any():
            return float("nan")
        return float(stars[np.flatnonzero(ok)[-1]])


class _PerSample:
    """A critical's ``(r_star, e_star, lengths)``: kept, or derived again on every ask.

    ``derive`` (when given) computes all three and ``lengths_of`` the lengths alone; they
    are kept until :meth:`release`.
    """

    def __init__(
        self,
        derive: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray | None]] | None = None,
        arrays: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None,
        lengths_of: Callable[[], np.ndarray] | None = None,
        *,
        eager: bool = True,
    ) -> None:
        self._derive, self._lengths_of = derive, lengths_of
        if arrays is None and derive is not None and eager:
            arrays = derive()
        self._arrays = arrays

    @classmethod
    def kept(cls, r_star: np.ndarray, e_star: np.ndarray, lengths: np.ndarray | None) -> _PerSample:
        """Arrays held as given (no way to derive them again)."""
        return cls(arrays=(r_star, e_star, lengths))

    def get(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return the arrays (derived again when released)."""
        if self._arrays is not None:
            return self._arrays
        assert self._derive is not None
        return self._derive()

    def lengths(self) -> np.ndarray | None:
        """Return the lengths alone (derived again when released)."""
        if self._arrays is None and self._lengths_of is not None:
            return self._lengths_of()
        return self.get()[2]

    def has_lengths(self) -> bool:
        """Whether :meth:`lengths` gives an array (without deriving it when it can)."""
        if self._lengths_of is not None:
            return True
        return self.get()[2] is not None

    def release(self) -> None:
        """Drop the held arrays when they can be derived again."""
        if self._derive is not None:
            self._arrays = None


@dataclass(frozen=True)
class Sensitivity:
    """Critical values of every sample per scenario (year) and basis.

    Attributes
    ----------
    params
        The run's latency parameters (the point the curves pass through).
    budget_ms
        The budget.
    criticals
        Keyed by ``(year, basis)``; year ``None`` is the run's all-sites scenario.
    run_year
        The run scenario's year.
    method
        ``"route lengths"`` (exact in ``r``) or ``"re-solved on the 0.01 grid"``.
    """

    params: LatencyParams
    budget_ms: float
    criticals: Mapping[tuple[int | None, str], SampleCritical]
    run_year: int | None
    method: str

    def get(self, year: int | None, basis: str) -> SampleCritical:
        """Return the critical values of ``year`` and ``basis``."""
        return self.criticals[(year, basis)]


def sensitivity(
    metro: Metro, scenarios: Sequence[Scenario], *, memo: YearsMemo | None = None
) -> Sensitivity:
    """Compute every sample's critical ``r`` and ``E`` in each solved scenario.

    Parameters
    ----------
    metro
        The prepared metro.
    scenarios
        Solved scenarios, the run's first (:func:`target_scenarios` adds the target years'),
        one per year; scenarios with the same online sites share their critical values.
    memo
        Critical values kept for other runs of ``metro``
        (:class:`~latcircle.analysis.memo.YearsMemo`): a scenario with the same online sites
        on the same network takes them, and those computed here are kept in it.

    Returns
    -------
    Sensitivity
    """
    device = np.nan_to_num(metro.inputs.sites["device_latency_us"].to_numpy(dtype=float))
    exact = not metro.network.node_device_us.any()
    out: dict[tuple[int | None, str], SampleCritical] = {}
    done: dict[tuple[bytes, float | None], int | None] = {}
    for sc in scenarios:
        if any(key[0] == sc.year for key in out):
            continue
        key = (np.packbits(sc.online).tobytes(), metro.view_key(sc.year))
        if key in done:  # the same sites on the same network: the same critical values
            for basis in sc.evaluations:
                out[(sc.year, basis)] = dataclasses.replace(out[(done[key], basis)], year=sc.year)
            continue
        done[key] = sc.year
        if memo is not None:
            kept = memo.get("criticals", key)
            if kept is not None:  # the same sites on the same network, in another run
                out.update({(sc.year, b): dataclasses.replace(c, year=sc.year) for b, c in kept})
                continue
        found = _criticals(metro, sc, device, exact=exact)
        if memo is not None:
            memo.put("criticals", key, tuple((b, c) for (_, b), c in found.items()))
        out.update(found)
    share_totals(out.values())  # the years of a basis: one sum of its weights
    method = "route lengths (exact)" if exact else "re-solved on the 0.01 grid (lower bound)"
    return Sensitivity(
        params=metro.params,
        budget_ms=metro.config.budget_ms,
        criticals=out,
        run_year=scenarios[0].year if scenarios else None,
        method=method,
    )


def _criticals(
    metro: Metro, sc: Scenario, device: np.ndarray, *, exact: bool
) -> dict[tuple[int | None, str], SampleCritical]:
    """Compute the critical values of one scenario on every basis (:func:`sensitivity`)."""
    if not exact:
        return _by_resolving(metro, sc)
    use = np.flatnonzero(sc.online & metro.view(sc.year).attachment.attached)
    group_us = np.unique(device[use])
    if len(group_us) <= 1:
        return _from_field(metro, sc, group_us)
    return _by_lengths(metro, sc, [use[device[use] == s] for s in group_us], group_us)


def target_scenarios(
    metro: Metro, scenario: Scenario, *, memo: YearsMemo | None = None
) -> list[Scenario]:
    """Return the run's scenario then one per progress year (solved once, reused by progress).

    The years are :func:`latcircle.analysis.progress.year_range`'s: the earliest site online
    year to the last target year, every target year included. A year with the same online
    sites on the same network as an earlier one shares its solve; the others are solved
    together (:meth:`~latcircle.analysis.metro.Metro.scenarios`), their serving sites held
    in the smallest integer type of their values (``narrow_sites``: no step reads them).
    With a ``memo`` (:class:`~latcircle.analysis.memo.YearsMemo`), a year another run of
    ``metro`` solved (the same sites on the same network) is taken from it, and the years
    solved here are kept in it.
    """
    years = [year for year in year_range(metro) if year != scenario.year]
    keys = [(scenario.online, metro.view_key(scenario.year))]
    same: list[int | None] = []  # per year: the first earlier entry with its sites, if any
    for year in years:
        online, view = metro.online(year), metro.view_key(year)
        same.append(
            next(
                (i for i, (o, v) in enumerate(keys) if np.array_equal(o, online) and v == view),
                None,
            )
        )
        keys.append((online, view))
    todo = [y for y, s in zip(years, same, strict=True) if s is None]
    # No reader of a year's serving sites: held narrow (``narrow_sites``).
    solve = metro.scenarios if memo is None else functools.partial(memo.scenarios, metro)
    solved = iter(solve(todo, narrow_sites=True))
    out = [scenario]
    for year, s in zip(years, same, strict=True):
        out.append(next(solved) if s is None else dataclasses.replace(out[s], year=year))
    return out


def _budget_us(metro: Metro) -> float:
    """``budget/factor − extras``: what ``E + S + k·r·ℓ`` may reach (one way)."""
    p = metro.params
    return metro.config.budget_ms * 1000.0 / p.factor - p.extra_us


def _from_field(
    metro: Metro, sc: Scenario, group_us: np.ndarray
) -> dict[tuple[int | None, str], SampleCritical]:
    """Every online site has the same ``S``: the run's own latency gives each route length.

    ``L = factor·(E + extras + S + k·r₀·ℓ)``, so ``ℓ = (L/factor − E − extras − S)/(k·r₀)``
    and no further solve is needed.
    """
    p = metro.params
    s_us = float(group_us[0]) if len(group_us) else 0.0
    kw: dict[str, Any] = {
        "params": p,
        "room": _budget_us(metro),
        "budget_ms": metro.config.budget_ms,
    }
    out = {}
    for basis, ev in sc.evaluations.items():
        lat, part = ev.latency_us, functools.partial
        out[(sc.year, basis)] = _critical(
            metro,
            sc,
            basis,
            part(_field_lengths, lat, p, s_us),
            np.array([s_us]),
            derive=part(_field_criticals, lat, s_us, **kw),
            reached=part(_field_reached, lat, s_us, **kw),
            presorted=part(_field_sorted, lat, ev.samples.weight, s_us, **kw),
        )
    return out


def _field_sorted(
    latency_us: np.ndarray,
    weight: np.ndarray,
    s_us: float,
    *,
    params: LatencyParams,
    room: float,
    budget_ms: float,
) -> tuple[_Sorted, _Sorted] | None:
    """Both parameters' sorted values: the reached latencies sorted, not the values.

    ``r*`` and ``E*`` are element-wise functions of the latency (:func:`_field_reached`;
    IEEE steps never reverse an order, the anchoring included) that never rise with it:
    applied to the latencies sorted from the highest they come out sorted (checked), the
    floats sorting them would give. Equal weights: ``np.sort`` alone; else an ``argsort``
    if the sums are exact (:func:`exact_suffix`). ``None`` (:func:`_suffix`'s way) if not,
    if none is reached, ``r*`` is all ``−inf``, or a value is zero (``±0.0`` sort equal).
    """
    reach = np.flatnonzero(np.isfinite(latency_us))
    if len(reach) == 0 or room - params.equipment_us - s_us < 0:
        return None
    lat, w = latency_us[reach], weight[reach]
    unit = equal_unit(w)
    if unit is not None:
        desc, suffix = np.sort(lat)[::-1], None
    else:
        order = np.argsort(lat)
        suffix = exact_suffix(w[order[::-1]])
        if suffix is None:
            return None
        desc = lat[order[::-1]]
    del reach, lat, w
    ell = _field_lengths(desc, params, s_us)[:, 0]
    r_star, e_star = _stars_one(ell, s_us, room=room, params=params)
    now = covered(desc, budget_ms=budget_ms)
    out = []
    for star, own in ((r_star, params.route_factor), (e_star, params.equipment_us)):
        star = _anchor(star, now, own)
        zero = np.searchsorted(star, 0.0)
        if not (star[0] > -np.inf and np.all(star[1:] >= star[:-1])) or (
            zero < len(star) and star[zero] == 0.0
        ):
            return None
        out.append(_Sorted(star, suffix, 0.0 if unit is None else unit))
    return out[0], out[1]


def _field_criticals(
    latency_us: np.ndarray, s_us: float, *, params: LatencyParams, room: float, budget_ms: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_from_lengths` of :func:`_field_lengths`, computed on the reached samples only.

    A sample no site reaches (infinite latency) has an infinite length and ``−inf`` for both
    critical values, and the anchoring leaves it so (it is not covered and ``−inf`` is below
    any value); every other value is the same element-wise operation as over all samples.
    Most of a metro's samples may be unreached (Wuhan: ~80 % of the area cells in 2024).
    """
    n = len(latency_us)
    reach, r_sub, e_sub, ell = _field_reached(
        latency_us, s_us, params=params, room=room, budget_ms=budget_ms, lengths=True
    )
    r_star, e_star = np.full(n, -np.inf), np.full(n, -np.inf)
    r_star[reach], e_star[reach] = r_sub, e_sub
    lengths = np.full((n, 1), np.inf)
    lengths[reach, 0] = ell
    return r_star, e_star, lengths


def _field_reached(
    latency_us: np.ndarray,
    s_us: float,
    *,
    params: LatencyParams,
    room: float,
    budget_ms: float,
    lengths: bool = False,
) -> Any:
    """Return the reached samples, their anchored ``r*`` and ``E*`` (and lengths if asked)."""
    reach = np.flatnonzero(np.isfinite(latency_us))
    lat = latency_us[reach]
    ell = _field_lengths(lat, params, s_us)[:, 0]
    r_sub, e_sub = _stars_one(ell, s_us, room=room, params=params)
    now = covered(lat, budget_ms=budget_ms)
    r_sub = _anchor(r_sub, now, params.route_factor)
    e_sub = _anchor(e_sub, now, params.equipment_us)
    return (reach, r_sub, e_sub, ell) if lengths else (reach, r_sub, e_sub)


def _field_lengths(latency_us: np.ndarray, p: LatencyParams, s_us: float) -> np.ndarray:
    """Route lengths ``(n, 1)`` from the run's latency (:func:`_from_field`)."""
    # In one buffer: the same operations in the same order as
    # ``np.maximum(L / factor − fixed − S, 0) / (k·r)``, without a new array for each.
    path_us = np.divide(latency_us, p.factor)
    with np.errstate(invalid="ignore"):
        path_us -= p.fixed_us
        path_us -= s_us
        np.maximum(path_us, 0.0, out=path_us)
    path_us /= p.k_us_per_m * p.route_factor
    return path_us[:, None]


def _by_lengths(
    metro: Metro, sc: Scenario, groups: list[np.ndarray], group_us: np.ndarray
) -> dict[tuple[int | None, str], SampleCritical]:
    """Sites differ in ``S``: one route-length solve per group of equal ``S``."""
    view = metro.view(sc.year)
    fields = length_fields(view.network, view.attachment, metro.params, groups=groups)
    out = {}
    for basis, samples in view.samples.items():
        lengths = evaluate_fields(fields, groups, samples.location).values  # kept: a solve
        kept = functools.partial(np.asarray, lengths)
        out[(sc.year, basis)] = _critical(metro, sc, basis, kept, group_us)
    return out


def _critical(
    metro: Metro,
    sc: Scenario,
    basis: str,
    lengths: Callable[[], np.ndarray],
    group_us: np.ndarray,
    *,
    derive: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray | None]] | None = None,
    reached: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
    presorted: Callable[[], tuple[_Sorted, _Sorted] | None] | None = None,
) -> SampleCritical:
    """Critical values from route lengths, both parameters sorted, the arrays released.

    Every run sorts both (the curves); sorted here, the per-sample arrays need not be held.
    ``derive`` gives ``(r_star, e_star, lengths)``; :func:`_from_lengths` of ``lengths``
    when ``None``. ``reached`` gives ``(rows, r_star, e_star)`` of the samples that are not
    ``−inf`` for both: sorted from those, the whole arrays are not made here.
    """
    ev = sc.evaluations[basis]
    if derive is None:
        derive = functools.partial(
            _from_lengths,
            lengths,
            group_us,
            ev.latency_us,
            params=metro.params,
            room=_budget_us(metro),
            budget_ms=metro.config.budget_ms,
        )
    crit = SampleCritical(
        year=sc.year,
        basis=basis,
        weight=ev.samples.weight,
        r_exact=True,
        group_us=group_us,
        _arrays=_PerSample(derive, lengths_of=lengths, eager=reached is None),
        online=sc.online,
    )
    both = None if presorted is None else presorted()
    if both is not None:  # the values :func:`_suffix` would sort, sorted without it
        crit._sorted.update(zip(PARAMETERS, both, strict=True))
    elif reached is None:
        for parameter in PARAMETERS:  # r first: E tries its order (as every later ask would)
            crit._sorted_of(parameter)
    else:
        # The same sorts in the same order with the same hint as _sorted_of, on the reached
        # samples: every coverable value is among them, in the same order, so the sorted
        # values and weights are the same (the order, here by position, is only a hint).
        rows, *subs = reached()
        weight = crit.weight[rows]
        hint = None
        for parameter, sub in zip(PARAMETERS, subs, strict=True):
            sorted_, order = _suffix(sub, weight, hint=hint)
            crit._sorted[parameter] = sorted_
            hint = (order, sorted_)
    crit._arrays.release()
    return crit


def _from_lengths(
    lengths_of: Callable[[], np.ndarray],
    group_us: np.ndarray,
    latency_us: np.ndarray,
    *,
    params: LatencyParams,
    room: float,
    budget_ms: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(r_star, e_star, lengths)``, anchored to the run's covered rule."""
    lengths = lengths_of()
    r_star, e_star = _stars(lengths, group_us, room=room, params=params)
    now = covered(latency_us, budget_ms=budget_ms)
    return (
        _anchor(r_star, now, params.route_factor),
        _anchor(e_star, now, params.equipment_us),
        lengths,
    )


def _anchor(star: np.ndarray, now: np.ndarray, own: float) -> np.ndarray:
    """Make ``own ≤ star`` agree with the run's covered rule at the run's own value.

    Route lengths and the run's per-edge sums round differently; a sample within rounding
    of the budget is put on the side the run itself put it (``now``). ``star`` is changed
    in place (every caller passes a fresh array) and returned.
    """
    low = now & (star < own)
    star[low] = own
    high = ~now & (star >= own)
    star[high] = np.nextafter(own, -np.inf)
    return star


def _stars(
    lengths: np.ndarray, group_us: np.ndarray, *, room: float, params: LatencyParams
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ``r*`` (at the run's E) and ``E*`` (at the run's r) from route lengths.

    ``-inf`` for both where no site reaches (computed on the reachable samples only).
    """
    n = lengths.shape[0]
    if len(group_us) == 1:
        return _stars_one(lengths[:, 0], float(group_us[0]), room=room, params=params)
    r_star, e_star = np.full(n, -np.inf), np.full(n, -np.inf)
    if len(group_us) == 0:
        return r_star, e_star
    reach = np.flatnonzero(np.isfinite(lengths).any(axis=1))
    if len(reach) == 0:
        return r_star, e_star
    sub = lengths[reach]
    k = params.k_us_per_m
    num = room - params.equipment_us - group_us  # B − S_g
    r_sub = np.full(len(reach), -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for g in range(len(group_us)):
            ell = sub[:, g]
            if num[g] < 0:
                continue  # the site latency alone exceeds the budget: never covered
            r_g = np.where(ell > 0, num[g] / (k * ell), np.inf)
            r_g[~np.isfinite(ell)] = -np.inf
            r_sub = np.maximum(r_sub, r_g)
    r_star[reach] = r_sub
    e_star[reach] = room - np.min(group_us[None, :] + k * params.route_factor * sub, axis=1)
    return r_star, e_star


def _stars_one(
    ell: np.ndarray, s_us: float, *, room: float, params: LatencyParams
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_stars` for one group of sites (one ``S``), over every sample at once.

    Each value is the one :func:`_stars` computes (``max`` with ``−inf`` and ``min`` over
    one column give the value itself; IEEE sums and products commute); the samples no
    site reaches (``ell`` not finite) get ``−inf``, as there.
    """
    reach = np.isfinite(ell)
    k = params.k_us_per_m
    num = room - params.equipment_us - s_us  # B − S
    if num < 0:  # the site latency alone exceeds the budget: never covered
        r_star = np.full(len(ell), -np.inf)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            r_star = np.multiply(ell, k)
            np.divide(num, r_star, out=r_star)
        r_star[ell <= 0] = np.inf  # not ``ell > 0``: as np.where(ell > 0, ..., inf)
        r_star[~reach] = -np.inf
    e_star = np.multiply(ell, k * params.route_factor)
    e_star += s_us
    np.subtract(room, e_star, out=e_star)
    e_star[~reach] = -np.inf
    return r_star, e_star


def _by_resolving(metro: Metro, sc: Scenario) -> dict[tuple[int | None, str], SampleCritical]:
    """Per-node device latency: ``r*`` on the 0.01 grid by re-solving, ``E*`` from the field."""
    view = metro.view(sc.year)
    room = _budget_us(metro)
    r_star = {b: np.full(len(s.weight), -np.inf) for b, s in view.samples.items()}
    for r in R_GRID:
        lat_field = _field_at(metro, view, sc.online, route_factor=float(r))
        for basis, samples in view.samples.items():
            ok = covered(evaluate(lat_field, samples).latency_us, budget_ms=metro.config.budget_ms)
            r_star[basis][ok] = r  # the largest grid value still covered (at least 2.0 at 2.0)
    out = {}
    for basis, ev in sc.evaluations.items():
        lat = ev.latency_us
        with np.errstate(invalid="ignore"):
            e_star = room - (lat / metro.params.factor - metro.params.equipment_us)
        now = covered(lat, budget_ms=metro.config.budget_ms)
        e_anchored = _anchor(
            np.where(np.isfinite(lat), e_star, -np.inf), now, metro.params.equipment_us
        )
        out[(sc.year, basis)] = SampleCritical(
            year=sc.year,
            basis=basis,
            weight=ev.samples.weight,
            r_exact=False,
            group_us=np.zeros(0),
            _arrays=_PerSample.kept(r_star[basis], e_anchored, None),
            online=sc.online,
        )
    return out


def _field_at(metro: Metro, view: Any, online: np.ndarray, *, route_factor: float) -> LatencyField:
    """Solve ``view`` again with another route factor (site drops priced anew)."""
    params = dataclasses.replace(metro.params, route_factor=route_factor)
    sites = metro.inputs.sites
    net = view.network
    att = attach_site_table(view.locator, sites, params)
    return solve(net, att, params, online=online, arcs=arc_matrix(net, params))


def sensitivity_table(sens: Sensitivity) -> pd.DataFrame:
    """Return ``sensitivity.csv``: grid rows, breakpoints and critical values.

    Per parameter, year and basis: the regular grid (:data:`R_GRID`, :data:`E_GRID`), every
    breakpoint in the range (thinned above :data:`MAX_BREAKPOINTS`, see the module doc) and
    the run's own value. ``share`` is exact at exactly ``value``; ``share_above`` is the share
    for values just above it (they differ only at a breakpoint).

    Parameters
    ----------
    sens
        From :func:`sensitivity`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SENSITIVITY_COLUMNS`, sorted by parameter, year, basis, value.
    """
    columns: dict[str, list[np.ndarray]] = {c: [] for c in SENSITIVITY_COLUMNS}
    for (year, basis), crit in sens.criticals.items():
        for parameter in PARAMETERS:
            for kind, values, share, share_above in _rows(sens, crit, parameter):
                n = len(values)
                columns["parameter"].append(np.full(n, parameter, dtype=object))
                columns["value"].append(values)
                columns["year"].append(np.full(n, year, dtype=object))
                columns["basis"].append(np.full(n, basis, dtype=object))
                columns["share"].append(share)
                columns["kind"].append(np.full(n, kind, dtype=object))
                columns["share_above"].append(share_above)
    if not columns["value"]:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    # One frame from whole columns (not one per year, basis, parameter and kind).
    table = pd.DataFrame({c: np.concatenate(parts) for c, parts in columns.items()})
    table["year"] = table["year"].astype("Int64")
    table["_y"] = table["year"].fillna(0)
    table = table.sort_values(["parameter", "_y", "basis", "value", "kind"], kind="stable")
    return table.drop(columns="_y").reset_index(drop=True)[SENSITIVITY_COLUMNS]


def _rows(sens: Sensitivity, crit: SampleCritical, parameter: str) -> list[_Row]:
    """Return one parameter's rows (:func:`_kinds`, their shares), kept with its sorted values.

    Critical values other runs of the metro made (``YearsMemo``) give their rows again.
    """
    own = sens.params.route_factor if parameter == ROUTE else sens.params.equipment_us
    kept, key = crit._sorted_of(parameter).rows, (float(own), crit.r_exact)
    if key not in kept:
        share, above = crit.share, crit.share_above
        kinds = _kinds(sens, crit, parameter)
        kept[key] = [
            (k, np.asarray(v, float), share(parameter, v), above(parameter, v)) for k, v in kinds
        ]
    return kept[key]


def _kinds(sens: Sensitivity, crit: SampleCritical, parameter: str) -> list[tuple[str, np.ndarray]]:
    """Return the values written for one parameter: grid, breakpoints, the run's value."""
    grid = R_GRID if parameter == ROUTE else E_GRID
    if parameter == ROUTE and not crit.r_exact:
        kinds = [("grid", grid)]
    else:
        low, high = RANGES[parameter]
        kinds = [("grid", grid), ("breakpoint", _thinned(crit, parameter, low, high))]
    own = sens.params.route_factor if parameter == ROUTE else sens.params.equipment_us
    kinds.append(("run", np.array([own])))
    return kinds


def _thinned(crit: SampleCritical, parameter: str, low: float, high: float) -> np.ndarray:
    """Every breakpoint, or above :data:`MAX_BREAKPOINTS` one per :data:`THIN_SHARE` step."""
    values = crit.breakpoints(parameter, low, high)
    if len(values) <= MAX_BREAKPOINTS:
        return values
    share = crit.share(parameter, values)  # non-increasing along values
    level = np.floor(share / THIN_SHARE)
    keep = np.r_[True, level[1:] != level[:-1]]
    keep[-1] = True
    return values[keep]


def critical_table(sens: Sensitivity, metro: Metro) -> pd.DataFrame:
    """Return per target the value of ``r`` and of ``E`` at which it is lost.

    Each target is judged on its basis in its year. ``critical`` is the largest value at
    which the share still meets the target (``inf``: met at every value; NaN: at none);
    ``margin`` is how far that is from the run's value (positive: room to spare).

    Parameters
    ----------
    sens
        From :func:`sensitivity` (the target years included).
    metro
        The prepared metro.

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter``, ``year``, ``basis``, ``target_share``, ``run_value``,
        ``share_at_run``, ``critical``, ``margin``.
    """
    rows = []
    for target in metro.config.targets:
        basis = resolve_basis(target, metro.bases, source=metro.config.source)
        key = (target.year, basis)
        if key not in sens.criticals:
            continue
        crit = sens.criticals[key]
        for parameter in PARAMETERS:
            own = sens.params.route_factor if parameter == ROUTE else sens.params.equipment_us
            value = crit.critical(parameter, target.share)
            rows.append(
                {
                    "parameter": parameter,
                    "year": target.year,
                    "basis": basis,
                    "target_share": target.share,
                    "run_value": own,
                    "share_at_run": float(crit.share(parameter, own)),
                    "critical": value,
                    "margin": value - own,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "year",
            "basis",
            "target_share",
            "run_value",
            "share_at_run",
            "critical",
            "margin",
        ],
    )


def fragile_share(crit: SampleCritical, route_factor: float) -> float:
    """Return the share covered at ``route_factor`` but lost if it rises by 10 %."""
    now = float(crit.share(ROUTE, route_factor))
    return now - float(crit.share(ROUTE, route_factor * FRAGILE_RISE))


def samples_of(metro: Metro, year: int | None) -> Mapping[str, Samples]:
    """Return the samples the critical values of ``year`` are aligned with."""
    return metro.view(year).samples
