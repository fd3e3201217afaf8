"""City configs: one YAML file per metro, validated on load.

A config names the inputs (paths resolve against the config file's folder), the latency
model and the thresholds. Validation is strict: an unknown key, a wrong type, a missing file
or a bad value raises :class:`~latcircle.errors.InputError` naming the file and the key.

One module per job; every public name is re-exported here, so ``from latcircle.config import
X`` is the way to import it:

* :mod:`~latcircle.config.base`: the strict base model, the city-id pattern, shared bounds;
* :mod:`~latcircle.config.input_files`: the input sections (boundary, districts, network,
  sites, key sites, population);
* :mod:`~latcircle.config.model`: the latency model, its presets, the resolved parameters;
* :mod:`~latcircle.config.targets`: coverage targets and the national defaults;
* :mod:`~latcircle.config.plan`: the planner's section (``plan:``);
* :mod:`~latcircle.config.sections`: the area grid, the wider tiers, cable failure;
* :mod:`~latcircle.config.uncertainty`: uncertain parameters' distributions;
* :mod:`~latcircle.config.city`: :class:`CityConfig`, one metro;
* :mod:`~latcircle.config.loading`: reading a YAML file or a mapping safely;
* :mod:`~latcircle.config.messages`: a validation error as one line naming file and key;
* :mod:`~latcircle.config.tiers_run`: the config of a national tiers run.

Examples
--------
>>> cfg = load_config("data/cities/demo.yaml")  # doctest: +SKIP
>>> cfg.model.resolved().k_us_per_m  # doctest: +SKIP
0.004897
"""

from __future__ import annotations

from latcircle.config.base import (
    CITY_ID_PATTERN,
    MAX_MS,
    MAX_TARGETS,
    MAX_THRESHOLDS,
    MAX_US,
    CrsName,
)
from latcircle.config.city import CityConfig, is_safe_city_id
from latcircle.config.input_files import (
    BoundaryInput,
    DistrictsInput,
    KeySitesInput,
    NetworkInput,
    NetworkStatus,
    PopulationInput,
    SitesInput,
    VectorInput,
)
from latcircle.config.loading import (
    MAX_CONFIG_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_VALUES,
    config_from_mapping,
    load_config,
)
from latcircle.config.model import (
    C_M_PER_US,
    GROUP_INDEX_G652,
    PRESETS,
    LatencyModel,
    LatencyParams,
)
from latcircle.config.plan import MAX_BUILD_COST, PLAN_TILE_BOUNDS_M, PlanSpec
from latcircle.config.sections import ACCESS_TECH_US, CityTiers, GridSpec, ProtectionSpec
from latcircle.config.targets import DEFAULT_TARGETS, Target
from latcircle.config.tiers_run import TiersRunConfig, load_tiers_config
from latcircle.config.uncertainty import (
    DISTRIBUTIONS,
    MAX_UNCERTAINTY_SAMPLES,
    Distribution,
    UncertaintySpec,
)

__all__ = [
    "ACCESS_TECH_US",
    "CITY_ID_PATTERN",
    "C_M_PER_US",
    "DEFAULT_TARGETS",
    "DISTRIBUTIONS",
    "GROUP_INDEX_G652",
    "MAX_BUILD_COST",
    "MAX_CONFIG_BYTES",
    "MAX_MS",
    "MAX_TARGETS",
    "MAX_THRESHOLDS",
    "MAX_UNCERTAINTY_SAMPLES",
    "MAX_US",
    "MAX_YAML_DEPTH",
    "MAX_YAML_VALUES",
    "PLAN_TILE_BOUNDS_M",
    "PRESETS",
    "BoundaryInput",
    "CityConfig",
    "CityTiers",
    "CrsName",
    "Distribution",
    "DistrictsInput",
    "GridSpec",
    "KeySitesInput",
    "LatencyModel",
    "LatencyParams",
    "NetworkInput",
    "NetworkStatus",
    "PlanSpec",
    "PopulationInput",
    "ProtectionSpec",
    "SitesInput",
    "Target",
    "TiersRunConfig",
    "UncertaintySpec",
    "VectorInput",
    "config_from_mapping",
    "is_safe_city_id",
    "load_config",
    "load_tiers_config",
]
