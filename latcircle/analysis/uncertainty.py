"""How sure a share is: P5 / P50 / P95 and the probability of meeting each target.

The uncertain parameters (config ``uncertainty:``, :class:`latcircle.config.UncertaintySpec`)
are the route factor ``r``, the equipment latency ``E``, an offset ``δ`` added to every site's
device latency, and the LEO allowance. ``E`` and ``δ`` enter every path alike, so only
``C = E + δ`` matters for the optical shares.

* **Exact** when one of ``r`` and ``C`` is uncertain: the share is a non-increasing step
  function of it (:mod:`latcircle.analysis.sensitivity`), so its ``P``-quantile is the share
  at the parameter's ``(1 − P)``-quantile and the probability of meeting a target is the
  parameter's CDF at the target's critical value (a table of values: summed exactly over its
  values).
* **Monte Carlo** otherwise: ``samples`` seeded draws (NumPy PCG64, ``seed``), each an exact
  share at the drawn values, quantiles by the inverted CDF of the draws. The same seed gives
  the same draws and the same figures.

Each draw's share is exact: with sites of one device latency the share at ``(r, C)`` is the
share at ``r·(B − E₀ − S)/(B − C − S)`` of the route-factor curve (``B`` the budget less
extras); with several device latencies the draw is evaluated on the route lengths, samples
decided over the whole support skipped. With per-node device latency each drawn ``r`` is rounded
*up* to the 0.01 grid and re-solved (conservative by less than 0.01 in ``r``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from latcircle.analysis.coverage import evaluate
from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.progress import meets, resolve_basis
from latcircle.analysis.sensitivity import (
    EQUIP,
    R_GRID,
    ROUTE,
    SampleCritical,
    Sensitivity,
    _field_at,
)
from latcircle.config import Distribution, UncertaintySpec
from latcircle.errors import InputError

__all__ = [
    "DEFAULT_SOURCES",
    "QUANTILES",
    "Dist",
    "UncertaintyResult",
    "draws",
    "resolve_distributions",
    "uncertainty",
]

#: The quantiles reported for every share.
QUANTILES = (0.05, 0.50, 0.95)
#: Parameters in draw order (the order never changes, so a seed keeps its meaning).
DRAW_ORDER = ("route_factor", "equipment_us", "site_us", "leo_allowance_ms")

#: Where each default distribution comes from. Every default is an assumption.
DEFAULT_SOURCES: dict[str, str] = {
    "route_factor": (
        "assumption: triangular(1.0, r, r + 0.4) on road proxies, (1.0, r, r + 0.2) on fibre "
        "routes. Cable runs longer than mapped routes through slack loops and building entry "
        "(Schneider Electric ArcFM Fiber Manager: cable length = GIS length + slack loops); "
        "alternative providers' routes between the same ends differ by ~10 % (XKL, 'What "
        "factors dictate fiber optic network paths'); measured latencies exceed conduit-length "
        "predictions (Bozkurt et al., 'Dissecting latency in the Internet's fiber "
        "infrastructure', arXiv:1811.10737, 2018)"
    ),
    "equipment_us": (
        "assumption: triangular(0.3 E, E, 2 E), with E = 100 µs: (30, 100, 200) µs. FEC adds "
        "~30 µs (HD-FEC) to 60-120 µs (AFEC) per terminal (MapYourTech, 'FEC and latency'); "
        "15-150 µs FEC and ~100 µs per OEO site (MapYourTech, optical fiber latency); 100 µs "
        "per electrical regeneration site (Huawei enterprise forum, 'WDM/OTN network latency "
        "composition', 2021)"
    ),
    "site_us": (
        "assumption: an offset triangular(-S/2, 0, S) added to every site's device latency, "
        "S the smallest site device latency (20 µs by default, itself an assumption)"
    ),
    "leo_allowance_ms": (
        "assumption: triangular(A/2, A, 2A), A = processing + handover of the LEO preset "
        "(1.5 ms, itself an assumption: analysis/leo.py LEO_SOURCES)"
    ),
}


@dataclass(frozen=True)
class Dist:
    """A resolved distribution: its kind, numbers, and where they come from.

    Attributes
    ----------
    kind
        ``fixed``, ``uniform``, ``triangular``, ``normal`` (truncated) or ``table``.
    low, high
        The support.
    mode, mean, sd
        Shape parameters (NaN when unused).
    values, weights
        A table's values (sorted) and probabilities.
    source
        Where it comes from ("default assumption: ..." or the config's text).
    """

    kind: str
    low: float
    high: float
    mode: float = math.nan
    mean: float = math.nan
    sd: float = math.nan
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    source: str = ""

    @property
    def uncertain(self) -> bool:
        """Whether the parameter takes more than one value."""
        return self.low < self.high

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Return the ``q``-quantiles (inverse CDF; a table's by the inverted CDF)."""
        q = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
        if not self.uncertain:
            return np.full(np.shape(q), self.low)
        if self.kind == "uniform":
            return self.low + q * (self.high - self.low)
        if self.kind == "triangular":
            return _triangular_ppf(q, self.low, self.mode, self.high)
        if self.kind == "normal":
            from scipy import stats  # only here: scipy.stats costs ~0.3 s of CPU to import

            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
            out = stats.truncnorm.ppf(q, a, b, loc=self.mean, scale=self.sd)
            return np.clip(np.asarray(out, dtype=float), self.low, self.high)
        cum = np.cumsum(self.weights)
        idx = np.searchsorted(cum, q * cum[-1], side="left")
        return np.asarray(self.values, dtype=float)[np.minimum(idx, len(self.values) - 1)]

    def cdf(self, x: float) -> float:
        """Return ``P(X ≤ x)``."""
        if x != x:  # NaN: a critical value that does not exist
            return 0.0
        if x >= self.high:
            return 1.0
        if x < self.low:
            return 0.0
        if not self.uncertain:
            return 1.0
        if self.kind == "uniform":
            return (x - self.low) / (self.high - self.low)
        if self.kind == "triangular":
            return _triangular_cdf(x, self.low, self.mode, self.high)
        if self.kind == "normal":
            from scipy import stats  # only here: scipy.stats costs ~0.3 s of CPU to import

            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
            return float(stats.truncnorm.cdf(x, a, b, loc=self.mean, scale=self.sd))
        v, w = np.asarray(self.values), np.asarray(self.weights)
        return float(w[v <= x].sum() / w.sum())

    def describe(self) -> dict[str, object]:
        """Return the distribution as JSON-able numbers (run.json)."""
        out: dict[str, object] = {"dist": self.kind, "low": self.low, "high": self.high}
        for k in ("mode", "mean", "sd"):
            if not math.isnan(getattr(self, k)):
                out[k] = getattr(self, k)
        if self.kind == "table":
            out["values"], out["weights"] = list(self.values), list(self.weights)
        out["source"] = self.source
        return out


def _triangular_ppf(q: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Triangular quantiles, as ``scipy.stats.triang.ppf`` computes them (the same floats).

    With ``c = (mode − low)/scale``: ``√(c·q)`` below ``c``, ``1 − √((1 − c)(1 − q))`` above,
    then ``·scale + low``. ``q`` in ``[0, 1]`` (0 and 1 give ``low`` and ``high`` either way).
    """
    scale = high - low
    c = (mode - low) / scale
    with np.errstate(invalid="ignore"):  # np.where evaluates both branches
        x = np.where(q < c, np.sqrt(c * q), 1 - np.sqrt((1 - c) * (1 - q)))
    return np.asarray(x * scale + low, dtype=float)


def _triangular_cdf(x: float, low: float, mode: float, high: float) -> float:
    """``P(X ≤ x)`` for ``low ≤ x < high``, as ``scipy.stats.triang.cdf`` computes it."""
    scale = high - low
    c = (mode - low) / scale
    z = (x - low) / scale
    if not 0 < z < 1:  # scipy: 0 outside the open support, 1 from its top
        return 1.0 if z >= 1 else 0.0
    if c == 0:
        return float(2 * z - z * z)
    if z < c:
        return float(z * z / c)
    if c != 1:
        return float((z * z - 2 * z + c) / (c - 1))
    return float(z * z)


def _from_spec(spec: Distribution) -> Dist:
    low, high = spec.support()
    if spec.dist == "table":
        w = spec._weights()
        pairs = sorted((v, x) for v, x in zip(spec.values or [], w, strict=True) if x > 0)
        total = sum(x for _, x in pairs)
        return Dist(
            "table",
            low,
            high,
            values=tuple(v for v, _ in pairs),
            weights=tuple(x / total for _, x in pairs),
            source=spec.source,
        )
    return Dist(
        spec.dist,
        low,
        high,
        mode=spec.mode if spec.mode is not None else math.nan,
        mean=spec.mean if spec.mean is not None else math.nan,
        sd=spec.sd if spec.sd is not None else math.nan,
        source=spec.source,
    )


def _triangular(low: float, mode: float, high: float, source: str) -> Dist:
    if not low < high:
        return Dist("fixed", mode, mode, source=source)
    return Dist("triangular", low, high, mode=mode, source=source)


def resolve_distributions(metro: Metro, spec: UncertaintySpec | None = None) -> dict[str, Dist]:
    """Return every uncertain parameter's distribution: the config's, else the default.

    ``spec`` replaces the config's ``uncertainty:`` section when given.

    Raises
    ------
    InputError
        When a site-latency offset would make a site's device latency negative.
    """
    spec = metro.config.uncertainty if spec is None else spec
    p = metro.params
    device = np.nan_to_num(metro.inputs.sites["device_latency_us"].to_numpy(dtype=float))
    s_min = float(device.min()) if len(device) else p.site_device_us
    r_top = p.route_factor + (0.2 if metro.config.network.kind == "fibre" else 0.4)
    allow = _leo_allowance_ms(metro)
    defaults = {
        "route_factor": _triangular(1.0, p.route_factor, r_top, DEFAULT_SOURCES["route_factor"]),
        "equipment_us": _triangular(
            0.3 * p.equipment_us, p.equipment_us, 2.0 * p.equipment_us, DEFAULT_SOURCES[EQUIP]
        ),
        "site_us": _triangular(-0.5 * s_min, 0.0, s_min, DEFAULT_SOURCES["site_us"]),
        "leo_allowance_ms": _triangular(
            0.5 * allow, allow, 2.0 * allow, DEFAULT_SOURCES["leo_allowance_ms"]
        ),
    }
    out = {}
    for name in DRAW_ORDER:
        given = getattr(spec, name)
        out[name] = defaults[name] if given is None else _from_spec(given)
    if s_min + out["site_us"].low < 0:
        raise InputError(
            metro.config.source,
            "uncertainty.site_us.low",
            f"negative latency: an offset of {out['site_us'].low:g} µs makes a site's device "
            f"latency ({s_min:g} µs) negative",
        )
    return out


def _leo_allowance_ms(metro: Metro) -> float:
    from latcircle.analysis.leo import LEO_PRESETS

    tiers = metro.config.tiers
    leo = LEO_PRESETS.get(tiers.leo if tiers is not None else "leo550", LEO_PRESETS["leo550"])
    return leo.processing_ms + leo.handover_ms


def draws(dists: Mapping[str, Dist], *, samples: int, seed: int) -> dict[str, np.ndarray]:
    """Return ``samples`` seeded draws of every parameter (inverse CDF of PCG64 uniforms).

    Every parameter is drawn, in :data:`DRAW_ORDER`, whether uncertain or not, so the draws
    of one parameter do not change when another one is made certain.
    """
    rng = np.random.default_rng(seed)
    return {name: dists[name].ppf(rng.random(samples)) for name in DRAW_ORDER}


@dataclass(frozen=True)
class UncertaintyResult:
    """Quantiles of every share and the probability of meeting each target.

    Attributes
    ----------
    method
        How the figures were computed, in words (exact, or Monte Carlo with its draws).
    exact
        True when exact (one uncertain parameter).
    samples, seed
        The Monte Carlo draws and seed (``None`` samples when exact).
    distributions
        Each parameter's distribution.
    table
        One row per year × basis: ``year``, ``basis``, ``share`` (at the run's values),
        ``share_p5``, ``share_p50``, ``share_p95``, ``target_year``, ``target_share``,
        ``p_meet`` (NaN where no target applies).
    leo
        The LEO tiers of the run's scenario (config ``tiers:`` with LEO), one row per basis ×
        budget: ``basis``, ``tier``, ``budget_ms``, ``share``, ``share_p5``, ``share_p50``,
        ``share_p95``; ``None`` without LEO tiers.
    """

    method: str
    exact: bool
    samples: int | None
    seed: int
    distributions: Mapping[str, Dist]
    table: pd.DataFrame
    leo: pd.DataFrame | None = None

    def row(self, year: int | None, basis: str) -> pd.Series | None:
        """Return the row of ``year`` and ``basis`` (``None`` when absent)."""
        pos = self._positions.get((year, basis))
        return None if pos is None else self.table.iloc[pos]

    @functools.cached_property
    def _positions(self) -> dict[tuple[int | None, str], int]:
        """Each ``(year, basis)``'s first row position in ``table``, found once for :meth:`row`."""
        out: dict[tuple[int | None, str], int] = {}
        for pos, (year, basis) in enumerate(
            zip(self.table["year"], self.table["basis"], strict=True)
        ):
            out.setdefault((None if pd.isna(year) else int(year), str(basis)), pos)
        return out


UNCERTAINTY_COLUMNS = [
    "year",
    "basis",
    "share",
    "share_p5",
    "share_p50",
    "share_p95",
    "target_year",
    "target_share",
    "p_meet",
]


def uncertainty(
    metro: Metro,
    sens: Sensitivity,
    *,
    spec: UncertaintySpec | None = None,
    scenario: Scenario | None = None,
    memo: YearsMemo | None = None,
) -> UncertaintyResult:
    """Compute P5 / P50 / P95 of every share in ``sens`` and each target's probability.

    Parameters
    ----------
    metro
        The prepared metro.
    sens
        The critical values (:func:`latcircle.analysis.sensitivity.sensitivity`).
    spec
        The uncertainty section; the config's when ``None``.
    scenario
        The run's scenario, for the LEO tiers (none computed when ``None``).
    memo
        The draws' shares other runs of ``metro`` kept
        (:class:`~latcircle.analysis.memo.YearsMemo`, part ``shares``), for the config's
        ``spec`` only (ignored with another ``spec``). Without one, the years of ``sens``
        that share their critical values (the same sites) still share their draws' shares.

    Returns
    -------
    UncertaintyResult
    """
    memo = memo if spec is None else None  # its parts are for the config's draws
    spec = metro.config.uncertainty if spec is None else spec
    dists = resolve_distributions(metro, spec)
    c_dists = [n for n in ("equipment_us", "site_us") if dists[n].uncertain]
    varying = [n for n in ("route_factor", "equipment_us", "site_us") if dists[n].uncertain]
    exact = len(varying) <= 1
    drawn = None if exact else draws(dists, samples=spec.samples, seed=spec.seed)
    targets = _targets_by_year(metro)
    kept: dict[int, tuple[object, np.ndarray]] = {}  # draws' shares by critical values
    rows = []
    for (year, basis), crit in sorted(sens.criticals.items(), key=lambda kv: _order(kv[0])):
        share_now = float(crit.share(ROUTE, metro.params.route_factor))
        target = targets.get((year, basis))
        if exact:
            q, p_meet = _exact(metro, crit, dists, varying, target)
        else:
            shares = _shares_once(metro, sens, crit, drawn, kept=kept, memo=memo)  # type: ignore[arg-type]
            q = np.quantile(shares, QUANTILES, method="inverted_cdf")
            p_meet = float(np.mean(meets(shares, target))) if target is not None else math.nan
        rows.append(
            {
                "year": year,
                "basis": basis,
                "share": share_now,
                "share_p5": float(q[0]),
                "share_p50": float(q[1]),
                "share_p95": float(q[2]),
                "target_year": year if target is not None else None,
                "target_share": target if target is not None else math.nan,
                "p_meet": p_meet,
            }
        )
    table = pd.DataFrame(rows, columns=UNCERTAINTY_COLUMNS)
    table["year"] = table["year"].astype("Int64")
    table["target_year"] = table["target_year"].astype("Int64")
    method = _method_text(exact, varying, c_dists, spec)
    return UncertaintyResult(
        method=method,
        exact=exact,
        samples=None if exact else spec.samples,
        seed=spec.seed,
        distributions=dists,
        table=table,
        leo=None if scenario is None else _leo_table(metro, scenario, dists, spec),
    )


def _order(key: tuple[int | None, str]) -> tuple[int, str]:
    year, basis = key
    return (year if year is not None else 10_000, basis)


def _method_text(exact: bool, varying: list[str], c_dists: list[str], spec: UncertaintySpec) -> str:
    if exact and not varying:
        return "exact: no parameter is uncertain (every quantile is the run's share)"
    if exact:
        return f"exact: one uncertain parameter ({varying[0]}), from the step-function curve"
    return (
        f"Monte Carlo: {spec.samples} draws (seed {spec.seed}, NumPy PCG64, inverse CDF) of "
        f"{', '.join(varying)}; each draw's share exact; quantiles by the inverted CDF"
    )


def _targets_by_year(metro: Metro) -> dict[tuple[int | None, str], float]:
    out: dict[tuple[int | None, str], float] = {}
    for t in metro.config.targets:
        out[(t.year, resolve_basis(t, metro.bases, source=metro.config.source))] = t.share
    return out


def _exact(
    metro: Metro,
    crit: SampleCritical,
    dists: Mapping[str, Dist],
    varying: list[str],
    target: float | None,
) -> tuple[np.ndarray, float]:
    """Quantiles and P(meet) of a share that depends on one parameter (non-increasing)."""
    p = metro.params
    if not varying:
        s = float(crit.share(ROUTE, p.route_factor))
        met = math.nan if target is None else float(meets(s, target))
        return np.full(len(QUANTILES), s), met
    name = varying[0]
    dist = dists[name]
    parameter = ROUTE if name == "route_factor" else EQUIP
    # Values of the curve's own parameter: E for both E and the site offset (C = E + δ).
    offset = p.equipment_us if name == "site_us" else 0.0
    if dist.kind == "table":
        x = np.asarray(dist.values) + offset
        atoms = crit.share(parameter, x)
        weights = np.asarray(dist.weights)
        order = np.argsort(atoms, kind="stable")
        cum = np.cumsum(weights[order])
        idx = np.searchsorted(cum, np.asarray(QUANTILES) - 1e-12, side="left")  # float sums
        q = atoms[order][np.minimum(idx, len(atoms) - 1)]
        met = math.nan if target is None else float(weights[meets(atoms, target)].sum())
        return q, met
    x = dist.ppf(1.0 - np.asarray(QUANTILES)) + offset
    q = crit.share(parameter, x)
    met = math.nan if target is None else dist.cdf(crit.critical(parameter, target) - offset)
    return q, met


def _shares_once(
    metro: Metro,
    sens: Sensitivity,
    crit: SampleCritical,
    drawn: Mapping[str, np.ndarray],
    *,
    kept: dict[int, tuple[object, np.ndarray]],
    memo: YearsMemo | None,
) -> np.ndarray:
    """Each draw's share (:func:`_mc_shares`), once per set of critical values.

    Years with the same online sites on the same network share one set of critical values,
    relabelled (:func:`~latcircle.analysis.sensitivity.sensitivity`, and across runs its
    memo): copies that hold the very per-sample arrays object, hence the same values and the
    same draws' shares. A run of every site, judged against the 2028 target, drew them twice.
    ``kept`` (or, given one, the memo's part ``shares``) maps that object's id to the object,
    held so that the id stays its own, and its shares.
    """
    source = crit._arrays  # shared by the relabelled copies alone (dataclasses.replace)
    key = id(source)
    hit = kept.get(key) if memo is None else memo.get("shares", key)
    if hit is not None and hit[0] is source:
        return hit[1]
    shares = _mc_shares(metro, sens, crit, drawn)
    if memo is None:
        kept[key] = (source, shares)
    else:
        memo.put("shares", key, (source, shares))
    return shares


def _mc_shares(
    metro: Metro, sens: Sensitivity, crit: SampleCritical, drawn: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Each draw's exact share of one year and basis."""
    p = metro.params
    r = drawn["route_factor"]
    c = drawn["equipment_us"] + drawn["site_us"]  # C = E + δ
    room = metro.config.budget_ms * 1000.0 / p.factor - p.extra_us
    if not crit.has_lengths:  # not derived just to ask (~n floats per year and basis)
        return _mc_resolved(metro, crit, r, c, room)
    if len(crit.group_us) == 1 and room - p.equipment_us - crit.group_us[0] > 0:
        s = float(crit.group_us[0])
        with np.errstate(divide="ignore"):
            scale = (room - p.equipment_us - s) / (room - c - s)
        # room − C − S = 0: only samples at distance 0 (r* = ∞); below 0: none.
        scaled = np.where(room - c - s >= 0, r * scale, np.inf)
        out = crit.share(ROUTE, scaled)
        out[(room - c - s < 0) & (crit.total > 0)] = 0.0
        return out
    return _mc_lengths(crit, r, c, room, p.k_us_per_m)


def _mc_lengths(
    crit: SampleCritical, r: np.ndarray, c: np.ndarray, room: float, k: float
) -> np.ndarray:
    """Several device latencies: each draw on the route lengths (undecided samples only).

    A sample is covered at draw ``j`` iff ``min_g(S_g + k·r_j·ℓ_g) + C_j ≤ room``. Rounding
    is monotone, so this holds iff some group's ``S_g + k·r_j·ℓ_g + C_j ≤ room`` (the same
    floats), and each group's test is a threshold on its sorted lengths, found by a binary
    search evaluating that test (:func:`_thresholds`). A group is dropped for a sample when
    a group of smaller ``S`` is at most as far (its test then passes whenever the dropped
    one's does: exact). The samples are then taken by the groups they have left: none
    (never covered), one (a suffix sum), two (:func:`_uncovered_2d`, without visiting every
    sample at every draw), three or more (:func:`_uncovered_nd`: per draw, only comparisons
    on the samples above the first threshold). NaN lengths or a draw with ``k·r ≤ 0`` keep
    the plain loop over the draws (:func:`_mc_loop`). The decisions per sample and draw are
    the loop's; the shares differ from it only by float summation order
    (~1e-16).
    """
    lengths, s = crit.lengths, crit.group_us
    assert lengths is not None
    w = crit.weight
    total = crit.total
    if not total > 0:
        return np.full(len(r), np.nan)
    best = np.min(s[None, :] + k * r.min() * lengths, axis=1) + c.min()
    worst = np.min(s[None, :] + k * r.max() * lengths, axis=1) + c.max()
    always = worst <= room
    maybe = np.flatnonzero((best <= room) & ~always)
    base = float(w[always].sum())
    sub, wm = lengths[maybe], w[maybe]
    kr = k * r  # the loop's ``k * r[j]``, the same floats
    if not bool(np.all(kr > 0)) or bool(np.isnan(sub).any()):
        return (base + _mc_loop(sub, wm, s, kr, c, room)) / total
    if len(maybe) == 0:
        return np.full(len(r), base / total)
    left = _undominated(sub, s)
    limit = np.stack(
        [_thresholds(np.sort(left[:, g]), float(s[g]), kr, c, room) for g in range(len(s))]
    )
    finite = np.isfinite(left)
    pattern = finite @ (1 << np.arange(len(s)))  # the groups each sample has left
    covered = np.zeros(len(r))
    for p in np.unique(pattern):
        rows = pattern == p
        cols = np.flatnonzero(finite[np.flatnonzero(rows)[0]])
        if len(cols) > 0:
            part, wp = left[np.ix_(rows, cols)], wm[rows]
            covered += float(wp.sum()) - _uncovered(part, wp, limit[cols])
    return (base + covered) / total


def _undominated(sub: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``sub`` with ``inf`` where a group of smaller ``S`` is at most as far (never decides)."""
    left = sub.copy()
    for g in range(len(s)):
        for h in np.flatnonzero(s < s[g]):
            left[sub[:, h] <= sub[:, g], g] = np.inf
    return left


def _uncovered(part: np.ndarray, wp: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Each draw's weight with every length (one or two groups) above its threshold."""
    if part.shape[1] == 2:
        return _uncovered_2d(part, wp, limit)
    if part.shape[1] > 2:
        return _uncovered_nd(part, wp, limit)
    order = np.argsort(part[:, 0], kind="stable")
    tail = np.r_[np.cumsum(wp[order][::-1])[::-1], 0.0]
    return tail[np.searchsorted(part[order, 0], limit[0], side="right")]


def _mc_loop(
    sub: np.ndarray, wm: np.ndarray, s: np.ndarray, kr: np.ndarray, c: np.ndarray, room: float
) -> np.ndarray:
    """Each draw's covered weight, over every sample (the reference rule)."""
    out = np.empty(len(kr))
    for j in range(len(kr)):
        need = np.min(s[None, :] + kr[j] * sub, axis=1) + c[j]
        out[j] = float(wm[need <= room].sum())
    return out


def _thresholds(
    lengths: np.ndarray, s: float, kr: np.ndarray, c: np.ndarray, room: float
) -> np.ndarray:
    """Each draw's largest sorted length still covered through one group (``-inf``: none).

    ``S + k·r·ℓ + C ≤ room`` is non-decreasing in ``ℓ`` (``k·r > 0``; rounding is monotone),
    so the covered lengths are a prefix of ``lengths`` (sorted); a binary search on the
    exact test finds its end for every draw at once. ``inf`` is never covered.
    """
    lo = np.zeros(len(kr), dtype=np.intp)
    hi = np.full(len(kr), len(lengths), dtype=np.intp)
    for _ in range(len(lengths).bit_length() + 1):
        mid = (lo + hi) // 2
        at = lengths[np.minimum(mid, len(lengths) - 1)]
        active = lo < hi
        ok = active & ((s + kr * at) + c <= room)
        lo = np.where(ok, mid + 1, lo)
        hi = np.where(active & ~ok, mid, hi)
    return np.where(lo > 0, lengths[np.maximum(lo - 1, 0)], -np.inf)


def _uncovered_nd(part: np.ndarray, wp: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Three or more groups: per draw, the samples above the first threshold compared.

    Not faster in the worst case than the loop, but comparisons only, on a shrinking suffix.
    """
    order = np.argsort(part[:, 0], kind="stable")
    first, wv = part[order, 0], wp[order]
    rest = [np.ascontiguousarray(part[order, g]) for g in range(1, part.shape[1])]
    start = np.searchsorted(first, limit[0], side="right")
    out = np.empty(limit.shape[1])
    for j, i in enumerate(start):
        above = rest[0][i:] > limit[1, j]
        for g in range(1, len(rest)):
            above &= rest[g][i:] > limit[g + 1, j]
        out[j] = float(wv[i:][above].sum())
    return out


def _uncovered_2d(sub: np.ndarray, wm: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Each draw's weight with both lengths above its thresholds (``limit``: ``(2, draws)``).

    The samples sorted by ``ℓ_1`` are cut into blocks of about ``√n``, each with its ``ℓ_2``
    sorted and suffix weights: the blocks wholly above draw ``j``'s ``ℓ_1`` threshold are
    counted by a search, the one block it cuts sample by sample.
    """
    order = np.argsort(sub[:, 0], kind="stable")
    first, second, wv = sub[order, 0], sub[order, 1], wm[order]
    n = len(first)
    size = max(1, math.isqrt(n))
    start = np.searchsorted(first, limit[0], side="right")  # first sample above, per draw
    cut = start // size  # the block it falls in
    out = np.zeros(limit.shape[1])
    for b, lo in enumerate(range(0, n, size)):
        part = np.argsort(second[lo : lo + size], kind="stable")
        ends = second[lo : lo + size][part]
        tail = np.r_[np.cumsum(wv[lo : lo + size][part][::-1])[::-1], 0.0]
        out += np.where(cut < b, tail[np.searchsorted(ends, limit[1], side="right")], 0.0)
    step = max(1, 2**22 // size)  # draws per chunk of the cut blocks (bounded memory)
    for j in range(0, limit.shape[1], step):
        pos = cut[j : j + step, None] * size + np.arange(size)
        inside = (pos >= start[j : j + step, None]) & (pos < n)
        pos = np.minimum(pos, n - 1)
        above = inside & (second[pos] > limit[1, j : j + step, None])
        out[j : j + step] += np.where(above, wv[pos], 0.0).sum(axis=1)
    return out


def _mc_resolved(
    metro: Metro, crit: SampleCritical, r: np.ndarray, c: np.ndarray, room: float
) -> np.ndarray:
    """Per-node device latency: each draw's r rounded up to the 0.01 grid and re-solved.

    A draw beyond the grid's end is solved at the largest such draw (conservative too).
    """
    total = crit.total
    if not total > 0:
        return np.full(len(r), np.nan)
    p = metro.params
    grid = R_GRID if r.max() <= R_GRID[-1] else np.r_[R_GRID, r.max()]
    idx = np.searchsorted(grid, r, side="left")  # the grid value at or above each draw
    view = metro.view(crit.year)
    samples = view.samples[crit.basis]
    online = crit.online if crit.online is not None else metro.online(crit.year)
    out = np.empty(len(r))
    for g in np.unique(idx):
        lat_field = _field_at(metro, view, online, route_factor=float(grid[g]))
        lat = evaluate(lat_field, samples).latency_us
        with np.errstate(invalid="ignore"):
            e_star = np.where(np.isfinite(lat), room - (lat / p.factor - p.equipment_us), -np.inf)
        at_g = crit.with_e_star(e_star)
        pick = idx == g
        out[pick] = at_g.share(EQUIP, c[pick])
    return out


#: The LEO tiers' parameters: the allowance, the equipment latency and the site offset.
_LEO_PARAMETERS = ("leo_allowance_ms", "equipment_us", "site_us")


def _leo_table(
    metro: Metro, scenario: Scenario, dists: Mapping[str, Dist], spec: UncertaintySpec
) -> pd.DataFrame | None:
    """Quantiles of the LEO tiers' shares (``tiers:`` with LEO), exact or by the draws.

    A LEO path's latency is ``factor·(space part) + ground``
    (:mod:`latcircle.analysis.city_tiers`): the space part holds the allowance ``A`` when
    judged on geometry (a measured median holds its own), the ground part ``E + δ``; a change
    of either shifts every LEO latency alike, the best gateway stays the same, and the share
    within a budget is the weight whose LEO latency is at or below the budget less the shift.
    """
    tiers = metro.config.tiers
    if tiers is None or tiers.leo == "none":
        return None
    from latcircle.analysis.city_tiers import city_tiers
    from latcircle.analysis.leo import LEO_PRESETS

    p = metro.params
    leo_ms = city_tiers(metro, scenario, tiers).leo_ms
    a0 = _leo_allowance_ms(metro)
    varying = [n for n in _LEO_PARAMETERS if dists[n].uncertain]
    if len(varying) <= 1:  # exact: the shift at the parameter's (1 − P)-quantiles
        q = 1.0 - np.asarray(QUANTILES)
        a = dists["leo_allowance_ms"].ppf(q) if varying == ["leo_allowance_ms"] else a0
        e = dists["equipment_us"].ppf(q) if varying == ["equipment_us"] else p.equipment_us
        o = dists["site_us"].ppf(q) if varying == ["site_us"] else 0.0
        exact = True
    else:
        d = draws(dists, samples=spec.samples, seed=spec.seed)
        a, e, o = d["leo_allowance_ms"], d["equipment_us"], d["site_us"]
        exact = False
    # As city_tiers prices a path: the space part (×factor) carries the allowance only when
    # judged on geometry (a measured median has it inside); the ground part carries
    # E + δ with the run's factor, in ms.
    preset = LEO_PRESETS[tiers.leo]
    measured = (tiers.leo_basis or preset.basis) == "measured" and preset.measured is not None
    space = 0.0 if measured else p.factor * (np.asarray(a) - a0)
    shift_ms = space + (e + o - p.equipment_us) * p.factor / 1000.0
    shift_ms = np.broadcast_to(shift_ms, (len(QUANTILES),) if exact else np.shape(shift_ms))
    rows = []
    for basis, lat_ms in leo_ms.items():
        w = scenario.evaluations[basis].samples.weight  # leo_ms is aligned with these
        total = float(w.sum())
        order = np.argsort(lat_ms, kind="stable")
        sorted_ms, cum = lat_ms[order], np.r_[0.0, np.cumsum(w[order])]
        for budget in tiers.leo_budgets_ms:
            # covered(): latency ≤ budget, here leo + shift ≤ budget for each value.
            within = cum[np.searchsorted(sorted_ms, budget - shift_ms, side="right")]
            shares = within / total if total > 0 else np.full(len(within), np.nan)
            q = shares if exact else np.quantile(shares, QUANTILES, method="inverted_cdf")
            now = cum[np.searchsorted(sorted_ms, budget, side="right")]
            rows.append(
                {
                    "basis": basis,
                    "tier": f"leo_{budget:g}ms",
                    "budget_ms": budget,
                    "share": now / total if total > 0 else np.nan,
                    "share_p5": float(q[0]),
                    "share_p50": float(q[1]),
                    "share_p95": float(q[2]),
                }
            )
    return pd.DataFrame(rows)
