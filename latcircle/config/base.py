"""What every config section shares: the strict base model, the city-id pattern, bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: City ids are file and folder names: keep them to a safe pattern (no ``..``, no slashes).
CITY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

CrsName = str  # "gcj02", "bd09", "wgs84" or anything pyproj understands ("EPSG:32650", ...)

#: Upper bounds that keep every later product finite and every array small.
MAX_THRESHOLDS = 64
MAX_TARGETS = 1000
MAX_MS = 100_000.0  # 100 s: far beyond any latency tier
MAX_US = 1e8  # the same in microseconds


class _Strict(BaseModel):
    # allow_inf_nan=False: inf and NaN are bad input (`budget_ms: .inf` would count places
    # without access as covered), rejected with the key's name.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)
