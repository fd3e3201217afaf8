"""``renamed_metro`` (conftest) gives the metro ``prepare`` gives, and refuses more than names.

The browser tests rename a demo site and give the demo's districts local names in private
copies of the shared inputs; instead of preparing each copy again they read its inputs into
the shared prepared metro (``renamed_metro``). Here, on the tiny city (cheap to prepare), the
metro it gives is checked against ``prepare`` of the renamed copy, field for field
(``fingerprint``: every array, frame, geometry and config field; the locator, an opaque
object, by its network), and a copy that moves a site, changes a site's device latency,
changes a file of another role or an undeclared config key, or renames nothing is refused.

``resited_metro`` (conftest) likewise: the plans' closed loops run ``sites-planned.csv``
(sites moved, later, added), the plan's network file and other latency parameters on the
shared metro's located network; here the tiny city with links online in 2028 (two views)
is checked against ``prepare`` of the same config, and a change of the max drop, of another
input or of a config key is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import (
    X0,
    Y0,
    _write_tiny_city,
    fingerprint,
    renamed_metro,
    resited_metro,
    to_lonlat,
)

from latcircle.analysis.metro import prepare
from latcircle.config import load_config


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The tiny city's config and its prepared metro."""
    config = _write_tiny_city(tmp_path_factory.mktemp("renamed") / "tiny")
    return config, prepare(load_config(config))


def _same_metro(got: Any, prepared: Any, shared: Any, *, views: bool = False) -> None:
    """Every field of ``got`` is ``prepared``'s; its locator is the shared metro's.

    The locator is an opaque object (``Locator(network)``): the network it was built on is
    checked instead. ``views``: the views (with locators of their own) checked view by view.
    """
    assert got.locator is shared.locator
    assert fingerprint(got.network) == fingerprint(prepared.network)
    if views:
        _same_views(got, prepared, shared)
    for field in dataclasses.fields(got):
        if field.name != "locator" and not (views and field.name == "views"):
            a, b = getattr(got, field.name), getattr(prepared, field.name)
            assert fingerprint(a) == fingerprint(b), field.name


def _copy(config: Path, dest: Path) -> Path:
    shutil.copytree(config.parent, dest)
    return dest / config.name


def _edit_site(config: Path, **values: str) -> None:
    path = config.parent / "sites.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0].update(values)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_renamed_site_gives_the_prepared_metro(tiny: tuple[Path, Any], tmp_path: Path) -> None:
    config, metro = tiny
    copy = _copy(config, tmp_path / "copy")
    _edit_site(copy, name="<b>renamed</b>")
    got = renamed_metro(metro, copy, renamed={"sites": ["name"]})
    assert got.inputs.sites["name"].iloc[0] == "<b>renamed</b>"
    _same_metro(got, prepare(load_config(copy)), metro)


def test_local_names_and_a_config_key_give_the_prepared_metro(
    tiny: tuple[Path, Any], tmp_path: Path
) -> None:
    config, metro = tiny
    copy = _copy(config, tmp_path / "copy")
    districts = gpd.read_file(copy.parent / "districts.gpkg")
    districts["name_local"] = ["西区", "东区"]
    districts.to_file(copy.parent / "districts.gpkg")
    with copy.open("a", encoding="utf-8") as f:
        f.write("name_local: 小城\nuncertainty: {samples: 100}\n")
    got = renamed_metro(
        metro,
        copy,
        renamed={"districts": ["name_local"]},
        config_keys=["name_local", "uncertainty"],
    )
    names = got.inputs.districts
    assert dict(zip(names["name"], names["name_local"], strict=True)) == {
        "West": "西区",
        "East": "东区",
    }
    _same_metro(got, prepare(load_config(copy)), metro)


@pytest.mark.parametrize(
    "change",
    [
        {"lon": "114.0"},  # a site moved: its attachment would change
        {"device_latency_us": "21"},  # a number of the renamed table
    ],
)
def test_more_than_a_name_is_refused(
    tiny: tuple[Path, Any], tmp_path: Path, change: dict[str, str]
) -> None:
    config, metro = tiny
    copy = _copy(config, tmp_path / "copy")
    _edit_site(copy, name="renamed", **change)
    with pytest.raises(AssertionError):
        renamed_metro(metro, copy, renamed={"sites": ["name"]})


