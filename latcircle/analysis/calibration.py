"""Calibration: fit the route factor and the fixed latency to measured latencies.

For a measured pair ``(a, b)`` the model's one-way latency is (DESIGN.md §2)::

    L = E + X + S_a + S_b + Σ D + r · k·( |a − q_a| + d_G(q_a, q_b) + |b − q_b| )

with ``S`` a compute site's device latency (0 for an endpoint given by coordinates), ``X`` the
preset's extras (router, access; 0 for ``optical``), ``Σ D`` the device latency of the nodes
passed and ``k`` the propagation per metre. Given each pair's path (the exact engine:
:func:`latcircle.engine.pairs.pair_paths`) this is a straight line ``z = E + r·x`` in
``x = k × path length`` and ``z = measured one-way − X − S_a − S_b − Σ D``: ``E`` and ``r``
are fitted robustly (:mod:`latcircle.analysis._robustfit`: LAD start by HiGHS, Tukey
bisquare, pairs bootstrap). An RTT counts as twice the one-way latency.

With per-node device latency the shortest path itself depends on ``r``: the paths are then
found again at the fitted ``r`` and the fit repeated until the paths no longer change.

Pairs with an endpoint beyond the max drop (``no_access``) or on pieces of network that do
not meet (``unreachable``) are listed with their status and left out of the fit. Input that
cannot give a fit is an :class:`~latcircle.errors.InputError`: too few pairs, all pairs of
one length, a measured latency faster than light in fibre over the straight line, or a fit
outside what the config accepts (a route factor below 1, a negative fixed latency), which is
what one-way values labelled RTT (or milliseconds given as microseconds) produce.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from latcircle.analysis._robustfit import BISQUARE_C, RobustFit, bootstrap, robust_line
from latcircle.analysis.metro import Metro
from latcircle.config import LatencyParams
from latcircle.engine.latency import arc_matrix
from latcircle.engine.locator import PointLocation
from latcircle.engine.pairs import PairPaths, pair_paths
from latcircle.errors import InputError

__all__ = [
    "MIN_PAIRS",
    "Calibration",
    "Estimate",
    "calibrate",
]

#: Fewest pairs a fit rests on (assumption: two parameters and a residual scale need a
#: handful of pairs beyond the two that fix a line, and the bootstrap needs variety).
MIN_PAIRS = 10
#: Largest share of fitted pairs the bisquare may reject before the fit is refused: more
#: than this is no longer "a few bad measurements" but two populations (assumption; mixed
#: one-way and RTT values make exactly that).
MAX_OUTLIER_SHARE = 0.3
#: Bootstrap defaults: resamples, seed, interval level.
REPLICATES = 1000
SEED = 0
LEVEL = 0.95
#: At most this many rounds of "fit, find the paths again at the fitted r" (device latency).
MAX_ROUNDS = 5
#: The straight-line check allows this much (µs) for rounding of the inputs.
LIGHT_SLACK_US = 0.5

_PAIR_COLUMNS = [
    "row",
    "a",
    "b",
    "kind",
    "measured_us",
    "one_way_us",
    "count",
    "time",
    "status",
    "straight_m",
    "drop_a_m",
    "drop_b_m",
    "length_m",
    "path_m",
    "nodes",
    "node_device_us",
    "site_device_us",
    "model_us",
    "residual_us",
    "weight",
    "outlier",
]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A fitted parameter with its interval."""

    estimate: float
    low: float
    high: float

    def record(self) -> dict[str, float]:
        """``{"estimate", "low", "high"}``."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found.

    Attributes
    ----------
    pairs
        One row per measurement (columns ``_PAIR_COLUMNS``): its path, the model at the
        fitted parameters, residual, bisquare weight, and ``status`` (``fitted``,
        ``outlier``, ``no_access``, ``unreachable``).
    route_factor, equipment_us
        The fitted parameters with their bootstrap intervals.
    scale_us
        Residual scale (normalised MAD of the LAD residuals), µs.
    before
        The config's values (``route_factor``, ``equipment_us``).
    info
        Method, counts and settings (``calibration.json``).
    """

    pairs: pd.DataFrame
    route_factor: Estimate
    equipment_us: Estimate
    scale_us: float
    before: dict[str, float]
    info: dict[str, Any]

    @property
    def outliers(self) -> pd.DataFrame:
        """The pairs the fit rejected, largest residual first."""
        out = self.pairs[self.pairs["status"] == "outlier"]
        return out.sort_values("residual_us", key=np.abs, ascending=False, kind="stable")


