"""The latency model: named presets, a config's overrides, the resolved parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from latcircle.config.base import MAX_US, _Strict

#: Speed of light in vacuum, metres per microsecond.
C_M_PER_US = 299.792458
#: Group index of G.652 fibre at 1550 nm.
GROUP_INDEX_G652 = 1.4682


@dataclass(frozen=True, slots=True)
class LatencyParams:
    """Resolved latency-model parameters, every one in microseconds or metres.

    Attributes
    ----------
    k_us_per_m
        Propagation delay per metre of cable (µs/m).
    route_factor
        Cable length over mapped route length.
    equipment_us
        Fixed equipment latency on every path (line terminals, FEC).
    site_device_us
        Default device latency of a compute site (overridden per site).
    extra_us
        Further fixed latency on every path (routers, access technology) in the
        ``end_to_end`` preset; 0 for ``optical``.
    max_drop_m
        Largest distance from a location to the network that still counts as access.
    factor
        1 for one-way, 2 for round-trip: every latency is multiplied by it.
    """

    k_us_per_m: float
    route_factor: float
    equipment_us: float
    site_device_us: float
    extra_us: float
    max_drop_m: float
    factor: float

    @property
    def us_per_m(self) -> float:
        """Latency per metre of mapped route, ``k * r`` (before ``factor``)."""
        return self.k_us_per_m * self.route_factor

    @property
    def fixed_us(self) -> float:
        """Latency added to every path, ``E`` plus extras (before ``factor``)."""
        return self.equipment_us + self.extra_us


#: Named presets. ``None`` for route_factor means: by network kind (1.0 fibre, 1.2 road).
PRESETS: dict[str, dict[str, Any]] = {
    "optical": {
        "k_us_per_km": GROUP_INDEX_G652 / C_M_PER_US * 1000.0,
        "equipment_us": 100.0,
        "site_device_us": 20.0,
        "router_us": 0.0,
        "access_us": 0.0,
        "max_drop_m": 1000.0,
        "round_trip": False,
    },
    "end_to_end": {
        # Application tier: IP routing (a few routers at ~100 µs each) and the access
        # technology (PON / 5G user plane, a few ms) on top of the optical path.
        "k_us_per_km": GROUP_INDEX_G652 / C_M_PER_US * 1000.0,
        "equipment_us": 100.0,
        "site_device_us": 20.0,
        "router_us": 300.0,
        "access_us": 4000.0,
        "max_drop_m": 1000.0,
        "round_trip": False,
    },
}


class LatencyModel(_Strict):
    """The latency model as written in a config: a preset plus overrides."""

    preset: Literal["optical", "end_to_end", "round_trip", "round_trip_end_to_end"] = "optical"
    k_us_per_km: Annotated[float, Field(gt=0, le=1000)] | None = None
    route_factor: Annotated[float, Field(ge=1.0, le=100)] | None = None
    equipment_us: Annotated[float, Field(ge=0, le=MAX_US)] | None = None
    site_device_us: Annotated[float, Field(ge=0, le=MAX_US)] | None = None
    router_us: Annotated[float, Field(ge=0, le=MAX_US)] | None = None
    access_us: Annotated[float, Field(ge=0, le=MAX_US)] | None = None
    max_drop_m: Annotated[float, Field(gt=0, le=1_000_000)] | None = None

    def resolved(self, *, network_kind: Literal["road", "fibre"] = "road") -> LatencyParams:
        """Return the preset with every override applied.

        Parameters
        ----------
        network_kind
            Picks the default route factor: 1.2 for road proxies, 1.0 for fibre routes.
        """
        base_name = "end_to_end" if "end_to_end" in self.preset else "optical"
        base = dict(PRESETS[base_name])
        for key in base:
            value = getattr(self, key, None)
            if value is not None:
                base[key] = value
        route = self.route_factor
        if route is None:
            route = 1.0 if network_kind == "fibre" else 1.2
        return LatencyParams(
            k_us_per_m=base["k_us_per_km"] / 1000.0,
            route_factor=route,
            equipment_us=base["equipment_us"],
            site_device_us=base["site_device_us"],
            extra_us=base["router_us"] + base["access_us"],
            max_drop_m=base["max_drop_m"],
            factor=2.0 if self.preset.startswith("round_trip") else 1.0,
        )
