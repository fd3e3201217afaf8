"""A city's wider tiers: the 10 ms application tier and LEO access where fibre ends.

Beside the 1 ms optical tier of a run, from the same solved scenario:

* **application tier** (MIIT millisecond action, terminals to compute within 10 ms): the run's
  latency plus the access technology (5G eMBB / URLLC, fixed, Wi-Fi; :data:`ACCESS_TECH_US`)
  and the routers, times the run's round-trip factor;
* **LEO access**: a place with *no access* (beyond the max drop) reaches compute over LEO to a
  gateway (:func:`latcircle.analysis.leo.leo_path`), then over the metro network to compute: the
  gateway's ground part is the run's own latency at the gateway's position (``E``, fibre, the
  serving site's device). Gateways come from the ``tiers.gateways`` CSV; ``at_sites`` (default)
  is the labelled best case of a gateway beside every online compute site (ground part
  ``E + S_s``). The judged figure is the preset's measured median (P95 and the geometric bound
  reported beside it, as separate rows). Distances are in the run's local CRS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from latcircle.analysis.coverage import BASES, Samples, covered, share_of
from latcircle.analysis.leo import LEO_PRESETS, LeoParams, footprint_km, leo_path
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.tiers import position_text
from latcircle.config import ACCESS_TECH_US, CityTiers
from latcircle.errors import InputError

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
        The solved scenario (its online sites are the best-case gateways).
    spec
        The tiers' parameters.

    Returns
    -------
    CityTiersResult

    Raises
    ------
    InputError
        If the gateways file is unreadable or a gateway is outside the footprint of the metro.
    """
    params = metro.params
    add_us = (spec.router_us + ACCESS_TECH_US.get(spec.access, 0.0)) * params.factor
    rows: list[dict[str, object]] = []
    leo_ms: dict[str, np.ndarray] = {}
    leo = LEO_PRESETS[spec.leo] if spec.leo != "none" else None
    gateways = _gateways(metro, scenario, spec, leo) if leo is not None else None
    for basis in (b for b in BASES if b in scenario.evaluations):
        ev = scenario.evaluations[basis]
        app_us = ev.latency_us + add_us
        tiers = [
            ("optical", metro.config.budget_ms, ev.latency_us, "optical latency"),
            ("application", spec.app_budget_ms, app_us, "optical + access + routers"),
        ]
        if leo is not None and gateways is not None:
            judged, p95, bound, label = _leo_ms(metro, ev.samples, gateways, leo, spec)
            leo_ms[basis] = judged
            for b in spec.leo_budgets_ms:
                tiers += [
                    (f"leo_{b:g}ms", b, judged * 1000.0, label),
                    (f"leo_{b:g}ms_p95", b, p95 * 1000.0, _p95_label(leo, spec)),
                    (f"leo_{b:g}ms_bound", b, bound * 1000.0, "geometric bound (never the answer)"),
                ]
            best = np.where(ev.samples.location.has_access, app_us, judged * 1000.0)
            tiers.append(("application_with_leo", spec.app_budget_ms, best, label))
        rows += _rows(basis, ev.samples, tiers, gateways[3] if gateways is not None else "")
    return CityTiersResult(pd.DataFrame(rows), leo_ms)


def _rows(
    basis: str,
    samples: Samples,
    tiers: list[tuple[str, float, np.ndarray, str]],
    gateways: str,
) -> list[dict[str, object]]:
    w, total = samples.weight, samples.total
    out: list[dict[str, object]] = []
    for tier, budget, lat_us, judged_on in tiers:
        within = float(w[covered(lat_us, budget_ms=budget)].sum())
        out.append(
            {
                "basis": basis,
                "tier": tier,
                "budget_ms": budget,
                "covered": within,
                "total": total,
                "share": share_of(within, total),
                "unit": BASES[basis],
                "judged_on": judged_on,
                "gateways": gateways if tier.startswith(("leo", "application_with")) else "",
            }
        )
    return out


def _p95_label(leo: LeoParams, spec: CityTiers) -> str:
    basis = spec.leo_basis or leo.basis
    if basis != "measured" or leo.measured is None:
        return "geometric worst case (no measured P95)"
    return f"measured P95 ({leo.measured.name}, {leo.measured.p95[1]})"


