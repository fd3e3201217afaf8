"""The planner's section of a city config (``plan:``; docs/plan.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from latcircle.config.base import _Strict
from latcircle.config.input_files import VectorInput

#: Largest cost of one build, in the plan's cost unit (assumption: far above any build in any
#: currency unit). Up to 100,000 builds then sum to at most 1e17, below the 1e20 that HiGHS
#: takes for infinity: a cost of 1e308 used to give a ``null`` cost and gap.
MAX_BUILD_COST = 1e12
#: Bounds of the planner's square tiles (automatic candidates, demand without access), metres
#: (assumption): below 10 m a square is finer than the network's own positions, and 1e-300
#: used to overflow the tile index and plan on one candidate; 1,000 km holds any metro.
PLAN_TILE_BOUNDS_M = (10.0, 1_000_000.0)


class PlanSpec(_Strict):
    """The planner's options (``latcircle plan``; docs/plan.md).

    Costs are in one unit of the user's choosing (e.g. million CNY), the same as the
    candidates file's ``cost`` column.
    """

    candidates: VectorInput | None = Field(
        default=None,
        description="Candidate compute sites: points with id, name, tier, cost, "
        "device_latency_us and optional earliest_year. None: the automatic set.",
    )
    site_cost: Annotated[float, Field(ge=0, le=MAX_BUILD_COST, allow_inf_nan=False)] = 10.0
    bring_forward_cost: Annotated[float, Field(ge=0, le=MAX_BUILD_COST, allow_inf_nan=False)] = 5.0
    #: Per km: a spur of up to 1,000 km stays within MAX_BUILD_COST.
    access_cost_per_km: Annotated[
        float, Field(ge=0, le=MAX_BUILD_COST / 1000, allow_inf_nan=False)
    ] = 1.0
    access: bool = True
    access_tile_m: Annotated[
        float, Field(ge=PLAN_TILE_BOUNDS_M[0], le=PLAN_TILE_BOUNDS_M[1], allow_inf_nan=False)
    ] = 5_000.0
    auto_spacing_m: Annotated[
        float, Field(ge=PLAN_TILE_BOUNDS_M[0], le=PLAN_TILE_BOUNDS_M[1], allow_inf_nan=False)
    ] = 2_000.0
    time_limit_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)] = 30.0
    # Issue 26's cost model and candidates (docs/plan.md): every default is an assumption.
    #: Fixed cost of each fibre spur (civil works at both ends, splicing), plus the per-km.
    access_fixed_cost: Annotated[float, Field(ge=0)] = 0.0
    #: Longest spur considered, metres (``None``: no limit).
    max_spur_m: Annotated[float, Field(gt=0)] | None = None
    #: Cost factors along a spur: polygons with a ``factor`` column (water, mountains,
    #: protected land x N); the per-km cost of the part inside is multiplied by the factor
    #: (the largest where polygons overlap).
    cost_factors: VectorInput | None = None
    #: Cost of a new site by its ``tier`` (automatic and known data-centre candidates, and a
    #: candidates file's rows with an empty cost); other tiers cost ``site_cost``.
    tier_cost: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    #: Known data centres as candidates (kind ``known_dc``): a fetched ``sites.csv`` or a
    #: PeeringDB / OSM list (points; a ``source`` column is kept).
    known_dc: VectorInput | None = None
    #: Cost of compute placed in a known data centre (space is there; equipment is not).
    known_dc_cost: Annotated[float, Field(ge=0)] = 5.0
