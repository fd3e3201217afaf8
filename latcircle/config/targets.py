"""Coverage targets: a share of a basis by a year, and the national defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from latcircle.config.base import MAX_MS, _Strict


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