_Gateways = tuple[np.ndarray, np.ndarray, np.ndarray, str]


def _gateways(metro: Metro, scenario: Scenario, spec: CityTiers, leo: LeoParams) -> _Gateways:
    """Gateways: x, y, ground latency to compute (ms, with the run's factor) and a label."""
    p = metro.params
    if spec.gateways == "at_sites":
        sites = metro.inputs.sites.loc[scenario.online]
        ground = (p.fixed_us + sites["device_latency_us"].to_numpy(float)) * p.factor / 1000.0
        label = "best case: a gateway beside every online compute site"
        return sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(), ground, label
    from pyproj import Transformer

    from latcircle.inputs.backbone import read_gateways

    table = read_gateways(spec.gateways)
    to_local = Transformer.from_crs(4326, metro.inputs.crs, always_xy=True)
    gx, gy = to_local.transform(table["lon"].to_numpy(float), table["lat"].to_numpy(float))
    gx, gy = np.asarray(gx, dtype=float), np.asarray(gy, dtype=float)
    _check_reach(metro, leo, spec.gateways, table, gx, gy)
    # The gateway's onward path is the metro's own: the run's latency at its position.
    locator = metro.view(scenario.year).locator
    loc = locator.locate(gx, gy, max_drop_m=p.max_drop_m)
    ground_us, _ = scenario.field.at(loc)
    label = f"{len(table)} gateway(s) from {Path(spec.gateways).name}"
    return gx, gy, ground_us / 1000.0, label


def _check_reach(
    metro: Metro, leo: LeoParams, path: str, table: pd.DataFrame, gx: np.ndarray, gy: np.ndarray
) -> None:
    """Refuse a gateway no place of the metro could use (outside every footprint)."""
    x, y = next(iter(metro.samples.values())).coordinates()
    reach_m = min(footprint_km(leo), leo.gateway_max_km) * 1000.0
    if leo.isl_link_km is not None:
        reach_m = leo.gateway_max_km * 1000.0
    tree = cKDTree(np.column_stack([x, y]))
    d, _ = tree.query(np.column_stack([gx, gy]))
    far = np.flatnonzero(d > reach_m)
    if len(far):
        row = table.iloc[int(far[0])]
        msg = (
            f"gateway {row['id']!s} ({position_text(float(row['lon']), float(row['lat']))}) is "
            f"{d[far[0]] / 1000.0:,.0f} km from the metro, outside the {leo.name} footprint "
            f"({footprint_km(leo):,.0f} km)"
        )
        raise InputError(Path(path), "lon/lat", msg)


def _leo_ms(
    metro: Metro,
    samples: Samples,
    gateways: _Gateways,
    leo: LeoParams,
    spec: CityTiers,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Judged, P95 and bound LEO latency (ms) of the samples without access; inf elsewhere."""
    no_access = ~samples.location.has_access
    n = len(no_access)
    judged, p95, bound = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf)
    gx, gy, ground, _label = gateways
    basis = spec.leo_basis or leo.basis
    label = (
        f"measured median ({leo.measured.name})"
        if basis == "measured" and leo.measured is not None
        else "geometric worst case in view"
    )
    if len(gx) == 0 or not no_access.any():
        return judged, p95, bound, label
    x, y = samples.coordinates()
    px, py = x[no_access], y[no_access]
    f = metro.params.factor
    best = [np.full(len(px), np.inf) for _ in range(3)]
    if len(gx) <= 64:  # few gateways: try each, the best minimises space + ground
        pairs = [(np.hypot(px - gx[i], py - gy[i]) / 1000.0, ground[i]) for i in range(len(gx))]
    else:  # many: the nearest gateway (the space part dominates; ground differs by µs)
        d, i = cKDTree(np.column_stack([gx, gy])).query(np.column_stack([px, py]))
        pairs = [(d / 1000.0, ground[i])]
    for d_km, g in pairs:
        path = leo_path(leo, d_km, basis=basis)
        for k, fig in enumerate((path.judged_ms, path.p95_ms, path.bound_ms)):
            best[k] = np.minimum(best[k], np.where(np.isnan(fig), np.inf, fig) * f + g)
    judged[no_access], p95[no_access], bound[no_access] = best
    if basis != "measured":
        p95[no_access] = best[0]
    return judged, p95, bound, label
