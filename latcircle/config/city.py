"""One metro's config: the inputs, the model, thresholds, targets and the optional sections."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, PrivateAttr, field_validator, model_validator

from latcircle.config.base import CITY_ID_PATTERN, MAX_MS, MAX_TARGETS, MAX_THRESHOLDS, _Strict
from latcircle.config.input_files import (
    BoundaryInput,
    DistrictsInput,
    KeySitesInput,
    NetworkInput,
    PopulationInput,
    SitesInput,
)
from latcircle.config.model import LatencyModel, LatencyParams
from latcircle.config.plan import PlanSpec
from latcircle.config.sections import CityTiers, GridSpec, ProtectionSpec
from latcircle.config.targets import DEFAULT_TARGETS, Target
from latcircle.config.uncertainty import UncertaintySpec


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


def is_safe_city_id(city_id: str) -> bool:
    """Return whether ``city_id`` is a safe file and folder name."""
    return re.fullmatch(CITY_ID_PATTERN, city_id) is not None
