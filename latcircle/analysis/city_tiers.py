"""A city's wider tiers: the 10 ms application tier and LEO access where fibre ends.

Beside the 1 ms optical tier of a run, from the same solved scenario:

* **application tier** (MIIT millisecond action, terminals to compute within 10 ms): the run's
  latency plus the access technology (5G eMBB / URLLC, fixed, Wi-Fi; :data:`ACCESS_TECH_US`)
  and the routers, times the run's round-trip factor;
* **LEO access**: a place with *no access* (beyond the max drop) reaches compute over a LEO bent
  pipe to a gateway beside an online compute site, ``leo_latency_ms`` of
  :mod:`latcircle.analysis.leo` with the ground part ``(E + S_s)`` of that site. Distances are in
  the run's local CRS (a metro spans one UTM zone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from latcircle.analysis.coverage import BASES, Samples, covered, share_of
from latcircle.analysis.leo import LEO_PRESETS, leo_latency_ms
from latcircle.analysis.metro import Metro, Scenario
from latcircle.config import ACCESS_TECH_US, CityTiers

__all__ = ["CityTiersResult", "city_tiers"]


@dataclass(frozen=True)
class CityTiersResult:
    """What :func:`city_tiers` computed.

    Attributes
    ----------
    table
        One row per basis × tier: ``basis``, ``tier``, ``budget_ms``, ``covered``, ``total``,
        ``share``, ``unit``.
    leo_ms
        Per basis, the LEO latency (ms) of each sample without terrestrial access (``inf``
        elsewhere and where no gateway is in reach), aligned with the basis's samples.
    """

    table: pd.DataFrame
    leo_ms: dict[str, np.ndarray]


def city_tiers(metro: Metro, scenario: Scenario, spec: CityTiers) -> CityTiersResult:
    """Evaluate the application tier and LEO access on every basis of a solved scenario.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The solved scenario (its online sites are the LEO gateways).
    spec
        The tiers' parameters.

    Returns
    -------
    CityTiersResult
    """
    params = metro.params
    add_us = (spec.router_us + ACCESS_TECH_US.get(spec.access, 0.0)) * params.factor
    gateways = _gateways(metro, scenario)
    rows: list[dict[str, object]] = []
    leo_ms: dict[str, np.ndarray] = {}
    for basis in (b for b in BASES if b in scenario.evaluations):
        ev = scenario.evaluations[basis]
        w, total = ev.samples.weight, ev.samples.total
        app_us = ev.latency_us + add_us
        tiers = [
            ("optical", metro.config.budget_ms, ev.latency_us),
            ("application", spec.app_budget_ms, app_us),
        ]
        if spec.leo != "none":
            leo_ms[basis] = _leo_ms(metro, ev.samples, gateways, spec)
            leo_us = leo_ms[basis] * 1000.0
            tiers += [(f"leo_{b:g}ms", b, leo_us) for b in spec.leo_budgets_ms]
            best = np.where(ev.samples.location.has_access, app_us, leo_us)
            tiers.append(("application_with_leo", spec.app_budget_ms, best))
        for tier, budget, lat_us in tiers:
            within = float(w[covered(lat_us, budget_ms=budget)].sum())
            rows.append(
                {
                    "basis": basis,
                    "tier": tier,
                    "budget_ms": budget,
                    "covered": within,
                    "total": total,
                    "share": share_of(within, total),
                    "unit": BASES[basis],
                }
            )
    return CityTiersResult(pd.DataFrame(rows), leo_ms)


def _gateways(metro: Metro, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Online sites as gateways: x, y and the ground latency ``(E + extras + S_s)·factor`` (ms)."""
    sites = metro.inputs.sites.loc[scenario.online]
    p = metro.params
    ground = (p.fixed_us + sites["device_latency_us"].to_numpy(float)) * p.factor / 1000.0
    return sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(), ground


def _leo_ms(
    metro: Metro,
    samples: Samples,
    gateways: tuple[np.ndarray, np.ndarray, np.ndarray],
    spec: CityTiers,
) -> np.ndarray:
    no_access = ~samples.location.has_access
    out = np.full(len(no_access), np.inf)
    gx, gy, ground = gateways
    if len(gx) == 0 or not no_access.any():
        return out
    x, y = samples.coordinates()
    leo = LEO_PRESETS[spec.leo]
    # The best gateway is the one minimising relay + ground; with few gateways, try each.
    px, py = x[no_access], y[no_access]
    best = np.full(len(px), np.inf)
    if len(gx) <= 64:
        for i in range(len(gx)):
            d_km = np.hypot(px - gx[i], py - gy[i]) / 1000.0
            best = np.minimum(best, leo_latency_ms(leo, d_km, ground_ms=ground[i]))
    else:  # many sites: the nearest gateway (ground latencies differ by device µs only)
        d, i = cKDTree(np.column_stack([gx, gy])).query(np.column_stack([px, py]))
        best = leo_latency_ms(leo, d / 1000.0, ground_ms=ground[i])
    out[no_access] = best * metro.params.factor
    return out
