"""The uncertainty section: each uncertain parameter's distribution and the sampling."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from latcircle.config.base import MAX_MS, MAX_US, _Strict

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