def test_other_files_and_config_keys_are_refused(tiny: tuple[Path, Any], tmp_path: Path) -> None:
    config, metro = tiny
    copy = _copy(config, tmp_path / "copy")
    _edit_site(copy, name="renamed")
    with (copy.parent / "key_sites.csv").open("a", encoding="utf-8") as f:
        f.write("extra,campus,114.0,30.5\n")  # another role's file changed
    with pytest.raises(AssertionError, match="key_sites"):
        renamed_metro(metro, copy, renamed={"sites": ["name"]})
    copy = _copy(config, tmp_path / "copy2")
    _edit_site(copy, name="renamed")
    with copy.open("a", encoding="utf-8") as f:
        f.write("budget_ms: 0.5\n")  # a config key not declared
    with pytest.raises(AssertionError):
        renamed_metro(metro, copy, renamed={"sites": ["name"]})
    with pytest.raises(AssertionError, match="nothing renamed"):
        renamed_metro(metro, _copy(config, tmp_path / "copy3"), renamed={"sites": ["name"]})


# --------------------------------------------------------------------------- resited_metro


def _same_views(got: Any, prepared: Any, shared: Any) -> None:
    """Every view of ``got`` is ``prepared``'s; its locators are the shared metro's."""
    assert [k for k, _ in got.views] == [k for k, _ in prepared.views] != []
    for (_, a), (_, b), (_, s) in zip(got.views, prepared.views, shared.views, strict=True):
        assert a.locator is s.locator
        for field in dataclasses.fields(a):
            if field.name != "locator":
                got_value, want = getattr(a, field.name), getattr(b, field.name)
                assert fingerprint(got_value) == fingerprint(want), field.name


@pytest.fixture(scope="module")
def tiny_years(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The tiny city with its eastern links online in 2028 (two views), prepared."""
    config = _write_tiny_city(tmp_path_factory.mktemp("resited") / "tiny")
    roads = gpd.read_file(config.parent / "roads.gpkg")
    x = roads.geometry.bounds["minx"].to_numpy() - X0
    roads["online_year"] = pd.array(np.where(x >= 4000, 2028, pd.NA), dtype="Int64")
    roads.to_file(config.parent / "roads.gpkg", driver="GPKG")
    metro = prepare(load_config(config))
    assert len(metro.views) == 1
    return config, metro


def _resited_config(config: Path, metro: Any, folder: Path, **model: float) -> Any:
    """A plan's closed-loop config: other sites (one moved, one later, one added), the plan's
    network file (no spur), and ``model`` values."""
    from latcircle.analysis.plan import Goal, plan_metro
    from latcircle.output.plan import write_plan

    plan = plan_metro(metro, [Goal(2030, 0.0, "area")])  # met already: nothing built
    assert plan.table.empty
    (folder / "plan").mkdir()
    write_plan(plan, folder / "plan")
    with (config.parent / "sites.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    lon, lat = to_lonlat(np.array([X0 + 3000.0, X0 + 2000.0]), np.array([Y0 + 7000.0, Y0 + 2000.0]))
    rows[0].update(lon=f"{lon[0]:.9f}", lat=f"{lat[0]:.9f}")  # moved
    rows[1].update(online_year="2028")  # later
    rows.append(
        {**rows[0], "id": "C", "name": "Site C", "lon": f"{lon[1]:.9f}", "lat": f"{lat[1]:.9f}"}
    )
    sites = folder / "sites-planned.csv"
    with sites.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    spec = {"path": str(sites), "lon": "lon", "lat": "lat", "crs": "wgs84", "hypothetical": True}
    cfg = load_config(config, sites=spec)
    net = cfg.network.model_copy(update={"additions": folder / "plan" / "network-planned.gpkg"})
    return cfg.model_copy(update={"network": net, "model": cfg.model.model_copy(update=model)})


@pytest.mark.parametrize("model", [{}, {"route_factor": 1.4, "equipment_us": 150.0}])
def test_other_sites_and_parameters_give_the_prepared_metro(
    tiny_years: tuple[Path, Any], tmp_path: Path, model: dict[str, float]
) -> None:
    config, metro = tiny_years
    cfg = _resited_config(config, metro, tmp_path, **model)
    got = resited_metro(metro, cfg)
    assert list(got.inputs.sites["site_id"]) == ["A", "B", "C"]
    prepared = prepare(cfg)
    _same_metro(got, prepared, metro, views=True)


def test_resited_refuses_what_changes_the_locating(
    tiny_years: tuple[Path, Any], tmp_path: Path
) -> None:
    config, metro = tiny_years
    cfg = _resited_config(config, metro, tmp_path)
    # The max drop (what the samples are located with), another role's file, a config key.
    model = cfg.model.model_copy(update={"max_drop_m": metro.params.max_drop_m + 1.0})
    with pytest.raises(AssertionError):
        resited_metro(metro, cfg.model_copy(update={"model": model}))
    with pytest.raises(AssertionError):
        resited_metro(metro, cfg.model_copy(update={"budget_ms": 0.5}))
    copy = _copy(config, tmp_path / "copy")
    with (copy.parent / "key_sites.csv").open("a", encoding="utf-8") as f:
        f.write("extra,campus,114.0,30.5\n")
    with pytest.raises(AssertionError, match="key_sites"):
        resited_metro(metro, load_config(copy))