def calibrate(
    metro: Metro,
    measurements: pd.DataFrame,
    *,
    source: str | Path = "measurements",
    replicates: int = REPLICATES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Calibration:
    """Fit ``route_factor`` and ``equipment_us`` to measured latencies.

    Parameters
    ----------
    metro
        The prepared city (its network, sites and parameters).
    measurements
        As :func:`latcircle.inputs.measurements.read_measurements` returns.
    source
        The measurement file, named in error messages.
    replicates, seed, level
        Bootstrap resamples, seed and interval level.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        For an unknown site id, or measurements that cannot give a fit (see the module).
    """
    loc_xy, site_us, a, b = _endpoints(metro, measurements, source)
    params = metro.params
    view = metro.view(metro.config.year)
    loc = view.locator.locate(loc_xy[:, 0], loc_xy[:, 1], max_drop_m=params.max_drop_m)
    straight = np.hypot(*(loc_xy[a] - loc_xy[b]).T)
    one_way = measurements["one_way_us"].to_numpy(float)
    _check_light(one_way, straight, params.k_us_per_m, measurements, source)
    r, rounds = params.route_factor, 0
    while True:
        rounds += 1
        arcs = (
            view.arcs
            if r == params.route_factor
            else arc_matrix(view.network, dataclasses.replace(params, route_factor=r))
        )
        paths = pair_paths(view.network, arcs, loc, a, b, us_per_m=params.k_us_per_m * r)
        parts = _Parts.of(paths, loc, a, b, site_us, one_way, params)
        fit = _fit(parts, measurements, source)
        done = rounds >= MAX_ROUNDS or not view.network.node_device_us.any()
        if done or np.isclose(fit.slope, r, rtol=1e-9, atol=0.0):
            break
        r = fit.slope
    e_boot, r_boot, failed = bootstrap(
        parts.x[parts.use], parts.z[parts.use], fit, replicates=replicates, seed=seed
    )
    result = _result(metro, measurements, straight, parts, fit, (e_boot, r_boot), level)
    _check_plausible(result, source)
    info = {
        **result.info,
        "path_rounds": rounds,
        "bootstrap": {
            "replicates": replicates,
            "failed": failed,
            "seed": seed,
            "level": level,
            "kind": "pairs bootstrap, percentile intervals",
        },
    }
    return dataclasses.replace(result, info=info)


def _endpoints(
    metro: Metro, table: pd.DataFrame, source: str | Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct endpoints (local CRS), their device latency, each pair's two."""
    sites = metro.inputs.sites
    ids = sites["site_id"].astype(str).to_numpy()
    index = {s: i for i, s in enumerate(ids)}
    to_local = pyproj.Transformer.from_crs("EPSG:4326", metro.inputs.crs, always_xy=True)
    keys: dict[tuple[str, float, float], int] = {}
    xy: list[tuple[float, float]] = []
    dev: list[float] = []
    ends = []
    sx, sy = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    device = sites["device_latency_us"].to_numpy(float)
    for side in ("a", "b"):
        site = table[f"{side}_site"].astype(str).to_numpy()
        lon, lat = table[f"{side}_lon"].to_numpy(float), table[f"{side}_lat"].to_numpy(float)
        unknown = [(i, s) for i, s in enumerate(site) if s and s not in index]
        if unknown:
            i, s = unknown[0]
            raise InputError(
                source,
                f"{side}_site",
                f"unknown site id {s!r} in row {int(table['row'].iloc[i])} (not in the "
                f"city's sites file; {len(unknown)} such row(s))",
            )
        px, py = to_local.transform(lon, lat)
        out = np.empty(len(site), np.int64)
        for i, s in enumerate(site):
            key = (s, 0.0, 0.0) if s else ("", float(lon[i]), float(lat[i]))
            at = keys.get(key)
            if at is None:
                at = keys[key] = len(xy)
                if s:
                    j = index[s]
                    xy.append((float(sx[j]), float(sy[j])))
                    dev.append(float(device[j]))
                else:
                    xy.append((float(px[i]), float(py[i])))
                    dev.append(0.0)
            out[i] = at
        ends.append(out)
    return (
        np.asarray(xy, float).reshape(-1, 2),
        np.asarray(dev, float),
        ends[0],
        ends[1],
    )


def _check_light(
    one_way: np.ndarray,
    straight: np.ndarray,
    k_us_per_m: float,
    table: pd.DataFrame,
    source: str | Path,
) -> None:
    """Refuse a one-way latency below light in fibre over the straight line between ends."""
    floor = k_us_per_m * straight
    bad = one_way + LIGHT_SLACK_US < floor
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    rows = table["row"].to_numpy()[bad]
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    raise InputError(
        source,
        "kind",
        f"row(s) {shown}: one-way {one_way[i]:.1f} µs is faster than light in fibre over the "
        f"{straight[i] / 1000:.2f} km straight line ({floor[i]:.1f} µs): impossible; is a "
        "one-way value labelled rtt, or a µs value given as latency_ms?",
    )


@dataclass(frozen=True)
class _Parts:
    """Each pair's model taken apart: ``z = E + r·x`` on the pairs in ``use``."""

    status: np.ndarray
    use: np.ndarray
    x: np.ndarray
    z: np.ndarray
    constant: np.ndarray  # S_a + S_b + ΣD + extras
    drops: tuple[np.ndarray, np.ndarray]
    paths: PairPaths
    k_us_per_m: float

    @classmethod
    def of(
        cls,
        paths: PairPaths,
        loc: PointLocation,
        a: np.ndarray,
        b: np.ndarray,
        site_us: np.ndarray,
        one_way: np.ndarray,
        params: LatencyParams,
    ) -> _Parts:
        access = (loc.edge[a] >= 0) & (loc.edge[b] >= 0)
        status = np.where(
            ~access, "no_access", np.where(paths.reachable, "fitted", "unreachable")
        ).astype(object)
        use = status == "fitted"
        drop_a, drop_b = loc.drop[a], loc.drop[b]
        total = np.where(use, paths.length_m + drop_a + drop_b, np.nan)
        constant = site_us[a] + site_us[b] + paths.device_us + params.extra_us
        return cls(
            status=status,
            use=use,
            x=params.k_us_per_m * total,
            z=one_way - constant,
            constant=constant,
            drops=(drop_a, drop_b),
            paths=paths,
            k_us_per_m=params.k_us_per_m,
        )


def _fit(parts: _Parts, table: pd.DataFrame, source: str | Path) -> RobustFit:
    n = int(parts.use.sum())
    if n < MIN_PAIRS:
        counts = pd.Series(parts.status).value_counts().to_dict()
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        raise InputError(
            source,
            None,
            f"{n} pair(s) on the network to fit (of {len(parts.status)}: {shown}); at least "
            f"{MIN_PAIRS} are needed",
        )
    x, z = parts.x[parts.use], parts.z[parts.use]
    if np.ptp(x) <= 1e-9 * max(float(np.abs(x).max()), 1.0):
        raise InputError(
            source,
            None,
            f"all {n} pairs have the same path length ({x[0] / parts.k_us_per_m / 1000:.3f} km): "
            "the route factor and the fixed latency cannot be told apart; measure pairs at "
            "different distances",
        )
    return robust_line(x, z)


def _result(
    metro: Metro,
    table: pd.DataFrame,
    straight: np.ndarray,
    parts: _Parts,
    fit: RobustFit,
    boot: tuple[np.ndarray, np.ndarray],
    level: float,
) -> Calibration:
    e_boot, r_boot = boot
    tail = (1.0 - level) / 2.0 * 100.0
    keep = np.isfinite(e_boot) & np.isfinite(r_boot)
    e_lo, e_hi = np.percentile(e_boot[keep], [tail, 100.0 - tail])
    r_lo, r_hi = np.percentile(r_boot[keep], [tail, 100.0 - tail])
    route = Estimate(fit.slope, float(r_lo), float(r_hi))
    equip = Estimate(fit.intercept, float(e_lo), float(e_hi))
    pairs = _pair_table(metro, table, straight, parts, fit)
    fitted = int((pairs["status"] == "fitted").sum())
    outliers = int((pairs["status"] == "outlier").sum())
    params = metro.params
    info = {
        "method": {
            "model": "one-way = E + extras + S_a + S_b + sum D + r * k * (drop_a + path + drop_b)",
            "fit": "Tukey bisquare M-estimator (c = 4.685) by IRLS from a least-absolute-"
            "deviations start (HiGHS linprog); scale = 1.4826 * median |LAD residual|",
            "outlier_rule": f"|residual| > {BISQUARE_C} * scale (bisquare weight 0)",
            "rtt": "an RTT counts as twice the one-way latency",
            "lad_start": {"equipment_us": fit.lad[0], "route_factor": fit.lad[1]},
            "iterations": fit.iterations,
        },
        "pairs": {
            "read": len(pairs),
            "fitted": fitted,
            "outlier": outliers,
            "no_access": int((pairs["status"] == "no_access").sum()),
            "unreachable": int((pairs["status"] == "unreachable").sum()),
        },
        "k_us_per_km": params.k_us_per_m * 1000.0,
        "extras_us": params.extra_us,
        "max_drop_m": params.max_drop_m,
    }
    return Calibration(
        pairs=pairs,
        route_factor=route,
        equipment_us=equip,
        scale_us=fit.scale,
        before={"route_factor": params.route_factor, "equipment_us": params.equipment_us},
        info=info,
    )


def _pair_table(
    metro: Metro,
    table: pd.DataFrame,
    straight: np.ndarray,
    parts: _Parts,
    fit: RobustFit,
) -> pd.DataFrame:
    a_idx, b_idx = _pair_ends(table)
    model = fit.intercept + parts.constant + fit.slope * parts.x
    residual = np.where(parts.use, parts.z - fit.intercept - fit.slope * parts.x, np.nan)
    weight = np.full(len(parts.use), np.nan)
    weight[parts.use] = fit.weight
    status = parts.status.copy()
    status[parts.use & (weight == 0)] = "outlier"
    paths = parts.paths
    out = pd.DataFrame(
        {
            "row": table["row"].to_numpy(),
            "a": a_idx,
            "b": b_idx,
            "kind": table["kind"].to_numpy(),
            "measured_us": table["measured_us"].to_numpy(float),
            "one_way_us": table["one_way_us"].to_numpy(float),
            "count": table["count"].to_numpy(float),
            "time": table["time"].astype(str).to_numpy(),
            "status": status,
            "straight_m": straight,
            "drop_a_m": np.where(np.isfinite(parts.drops[0]), parts.drops[0], np.nan),
            "drop_b_m": np.where(np.isfinite(parts.drops[1]), parts.drops[1], np.nan),
            "length_m": np.where(parts.use, paths.length_m, np.nan),
            "path_m": np.where(parts.use, parts.x / metro.params.k_us_per_m, np.nan),
            "nodes": np.where(parts.use, paths.nodes, 0),
            "node_device_us": np.where(parts.use, paths.device_us, np.nan),
            "site_device_us": parts.constant - paths.device_us - metro.params.extra_us,
            "model_us": np.where(parts.use, model, np.nan),
            "residual_us": residual,
            "weight": weight,
            "outlier": status == "outlier",
        }
    )
    return out[_PAIR_COLUMNS]


def _pair_ends(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's endpoints as text: the site id, or ``lon,lat``."""
    out = []
    for side in ("a", "b"):
        site = table[f"{side}_site"].astype(str).to_numpy(dtype=object)
        lon, lat = table[f"{side}_lon"].to_numpy(float), table[f"{side}_lat"].to_numpy(float)
        text = np.array(
            [s if s else f"{x:.6f},{y:.6f}" for s, x, y in zip(site, lon, lat, strict=True)],
            dtype=object,
        )
        out.append(text)
    return out[0], out[1]


def _check_plausible(result: Calibration, source: str | Path) -> None:
    """Refuse a fit the config could not take, or one that rejects too many pairs."""
    counts = result.info["pairs"]
    used = counts["fitted"] + counts["outlier"]
    if counts["outlier"] > MAX_OUTLIER_SHARE * used:
        raise InputError(
            source,
            "kind",
            f"no consistent fit: {counts['outlier']} of {used} pairs are outliers (over "
            f"{MAX_OUTLIER_SHARE:.0%}); are one-way and RTT values mixed up, or ms with µs?",
        )
    r, e = result.route_factor.estimate, result.equipment_us.estimate
    if r < 1.0 or e < 0.0:
        what = f"route factor {r:.3f}" if r < 1.0 else f"fixed latency {e:.1f} µs"
        raise InputError(
            source,
            "kind",
            f"the fit is impossible: {what} (a route factor is at least 1, a latency at least "
            "0); are one-way values labelled rtt, or RTT values labelled one_way?",
        )
