"""``renamed_metro`` (conftest) gives the metro ``prepare`` gives, and refuses more than names.

The browser tests rename a demo site and give the demo's districts local names in private
copies of the shared inputs; instead of preparing each copy again they read its inputs into
the shared prepared metro (``renamed_metro``). Here, on the tiny city (cheap to prepare), the
metro it gives is checked against ``prepare`` of the renamed copy, field for field
(``fingerprint``: every array, frame, geometry and config field; the locator, an opaque
object, by its network), and a copy that moves a site, changes a site's device latency,
changes a file of another role or an undeclared config key, or renames nothing is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from conftest import _write_tiny_city, fingerprint, renamed_metro

from latcircle.analysis.metro import prepare
from latcircle.config import load_config


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The tiny city's config and its prepared metro."""
    config = _write_tiny_city(tmp_path_factory.mktemp("renamed") / "tiny")
    return config, prepare(load_config(config))


def _same_metro(got: Any, prepared: Any, shared: Any) -> None:
    """Every field of ``got`` is ``prepared``'s; its locator is the shared metro's.

    The locator is an opaque object (``Locator(network)``): the network it was built on is
    checked instead.
    """
    assert got.locator is shared.locator
    assert fingerprint(got.network) == fingerprint(prepared.network)
    for field in dataclasses.fields(got):
        if field.name != "locator":
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
