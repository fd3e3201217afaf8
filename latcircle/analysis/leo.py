"""Space-ground (LEO) access: one-way latency user -> satellite -> gateway -> fibre -> compute.

Two figures for every LEO path, never confused:

* a **measured** one-way latency (a preset's :class:`MeasuredLatency`: published Starlink
  round-trip medians halved, with the source and date), which is what tiers are judged on by
  default (``basis="measured"``), and
* the **geometric** figures (below): the best geometry is a *bound* no real path beats, the worst
  geometry in view is reported beside it; ``basis="geometric"`` judges on the worst geometry
  and is labelled so.

Where the fibre network gives a place *no access*, a low-Earth-orbit constellation can still
carry it to compute. A LEO path can never meet the 1 ms tier (a 550 km shell's two radio legs,
up and down, are 3.67 ms one way at zenith, 7.34 ms round trip), and on measured latency it does
not meet the 10 ms tier either; it can decide the 20 ms hub tier.

The geometry is a *bent pipe* (the satellite relays to a gateway in its footprint; optionally
inter-satellite links to a farther gateway, :attr:`LeoParams.isl_link_km`) on a spherical Earth
of mean radius ``R``:

* **slant range** from a ground point to a satellite at altitude ``h`` seen at elevation ``ε``:
  ``d(h, ε) = sqrt((R + h)² − (R·cos ε)²) − R·sin ε``;
* **coverage half-angle** (Earth-central angle from the sub-satellite point to the edge of the
  footprint at minimum elevation ``ε_min``): ``λ = arccos(R·cos ε_min / (R + h)) − ε_min``;
* a user and a gateway a central angle ``θ`` apart share a satellite only if ``θ ≤ 2λ``; the
  shortest relay through one satellite then has it above the midpoint, path
  ``2·sqrt(R² + (R + h)² − 2R(R + h)·cos(θ/2))`` (the **best case**). The **worst case** while
  both still see it is ``2·d(h, ε_min)`` (user and gateway each at the footprint's edge), which is
  what ``basis="geometric"`` judges on: a constellation does not keep a satellite at the best
  position.

Radio propagation is at ``c`` (vacuum); the gateway's onward path to compute is fibre, priced by
the same model as the metro (``E + S + k·r·distance``). Fixed allowances cover the satellite's
and gateway's processing, scheduling/framing and handover. Every parameter is a named field of
:class:`LeoParams`, overridable, with its source in :data:`LEO_SOURCES`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "C_KM_PER_MS",
    "EARTH_RADIUS_KM",
    "LEO_BASES",
    "LEO_PRESETS",
    "LEO_SOURCES",
    "MEASURED_APNIC_2022",
    "MEASURED_STARLINK_2025",
    "LeoParams",
    "LeoPath",
    "MeasuredLatency",
    "bent_pipe_legs_km",
    "coverage_half_angle_rad",
    "footprint_km",
    "leg_table",
    "leo_latency_ms",
    "leo_path",
    "relay_path_km",
    "slant_range_km",
]

#: How a LEO tier is judged: on a measured latency distribution's median (default) or on the
#: worst geometry still in view (a labelled model figure, for shells without a measurement).
LEO_BASES = ("measured", "geometric")

#: Mean Earth radius (IUGG), km. A sphere: LEO geometry at this precision needs no ellipsoid.
EARTH_RADIUS_KM = 6371.0088
#: Speed of light in vacuum, km per millisecond (radio paths through space and air).
C_KM_PER_MS = 299.792458


@dataclass(frozen=True, slots=True)
class MeasuredLatency:
    """A published latency distribution of a LEO service, converted to one way (RTT / 2).

    Attributes
    ----------
    name
        A short label (``starlink_2025``).
    p50_ms
        Median one-way latency, user terminal to the operator's point of presence.
    published
        Every published figure used, one way, as ``(label, ms)`` (``min``, ``p25``, ``p50``,
        ``p75``, ``p99_max`` ...), in the order published.
    source
        Who published it, where, and what was measured.
    date
        When the measurements were taken (and published).
    """

    name: str
    p50_ms: float
    published: tuple[tuple[str, float], ...]
    source: str
    date: str

    def __post_init__(self) -> None:
        values = [self.p50_ms, *(v for _, v in self.published)]
        if not all(math.isfinite(v) and v >= 0.0 for v in values):
            msg = f"measured LEO latency {self.name}: latencies must be finite and >= 0"
            raise ValueError(msg)

    @property
    def p95(self) -> tuple[float, str]:
        """The P95 one way and how it is known: ``exact``, ``at most`` or ``at least``.

        A published P95 is exact; a published P99 bounds it from above; without either, the
        highest published quantile below it bounds it from below.
        """
        got = dict(self.published)
        if "p95" in got:
            return got["p95"], "exact"
        if "p99_max" in got:
            return got["p99_max"], "at most"
        below = [v for k, v in self.published if k in ("p50", "p75", "p90")]
        return (max(below), "at least") if below else (self.p50_ms, "at least")

    @property
    def p5(self) -> tuple[float, str]:
        """The P5 one way and how it is known (``exact`` or ``at least`` from a minimum)."""
        got = dict(self.published)
        if "p5" in got:
            return got["p5"], "exact"
        if "min" in got:
            return got["min"], "at least"
        return 0.0, "at least"


#: SpaceX, "Starlink network update" (starlink.com/updates/network-update), figures of June 2025:
#: median peak-hour latency 25.7 ms round trip over all US customers (routers measuring every
#: 15 s, router to the internet), fewer than 1 % of measurements above 55 ms.
MEASURED_STARLINK_2025 = MeasuredLatency(
    "starlink_2025",
    p50_ms=12.85,
    published=(("p50", 12.85), ("p99_max", 27.5)),
    source="SpaceX, Starlink network update (starlink.com/updates/network-update): US median "
    "peak-hour RTT 25.7 ms, fewer than 1 % of measurements above 55 ms; halved to one way",
    date="2025-06 (published 2025-07)",
)
#: APNIC blog, "Fact checking Starlink's performance figures" (2022-11-28; UCLouvain, University
#: of Trieste, Politecnico di Torino): a dish in Belgium, first months of 2022, RTT to European
#: RIPE Atlas anchors: median about 50 ms, 25th percentile 40 ms, 75th 60 ms, minimum 20 ms.
MEASURED_APNIC_2022 = MeasuredLatency(
    "apnic_2022",
    p50_ms=25.0,
    published=(("min", 10.0), ("p25", 20.0), ("p50", 25.0), ("p75", 30.0)),
    source="APNIC blog 2022-11-28, Fact checking Starlink's performance figures (UCLouvain, "
    "Univ. Trieste, PoliTo): RTT to European RIPE Atlas anchors, min 20, P25 40, median 50, "
    "P75 60 ms; halved to one way",
    date="2022-01/2022-04 (published 2022-11-28)",
)


@dataclass(frozen=True, slots=True)
class LeoParams:
    """A LEO access model, every time in milliseconds and length in kilometres.

    Attributes
    ----------
    name
        A label for reports.
    altitude_km
        Shell altitude above the mean sphere.
    min_elevation_deg
        Lowest elevation at which a user terminal or gateway uses a satellite.
    processing_ms
        Satellite and gateway processing, framing and scheduling, one way.
    handover_ms
        Allowance for beam/satellite handover, one way.
    gateway_max_km
        Ground distance from a place to its gateway beyond which no gateway serves it (the
        bent pipe's reach, ``2λ`` on the ground, is also enforced).
    onboard_compute
        True when the compute runs on the satellite: the path ends at the satellite (one
        up-link, no gateway, no fibre).
    isl_link_km
        Length of one inter-satellite link; ``None``: bent pipe only (no gateway beyond the
        footprint). With it, a gateway farther than the footprint is reached over
        ``hops × isl_link_km`` in space.
    measured
        A published latency distribution (``None``: none is known for this shell; tiers are then
        judged on the geometry, labelled so).
    """

    name: str
    altitude_km: float
    min_elevation_deg: float
    processing_ms: float
    handover_ms: float
    gateway_max_km: float = math.inf
    onboard_compute: bool = False
    isl_link_km: float | None = None
    measured: MeasuredLatency | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.altitude_km) and 160.0 <= self.altitude_km <= 2000.0):
            msg = f"LEO altitude_km must be within 160-2000 km, not {self.altitude_km}"
            raise ValueError(msg)
        if not (math.isfinite(self.min_elevation_deg) and 0.0 < self.min_elevation_deg < 90.0):
            msg = f"LEO min_elevation_deg must be in (0, 90), not {self.min_elevation_deg}"
            raise ValueError(msg)
        if self.isl_link_km is not None and not (
            math.isfinite(self.isl_link_km) and self.isl_link_km > 0.0
        ):
            msg = f"LEO isl_link_km must be > 0, not {self.isl_link_km}"
            raise ValueError(msg)
        for f in ("processing_ms", "handover_ms"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v >= 0.0):
                msg = f"LEO {f} must be finite and >= 0, not {v}"
                raise ValueError(msg)
        if not self.gateway_max_km > 0.0:
            msg = f"LEO gateway_max_km must be > 0, not {self.gateway_max_km}"
            raise ValueError(msg)

    @property
    def basis(self) -> str:
        """What tiers are judged on by default: ``measured`` when a distribution is known."""
        return "measured" if self.measured is not None else "geometric"

    def replace(self, **changes: object) -> LeoParams:
        """Return a copy with some parameters overridden (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


#: Where each default comes from. Allowances are assumptions, stated as such.
LEO_SOURCES: dict[str, str] = {
    "altitude 550 km, min elevation 25°": "SpaceX Starlink's first shell (550 km, 53°; "
    "user terminals down to 25° elevation in its FCC authorisation)",
    "altitude 1,160 km, min elevation 30°": "a high LEO shell as in several filed constellations "
    "(about 1,100-1,200 km); the 30° minimum elevation is an assumption",
    "processing 1.0 ms": "assumption: on-board relay plus gateway baseband and scheduling, one way",
    "handover 0.5 ms": "assumption: averaged handover/beam-switch allowance, one way",
    "measured starlink_2025 (leo550)": MEASURED_STARLINK_2025.source
    + f" [{MEASURED_STARLINK_2025.date}]",
    "measured apnic_2022 (leo550_2022)": MEASURED_APNIC_2022.source
    + f" [{MEASURED_APNIC_2022.date}]",
    "inter-satellite link 1,000 km (leo550_isl)": "assumption: one laser link between "
    "neighbouring satellites of a 550 km shell is several hundred to a few thousand km",
    "radio at c": "propagation in vacuum and air at 299,792.458 km/s",
    "Earth radius 6,371.0088 km": "IUGG mean radius (a sphere)",
}

#: The two shells the issue asks for, both bent-pipe to a gateway.
LEO_PRESETS: dict[str, LeoParams] = {
    "leo550": LeoParams(
        "LEO 550 km",
        550.0,
        25.0,
        processing_ms=1.0,
        handover_ms=0.5,
        measured=MEASURED_STARLINK_2025,
    ),
    "leo550_2022": LeoParams(
        "LEO 550 km (2022)",
        550.0,
        25.0,
        processing_ms=1.0,
        handover_ms=0.5,
        measured=MEASURED_APNIC_2022,
    ),
    "leo550_isl": LeoParams(
        "LEO 550 km with ISL",
        550.0,
        25.0,
        processing_ms=1.0,
        handover_ms=0.5,
        isl_link_km=1000.0,
        measured=MEASURED_STARLINK_2025,
    ),
    # No published measurement of a ~1,160 km service was found: judged on the geometry.
    "leo1160": LeoParams("LEO 1,160 km", 1160.0, 30.0, processing_ms=1.0, handover_ms=0.5),
}


def slant_range_km(altitude_km: ArrayLike, elevation_deg: ArrayLike) -> NDArray[np.float64]:
    """Distance from a ground point to a satellite at ``altitude_km`` seen at ``elevation_deg``.

    Parameters
    ----------
    altitude_km
        Satellite altitude above the mean sphere.
    elevation_deg
        Elevation angle of the satellite above the local horizon.

    Returns
    -------
    numpy.ndarray
        Slant range in km (``altitude_km`` at zenith).
    """
    h = np.asarray(altitude_km, dtype=float)
    e = np.radians(np.asarray(elevation_deg, dtype=float))
    r = EARTH_RADIUS_KM
    return np.sqrt((r + h) ** 2 - (r * np.cos(e)) ** 2) - r * np.sin(e)


def coverage_half_angle_rad(altitude_km: float, min_elevation_deg: float) -> float:
    """Earth-central angle from the sub-satellite point to the footprint edge at ``ε_min``."""
    e = math.radians(min_elevation_deg)
    r = EARTH_RADIUS_KM
    return math.acos(r * math.cos(e) / (r + altitude_km)) - e


def relay_path_km(
    params: LeoParams, ground_km: ArrayLike, *, worst: bool = True
) -> NDArray[np.float64]:
    """Length of the radio path user -> satellite -> gateway for a ground separation.

    Parameters
    ----------
    params
        The LEO model.
    ground_km
        Great-circle ground distance between the user and the gateway.
    worst
        True: both ends at minimum elevation (``2·d(h, ε_min)``, independent of the separation);
        False: the satellite above the midpoint (the shortest relay).

    Returns
    -------
    numpy.ndarray
        Path length in km; ``inf`` where no single satellite sees both ends.
    """
    g = np.asarray(ground_km, dtype=float)
    r = EARTH_RADIUS_KM
    h = params.altitude_km
    half = g / (2.0 * r)
    reach = coverage_half_angle_rad(h, params.min_elevation_deg)
    if worst:
        path = np.full(g.shape, 2.0 * float(slant_range_km(h, params.min_elevation_deg)))
    else:
        path = 2.0 * np.sqrt(r * r + (r + h) ** 2 - 2.0 * r * (r + h) * np.cos(half))
    ok = (half <= reach) & (g <= params.gateway_max_km)
    return np.where(ok, path, np.inf)


def leo_latency_ms(
    params: LeoParams,
    gateway_km: ArrayLike,
    *,
    ground_ms: ArrayLike = 0.0,
    worst: bool = True,
) -> NDArray[np.float64]:
    """One-way latency from a place over LEO to compute.

    Parameters
    ----------
    params
        The LEO model.
    gateway_km
        Ground distance from each place to its gateway (ignored with on-board compute).
    ground_ms
        The gateway's terrestrial latency to compute (fibre, equipment, site device), ms.
    worst
        Judge on the worst geometry still in view (default) or the best.

    Returns
    -------
    numpy.ndarray
        Latency in ms; ``inf`` where the place and its gateway share no satellite.
    """
    allow = params.processing_ms + params.handover_ms
    g = np.asarray(gateway_km, dtype=float)
    if params.onboard_compute:
        elevation = params.min_elevation_deg if worst else 90.0
        up = float(slant_range_km(params.altitude_km, elevation))
        return np.full(g.shape, up / C_KM_PER_MS + allow)
    path = relay_path_km(params, g, worst=worst)
    return path / C_KM_PER_MS + allow + np.asarray(ground_ms, dtype=float)


def footprint_km(params: LeoParams) -> float:
    """Greatest ground distance between a user and a gateway that see one satellite (``2λ·R``)."""
    return (
        2.0
        * coverage_half_angle_rad(params.altitude_km, params.min_elevation_deg)
        * (EARTH_RADIUS_KM)
    )


def bent_pipe_legs_km(
    params: LeoParams, ground_km: ArrayLike, *, user_elevation_deg: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Up-link and down-link lengths of a bent pipe user -> satellite -> gateway.

    Parameters
    ----------
    params
        The LEO model.
    ground_km
        Great-circle ground distance from the user to the gateway.
    user_elevation_deg
        The satellite's elevation seen by the user (toward the gateway); ``None``: the
        satellite above the midpoint (the shortest relay, the geometric bound).

    Returns
    -------
    up, down
        Leg lengths in km; ``inf`` where the user or the gateway would see the satellite below
        the minimum elevation (no shared satellite).
    """
    r, h = EARTH_RADIUS_KM, params.altitude_km
    theta = np.asarray(ground_km, dtype=float) / r
    if user_elevation_deg is None:
        phi = theta / 2.0
        user_ok = phi <= coverage_half_angle_rad(h, params.min_elevation_deg)
    else:
        e = math.radians(user_elevation_deg)
        phi = np.full(theta.shape, math.acos(r * math.cos(e) / (r + h)) - e)
        user_ok = np.full(theta.shape, user_elevation_deg >= params.min_elevation_deg)
    psi = np.abs(theta - phi)
    up = np.sqrt(r * r + (r + h) ** 2 - 2.0 * r * (r + h) * np.cos(phi))
    down = np.sqrt(r * r + (r + h) ** 2 - 2.0 * r * (r + h) * np.cos(psi))
    # The gateway's elevation from the triangle (centre, gateway, satellite).
    sin_gate = ((r + h) * np.cos(psi) - r) / down
    gate_ok = sin_gate >= math.sin(math.radians(params.min_elevation_deg)) - 1e-12
    ok = user_ok & gate_ok & (np.asarray(ground_km, dtype=float) <= params.gateway_max_km)
    return np.where(ok, up, np.inf), np.where(ok, down, np.inf)


@dataclass(frozen=True)
class LeoPath:
    """A LEO path priced every way, one way (ms) and per leg (km), per place.

    Attributes
    ----------
    basis
        What ``judged_ms`` is: ``measured`` (the distribution's median plus what the
        measurement did not include) or ``geometric`` (the worst geometry in view).
    up_km, isl_km, down_km
        Leg lengths of the worst geometry in view (user and gateway at the minimum elevation);
        ``isl_km`` is ``hops × isl_link_km`` (0 on a bent pipe).
    hops
        Inter-satellite links used (0: bent pipe within one footprint).
    bound_ms
        The geometric bound: the best geometry (satellite above the midpoint, or overhead both
        ends with a straight link between them) plus allowances and the ground part.
    worst_ms
        The worst geometry still in view, plus allowances and the ground part.
    p50_ms, p95_ms
        The measured median and P95 plus the ground part and the extra inter-satellite
        propagation (``nan`` without a measurement).
    judged_ms
        The figure tiers are judged on.
    """

    basis: str
    up_km: NDArray[np.float64]
    isl_km: NDArray[np.float64]
    down_km: NDArray[np.float64]
    hops: NDArray[np.int64]
    bound_ms: NDArray[np.float64]
    worst_ms: NDArray[np.float64]
    p50_ms: NDArray[np.float64]
    p95_ms: NDArray[np.float64]
    judged_ms: NDArray[np.float64]


def leo_path(
    params: LeoParams,
    ground_km: ArrayLike,
    *,
    ground_ms: ArrayLike = 0.0,
    basis: str | None = None,
) -> LeoPath:
    """Price the LEO path from places to a gateway and on to compute, one way.

    Parameters
    ----------
    params
        The LEO model.
    ground_km
        Ground distance from each place to its gateway.
    ground_ms
        The gateway's terrestrial latency to compute (fibre, equipment, site device), ms.
    basis
        ``measured`` or ``geometric`` (default: measured when the preset carries a measurement).

    Returns
    -------
    LeoPath
        Every figure, and the judged one; ``inf`` where the gateway is out of reach.
    """
    basis = basis or params.basis
    if basis not in LEO_BASES:
        msg = f"LEO basis must be one of {LEO_BASES}, not {basis!r}"
        raise ValueError(msg)
    if basis == "measured" and params.measured is None:
        msg = f"{params.name} carries no measured latency: use basis 'geometric'"
        raise ValueError(msg)
    g = np.atleast_1d(np.asarray(ground_km, dtype=float))
    ground = np.broadcast_to(np.asarray(ground_ms, dtype=float), g.shape)
    legs = _legs(params, g)
    allow = params.processing_ms + params.handover_ms
    up_b, isl_b, down_b, up_w, isl_w, down_w, hops = legs
    extra = 0.0 if params.onboard_compute else 1.0  # on board: no gateway, no fibre
    bound = (up_b + isl_b + down_b) / C_KM_PER_MS + allow + extra * ground
    worst = (up_w + isl_w + down_w) / C_KM_PER_MS + allow + extra * ground
    reach = np.isfinite(worst)
    if params.measured is not None:
        space = isl_w / C_KM_PER_MS + extra * ground
        p50 = np.where(reach, params.measured.p50_ms + space, np.inf)
        p95 = np.where(reach, params.measured.p95[0] + space, np.inf)
    else:
        p50 = p95 = np.full(g.shape, np.nan)
    judged = p50 if basis == "measured" else worst
    hops_int = hops.astype(np.int64)
    return LeoPath(basis, up_w, isl_w, down_w, hops_int, bound, worst, p50, p95, judged)


def _legs(params: LeoParams, g: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Best and worst leg lengths (up, isl, down) and hops, for each ground separation."""
    r, h = EARTH_RADIUS_KM, params.altitude_km
    d_min = float(slant_range_km(h, params.min_elevation_deg))
    inf = np.full(g.shape, np.inf)
    zero = np.zeros(g.shape)
    if params.onboard_compute:
        return (np.full(g.shape, h), zero, zero, np.full(g.shape, d_min), zero, zero, zero)
    up_b, down_b = bent_pipe_legs_km(params, g)
    inside = np.isfinite(up_b)
    hops = np.zeros(g.shape)
    isl_w = np.where(inside, 0.0, np.inf)
    isl_b = isl_w.copy()
    if params.isl_link_km is not None:
        # Beyond the footprint: the user's and the gateway's satellites are each up to λ from
        # their ground end; the links span the rest of the arc at the shell's radius.
        lam = coverage_half_angle_rad(h, params.min_elevation_deg)
        theta = g / r
        gap = np.maximum(theta - 2.0 * lam, 0.0) * (r + h)
        need = np.ceil(gap / params.isl_link_km - 1e-12)
        far = ~inside & (g <= params.gateway_max_km)
        hops = np.where(far, need, hops)
        isl_w = np.where(far, need * params.isl_link_km, isl_w)
        # The bound: the shorter of satellites overhead both ends with a straight link, and
        # satellites at the footprint's edges with a straight link across the gap (chords:
        # no chain of links is shorter).
        overhead = 2.0 * h + 2.0 * (r + h) * np.sin(theta / 2.0)
        edges = 2.0 * d_min + 2.0 * (r + h) * np.sin(np.maximum(theta - 2.0 * lam, 0.0) / 2.0)
        isl_b = np.where(far, np.minimum(overhead, edges), isl_b)
        up_b = np.where(far, 0.0, up_b)
        down_b = np.where(far, 0.0, down_b)
    ok = np.isfinite(isl_w)
    up_w = np.where(ok, d_min, inf)
    down_w = np.where(ok, d_min, inf)
    return up_b, isl_b, down_b, up_w, isl_w, down_w, np.where(ok, hops, 0).astype(np.int64)


def leg_table(params: LeoParams) -> list[dict[str, float | str]]:
    """Per-leg radio figures of a shell, one way with the round trip beside them.

    Three cases: the satellite at zenith over user and gateway; both at the minimum elevation;
    user and gateway at the footprint's edge apart (the satellite above the midpoint).

    Parameters
    ----------
    params
        The LEO model.

    Returns
    -------
    list of dict
        ``case``, ``separation_km``, ``up_km``, ``down_km``, ``up_ms``, ``down_ms``,
        ``one_way_ms`` (up + down, radio only) and ``round_trip_ms``.
    """
    h, e_min = params.altitude_km, params.min_elevation_deg
    d_min = float(slant_range_km(h, e_min))
    edge = footprint_km(params)
    up_e, down_e = bent_pipe_legs_km(params, edge)
    cases = [
        ("zenith", 0.0, h, h),
        (f"{e_min:g}° elevation", 0.0, d_min, d_min),
        ("footprint edge", edge, float(up_e[()]), float(down_e[()])),
    ]
    rows: list[dict[str, float | str]] = []
    for case, sep, up, down in cases:
        one = (up + down) / C_KM_PER_MS
        rows.append(
            {
                "case": case,
                "separation_km": round(sep, 3),
                "up_km": round(up, 3),
                "down_km": round(down, 3),
                "up_ms": round(up / C_KM_PER_MS, 4),
                "down_ms": round(down / C_KM_PER_MS, 4),
                "one_way_ms": round(one, 4),
                "round_trip_ms": round(2.0 * one, 4),
            }
        )
    return rows
