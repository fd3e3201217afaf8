"""The smaller sections of a city config: the area grid, the wider tiers, cable failure."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from latcircle.config.base import _Strict


class GridSpec(_Strict):
    """The area grid: square cells in the local UTM CRS."""

    #: At least 1 m: a smaller cell is no finer answer (inputs are not that exact) and its
    #: cell count is what the memory guard (grid.make_grid) must then refuse anyway.
    cell_m: Annotated[float, Field(ge=1, le=10_000)] = 100.0
    #: Refuse grids larger than this many cells: at ~90 bytes of peak memory per cell
    #: (grid.BYTES_PER_CELL), 20 M cells need ~1.8 GB on top of the rest (Wuhan at 100 m
    #: has 2.1 M).
    max_cells: Annotated[int, Field(gt=0, le=2_000_000_000)] = 20_000_000


#: One-way user-plane latency of access technologies, µs (what the application tier adds).
ACCESS_TECH_US: dict[str, float] = {
    # 3GPP TR 38.913 §7.5 user-plane latency targets: 4 ms eMBB, 0.5 ms URLLC (one way).
    "5g_embb": 4000.0,
    "5g_urllc": 500.0,
    # ITU-T G.984 (GPON) allows 1.5 ms mean signal transfer delay; 1 ms assumed typical.
    "fixed": 1000.0,
    # Assumption: a lightly loaded Wi-Fi 6 hop plus the home gateway.
    "wifi": 3000.0,
}


class CityTiers(_Strict):
    """The wider tiers of a city run: the 10 ms application tier and LEO access.

    The application tier adds the access technology and the routers to the run's optical
    latency (use ``access: none`` when the run's own preset is ``end_to_end``). LEO prices a
    satellite path for places with no terrestrial access, with gateways at the online compute
    sites (ground coordination nodes beside compute).
    """

    app_budget_ms: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 10.0
    access: Literal["5g_embb", "5g_urllc", "fixed", "wifi", "none"] = "5g_embb"
    router_us: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 300.0
    leo: Literal["leo550", "leo550_2022", "leo550_isl", "leo1160", "none"] = "leo550"
    leo_budgets_ms: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [10.0, 20.0], min_length=1, max_length=16
    )
    #: LEO gateways: a CSV (``id``, ``lon``, ``lat``; relative to the config) or ``at_sites``,
    #: the labelled best case of a gateway beside every online compute site.
    gateways: str = "at_sites"
    #: What LEO tiers are judged on: the preset's measured median (default when it has one)
    #: or the worst geometry in view.
    leo_basis: Literal["measured", "geometric"] | None = None


class ProtectionSpec(_Strict):
    """Cable failure (docs/protection.md): re-solve without each of the most-used links."""

    #: Links re-solved exactly, the most used in the shortest-path trees first. 50: enough
    #: to find a metro's critical trunk links at a few seconds (an assumption, configurable).
    links: Annotated[int, Field(ge=1, le=10_000)] = 50
    #: The demand that ranks the links and is counted as lost; default the judged basis.
    basis: Literal["key_sites", "population", "area"] | None = None
